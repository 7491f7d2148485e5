package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
	sdk "github.com/baoshui/baoshui/mobile-sync/client"
)

// These tests drive the phone-side SDK (mobile-sync/client) against a real
// server (real store, real HTTP) and read the outcome back through the
// server's own API.

// fastBackoff keeps the SDK's retries short.
var fastBackoff = sdk.Backoff{Initial: time.Millisecond, Max: 10 * time.Millisecond, Attempts: 3}

// cst is Beijing time; every record observes a day of July 2020, inside
// the totals period the tests ask for.
var cst = time.FixedZone("CST", 8*3600)

const totalsPath = "/api/v1/reports/totals?from=2020-01-01&to=2021-01-01"

// phone is one handset: its outbox file, the options it opens with and the
// SDK client while it is open.
type phone struct {
	t    testing.TB
	path string
	opt  sdk.Options
	*sdk.Client
}

// newPhone opens a new outbox in a temporary directory for server.
func newPhone(t testing.TB, server, deviceID string) *phone {
	t.Helper()
	dir := t.TempDir()
	p := &phone{t: t, path: filepath.Join(dir, "outbox.db"), opt: sdk.Options{
		Server: server, DeviceID: deviceID, Backoff: fastBackoff, BlobDir: filepath.Join(dir, "blobs")}}
	p.open()
	t.Cleanup(func() {
		if p.Client != nil {
			_ = p.Client.Close()
		}
	})
	return p
}

func (p *phone) open() {
	p.t.Helper()
	c, err := sdk.Open(p.path, p.opt)
	if err != nil {
		p.t.Fatalf("open %s: %v", p.path, err)
	}
	p.Client = c
}

// reopen closes the outbox, as a phone that is switched off (or whose app
// is killed), and opens it again with server ("" keeps the one kept in
// the outbox).
func (p *phone) reopen(server string) {
	p.t.Helper()
	if err := p.Client.Close(); err != nil {
		p.t.Fatal(err)
	}
	p.Client = nil
	p.opt.Server = server
	p.open()
}

// signIn logs user in (password "password-<user>") and registers the phone.
func (p *phone) signIn(user string) {
	p.t.Helper()
	ctx := context.Background()
	if _, err := p.Login(ctx, user, "password-"+user); err != nil {
		p.t.Fatalf("login %s: %v", user, err)
	}
	if err := p.RegisterDevice(ctx, user+"'s phone"); err != nil {
		p.t.Fatalf("register %s: %v", p.DeviceID(), err)
	}
}

func (p *phone) sync() (sdk.Report, error) {
	return p.Sync(context.Background())
}

// mustSync syncs and fails the test on an error.
func (p *phone) mustSync() sdk.Report {
	p.t.Helper()
	rep, err := p.sync()
	if err != nil {
		p.t.Fatalf("sync of %s: %v (report %+v)", p.DeviceID(), err, rep)
	}
	return rep
}

func (p *phone) capture(r sdk.Record) string {
	p.t.Helper()
	got, err := p.Capture(r)
	if err != nil {
		p.t.Fatalf("capture: %v", err)
	}
	return got.ID
}

func (p *phone) queue() sdk.Queue {
	p.t.Helper()
	q, err := p.Queue()
	if err != nil {
		p.t.Fatal(err)
	}
	return q
}

// queueSize summarises what waits on the phone.
func queueSize(q sdk.Queue) string {
	return fmt.Sprintf("%d mutations, %d blobs, %d chunks, %d aside", len(q.Mutations), len(q.Blobs), len(q.Chunks), len(q.Aside))
}

func expulsion(unit string, persons int64, minute int) sdk.Record {
	return sdk.Record{Kind: sdk.KindExpulsion, ObservedAt: time.Date(2020, 7, 4, 9, minute, 0, 0, cst),
		Location: &sdk.Point{Lon: 116.95, Lat: 40.52}, Unit: unit, Persons: persons, Activity: "swimming"}
}

func patrol(unit string, start time.Time) sdk.Record {
	end := start.Add(8 * time.Hour)
	return sdk.Record{Kind: sdk.KindPatrol, ObservedAt: start, StartedAt: &start, EndedAt: &end,
		Location: &sdk.Point{Lon: 116.95, Lat: 40.52}, Unit: unit}
}

// trackPoints returns n fixes 5 s apart from start, along the shore.
func trackPoints(n int, start time.Time, from int) []mobilesync.TrackPoint {
	pts := make([]mobilesync.TrackPoint, n)
	for i := range pts {
		j := from + i
		pts[i] = mobilesync.TrackPoint{Lon: 116.9 + float64(j)*0.00002, Lat: 40.5 + float64(j)*0.00001,
			UnixMilli: start.Add(time.Duration(j) * 5 * time.Second).UnixMilli()}
	}
	return pts
}

