package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
)

func TestCaptureOfflineThenSync(t *testing.T) {
	for _, tc := range []struct {
		name string
		// offline makes the server unreachable for dir's client and
		// returns a function that brings it back.
		offline func(t *testing.T, f *fakeServer, dir string) (c *Client, online func() *Client)
	}{
		{"connection refused", func(t *testing.T, f *fakeServer, dir string) (*Client, func() *Client) {
			c := open(t, dir, deadURL(t), fast)
			return c, func() *Client {
				c.Close()
				return open(t, dir, f.URL, fast)
			}
		}},
		{"connection cut", func(t *testing.T, f *fakeServer, dir string) (*Client, func() *Client) {
			f.set(func(f *fakeServer) { f.down = true })
			c := open(t, dir, f.URL, fast)
			return c, func() *Client {
				f.set(func(f *fakeServer) { f.down = false })
				return c
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFake(t)
			dir := t.TempDir()
			c := open(t, dir, f.URL, fast)
			signIn(t, c)
			c.Close()

			c, online := tc.offline(t, f, dir)
			ids := capture(t, c, 3)
			rep, err := c.Sync(ctx)
			if !errors.Is(err, ErrOffline) {
				t.Fatalf("sync while offline: %v, want ErrOffline", err)
			}
			if rep.Queued != 3 || !slices.Equal(queued(t, c), []int64{1, 2, 3}) {
				t.Fatalf("offline: %d queued (%v), want seqs 1-3", rep.Queued, queued(t, c))
			}

			c = online()
			defer c.Close()
			rep, err = c.Sync(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Applied != 3 || rep.Queued != 0 || rep.Pull.Records != 3 {
				t.Errorf("report %+v, want 3 applied, nothing queued, 3 pulled", rep)
			}
			f.once(t, ids)
			for _, id := range ids {
				if _, err := c.Record(id); err != nil {
					t.Errorf("record %s not pulled: %v", id, err)
				}
			}
		})
	}
}

func TestLostPushAnswer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		backoff Backoff
		// syncs is how many Syncs it takes: the lost answer is retried
		// within the first, or only by the next one.
		syncs int
	}{
		{"retried within the sync", fast, 1},
		{"answered on the next sync", Backoff{Initial: time.Millisecond, Attempts: 1}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFake(t)
			c := newClient(t, f, tc.backoff)
			ids := capture(t, c, 4)
			f.set(func(f *fakeServer) { f.cutPushes = 1 })

			var rep Report
			var err error
			for i := 1; i <= tc.syncs; i++ {
				rep, err = c.Sync(ctx)
				if i < tc.syncs {
					if !errors.Is(err, ErrOffline) || rep.Queued != 4 {
						t.Fatalf("sync %d: %v with %d queued, want ErrOffline and 4 queued", i, err, rep.Queued)
					}
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.Queued != 0 || rep.Applied != 4 || rep.KeptAside != 0 {
				t.Errorf("report %+v, want 4 applied (replayed) and an empty outbox", rep)
			}
			f.once(t, ids)
			if n := f.requests("POST /api/v1/sync/push"); n != 2 {
				t.Errorf("%d pushes, want 2 (the lost one and its replay)", n)
			}
		})
	}
}

func TestKeptAside(t *testing.T) {
	for _, tc := range []struct {
		name string
		// queue captures what is pushed; it returns the record id the
		// kept-aside mutation is about and the fixed record to resubmit.
		queue      func(t *testing.T, c *Client) (id string, fix []byte)
		status     mobilesync.Status
		wantReason string
	}{
		{"rejected", func(t *testing.T, c *Client) (string, []byte) {
			capture(t, c, 1)
			bad := expulsion(5000)
			bad.ID = "01BAD"
			if _, err := c.Capture(bad); err != nil {
				t.Fatal(err)
			}
			capture(t, c, 1)
			bad.Persons = 5
			fix, _ := json.Marshal(bad)
			return bad.ID, fix
		}, mobilesync.StatusRejected, "persons: must be between 1 and 1000"},
		{"conflict", func(t *testing.T, c *Client) (string, []byte) {
			r := expulsion(3)
			r.ID = "01STALE"
			if _, err := c.Capture(r); err != nil {
				t.Fatal(err)
			}
			r.Persons = 4
			body, _ := json.Marshal(r)
			if _, err := c.Correct(r.ID, 0, body); err != nil {
				t.Fatal(err)
			}
			r.Persons = 5
			body, _ = json.Marshal(r)
			// A correction on revision 1 when the one before made it 2.
			if _, err := c.Correct(r.ID, 1, body); err != nil {
				t.Fatal(err)
			}
			return r.ID, nil
		}, mobilesync.StatusConflict, "conflict: the server holds revision 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFake(t)
			c := newClient(t, f, fast)
			id, fix := tc.queue(t, c)
			rep, err := c.Sync(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Queued != 0 || rep.KeptAside != 1 || rep.Applied != 2 {
				t.Fatalf("report %+v, want 2 applied, 1 kept aside, nothing queued", rep)
			}
			q, _ := c.Queue()
			a := q.Aside[0]
			if a.RecordID != id || a.Status != tc.status || a.Reason() != tc.wantReason {
				t.Fatalf("kept aside %s %s %q, want %s %s %q", a.RecordID, a.Status, a.Reason(), id, tc.status, tc.wantReason)
			}
			if tc.status == mobilesync.StatusConflict && !strings.Contains(string(a.Current), `"rev":2`) {
				t.Errorf("a conflict keeps the server's copy, got %s", a.Current)
			}

			seq, err := c.Resubmit(a.ID, fix)
			if err != nil {
				t.Fatal(err)
			}
			if seq != 4 {
				t.Errorf("resubmitted as seq %d, want 4", seq)
			}
			if rep, err = c.Sync(ctx); err != nil || rep.Applied != 1 || rep.KeptAside != 0 {
				t.Fatalf("after the fix: %+v %v, want 1 applied and nothing aside", rep, err)
			}
		})
	}
}

func TestSeqGap(t *testing.T) {
	for _, tc := range []struct {
		name string
		// lose makes the server and the phone disagree after seqs 1-5
		// were applied; it returns the client to go on with.
		lose           func(t *testing.T, f *fakeServer, c *Client) *Client
		wantRenumbered int
		wantSeqs       string // the ledger's record of the new mutations
	}{
		{"server restored from an older backup", func(t *testing.T, f *fakeServer, c *Client) *Client {
			f.restoreLedger(c.DeviceID(), 2)
			return c
		}, 2, "3 4"},
		{"outbox begun again under the same device id", func(t *testing.T, f *fakeServer, c *Client) *Client {
			fresh, err := Open(t.TempDir()+"/outbox.db", Options{Server: f.URL, DeviceID: c.DeviceID(), Backoff: fast})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { fresh.Close() })
			if _, err := fresh.Login(context.Background(), "wang", "pw"); err != nil {
				t.Fatal(err)
			}
			return fresh
		}, 2, "6 7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFake(t)
			c := newClient(t, f, fast)
			capture(t, c, 5)
			if _, err := c.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			c = tc.lose(t, f, c)
			ids := capture(t, c, 2)
			rep, err := c.Sync(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Renumbered != tc.wantRenumbered || rep.Applied != 2 || rep.Queued != 0 {
				t.Errorf("report %+v, want %d renumbered, 2 applied", rep, tc.wantRenumbered)
			}
			f.once(t, ids)
			var got []string
			for _, id := range ids {
				for seq := int64(1); seq < 10; seq++ {
					r, err := f.ledger.Get(ctx, c.DeviceID(), seq)
					if err == nil && r.RecordID == id {
						got = append(got, fmt.Sprint(seq))
					}
				}
			}
			if s := strings.Join(got, " "); s != tc.wantSeqs {
				t.Errorf("the new records are seqs %q in the ledger, want %q", s, tc.wantSeqs)
			}
			st, _ := c.Status()
			if want := int64(len(strings.Fields(tc.wantSeqs))) + mustInt(t, strings.Fields(tc.wantSeqs)[0]); st.NextSeq != want {
				t.Errorf("next seq %d, want %d", st.NextSeq, want)
			}
		})
	}
}

