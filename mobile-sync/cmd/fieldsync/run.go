package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/baoshui/baoshui/mobile-sync/client"
)

// Exit codes.
const (
	exitOK      = 0
	exitError   = 1
	exitUsage   = 2
	exitOffline = 3
)

// env is what a run of fieldsync touches outside itself, so that tests can
// replace it.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	home           func() (string, error)
	hostname       func() (string, error)
	now            func() time.Time
	httpClient     *http.Client
	backoff        client.Backoff
}

func systemEnv() env {
	return env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv,
		home: os.UserHomeDir, hostname: os.Hostname, now: time.Now}
}

// usageError is a mistake in the command line: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

const usage = `usage: fieldsync [-server URL] [-db path] <command> [flags]

commands:
  login -user U [-password P]   sign in (the password is read from stdin when not given);
                                registers this device on first sign-in
  logout                        forget the tokens on this device (the queue stays)
  capture <kind> [flags]        queue a record: expulsion, grazing, vehicle, confiscation, patrol
                                (fieldsync capture <kind> -h lists the kind's flags)
  queue                         what waits to be sent, and what is kept aside and why
  sync                          send what waits, upload photos and tracks, then pull
  pull                          fetch what changed on the server
  status                        the device, the session and the counts
  show <n>                      the kept-aside item n as JSON (to correct it)
  resubmit <n> [file.json|-]    queue kept-aside item n again, with the corrected record
  dismiss <n>                   forget kept-aside item n

global flags:
  -server URL   the Baoshui server (remembered in the outbox)
  -db path      the outbox file (default $FIELDSYNC_DB or ~/.fieldsync/outbox.db)

exit codes: 0 ok, 1 error, 2 usage, 3 offline (records stay queued)
`

// run runs fieldsync with args (without the program name) and returns the
// exit code.
func run(ctx context.Context, args []string, e env) int {
	fs := flag.NewFlagSet("fieldsync", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	server := fs.String("server", "", "")
	db := fs.String("db", "", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(e.stdout, usage)
			return exitOK
		}
		return fail(e, usagef("%v", err), nil)
	}
	if fs.NArg() == 0 {
		fmt.Fprint(e.stderr, usage)
		return exitUsage
	}
	name, rest := fs.Arg(0), fs.Args()[1:]
	cmd, ok := commands[name]
	if !ok {
		if name == "help" {
			fmt.Fprint(e.stdout, usage)
			return exitOK
		}
		return fail(e, usagef("unknown command %q", name), nil)
	}
	path, err := dbPath(*db, e)
	if err != nil {
		return fail(e, err, nil)
	}
	c, err := client.Open(path, client.Options{Server: *server, HTTPClient: e.httpClient, Now: e.now, Backoff: e.backoff})
	if err != nil {
		return fail(e, err, nil)
	}
	defer c.Close()
	return fail(e, cmd(ctx, c, rest, e), c)
}

// command runs one subcommand.
type command func(ctx context.Context, c *client.Client, args []string, e env) error

var commands map[string]command

func init() {
	commands = map[string]command{
		"login": cmdLogin, "logout": cmdLogout, "capture": cmdCapture, "queue": cmdQueue,
		"sync": cmdSync, "pull": cmdPull, "status": cmdStatus,
		"show": cmdShow, "resubmit": cmdResubmit, "dismiss": cmdDismiss,
	}
}

// dbPath is the outbox path: the flag, else $FIELDSYNC_DB, else
// ~/.fieldsync/outbox.db.
func dbPath(flagValue string, e env) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if v := e.getenv("FIELDSYNC_DB"); v != "" {
		return v, nil
	}
	home, err := e.home()
	if err != nil || home == "" {
		return "", usagef("no home directory: give -db path or set FIELDSYNC_DB")
	}
	return filepath.Join(home, ".fieldsync", "outbox.db"), nil
}

// fail prints what err means for the officer and returns the exit code;
// nil is exit 0.
func fail(e env, err error, c *client.Client) int {
	if err == nil {
		return exitOK
	}
	msg, code := explain(err, pendingOf(c))
	fmt.Fprintln(e.stderr, "fieldsync: "+msg)
	if code == exitUsage && !strings.Contains(msg, "fieldsync help") {
		fmt.Fprintln(e.stderr, "run fieldsync help for the commands")
	}
	return code
}

// newFlags returns a flag set for a subcommand that reports errors
// instead of printing them.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args into fs; -h prints the flags to e.stdout.
func parseFlags(fs *flag.FlagSet, args []string, e env) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(e.stdout)
		fmt.Fprintf(e.stdout, "flags of fieldsync %s:\n", fs.Name())
		fs.PrintDefaults()
		return errHelpShown
	}
	if err != nil {
		return usagef("%s: %v", fs.Name(), err)
	}
	return nil
}

// errHelpShown ends a command whose help was asked for: exit 0.
var errHelpShown = errors.New("help shown")