// writePhoto writes n random bytes (seeded) as a .jpg file and returns its
// path and content.
func writePhoto(t testing.TB, seed uint64, n int) (string, []byte) {
	t.Helper()
	b := make([]byte, n)
	rng := rand.New(rand.NewPCG(seed, 99))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	path := filepath.Join(t.TempDir(), fmt.Sprintf("IMG_%d.jpg", seed))
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, b
}

// deadServer returns the URL of a port nothing listens on.
func deadServer(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}

// serverRecord is what GET /api/v1/records/{id} tells about a record.
type serverRecord struct {
	ID            string   `json:"id"`
	Kind          string   `json:"kind"`
	Rev           int64    `json:"rev"`
	Persons       int64    `json:"persons"`
	Voided        bool     `json:"voided"`
	PhotosPending []string `json:"photos_pending"`
	Photos        []struct {
		SHA256 string `json:"sha256"`
	} `json:"photos"`
	Sync *struct {
		DeviceID      string `json:"device_id"`
		Seq           int64  `json:"seq"`
		ClockOffsetMs int64  `json:"clock_offset_ms"`
		ClockSuspect  bool   `json:"clock_suspect"`
	} `json:"sync"`
}

func getRecord(t testing.TB, c *client, id string) (int, serverRecord) {
	t.Helper()
	var r serverRecord
	st := c.do("GET", "/api/v1/records/"+id, nil, &r)
	return st, r
}

// personsCleared is the district's persons_cleared for 2020.
func personsCleared(t testing.TB, c *client) int64 {
	t.Helper()
	var rep struct {
		Totals struct {
			PersonsCleared int64 `json:"persons_cleared"`
		} `json:"totals"`
	}
	if st := c.do("GET", totalsPath, nil, &rep); st != 200 {
		t.Fatalf("totals: %d", st)
	}
	return rep.Totals.PersonsCleared
}

// listAll pages through GET /api/v1/records for 2020 and counts each id.
func listAll(t testing.TB, c *client) (map[string]int, []serverRecord) {
	t.Helper()
	seen := map[string]int{}
	var all []serverRecord
	cursor := ""
	for {
		var page struct {
			Records    []serverRecord `json:"records"`
			NextCursor string         `json:"next_cursor"`
		}
		path := "/api/v1/records?from=2020-01-01&to=2021-01-01&limit=500"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		if st := c.do("GET", path, nil, &page); st != 200 {
			t.Fatalf("list: %d", st)
		}
		for _, r := range page.Records {
			seen[r.ID]++
		}
		all = append(all, page.Records...)
		if page.NextCursor == "" {
			return seen, all
		}
		cursor = page.NextCursor
	}
}

// serverTrack is GET /api/v1/patrols/{id}/track.
type serverTrack struct {
	Geometry *struct {
		Coordinates [][2]float64 `json:"coordinates"`
	} `json:"geometry"`
	Properties struct {
		Times  []int64 `json:"times"`
		Chunks []int64 `json:"chunks"`
		Points int     `json:"points"`
	} `json:"properties"`
}

func getTrack(t testing.TB, c *client, id string) (int, serverTrack) {
	t.Helper()
	var tr serverTrack
	st := c.do("GET", "/api/v1/patrols/"+id+"/track", nil, &tr)
	return st, tr
}

func (tr serverTrack) points() int {
	if tr.Geometry == nil {
		return 0
	}
	return len(tr.Geometry.Coordinates)
}

// checkTrack checks that the server holds want as the patrol's whole track,
// in the chunks chunks.
func checkTrack(t testing.TB, c *client, id string, want []mobilesync.TrackPoint, chunks []int64) {
	t.Helper()
	st, tr := getTrack(t, c, id)
	if msg := trackMismatch(st, tr, want, chunks); msg != "" {
		t.Errorf("track of %s: %s", id, msg)
	}
}

// trackMismatch says how a track the server answered (with status st)
// differs from want in the chunks chunks; "" when it does not.
func trackMismatch(st int, tr serverTrack, want []mobilesync.TrackPoint, chunks []int64) string {
	if st != 200 || tr.points() != len(want) || len(tr.Properties.Times) != len(want) || !slices.Equal(tr.Properties.Chunks, chunks) {
		return fmt.Sprintf("%d, %d points, %d times, chunks %v; want %d points in chunks %v",
			st, tr.points(), len(tr.Properties.Times), tr.Properties.Chunks, len(want), chunks)
	}
	for i, p := range want {
		got := tr.Geometry.Coordinates[i]
		if tr.Properties.Times[i] != p.UnixMilli || absf(got[0]-p.Lon) > 1e-9 || absf(got[1]-p.Lat) > 1e-9 {
			return fmt.Sprintf("point %d is %v at %d, want %v", i, got, tr.Properties.Times[i], p)
		}
	}
	return ""
}

