package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/baoshui/baoshui/mobile-sync/client"
)

// pending counts what waits on the device, for the messages.
type pending struct {
	records, photos, chunks int
}

func pendingOf(c *client.Client) pending {
	if c == nil {
		return pending{}
	}
	st, err := c.Status()
	if err != nil {
		return pending{}
	}
	return pending{records: st.Queued, photos: st.BlobsPending, chunks: st.ChunksPending}
}

// plural returns "1 record" or "3 records".
func plural(n int, one string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %ss", n, one)
}

// stayQueued says what stays queued: "3 records stay queued", "1 record and
// 2 photos stay queued".
func (p pending) stayQueued() string {
	parts := []string{plural(p.records, "record")}
	if p.photos > 0 {
		parts = append(parts, plural(p.photos, "photo"))
	}
	if p.chunks > 0 {
		parts = append(parts, plural(p.chunks, "track chunk"))
	}
	verb := "stay"
	if len(parts) == 1 && p.records == 1 {
		verb = "stays"
	}
	return strings.Join(parts, " and ") + " " + verb + " queued"
}

// explain turns an error into the message an officer reads and the exit
// code.
func explain(err error, p pending) (string, int) {
	var ue *usageError
	var prob *client.Problem
	switch {
	case errors.Is(err, errHelpShown):
		return "", exitOK
	case errors.As(err, &ue):
		return ue.msg, exitUsage
	case errors.Is(err, client.ErrNoServer):
		return "no server known: give -server URL once (it is remembered)", exitUsage
	case errors.Is(err, client.ErrOffline):
		return fmt.Sprintf("server unreachable: %s; run fieldsync sync when online", p.stayQueued()), exitOffline
	case errors.Is(err, client.ErrUnavailable):
		return fmt.Sprintf("the server is unavailable (%s): %s; run fieldsync sync later", cause(err), p.stayQueued()), exitOffline
	case errors.Is(err, client.ErrSignInRequired):
		return fmt.Sprintf("sign in again with fieldsync login; %s", p.stayQueued()), exitError
	case errors.Is(err, client.ErrDeviceNotRegistered):
		return fmt.Sprintf("this device is not registered to your account: run fieldsync login again to register it; %s", p.stayQueued()), exitError
	case errors.Is(err, context.Canceled):
		return fmt.Sprintf("interrupted; %s", p.stayQueued()), exitError
	case errors.Is(err, client.ErrInUse):
		return "the outbox is in use by another fieldsync; wait for it to finish", exitError
	case errors.As(err, &prob) && prob.HasType("bad-credentials"):
		return "sign-in refused: wrong username or password", exitError
	case errors.As(err, &prob):
		return fmt.Sprintf("the server refused: %s", prob.Error()), exitError
	}
	return err.Error(), exitError
}

// cause is the server's problem inside err, or err's message.
func cause(err error) string {
	var prob *client.Problem
	if errors.As(err, &prob) {
		return prob.Error()
	}
	return err.Error()
}

// describeSync is the summary of a Sync for the officer.
func describeSync(r client.Report) []string {
	var lines []string
	sent := r.Applied + r.Duplicates + r.Rejected + r.Conflicts
	s := "sent " + plural(sent, "record")
	if sent > 0 {
		s += fmt.Sprintf(" (%d stored", r.Applied+r.Duplicates)
		if k := r.Rejected + r.Conflicts; k > 0 {
			s += fmt.Sprintf(", %d kept aside", k)
		}
		s += ")"
	}
	if r.BlobsUploaded > 0 {
		s += ", " + plural(r.BlobsUploaded, "photo")
	}
	if r.ChunksSent > 0 {
		s += ", " + plural(r.ChunksSent, "track chunk")
	}
	s += "; pulled " + plural(r.Pull.Records, "change")
	if r.Pull.FullResync {
		s += " (a full resync: the server had forgotten this device's place)"
	}
	lines = append(lines, s)
	if r.Renumbered > 0 {
		lines = append(lines, fmt.Sprintf("note: %s took new sequence numbers to follow the server's ledger", plural(r.Renumbered, "record")))
	}
	if r.ChunksWaiting > 0 {
		lines = append(lines, fmt.Sprintf("%s wait for their patrol record to be stored", plural(r.ChunksWaiting, "track chunk")))
	}
	if r.ClockSuspect {
		lines = append(lines, fmt.Sprintf("warning: this device's clock is off by %s; set it right (the server flags these records)", r.ClockOffset.Round(time.Second)))
	}
	if r.Queued > 0 {
		lines = append(lines, fmt.Sprintf("%s still queued", plural(r.Queued, "record")))
	}
	if r.KeptAside > 0 {
		lines = append(lines, fmt.Sprintf("%s kept aside for correction: see fieldsync queue", plural(r.KeptAside, "item")))
	}
	return lines
}

// describeAside is one line about a kept-aside item and what to do.
func describeAside(a client.Aside) string {
	var what string
	switch a.What {
	case client.AsideMutation:
		what = fmt.Sprintf("%s %s %s (seq %d)", a.Mutation.Op, kindOr(a.Kind), a.RecordID, a.Mutation.Seq)
	case client.AsideTrackChunk:
		what = fmt.Sprintf("track chunk %d of patrol %s", a.ChunkSeq, a.PatrolID)
	case client.AsideBlob:
		what = "photo " + short(a.Blob.SHA256)
	}
	return fmt.Sprintf("#%d %s: %s: %s", a.ID, what, a.Status, a.Reason())
}

func kindOr(k client.Kind) string {
	if k == "" {
		return "record"
	}
	return string(k)
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
