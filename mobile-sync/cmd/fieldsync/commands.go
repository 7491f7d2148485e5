package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/baoshui/baoshui/mobile-sync/client"
)

func noArgs(name string, args []string) error {
	if len(args) > 0 {
		return usagef("%s takes no arguments", name)
	}
	return nil
}

// cmdSync sends what waits and pulls; offline it says what stays queued.
func cmdSync(ctx context.Context, c *client.Client, args []string, e env) error {
	if err := noArgs("sync", args); err != nil {
		return err
	}
	rep, err := c.Sync(ctx)
	// What got through before a failure is worth saying too.
	if err == nil || rep.Pushes > 0 || rep.Pull.Pages > 0 || rep.BlobsUploaded > 0 || rep.ChunksSent > 0 {
		for _, l := range describeSync(rep) {
			fmt.Fprintln(e.stdout, l)
		}
		if perr := printAside(c, e, true); perr != nil && err == nil {
			err = perr
		}
	}
	return err
}

func cmdPull(ctx context.Context, c *client.Client, args []string, e env) error {
	if err := noArgs("pull", args); err != nil {
		return err
	}
	rep, err := c.Pull(ctx)
	if err != nil {
		return err
	}
	st, err := c.Status()
	if err != nil {
		return err
	}
	msg := "pulled " + plural(rep.Records, "change")
	if rep.FullResync {
		msg += " (a full resync: the server had forgotten this device's place)"
	}
	fmt.Fprintf(e.stdout, "%s; %s on this device\n", msg, plural(st.PulledRecords, "record"))
	return nil
}

// cmdQueue lists what waits and what is kept aside.
func cmdQueue(_ context.Context, c *client.Client, args []string, e env) error {
	if err := noArgs("queue", args); err != nil {
		return err
	}
	q, err := c.Queue()
	if err != nil {
		return err
	}
	if len(q.Mutations)+len(q.Blobs)+len(q.Chunks)+len(q.Aside) == 0 {
		fmt.Fprintln(e.stdout, "nothing waits")
		return nil
	}
	if len(q.Mutations) > 0 {
		fmt.Fprintf(e.stdout, "%s to send:\n", plural(len(q.Mutations), "record"))
		for _, p := range q.Mutations {
			fmt.Fprintf(e.stdout, "  seq %d  %s %s %s  (queued %s)\n", p.Seq, p.Op, kindOr(p.Kind), p.RecordID, p.CapturedAt.Local().Format(time.DateTime))
		}
	}
	if len(q.Blobs) > 0 {
		fmt.Fprintf(e.stdout, "%s to upload:\n", plural(len(q.Blobs), "photo"))
		for _, b := range q.Blobs {
			fmt.Fprintf(e.stdout, "  %s  %s, %d bytes\n", short(b.SHA256), b.MIME, b.Size)
		}
	}
	if len(q.Chunks) > 0 {
		fmt.Fprintf(e.stdout, "%s to send:\n", plural(len(q.Chunks), "track chunk"))
		for _, ch := range q.Chunks {
			fmt.Fprintf(e.stdout, "  patrol %s chunk %d, %d points\n", ch.PatrolID, ch.ChunkSeq, ch.Points)
		}
	}
	return printAside(c, e, false)
}

// printAside lists the kept-aside items with their reasons and the way to
// correct them.
func printAside(c *client.Client, e env, afterSync bool) error {
	q, err := c.Queue()
	if err != nil {
		return err
	}
	if len(q.Aside) == 0 {
		return nil
	}
	w := e.stdout
	if afterSync {
		w = e.stderr
	}
	fmt.Fprintf(w, "%s kept aside for correction:\n", plural(len(q.Aside), "item"))
	for _, a := range q.Aside {
		fmt.Fprintln(w, "  "+describeAside(a))
		for _, f := range fieldErrors(a) {
			fmt.Fprintln(w, "      "+f)
		}
	}
	fmt.Fprintln(w, "correct one with fieldsync show N > fix.json, edit it, then fieldsync resubmit N fix.json; or fieldsync dismiss N")
	return nil
}

func fieldErrors(a client.Aside) []string {
	if a.Problem == nil || len(a.Problem.Errors) < 2 {
		return nil
	}
	var out []string
	for _, f := range a.Problem.Errors {
		out = append(out, f.Field+": "+f.Detail)
	}
	return out
}