// getBlob fetches a blob's bytes.
func getBlob(t testing.TB, c *client, sha string) (int, []byte) {
	t.Helper()
	st, b, _ := c.raw("GET", "/api/v1/blobs/"+sha, nil)
	return st, b
}

// failingPushAnswers lets pushes reach the server and then loses every
// answer, as a phone that is switched off (or loses the network) after the
// server applied its push and before the answer arrived.
type failingPushAnswers struct {
	base  http.RoundTripper
	count atomic.Int32
}

func (f *failingPushAnswers) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := f.base.RoundTrip(r)
	if err != nil || !strings.HasSuffix(r.URL.Path, "/sync/push") {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	f.count.Add(1)
	return nil, errors.New("connection reset by peer (the answer was lost)")
}

// tokenTap reads the refresh token out of the server's answers to login and
// refresh, as the server's operator could learn it, so that the test can
// revoke the phone's session on the server.
type tokenTap struct {
	base    http.RoundTripper
	mu      sync.Mutex
	refresh string
	// refreshes counts successful POST /auth/refresh.
	refreshes int
}

func (tt *tokenTap) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := tt.base.RoundTrip(r)
	login, refresh := strings.HasSuffix(r.URL.Path, "/auth/login"), strings.HasSuffix(r.URL.Path, "/auth/refresh")
	if err != nil || resp.StatusCode != 200 || !(login || refresh) {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	var tok struct {
		RefreshToken string `json:"refresh_token"`
	}
	if json.Unmarshal(b, &tok) == nil && tok.RefreshToken != "" {
		tt.mu.Lock()
		tt.refresh = tok.RefreshToken
		if refresh {
			tt.refreshes++
		}
		tt.mu.Unlock()
	}
	return resp, nil
}

func (tt *tokenTap) get() (string, int) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return tt.refresh, tt.refreshes
}

// TestSyncClientCapturesOfflineAndSyncsLater captures a day's records on a
// phone that cannot reach the server (a photo and a 2,000-point track among
// them), and syncs them once the server is reachable.
func TestSyncClientCapturesOfflineAndSyncsLater(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := newPhone(t, f.base, "phone-off-a-1")
	// The officer signed in at the station in the morning; then the
	// phone went out of reach of the server.
	p.signIn("off-a")
	p.reopen(deadServer(t))

	photoPath, photoBytes := writePhoto(t, 1, 300<<10)
	ph, err := p.AttachPhoto(photoPath)
	if err != nil {
		t.Fatal(err)
	}
	withPhoto := expulsion("town-a", 2, 10)
	withPhoto.Photos = []sdk.Photo{ph}
	start := time.Date(2020, 7, 4, 8, 0, 0, 0, cst)
	ids := []string{
		p.capture(expulsion("town-a", 1, 5)),
		p.capture(withPhoto),
		p.capture(expulsion("town-a", 3, 20)),
		p.capture(sdk.Record{Kind: sdk.KindVehicle, ObservedAt: time.Date(2020, 7, 4, 11, 0, 0, 0, cst),
			Location: &sdk.Point{Lon: 116.96, Lat: 40.53}, Unit: "town-a", Vehicles: 2, Plates: []string{"京A12345", "京B67890"}}),
		p.capture(patrol("town-a", start)),
	}
	patrolID := ids[4]
	track := trackPoints(2000, start, 0)
	// The track is appended as the patrol goes on: two runs of 1,000.
	for _, run := range [][]mobilesync.TrackPoint{track[:1000], track[1000:]} {
		if _, err := p.AppendTrack(patrolID, run, ""); err != nil {
			t.Fatal(err)
		}
	}

	rep, err := p.Sync(ctx)
	if !errors.Is(err, sdk.ErrOffline) {
		t.Fatalf("sync without a server: %v (report %+v), want ErrOffline", err, rep)
	}
	q := p.queue()
	if len(q.Mutations) != 5 || len(q.Blobs) != 1 || len(q.Chunks) != 2 || len(q.Aside) != 0 {
		t.Fatalf("queue after the failed sync: %s; want 5 mutations, 1 blob, 2 chunks", queueSize(q))
	}
	for i, m := range q.Mutations {
		if m.Seq != int64(i+1) || m.RecordID != ids[i] {
			t.Errorf("queued mutation %d: seq %d record %s, want seq %d record %s", i, m.Seq, m.RecordID, i+1, ids[i])
		}
	}

	// Back in reach: the same outbox, opened for the real server.
	p.reopen(f.base)
	if p.Server() != f.base {
		t.Fatalf("the reopened outbox syncs with %q, want %q", p.Server(), f.base)
	}
	p.signIn("off-a")
	rep = p.mustSync()
	if rep.Applied != 5 || rep.Rejected+rep.Conflicts+rep.Duplicates != 0 || rep.BlobsUploaded != 1 || rep.BlobBytes != int64(len(photoBytes)) ||
		rep.ChunksSent != 2 || rep.Queued != 0 || rep.KeptAside != 0 {
		t.Errorf("report: %+v", rep)
	}
	if q := p.queue(); len(q.Mutations)+len(q.Blobs)+len(q.Chunks)+len(q.Aside) != 0 {
		t.Errorf("queue after the sync: %s, want empty", queueSize(q))
	}
	if _, err := os.Stat(filepath.Join(p.opt.BlobDir, ph.SHA256)); !os.IsNotExist(err) {
		t.Errorf("the uploaded photo's local copy is still there: %v", err)
	}

	// Every record exactly once on the server.
	seen, all := listAll(t, f.office)
	if len(all) != 5 {
		t.Errorf("the server lists %d records, want 5: %v", len(all), seen)
	}
	for i, id := range ids {
		if seen[id] != 1 {
			t.Errorf("record %d (%s) listed %d times", i, id, seen[id])
		}
		st, r := getRecord(t, f.offA, id)
		if st != 200 || r.Rev != 1 || r.Sync == nil || r.Sync.DeviceID != p.DeviceID() || r.Sync.Seq != int64(i+1) {
			t.Errorf("record %d: %d %+v", i, st, r)
		}
	}
	if got := personsCleared(t, f.office); got != 1+2+3 {
		t.Errorf("persons cleared %d, want 6", got)
	}
	// The photo arrived whole.
	st, r := getRecord(t, f.offA, ids[1])
	if st != 200 || len(r.PhotosPending) != 0 || len(r.Photos) != 1 || r.Photos[0].SHA256 != ph.SHA256 {
		t.Errorf("record with the photo: %d, photos %v, pending %v", st, r.Photos, r.PhotosPending)
	}
	if st, b := getBlob(t, f.offA2, ph.SHA256); st != 200 || !bytes.Equal(b, photoBytes) {
		t.Errorf("GET blob: %d, %d bytes, equal %v", st, len(b), bytes.Equal(b, photoBytes))
	}
	// The track arrived whole, in its two chunks.
	checkTrack(t, f.office, patrolID, track, []int64{1, 2})
}