func mustInt(t *testing.T, s string) int64 {
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTokenExpiry(t *testing.T) {
	for _, tc := range []struct {
		name          string
		refuseRefresh bool
		wantErr       error
		wantQueued    int
	}{
		{"refreshed", false, nil, 0},
		{"refresh refused", true, ErrSignInRequired, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFake(t)
			c := newClient(t, f, fast)
			ids := capture(t, c, 3)
			f.expireTokens()
			f.set(func(f *fakeServer) { f.refuseRefresh = tc.refuseRefresh })
			rep, err := c.Sync(ctx)
			if !errors.Is(err, tc.wantErr) || rep.Queued != tc.wantQueued {
				t.Fatalf("sync: %v with %d queued, want %v with %d", err, rep.Queued, tc.wantErr, tc.wantQueued)
			}
			if n := f.requests("POST /api/v1/auth/refresh"); n != 1 {
				t.Errorf("%d refreshes, want 1", n)
			}
			if tc.wantErr == nil {
				f.once(t, ids)
				return
			}
			if st, _ := c.Status(); st.SignedIn || st.Queued != 3 {
				t.Errorf("after a refused refresh: signed in %v, %d queued", st.SignedIn, st.Queued)
			}
			if _, err := c.Sync(ctx); !errors.Is(err, ErrSignInRequired) {
				t.Errorf("a second sync without signing in: %v", err)
			}
			signIn(t, c)
			if rep, err := c.Sync(ctx); err != nil || rep.Applied != 3 {
				t.Fatalf("after signing in again: %+v %v", rep, err)
			}
			f.once(t, ids)
		})
	}
}