func cmdStatus(_ context.Context, c *client.Client, args []string, e env) error {
	if err := noArgs("status", args); err != nil {
		return err
	}
	st, err := c.Status()
	if err != nil {
		return err
	}
	w := e.stdout
	server := st.Server
	if server == "" {
		server = "none (give -server URL)"
	}
	fmt.Fprintf(w, "server:      %s\n", server)
	fmt.Fprintf(w, "device:      %s (%s)\n", st.DeviceID, map[bool]string{true: "registered", false: "not registered"}[st.Registered])
	switch {
	case st.Session.Username == "":
		fmt.Fprintln(w, "signed in:   nobody (fieldsync login)")
	case !st.SignedIn:
		fmt.Fprintf(w, "signed in:   %s, signed out since (fieldsync login)\n", st.Session.Username)
	default:
		fmt.Fprintf(w, "signed in:   %s (%s)\n", st.Session.Username, st.Session.Unit)
	}
	fmt.Fprintf(w, "queued:      %s, %s, %s\n", plural(st.Queued, "record"), plural(st.BlobsPending, "photo"), plural(st.ChunksPending, "track chunk"))
	fmt.Fprintf(w, "kept aside:  %d\n", st.KeptAside)
	fmt.Fprintf(w, "next seq:    %d\n", st.NextSeq)
	fmt.Fprintf(w, "pulled:      %s, zones generation %d\n", plural(st.PulledRecords, "record"), st.ZonesGeneration)
	fmt.Fprintf(w, "last sync:   %s\n", when(st.LastSync))
	if st.ClockSuspect {
		fmt.Fprintf(w, "clock:       off by %s: set this device's clock\n", st.ClockOffset.Round(time.Second))
	}
	return nil
}

func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format(time.DateTime)
}

func asideID(name string, args []string, n int) (int64, error) {
	if len(args) < 1 || len(args) > n {
		return 0, usagef("%s: give the kept-aside item's number (see fieldsync queue)", name)
	}
	id, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || id < 1 {
		return 0, usagef("%s: %q is not an item number (see fieldsync queue)", name, args[0])
	}
	return id, nil
}

// cmdShow prints a kept-aside item as JSON: the record as it was sent, the
// problem and the server's copy.
func cmdShow(_ context.Context, c *client.Client, args []string, e env) error {
	id, err := asideID("show", args, 1)
	if err != nil {
		return err
	}
	a, err := c.KeptAside(id)
	if err != nil {
		return err
	}
	if a.Mutation != nil && len(a.Mutation.Record) > 0 {
		// The record alone is what the officer edits and resubmits; the
		// reason goes to stderr so that stdout can be redirected.
		fmt.Fprintln(e.stderr, describeAside(a))
		if len(a.Current) > 0 {
			fmt.Fprintf(e.stderr, "the server's copy: %s\n", a.Current)
		}
		return printJSON(e.stdout, a.Mutation.Record)
	}
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return printJSON(e.stdout, b)
}

func printJSON(w io.Writer, b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(out))
	return err
}

// cmdResubmit queues a kept-aside item again, with a corrected record read
// from a file or stdin ("-").
func cmdResubmit(_ context.Context, c *client.Client, args []string, e env) error {
	id, err := asideID("resubmit", args, 2)
	if err != nil {
		return err
	}
	var record []byte
	if len(args) == 2 {
		if args[1] == "-" {
			record, err = io.ReadAll(e.stdin)
		} else {
			record, err = os.ReadFile(args[1])
		}
		if err != nil {
			return fmt.Errorf("resubmit: %w", err)
		}
	}
	seq, err := c.Resubmit(id, record)
	if err != nil {
		return err
	}
	if seq > 0 {
		fmt.Fprintf(e.stdout, "queued again as seq %d; run fieldsync sync to send it\n", seq)
	} else {
		fmt.Fprintln(e.stdout, "queued again; run fieldsync sync to send it")
	}
	return nil
}

func cmdDismiss(_ context.Context, c *client.Client, args []string, e env) error {
	id, err := asideID("dismiss", args, 1)
	if err != nil {
		return err
	}
	if err := c.Dismiss(id); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "dismissed #%d\n", id)
	return nil
}