// TestSyncClientSendsEachRecordOnce syncs the same outbox again, after lost
// answers and a restart of the phone, and from two goroutines at once: the
// server stores every record once.
func TestSyncClientSendsEachRecordOnce(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name string
		// run syncs the captured records; it returns how many the
		// server answered as applied, over all syncs.
		run func(t *testing.T, p *phone) int
	}{
		{"sync twice", func(t *testing.T, p *phone) int {
			first := p.mustSync()
			second := p.mustSync()
			if second.Pushes != 0 || second.Applied != 0 {
				t.Errorf("the second sync pushed again: %+v", second)
			}
			return first.Applied + second.Applied
		}},
		{"phone closed after a sync, reopened", func(t *testing.T, p *phone) int {
			first := p.mustSync()
			p.reopen("")
			second := p.mustSync()
			if second.Pushes != 0 {
				t.Errorf("the sync after the restart pushed again: %+v", second)
			}
			return first.Applied + second.Applied
		}},
		{"answers lost, phone closed and reopened", func(t *testing.T, p *phone) int {
			// The server applies the push, the phone never hears of it,
			// retries (the ledger answers), gives up, and is switched off.
			lossy := &failingPushAnswers{base: http.DefaultTransport}
			p.opt.HTTPClient = &http.Client{Transport: lossy, Timeout: time.Minute}
			p.reopen("")
			rep, err := p.sync()
			if !errors.Is(err, sdk.ErrOffline) || rep.Queued != 5 {
				t.Fatalf("sync whose answers are lost: %v, %+v; want ErrOffline with 5 queued", err, rep)
			}
			if n := lossy.count.Load(); n != int32(fastBackoff.Attempts) {
				t.Errorf("%d pushes reached the server, want %d", n, fastBackoff.Attempts)
			}
			p.opt.HTTPClient = nil
			p.reopen("")
			again := p.mustSync()
			if again.Queued != 0 || again.Pushes != 1 {
				t.Errorf("sync after the restart: %+v", again)
			}
			return again.Applied
		}},
		{"two syncs at once on one client", func(t *testing.T, p *phone) int {
			var wg sync.WaitGroup
			reps := make([]sdk.Report, 2)
			errs := make([]error, 2)
			for i := range reps {
				wg.Go(func() { reps[i], errs[i] = p.sync() })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("sync %d: %v", i, err)
				}
			}
			if reps[0].Pushes+reps[1].Pushes != 1 {
				t.Errorf("pushes %d + %d, want 1 in all", reps[0].Pushes, reps[1].Pushes)
			}
			return reps[0].Applied + reps[1].Applied
		}},
	}
	var want int64
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPhone(t, f.base, fmt.Sprintf("phone-once-%d", i))
			p.signIn("off-a")
			var ids []string
			var persons int64
			for k := range 5 {
				n := int64(10*i + k + 1)
				persons += n
				ids = append(ids, p.capture(expulsion("town-a", n, k)))
			}
			before := personsCleared(t, f.office)
			// Applied counts the first answer of each seq; a replayed
			// answer is "applied" too, so it may be more than 5 only if
			// the phone pushed a seq twice and took both answers.
			if applied := tc.run(t, p); applied != 5 {
				t.Errorf("applied %d, want 5", applied)
			}
			want += persons
			if got := personsCleared(t, f.office); got != before+persons || got != want {
				t.Errorf("persons cleared %d (before %d), want %d", got, before, before+persons)
			}
			for k, id := range ids {
				if st, r := getRecord(t, f.offA, id); st != 200 || r.Rev != 1 || r.Sync == nil || r.Sync.Seq != int64(k+1) {
					t.Errorf("record %d: %d %+v", k, st, r)
				}
			}
			if q := p.queue(); len(q.Mutations)+len(q.Aside) != 0 {
				t.Errorf("queue: %s", queueSize(q))
			}
		})
	}
	seen, _ := listAll(t, f.office)
	for id, n := range seen {
		if n != 1 {
			t.Errorf("record %s listed %d times", id, n)
		}
	}
	if len(seen) != 5*len(cases) {
		t.Errorf("%d records on the server, want %d", len(seen), 5*len(cases))
	}
}

