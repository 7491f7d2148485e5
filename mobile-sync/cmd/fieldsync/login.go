package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/baoshui/baoshui/mobile-sync/client"
)

// cmdLogin signs in and, the first time (or for a new officer), registers
// the device to the officer.
func cmdLogin(ctx context.Context, c *client.Client, args []string, e env) error {
	fs := newFlags("login")
	user := fs.String("user", "", "the username")
	password := fs.String("password", "", "the password (read from stdin when not given)")
	device := fs.String("device-name", "", "the name this device is registered under (default: fieldsync on the host's name)")
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	if *user == "" || fs.NArg() > 0 {
		return usagef("login: give -user U (and -password P, or type it when asked)")
	}
	if *password == "" {
		fmt.Fprintf(e.stderr, "password for %s: ", *user)
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		*password = strings.TrimRight(line, "\r\n")
		if *password == "" {
			return usagef("login: no password given (%v)", err)
		}
	}
	s, err := c.Login(ctx, *user, *password)
	if err != nil {
		return err
	}
	if !c.Registered() {
		name := *device
		if name == "" {
			name = "fieldsync"
			if h, err := e.hostname(); err == nil && h != "" {
				name += " on " + h
			}
		}
		if err := c.RegisterDevice(ctx, name); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "registered this device as %s (%s)\n", c.DeviceID(), name)
	}
	unit := s.Unit
	if unit == "" {
		unit = "no unit"
	}
	fmt.Fprintf(e.stdout, "signed in as %s (%s) at %s\n", s.Username, unit, c.Server())
	return nil
}

func cmdLogout(ctx context.Context, c *client.Client, args []string, e env) error {
	if len(args) > 0 {
		return usagef("logout takes no arguments")
	}
	if err := c.Logout(ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "signed out; %s\n", pendingOf(c).stayQueued())
	return nil
}
