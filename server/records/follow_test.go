package records_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/records"
	"github.com/baoshui/baoshui/server/store"
	"github.com/baoshui/baoshui/server/store/storetest"
)

func openInstance(t *testing.T, st *store.Store, name string) *records.Service {
	t.Helper()
	svc, err := records.Open(context.Background(), st, tree(), records.Options{Now: func() time.Time { return now },
		Instance: name, FollowInterval: 20 * time.Millisecond, Shared: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return svc
}

// waitFor polls cond for up to 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// allChanges pages through the whole sync feed of svc.
func allChanges(t *testing.T, svc *records.Service) []enforcement.Record {
	t.Helper()
	var out []enforcement.Record
	cursor := ""
	for {
		page, err := svc.Changes(context.Background(), cursor, 37, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Changes...)
		cursor = page.NextCursor
		if !page.HasMore {
			return out
		}
	}
}

var year2020 = records.TotalsQuery{From: enforcement.DayFromDate(2020, 1, 1), To: enforcement.DayFromDate(2021, 1, 1)}

// TestInstancesShareOneStore runs two services, each with its own
// connection pool, on one store, as two server instances: they write at
// once, correct and void each other's records, and retry each other's
// creates. Both must end with the same read models as a third started
// afterwards from a scan, one server sequence without duplicates, and one
// unbroken audit chain.
func TestInstancesShareOneStore(t *testing.T) {
	for _, e := range storetest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			sts := e.OpenShared(t, 3)
			a, b := openInstance(t, sts[0], "a"), openInstance(t, sts[1], "b")
			ctx := context.Background()
			const writers, each = 4, 25
			var wg sync.WaitGroup
			for _, in := range []struct {
				name string
				svc  *records.Service
			}{{"a", a}, {"b", b}} {
				for w := range writers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						me := records.Actor{Username: "officer-" + in.name}
						for i := range each {
							r := decode(t, expulsion(fmt.Sprintf("%s-%d-%d", in.name, w, i), "town-a", 1+i%3, "2020-07-04T15:20:00+08:00"))
							if _, err := in.svc.Create(ctx, me, r); err != nil {
								t.Error(err)
								return
							}
							// A phone whose answer was lost retries on the other
							// instance: the same record again.
							if i%5 == 0 {
								other := a
								if in.svc == a {
									other = b
								}
								if res, err := other.Create(ctx, me, r); err != nil || res.Created {
									t.Errorf("retry of %s on the other instance: created %v, %v; want the stored record", r.ID, res.Created, err)
								}
							}
						}
					}()
				}
			}
			wg.Wait()
			if t.Failed() {
				return
			}
			const total = 2 * writers * each
			var wantPersons int64
			for range 2 * writers {
				for i := range each {
					wantPersons += int64(1 + i%3)
				}
			}
			waitFor(t, "both instances to apply every record", func() bool { return a.Count() == total && b.Count() == total })

			// B corrects a record A created; A voids one B created.
			waitFor(t, "b to know a-0-0", func() bool { _, ok := b.Head("a-0-0"); return ok })
			fix := decode(t, expulsion("a-0-0", "town-a", 10, "2020-07-04T15:20:00+08:00"))
			if _, err := b.Correct(ctx, records.Actor{Username: "sup"}, 1, fix); err != nil {
				t.Fatal(err)
			}
			wantPersons += 10 - 1
			if _, err := a.Void(ctx, records.Actor{Username: "sup"}, "b-0-1", 1, "entered twice"); err != nil {
				t.Fatal(err)
			}
			wantPersons -= 2
			// A's head of a-0-0 is rev 1 until it follows B's correction; a
			// correction from A on rev 1 now conflicts either way.
			if _, err := a.Correct(ctx, records.Actor{Username: "sup"}, 1, fix); err == nil {
				t.Error("a correction of a stale revision through the other instance succeeded")
			}
			waitFor(t, "both frontiers to meet", func() bool {
				ha, _ := a.Head("a-0-0")
				hb, _ := b.Head("b-0-1")
				return a.FollowStats().Frontier == b.FollowStats().Frontier && ha.Rev == 2 && hb.Rev == 2
			})

			c := openInstance(t, sts[2], "c")
			for name, svc := range map[string]*records.Service{"a": a, "b": b, "c (scanned)": c} {
				if got := svc.Totals(year2020).Totals.PersonsCleared; got != wantPersons {
					t.Errorf("%s: persons cleared %d, want %d", name, got, wantPersons)
				}
				if svc.Count() != total {
					t.Errorf("%s: %d records, want %d", name, svc.Count(), total)
				}
				feed := allChanges(t, svc)
				if len(feed) != total {
					t.Errorf("%s: the sync feed has %d records, want %d", name, len(feed), total)
				}
				ids := map[string]bool{}
				var last int64
				for _, r := range feed {
					if ids[r.ID] {
						t.Errorf("%s: %s twice in the sync feed", name, r.ID)
					}
					ids[r.ID] = true
					if r.ServerSeq <= last {
						t.Errorf("%s: server sequence %d after %d in the feed", name, r.ServerSeq, last)
					}
					last = r.ServerSeq
				}
				rep, err := svc.VerifyAudit(ctx)
				if err != nil || !rep.OK || rep.Entries != total+2 {
					t.Errorf("%s: audit %+v, %v; want one unbroken chain of %d entries", name, rep, err, total+2)
				}
			}
			if a.FollowStats().Frontier != c.FollowStats().Frontier {
				t.Errorf("frontier of a %d, of c (scanned) %d", a.FollowStats().Frontier, c.FollowStats().Frontier)
			}
			seqs := map[int64]string{}
			for _, r := range allChanges(t, c) {
				hist, err := c.History(ctx, r.ID)
				if err != nil {
					t.Fatal(err)
				}
				for _, h := range hist {
					if prev, dup := seqs[h.ServerSeq]; dup {
						t.Errorf("server sequence %d given to %s rev %d and to %s", h.ServerSeq, h.ID, h.Rev, prev)
					}
					seqs[h.ServerSeq] = fmt.Sprintf("%s rev %d", h.ID, h.Rev)
				}
			}
		})
	}
}