// TestSyncClientKeepsRejectedRecordsAside pushes bad records among good
// ones: the bad are kept aside with the field the server names, the good
// are applied in the same push.
func TestSyncClientKeepsRejectedRecordsAside(t *testing.T) {
	f := newFixture(t)
	p := newPhone(t, f.base, "phone-bad-1")
	p.signIn("off-a")
	raw := func(coords string, persons int) string {
		return fmt.Sprintf(`{"kind":"expulsion","observed_at":"2020-07-04T09:00:00+08:00","unit":"town-a","activity":"fishing","persons":%d,"location":{"type":"Point","coordinates":%s}}`, persons, coords)
	}
	bad := []struct {
		name      string
		json      string      // captured with CaptureJSON
		rec       *sdk.Record // or with Capture
		wantField string
		fix       string // a corrected record, resubmitted
	}{
		{name: "lat and lon swapped", json: raw("[40.52,116.95]", 2), wantField: "record.location.coordinates", fix: raw("[116.95,40.52]", 2)},
		{name: "no persons", rec: func() *sdk.Record { r := expulsion("town-a", 0, 30); return &r }(), wantField: "record.persons"},
		{name: "a coordinate beyond float64", json: raw("[1e999,40.52]", 2), wantField: "record.location"},
		{name: "persons out of range", json: raw("[116.95,40.52]", 100000), wantField: "record.persons"},
	}
	var good []string
	good = append(good, p.capture(expulsion("town-a", 3, 1)))
	badIDs := map[string]int{}
	for i, b := range bad {
		var id string
		if b.rec != nil {
			id = p.capture(*b.rec)
		} else {
			c, err := p.CaptureJSON([]byte(b.json))
			if err != nil {
				t.Fatalf("%s: capture: %v", b.name, err)
			}
			id = c.ID
		}
		badIDs[id] = i
		good = append(good, p.capture(expulsion("town-a", int64(4+i), 2+i)))
	}
	rep := p.mustSync()
	if rep.Pushes != 1 || rep.Applied != len(good) || rep.Rejected != len(bad) || rep.Queued != 0 || rep.KeptAside != len(bad) {
		t.Errorf("report: %+v; want 1 push, %d applied, %d rejected and kept aside", rep, len(good), len(bad))
	}
	if got, want := personsCleared(t, f.office), int64(3+4+5+6+7); got != want {
		t.Errorf("persons cleared %d, want %d (the good records of the push)", got, want)
	}
	for _, id := range good {
		if st, _ := getRecord(t, f.offA, id); st != 200 {
			t.Errorf("good record %s: %d", id, st)
		}
	}
	q := p.queue()
	if len(q.Aside) != len(bad) {
		t.Fatalf("kept aside: %d, want %d", len(q.Aside), len(bad))
	}
	asideOf := map[int]sdk.Aside{}
	for _, a := range q.Aside {
		i, ok := badIDs[a.RecordID]
		if !ok {
			t.Errorf("a good record was kept aside: %+v", a)
			continue
		}
		asideOf[i] = a
	}
	for i, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			a, ok := asideOf[i]
			if !ok {
				t.Fatal("not kept aside")
			}
			if st, _ := getRecord(t, f.offA, a.RecordID); st != 404 {
				t.Errorf("the rejected record is on the server: %d", st)
			}
			if a.What != sdk.AsideMutation || a.Status != mobilesync.StatusRejected || a.Problem == nil || !a.Problem.HasType(sdk.ProblemValidation) {
				t.Fatalf("aside: %+v problem %+v", a, a.Problem)
			}
			var fields []string
			for _, e := range a.Problem.Errors {
				fields = append(fields, e.Field)
			}
			if !slices.Contains(fields, b.wantField) || !strings.Contains(a.Reason(), b.wantField) {
				t.Errorf("problem names %v (reason %q), want %s", fields, a.Reason(), b.wantField)
			}
			if b.fix == "" {
				return
			}
			// The officer fixes it; it goes as a new mutation.
			seq, err := p.Resubmit(a.ID, []byte(b.fix))
			if err != nil {
				t.Fatal(err)
			}
			rep := p.mustSync()
			if rep.Applied != 1 || rep.KeptAside != len(bad)-1 {
				t.Errorf("resubmitted as seq %d: %+v", seq, rep)
			}
		})
	}
	if got, want := personsCleared(t, f.office), int64(3+4+5+6+7+2); got != want {
		t.Errorf("persons cleared %d after the fix, want %d", got, want)
	}
}

