// Command fieldsync is a command-line field client for Baoshui: it captures
// enforcement records into a durable on-device outbox, offline if need be,
// and syncs them with the server (mobile-sync/PROTOCOL.md).
//
//	fieldsync [-server URL] [-db path] <command> [flags]
//
// Run "fieldsync help" for the commands. Exit codes: 0 ok, 1 error,
// 2 usage, 3 offline (what was captured stays queued).
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], systemEnv())
	stop()
	os.Exit(code)
}