// TestFrontierWaitsForAClaimedRevision: a claim whose revision is not stored
// (its instance died between the claim and the insert) holds back the sync
// feed, never the writes, until the grace for it passes; then the feed
// moves on past the unused number.
func TestFrontierWaitsForAClaimedRevision(t *testing.T) {
	defer records.SetHoleGrace(time.Second)()
	st := storetest.Open(t)
	a := openInstance(t, st, "a")
	ctx := context.Background()
	ghost := enforcement.SeqClaim{N: 1, First: 1, Size: 1, At: time.Now(), By: "dead",
		Revs: []enforcement.RevRef{{ID: "never-stored", Rev: 1}}}
	if err := st.InsertSeqClaim(ctx, ghost); err != nil {
		t.Fatal(err)
	}
	res, err := a.Create(ctx, records.Actor{Username: "u"}, decode(t, expulsion("r1", "town-a", 2, "2020-07-04T15:20:00+08:00")))
	if err != nil || !res.Created {
		t.Fatalf("create behind the ghost claim: %+v %v", res, err)
	}
	if res.Record.ServerSeq != 2 {
		t.Errorf("server sequence %d, want 2 (after the ghost claim's 1)", res.Record.ServerSeq)
	}
	if got := a.Totals(year2020).Totals.PersonsCleared; got != 2 {
		t.Errorf("persons cleared %d: the write must count at once", got)
	}
	if feed := allChanges(t, a); len(feed) != 0 {
		t.Errorf("the sync feed holds %d records while claim 1 is unresolved; want none", len(feed))
	}
	waitFor(t, "the feed to move past the ghost claim", func() bool { return a.FollowStats().Frontier == 2 })
	if feed := allChanges(t, a); len(feed) != 1 || feed[0].ID != "r1" {
		t.Errorf("the sync feed after the grace: %d records, want r1", len(feed))
	}
}

// TestLookupFollowsOnAMiss: a record created through one instance is found
// through another at once by Lookup (a phone creates through one and
// corrects through the other), though that one's idle follow is far off.
func TestLookupFollowsOnAMiss(t *testing.T) {
	sts := storetest.Engines(t)[0].OpenShared(t, 2)
	ctx := context.Background()
	opts := records.Options{Now: func() time.Time { return now }, FollowInterval: 30 * time.Second, Shared: true}
	a, err := records.Open(ctx, sts[0], tree(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := records.Open(ctx, sts[1], tree(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := a.Create(ctx, records.Actor{Username: "u"}, decode(t, expulsion("r1", "town-a", 2, "2020-07-04T15:20:00+08:00"))); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Head("r1"); ok {
		t.Fatal("b holds r1 before following; the test shows nothing")
	}
	h, ok := b.Lookup(ctx, "r1")
	if !ok || h.Rev != 1 {
		t.Fatalf("b.Lookup(r1): %+v %v; want rev 1", h, ok)
	}
	if _, ok := b.Lookup(ctx, "no-such-record"); ok {
		t.Error("a record nobody created was found")
	}
	if _, err := b.Correct(ctx, records.Actor{Username: "u"}, 1, decode(t, expulsion("r1", "town-a", 5, "2020-07-04T15:20:00+08:00"))); err != nil {
		t.Errorf("b corrects a's record: %v", err)
	}
}

// TestAloneAHoleDoesNotHoldTheFeed: an instance alone on its store writes
// no claim bodies; a claim of its earlier life whose revision was never
// stored must not hold its sync feed back after a restart.
func TestAloneAHoleDoesNotHoldTheFeed(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	me := records.Actor{Username: "u"}
	svc := open(t, st)
	if _, err := svc.Create(ctx, me, decode(t, expulsion("r1", "town-a", 2, "2020-07-04T15:20:00+08:00"))); err != nil {
		t.Fatal(err)
	}
	svc.Close()
	// The process died between its claim and its insert.
	ghost := enforcement.SeqClaim{N: 2, First: 2, Size: 1, At: time.Now(), By: "me, earlier",
		Revs: []enforcement.RevRef{{ID: "never-stored", Rev: 1}}}
	if err := st.InsertSeqClaim(ctx, ghost); err != nil {
		t.Fatal(err)
	}
	again := open(t, st)
	res, err := again.Create(ctx, me, decode(t, expulsion("r2", "town-a", 1, "2020-07-04T15:20:00+08:00")))
	if err != nil || res.Record.ServerSeq != 3 {
		t.Fatalf("create after the restart: seq %d, %v; want 3", res.Record.ServerSeq, err)
	}
	if feed := allChanges(t, again); len(feed) != 2 {
		t.Errorf("the sync feed holds %d records at once after the restart; want r1 and r2", len(feed))
	}
}