// TestSyncClientConcurrentCorrections has two phones correct the same
// record from the same revision and sync at once: one correction applies,
// the other is kept aside as a conflict with the server's copy.
func TestSyncClientConcurrentCorrections(t *testing.T) {
	f := newFixture(t)
	owner := newPhone(t, f.base, "phone-corr-owner")
	owner.signIn("off-a")
	cases := []struct {
		name  string
		other string // who holds the second phone
		// wantOther is the outcome of the second phone's correction
		// when the owner's applies.
		wantOther mobilesync.Status
		problem   string
	}{
		{"the officer's second phone", "off-a", mobilesync.StatusConflict, ""},
		{"the supervisor's phone", "sup-a", mobilesync.StatusConflict, ""},
		// Officers amend only their own records (auth.Allow): a teammate's
		// correction is refused whatever the revision.
		{"a teammate's phone", "off-a2", mobilesync.StatusRejected, "forbidden"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := owner.capture(expulsion("town-a", 3, i))
			if rep := owner.mustSync(); rep.Applied != 1 {
				t.Fatalf("create: %+v", rep)
			}
			other := newPhone(t, f.base, fmt.Sprintf("phone-corr-%d", i))
			other.signIn(tc.other)
			if _, err := other.Pull(context.Background()); err != nil {
				t.Fatal(err)
			}
			pulled, err := other.Record(id)
			if err != nil {
				t.Fatalf("the second phone did not pull the record: %v", err)
			}
			var head struct {
				Rev int64 `json:"rev"`
			}
			if err := json.Unmarshal(pulled, &head); err != nil || head.Rev != 1 {
				t.Fatalf("pulled rev %d (%v), want 1", head.Rev, err)
			}
			// Both correct revision 1, each to another count.
			for k, ph := range []*phone{owner, other} {
				r := expulsion("town-a", int64(4+k), i)
				r.ID = id
				body, _ := json.Marshal(r)
				if _, err := ph.Correct(id, 1, body); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			reps := make([]sdk.Report, 2)
			errs := make([]error, 2)
			for k, ph := range []*phone{owner, other} {
				wg.Go(func() { reps[k], errs[k] = ph.sync() })
			}
			wg.Wait()
			for k, err := range errs {
				if err != nil {
					t.Fatalf("sync %d: %v", k, err)
				}
			}
			applied := -1
			for k, rep := range reps {
				if rep.Applied == 1 {
					if applied >= 0 {
						t.Fatalf("both corrections applied: %+v", reps)
					}
					applied = k
				}
			}
			if applied < 0 {
				t.Fatalf("no correction applied: %+v", reps)
			}
			if tc.wantOther == mobilesync.StatusRejected && applied != 0 {
				t.Fatalf("the teammate's correction applied: %+v", reps)
			}
			loser := []*phone{owner, other}[1-applied]
			st, r := getRecord(t, f.offA, id)
			if st != 200 || r.Rev != 2 || r.Persons != int64(4+applied) {
				t.Errorf("server's record: %d rev %d persons %d; want rev 2 persons %d", st, r.Rev, r.Persons, 4+applied)
			}
			q := loser.queue()
			if len(q.Mutations) != 0 || len(q.Aside) != 1 {
				t.Fatalf("the other phone's queue: %s", queueSize(q))
			}
			a := q.Aside[0]
			if a.RecordID != id || a.Status != tc.wantOther || a.Mutation == nil || a.Mutation.Op != mobilesync.OpCorrect {
				t.Fatalf("kept aside: %+v", a)
			}
			if tc.wantOther == mobilesync.StatusRejected {
				if a.Problem == nil || !a.Problem.HasType(tc.problem) {
					t.Errorf("problem %+v, want %s", a.Problem, tc.problem)
				}
				return
			}
			var cur serverRecord
			if err := json.Unmarshal(a.Current, &cur); err != nil || a.Rev != 2 || cur.ID != id || cur.Rev != 2 || cur.Persons != int64(4+applied) {
				t.Errorf("conflict: rev %d, current %s (%v); want the server's revision 2", a.Rev, a.Current, err)
			}
		})
	}
}