func TestPushTooLarge(t *testing.T) {
	for _, tc := range []struct {
		name         string
		notes        []int // the size of each record's note
		maxPushBytes int
		wantApplied  int
		wantAside    int
		wantPushes   int
	}{
		{"halved until it fits", []int{300, 300, 300, 300}, 1500, 4, 0, 3},
		{"one record too large alone", []int{100, 3000, 100}, 1500, 2, 1, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFake(t)
			f.set(func(f *fakeServer) { f.maxPushBytes = tc.maxPushBytes })
			c := newClient(t, f, fast)
			var ids []string
			for i, n := range tc.notes {
				r := expulsion(int64(i + 1))
				r.Note = strings.Repeat("x", n)
				got, err := c.Capture(r)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, got.ID)
			}
			rep, err := c.Sync(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Applied != tc.wantApplied || rep.KeptAside != tc.wantAside || rep.Queued != 0 || rep.Pushes != tc.wantPushes {
				t.Errorf("report %+v, want %d applied, %d aside in %d pushes", rep, tc.wantApplied, tc.wantAside, tc.wantPushes)
			}
			if tc.wantAside > 0 {
				q, _ := c.Queue()
				if a := q.Aside[0]; a.RecordID != ids[1] || !a.Problem.HasType(ProblemTooLarge) {
					t.Errorf("kept aside %s (%v), want %s as too large", a.RecordID, a.Problem, ids[1])
				}
				// The server never took the large one's seq: the next
				// record took it, leaving no gap.
				if r, err := f.ledger.Get(ctx, c.DeviceID(), 2); err != nil || r.RecordID != ids[2] {
					t.Errorf("seq 2 in the ledger is %v %v, want %s", r.RecordID, err, ids[2])
				}
			}
		})
	}
}

func TestRetriesServerUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failures int
		wantErr  error
	}{
		{"recovers within the retries", 2, nil},
		{"gives up after the retries", 3, ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			c := newClient(t, f, fast)
			capture(t, c, 2)
			f.set(func(f *fakeServer) { f.fail503 = tc.failures })
			start := time.Now()
			rep, err := c.Sync(context.Background())
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("sync: %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil && rep.Queued != 2 {
				t.Errorf("%d queued after giving up, want 2", rep.Queued)
			}
			// Retry-After: 1 is honoured only up to Backoff.Max.
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestBlobUpload(t *testing.T) {
	photo := make([]byte, 5000)
	for i := range photo {
		photo[i] = byte(i * 7)
	}
	for _, tc := range []struct {
		name      string
		cutAt     int64
		preload   bool // the server holds the blob already
		wantSyncs int
		wantPuts  []string
	}{
		{"in parts", 0, false, 1, []string{"bytes 0-1999/5000", "bytes 2000-3999/5000", "bytes 4000-4999/5000"}},
		{"cut midway and resumed from HEAD's offset", 2500, false, 2,
			[]string{"bytes 0-1999/5000", "bytes 2000-3999/5000", "bytes 2500-4499/5000", "bytes 4500-4999/5000"}},
		{"already on the server", 0, true, 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFake(t)
			f.set(func(f *fakeServer) { f.limits.BlobPartBytes, f.cutBlobAt = 2000, tc.cutAt })
			c := newClient(t, f, Backoff{Initial: time.Millisecond, Attempts: 1})
			path := t.TempDir() + "/IMG_0001.jpg"
			if err := writeFile(path, photo); err != nil {
				t.Fatal(err)
			}
			ph, err := c.AttachPhoto(path)
			if err != nil {
				t.Fatal(err)
			}
			if ph.Size != 5000 || ph.MIME != "image/jpeg" || len(ph.SHA256) != 64 {
				t.Fatalf("photo %+v", ph)
			}
			if tc.preload {
				f.set(func(f *fakeServer) { f.blobs[ph.SHA256] = &fakeBlob{data: photo, total: 5000, complete: true} })
			}
			r := expulsion(2)
			r.Photos = []Photo{ph}
			if _, err := c.Capture(r); err != nil {
				t.Fatal(err)
			}
			var rep Report
			for i := 1; i <= tc.wantSyncs; i++ {
				rep, err = c.Sync(ctx)
				if i < tc.wantSyncs && !errors.Is(err, ErrOffline) {
					t.Fatalf("sync %d: %v, want ErrOffline", i, err)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			f.mu.Lock()
			puts, b := f.blobPuts, f.blobs[ph.SHA256]
			f.mu.Unlock()
			if !slices.Equal(puts, tc.wantPuts) {
				t.Errorf("PUTs %q, want %q", puts, tc.wantPuts)
			}
			if b == nil || !b.complete || string(b.data) != string(photo) {
				t.Errorf("the server's blob is not the photo")
			}
			if st, _ := c.Status(); st.BlobsPending != 0 || rep.BlobsUploaded != 1 {
				t.Errorf("%d blobs pending, %d uploaded", st.BlobsPending, rep.BlobsUploaded)
			}
			if fileExists(c.blobDir + "/" + ph.SHA256) {
				t.Errorf("the local copy stays after the upload")
			}
		})
	}
}

func TestPullCursorExpired(t *testing.T) {
	ctx := context.Background()
	f := newFake(t)
	c := newClient(t, f, fast)
	ids := capture(t, c, 3)
	if rep, err := c.Sync(ctx); err != nil || rep.Pull.Records != 3 {
		t.Fatalf("first sync: %+v %v", rep, err)
	}
	// The server compacts a record's tombstone: a phone holding the old
	// cursor would never learn of it.
	f.set(func(f *fakeServer) {
		delete(f.records, ids[1])
		f.cursorGone = true
	})
	rep, err := c.Pull(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.FullResync || rep.Records != 2 {
		t.Errorf("pull %+v, want a full resync of 2 records", rep)
	}
	recs, _ := c.Records()
	if len(recs) != 2 {
		t.Errorf("%d records on the phone, want 2", len(recs))
	}
	if _, err := c.Record(ids[1]); !errors.Is(err, ErrNotFound) {
		t.Errorf("the compacted record stays on the phone: %v", err)
	}
	ref, _ := c.Reference()
	if ref.ZonesGeneration != 3 || len(ref.Units) != 1 || ref.Units[0].ID != "town-a" {
		t.Errorf("reference %+v", ref)
	}
}

func TestPullPages(t *testing.T) {
	ctx := context.Background()
	f := newFake(t)
	c, err := Open(t.TempDir()+"/o.db", Options{Server: f.URL, Backoff: fast, PullLimit: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	signIn(t, c)
	capture(t, c, 5)
	rep, err := c.Sync(ctx)
	if err != nil || rep.Pull.Records != 5 || rep.Pull.Pages != 3 {
		t.Fatalf("sync %+v %v, want 5 records in 3 pages", rep.Pull, err)
	}
	if rep, err := c.Pull(ctx); err != nil || rep.Records != 0 || rep.Pages != 1 {
		t.Errorf("a pull with nothing new: %+v %v", rep, err)
	}
}

func TestTrackChunks(t *testing.T) {
	ctx := context.Background()
	f := newFake(t)
	f.set(func(f *fakeServer) { f.limits.MaxTrackChunkPoints = 2000 })
	c := newClient(t, f, fast)
	started := time.Date(2020, 7, 4, 8, 0, 0, 0, time.UTC)
	patrol, err := c.Capture(Record{Kind: KindPatrol, ObservedAt: started, StartedAt: &started,
		Location: &Point{Lon: 116.95, Lat: 40.52}, Unit: "town-a"})
	if err != nil {
		t.Fatal(err)
	}
	pts := make([]mobilesync.TrackPoint, 4500)
	for i := range pts {
		pts[i] = mobilesync.TrackPoint{Lon: 116.95 + float64(i)*1e-5, Lat: 40.52, UnixMilli: started.UnixMilli() + int64(i)*5000}
	}
	seqs, err := c.AppendTrack(patrol.ID, pts, "")
	if err != nil || !slices.Equal(seqs, []int64{1, 2, 3}) {
		t.Fatalf("append: %v %v, want chunks 1-3", seqs, err)
	}
	// Chunks of a patrol the server does not hold wait for it.
	orphan, _ := c.AppendTrack("01NOPATROL", pts[:10], CRSGCJ02)
	rep, err := c.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ChunksSent != 3 || rep.ChunksKeptAside != 1 || len(orphan) != 1 {
		t.Errorf("report %+v, want 3 chunks sent and the orphan kept aside", rep)
	}
	more, _ := c.AppendTrack(patrol.ID, pts[:5], "")
	if !slices.Equal(more, []int64{4}) {
		t.Errorf("the next chunk is %v, want 4", more)
	}
	f.mu.Lock()
	n := len(f.chunks)
	f.mu.Unlock()
	if n != 3 {
		t.Errorf("the server holds %d chunks, want 3", n)
	}
}

func TestChunksWaitForTheirPatrol(t *testing.T) {
	ctx := context.Background()
	f := newFake(t)
	c := newClient(t, f, fast)
	bad := Record{ID: "01PATROL", Kind: "patrolling", Location: &Point{Lon: 116.95, Lat: 40.52}, Unit: "town-a"}
	if _, err := c.Capture(bad); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AppendTrack(bad.ID, []mobilesync.TrackPoint{{Lon: 116.95, Lat: 40.52, UnixMilli: 1}, {Lon: 116.96, Lat: 40.52, UnixMilli: 2}}, ""); err != nil {
		t.Fatal(err)
	}
	rep, err := c.Sync(ctx)
	if err != nil || rep.Rejected != 1 || rep.ChunksWaiting != 1 || rep.ChunksSent != 0 {
		t.Fatalf("sync %+v %v, want the patrol rejected and its chunk waiting", rep, err)
	}
	q, _ := c.Queue()
	bad.Kind = KindPatrol
	bad.StartedAt = &bad.ObservedAt
	fix, _ := json.Marshal(bad)
	if _, err := c.Resubmit(q.Aside[0].ID, fix); err != nil {
		t.Fatal(err)
	}
	if rep, err := c.Sync(ctx); err != nil || rep.Applied != 1 || rep.ChunksSent != 1 {
		t.Fatalf("after the fix: %+v %v", rep, err)
	}
}

func TestReopenKeepsTheQueue(t *testing.T) {
	ctx := context.Background()
	f := newFake(t)
	dir := t.TempDir()
	c := open(t, dir, f.URL, fast)
	signIn(t, c)
	device := c.DeviceID()
	path := dir + "/p.png"
	if err := writeFile(path, []byte("\x89PNG\r\n\x1a\nnot really a png")); err != nil {
		t.Fatal(err)
	}
	ph, err := c.AttachPhoto(path)
	if err != nil {
		t.Fatal(err)
	}
	r := expulsion(2)
	r.Photos = []Photo{ph}
	first, _ := c.Capture(r)
	ids := append([]string{first.ID}, capture(t, c, 2)...)
	r.ID, r.Persons = first.ID, 3
	body, _ := json.Marshal(r)
	if _, err := c.Correct(first.ID, 0, body); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Void(ids[2], 0, "entered twice"); err != nil {
		t.Fatal(err)
	}
	before, _ := c.Queue()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened without a server URL or device id: both are kept.
	c, err = Open(dir+"/outbox.db", Options{Backoff: fast})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	after, _ := c.Queue()
	if c.DeviceID() != device || c.Server() != f.URL {
		t.Errorf("reopened as %s of %s, want %s of %s", c.DeviceID(), c.Server(), device, f.URL)
	}
	if fmt.Sprint(before) != fmt.Sprint(after) || len(after.Mutations) != 5 || len(after.Blobs) != 1 {
		t.Fatalf("queue before %+v\nafter %+v", before, after)
	}
	if s, ok, _ := c.Session(); !ok || s.Username != "wang" || s.Unit != "town-a" {
		t.Errorf("session %+v %v", s, ok)
	}
	rep, err := c.Sync(ctx)
	if err != nil || rep.Applied != 5 || rep.BlobsUploaded != 1 {
		t.Fatalf("sync after reopening: %+v %v", rep, err)
	}
	var rec struct {
		Persons int64 `json:"persons"`
		Rev     int64 `json:"rev"`
	}
	raw, _ := c.Record(first.ID)
	if err := json.Unmarshal(raw, &rec); err != nil || rec.Persons != 3 || rec.Rev != 2 {
		t.Errorf("the corrected record pulled as %s", raw)
	}
	if raw, _ := c.Record(ids[2]); !strings.Contains(string(raw), `"voided":true`) {
		t.Errorf("the voided record pulled as %s", raw)
	}
}

func TestOpenRefusesAnotherDevice(t *testing.T) {
	dir := t.TempDir()
	c, err := Open(dir+"/o.db", Options{DeviceID: "phone-a"})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := Open(dir+"/o.db", Options{DeviceID: "phone-b"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("opened phone-a's outbox as phone-b: %v", err)
	}
}

func TestCapturesDuringSync(t *testing.T) {
	ctx := context.Background()
	f := newFake(t)
	c := newClient(t, f, fast)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ids []string
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				got, err := c.Capture(expulsion(1))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				ids = append(ids, got.ID)
				mu.Unlock()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 5; i++ {
			if _, err := c.Sync(ctx); err != nil {
				t.Error(err)
			}
		}
	}()
	wg.Wait()
	if rep, err := c.Sync(ctx); err != nil || rep.Queued != 0 {
		t.Fatalf("final sync %+v %v", rep, err)
	}
	f.once(t, ids)
	if last, _ := f.ledger.Last(ctx, c.DeviceID()); last != 100 {
		t.Errorf("the ledger ends at seq %d, want 100", last)
	}
}

func TestCaptureChecksTheRecord(t *testing.T) {
	c, err := Open(t.TempDir()+"/o.db", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		name   string
		record string
		want   string
	}{
		{"not an object", `[1,2]`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"no kind", `{"id":"a"}`, "kind is required"},
		{"bad id", `{"id":"a:b","kind":"grazing"}`, `id "a:b"`},
		{"id not a string", `{"id":7,"kind":"grazing"}`, "id must be a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CaptureJSON([]byte(tc.record))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v, want ErrInvalid saying %q", err, tc.want)
			}
		})
	}
	got, err := c.CaptureJSON([]byte(`{"kind":"grazing","unit":"town-a"}`))
	if err != nil || len(got.ID) != 26 || got.Seq != 1 {
		t.Errorf("captured %+v %v, want a ULID as seq 1", got, err)
	}
}

func TestBlobRefusalDoesNotHoldBackThePull(t *testing.T) {
	ctx := context.Background()
	f := newFake(t)
	f.set(func(f *fakeServer) { f.noBlobRoutes = true })
	c := newClient(t, f, fast)
	path := t.TempDir() + "/a.jpg"
	if err := writeFile(path, []byte("jpeg bytes")); err != nil {
		t.Fatal(err)
	}
	ph, err := c.AttachPhoto(path)
	if err != nil {
		t.Fatal(err)
	}
	r := expulsion(1)
	r.Photos = []Photo{ph}
	if _, err := c.Capture(r); err != nil {
		t.Fatal(err)
	}
	rep, err := c.Sync(ctx)
	var p *Problem
	if !errors.As(err, &p) || p.Status != 404 || stopsSync(err) {
		t.Fatalf("sync: %v, want the blob's 404 reported", err)
	}
	if rep.Applied != 1 || rep.Pull.Records != 1 {
		t.Errorf("report %+v: the push and the pull must still happen", rep)
	}
	if st, _ := c.Status(); st.BlobsPending != 1 {
		t.Errorf("%d blobs pending, want the photo kept queued", st.BlobsPending)
	}
	f.set(func(f *fakeServer) { f.noBlobRoutes = false })
	if rep, err := c.Sync(ctx); err != nil || rep.BlobsUploaded != 1 {
		t.Errorf("once the server takes blobs: %+v %v", rep, err)
	}
}