// TestSyncClientCorrectsAPulledRecord corrects a record by editing the copy
// the phone pulled, as an app's edit screen would. The server's decoder
// says a client "that sends a stored record back (to correct it) may
// include" the fields the server assigns (enforcement.serverFields), but a
// pulled record also carries server_seq, sync and place (and effort,
// photos_pending), which it refuses as unknown fields: this fails until
// that list (or the client) drops them.
func TestSyncClientCorrectsAPulledRecord(t *testing.T) {
	f := newFixture(t)
	p := newPhone(t, f.base, "phone-edit-1")
	p.signIn("off-a")
	id := p.capture(expulsion("town-a", 3, 0))
	p.mustSync()
	pulled, err := p.Record(id)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal(pulled, &obj); err != nil {
		t.Fatal(err)
	}
	obj["persons"] = 5
	body, _ := json.Marshal(obj)
	if _, err := p.Correct(id, 0, body); err != nil {
		t.Fatal(err)
	}
	rep := p.mustSync()
	if rep.Applied != 1 || rep.KeptAside != 0 {
		var reason string
		if q := p.queue(); len(q.Aside) > 0 {
			reason = q.Aside[0].Reason()
		}
		t.Errorf("correction of the pulled copy: %+v (%s)", rep, reason)
	}
	if st, r := getRecord(t, f.offA, id); st != 200 || r.Rev != 2 || r.Persons != 5 {
		t.Errorf("server's record: %d %+v", st, r)
	}
}

// TestSyncClientDeviceClockAhead syncs from a phone whose clock runs a year
// ahead: its records are applied and flagged (PROTOCOL.md: beyond the
// tolerance "the records of the push are flagged"). Capture stamps
// observed_at from the phone's clock when none is given; the server refuses
// such a record as "more than 24 hours in the future", so the second case
// fails: a phone with a wrong clock has every such record kept aside.
func TestSyncClientDeviceClockAhead(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name     string
		observed time.Time // zero: the phone's clock stamps it
	}{
		{"observed_at entered by the officer", time.Date(2020, 7, 4, 9, 0, 0, 0, cst)},
		{"observed_at from the phone's clock", time.Time{}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPhone(t, f.base, fmt.Sprintf("phone-clock-%d", i))
			p.opt.Now = func() time.Time { return time.Now().AddDate(1, 0, 0) }
			p.reopen("")
			p.signIn("off-a")
			r := expulsion("town-a", 2, 0)
			r.ObservedAt = tc.observed
			id := p.capture(r)
			rep := p.mustSync()
			if !rep.ClockSuspect || rep.ClockOffset > -364*24*time.Hour {
				t.Errorf("report: clock offset %v suspect %v, want about -1 year, suspect", rep.ClockOffset, rep.ClockSuspect)
			}
			if rep.Applied != 1 {
				var reason string
				if q := p.queue(); len(q.Aside) > 0 {
					reason = q.Aside[0].Reason()
				}
				t.Fatalf("not applied: %+v (%s)", rep, reason)
			}
			st, got := getRecord(t, f.offA, id)
			if st != 200 || got.Sync == nil || !got.Sync.ClockSuspect || got.Sync.ClockOffsetMs > -364*24*3600*1000 {
				t.Errorf("record: %d sync %+v, want clock_suspect and an offset of about -1 year", st, got.Sync)
			}
		})
	}
}

// TestSyncClientSessionExpiry lets the access token expire with records
// queued (the phone refreshes it), then revokes the session on the server
// (the phone keeps its records until the officer signs in again).
func TestSyncClientSessionExpiry(t *testing.T) {
	// An access token lives at most ttl, and as little as ttl-1s: the
	// server truncates its expiry to the second (auth.Signer.Issue). A
	// client of newFixture would expire while it sets up, so each call
	// here to the server signs in just before.
	const ttl = 2 * time.Second
	a := start(t, testConfig(t, t.TempDir(), "-access-ttl", ttl.String()))
	anon := newClient(t, a.URL())
	for _, call := range []struct {
		path string
		body map[string]string
	}{
		{"/api/v1/units", map[string]string{"id": "miyun", "name": "密云区保水大队", "tier": "district"}},
		{"/api/v1/units", map[string]string{"id": "town-a", "name": "甲镇", "tier": "town", "parent": "miyun"}},
		{"/api/v1/users", map[string]string{"username": "off-a", "password": "password-off-a", "role": "officer", "unit": "town-a"}},
		{"/api/v1/users", map[string]string{"username": "office", "password": "password-office", "role": "office", "unit": "miyun"}},
	} {
		if st := anon.login("root", "root-password").do("POST", call.path, call.body, nil); st != 201 {
			t.Fatalf("%s %v: %d", call.path, call.body, st)
		}
	}
	office := func() *client { return anon.login("office", "password-office") }
	tap := &tokenTap{base: http.DefaultTransport}
	p := newPhone(t, a.URL(), "phone-ttl-1")
	p.opt.HTTPClient = &http.Client{Transport: tap, Timeout: time.Minute}
	p.reopen("")
	p.signIn("off-a")

	// The access token expires with records queued: Sync refreshes it.
	time.Sleep(ttl + 100*time.Millisecond)
	p.capture(expulsion("town-a", 1, 0))
	p.capture(expulsion("town-a", 2, 1))
	rep, err := p.sync()
	if err != nil || rep.Applied != 2 || rep.Queued != 0 {
		t.Fatalf("sync with an expired access token: %v %+v", err, rep)
	}
	if _, n := tap.get(); n < 1 {
		t.Errorf("the phone did not refresh its token (%d refreshes)", n)
	}
	if got := personsCleared(t, office()); got != 3 {
		t.Errorf("persons cleared %d, want 3", got)
	}

	// The session is revoked on the server (logout of its refresh
	// token); the access token then expires.
	refresh, _ := tap.get()
	if st := anon.do("POST", "/api/v1/auth/logout", map[string]string{"refresh_token": refresh}, nil); st != 204 {
		t.Fatalf("logout: %d", st)
	}
	time.Sleep(ttl + 100*time.Millisecond)
	p.capture(expulsion("town-a", 4, 2))
	p.capture(expulsion("town-a", 8, 3))
	rep, err = p.sync()
	if !errors.Is(err, sdk.ErrSignInRequired) || rep.Queued != 2 || rep.Applied != 0 {
		t.Fatalf("sync after the session was revoked: %v %+v; want ErrSignInRequired with 2 queued", err, rep)
	}
	if q := p.queue(); len(q.Mutations) != 2 || len(q.Aside) != 0 {
		t.Errorf("queue: %s", queueSize(q))
	}
	if got := personsCleared(t, office()); got != 3 {
		t.Errorf("persons cleared %d while signed out, want 3", got)
	}
	// Signed in again, the queue goes.
	if _, err := p.Login(context.Background(), "off-a", "password-off-a"); err != nil {
		t.Fatal(err)
	}
	rep, err = p.sync()
	if err != nil || rep.Applied != 2 || rep.Queued != 0 {
		t.Fatalf("sync after signing in again: %v %+v", err, rep)
	}
	if got := personsCleared(t, office()); got != 15 {
		t.Errorf("persons cleared %d, want 15", got)
	}
}

// TestSyncClientPullSeesOnlyWhatTheOfficerMayRead pulls another officer's
// records: a teammate's phone gets them, another town's phone does not.
func TestSyncClientPullSeesOnlyWhatTheOfficerMayRead(t *testing.T) {
	f := newFixture(t)
	a := newPhone(t, f.base, "phone-pull-a")
	a.signIn("off-a")
	var ids []string
	for k := range 3 {
		ids = append(ids, a.capture(expulsion("town-a", int64(k+1), k)))
	}
	a.mustSync()
	// Another town's record, stored by the REST API.
	if st := f.offB.do("POST", "/api/v1/records", rec("b-1", "town-b", 1), nil); st != 201 {
		t.Fatalf("town-b record: %d", st)
	}
	cases := []struct {
		user string
		want []string // the records pulled, sorted
	}{
		{"off-a2", slices.Sorted(slices.Values(ids))},
		{"sup-a", slices.Sorted(slices.Values(ids))},
		{"off-b", []string{"b-1"}},
	}
	for i, tc := range cases {
		t.Run(tc.user, func(t *testing.T) {
			p := newPhone(t, f.base, fmt.Sprintf("phone-pull-%d", i))
			p.signIn(tc.user)
			rep, err := p.Pull(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			recs, err := p.Records()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, raw := range recs {
				var r serverRecord
				if err := json.Unmarshal(raw, &r); err != nil {
					t.Fatal(err)
				}
				got = append(got, r.ID)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) || rep.Records != len(tc.want) {
				t.Errorf("pulled %v (report %+v), want %v", got, rep, tc.want)
			}
			ref, err := p.Reference()
			if err != nil || len(ref.Units) != 4 {
				t.Errorf("reference: %+v %v", ref, err)
			}
			// A second pull brings nothing new.
			if rep, err := p.Pull(context.Background()); err != nil || rep.Records != 0 {
				t.Errorf("second pull: %+v %v", rep, err)
			}
		})
	}
}
