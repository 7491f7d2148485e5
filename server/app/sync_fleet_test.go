package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
	sdk "github.com/baoshui/baoshui/mobile-sync/client"
)

// fleetDevice is one simulated phone of the fleet and what it captured.
type fleetDevice struct {
	*phone
	officer, unit string
	ids           []string
	patrolID      string
	track         []mobilesync.TrackPoint
	photo         sdk.Photo
	photoBytes    []byte
	persons       int64
	vehicles      int64
	report        sdk.Report
	err           error
}

// TestFleetOfDevicesSyncsADay has 200 phones (20 officers, each in a team
// of their own, ten phones each), each with its own outbox, capture a day
// offline — four records of mixed kinds, a 32 KB photo no other phone has
// and a patrol with a 720-point track appended in two chunks — and then
// sync all at once.
// The server must hold every record once, every photo and every track
// whole, and every phone's queue must be empty.
func TestFleetOfDevicesSyncsADay(t *testing.T) {
	if testing.Short() {
		t.Skip("200 phones syncing at once against a real server: skipped in -short")
	}
	// The day is smaller than planned (ten records and three chunks per
	// phone): under -race that took 140 s (45 s without), the requests
	// queueing for the store: each record a phone pulls is read on its own
	// (records.Service.fetch), the writes wait for store connections
	// behind those reads, and under -race the embedded FerretDB is a debug
	// build that records a stack for every query.
	const (
		officers         = 20
		phonesPerOfficer = 10
		recordsPerPhone  = 4   // a patrol, an expulsion, a vehicle, grazing
		trackLen         = 720 // one fix per 5 s for an hour
		trackRuns        = 2   // appended as the patrol goes: two chunks
		photoBytes       = 32 << 10
	)
	began := time.Now()
	f := newFixture(t)
	// One team per officer: the fixture's three and more villages.
	units := []string{"town-a", "town-b", "village-a1"}
	for i := 0; len(units) < officers; i++ {
		id, parent := fmt.Sprintf("village-f%d", i), []string{"town-a", "town-b"}[i%2]
		body := map[string]string{"id": id, "name": "村" + id, "tier": "village", "parent": parent}
		if st := f.admin.do("POST", "/api/v1/units", body, nil); st != 201 {
			t.Fatalf("unit %s: %d", id, st)
		}
		units = append(units, id)
	}
	names := make([]string, officers)
	for i := range names {
		names[i] = fmt.Sprintf("fleet-%02d", i)
		body := map[string]string{"username": names[i], "password": "password-" + names[i], "role": "officer", "unit": units[i%len(units)]}
		if st := f.admin.do("POST", "/api/v1/users", body, nil); st != 201 {
			t.Fatalf("user %s: %d", names[i], st)
		}
	}
	t.Logf("server and %d officers ready in %v", officers, time.Since(began))

	// Each phone is signed in (at the station, online) and registered.
	// Sign-in is not what this test measures, and 200 argon2 checks take
	// 20 s under -race: each officer signs in once for real, and the
	// answer is given again to their other phones (the tokens are the
	// officer's, valid on any phone; none expires during the test).
	// GET /me and the device registration go to the server.
	logins := &loginReplay{base: http.DefaultTransport, answers: map[string][]byte{}}
	hc := &http.Client{Transport: logins, Timeout: 2 * time.Minute}
	mark := time.Now()
	devices := make([]*fleetDevice, officers*phonesPerOfficer)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	errs := make(chan error, len(devices))
	for i := range devices {
		o := i / phonesPerOfficer
		d := &fleetDevice{officer: names[o], unit: units[o%len(units)]}
		d.phone = newPhone(t, f.base, fmt.Sprintf("fleet-phone-%03d", i))
		d.opt.HTTPClient = hc
		d.reopen("")
		devices[i] = d
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ctx := context.Background()
			if _, err := d.Login(ctx, d.officer, "password-"+d.officer); err != nil {
				errs <- fmt.Errorf("%s: login: %w", d.DeviceID(), err)
				return
			}
			if err := d.RegisterDevice(ctx, d.DeviceID()); err != nil {
				errs <- fmt.Errorf("%s: register: %w", d.DeviceID(), err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d phones signed in (%d times on the server) and registered in %v", len(devices), logins.real.Load(), time.Since(mark))

	// A day on the shore, captured with no network.
	mark = time.Now()
	var wantPersons, wantVehicles, wantGrazing int64
	for i, d := range devices {
		day := time.Date(2020, 7, 1+i%28, 7, 0, 0, 0, cst)
		at := func(k int) time.Time { return day.Add(time.Duration(k) * 37 * time.Minute) }
		loc := &sdk.Point{Lon: 116.85 + float64(i%20)*0.01, Lat: 40.45 + float64(i/20)*0.01}
		path, b := writePhoto(t, uint64(1000+i), photoBytes)
		ph, err := d.AttachPhoto(path)
		if err != nil {
			t.Fatal(err)
		}
		d.photo, d.photoBytes = ph, b
		pt := patrol(d.unit, day)
		pt.Location = loc
		d.patrolID = d.capture(pt)
		d.ids = append(d.ids, d.patrolID)
		d.track = trackPoints(trackLen, day, i)
		for k := range trackRuns {
			run := d.track[k*trackLen/trackRuns : (k+1)*trackLen/trackRuns]
			if _, err := d.AppendTrack(d.patrolID, run, ""); err != nil {
				t.Fatal(err)
			}
		}
		for k := 1; k < recordsPerPhone; k++ {
			r := sdk.Record{ObservedAt: at(k), Location: loc, Unit: d.unit, PatrolID: d.patrolID}
			switch k % 3 {
			case 1:
				r.Kind, r.Persons, r.Activity = sdk.KindExpulsion, int64(1+(i*7+k)%5), sdk.Activities[(i+k)%len(sdk.Activities)]
				d.persons += r.Persons
			case 2:
				r.Kind, r.Vehicles, r.Plates = sdk.KindVehicle, int64(1+(i+k)%3), []string{fmt.Sprintf("京A%05d", i*10+k)}
				d.vehicles += r.Vehicles
			case 0:
				r.Kind, r.Animals = sdk.KindGrazing, int64(5+i%11)
				wantGrazing++
			}
			if k == 1 {
				r.Photos = []sdk.Photo{ph}
			}
			d.ids = append(d.ids, d.capture(r))
		}
		wantPersons += d.persons
		wantVehicles += d.vehicles
	}
	t.Logf("%d records, %d photos and %d track chunks captured in %v", len(devices)*recordsPerPhone, len(devices), len(devices)*trackRuns, time.Since(mark))

	// Back at the station: every phone syncs at once.
	mark = time.Now()
	startLine := make(chan struct{})
	for _, d := range devices {
		wg.Go(func() {
			<-startLine
			d.report, d.err = d.Sync(context.Background())
		})
	}
	close(startLine)
	wg.Wait()
	t.Logf("%d phones synced at once in %v", len(devices), time.Since(mark))
	pulled, pages := 0, 0
	for _, d := range devices {
		pulled += d.report.Pull.Records
		pages += d.report.Pull.Pages
	}
	t.Logf("the phones pulled %d records in %d pages", pulled, pages)
	for _, d := range devices {
		rep := d.report
		if d.err != nil || rep.Applied != recordsPerPhone || rep.Rejected+rep.Conflicts != 0 || rep.BlobsUploaded != 1 ||
			rep.ChunksSent != trackRuns || rep.Queued != 0 || rep.KeptAside != 0 {
			t.Errorf("%s: %v, report %+v", d.DeviceID(), d.err, rep)
		}
		if q := d.queue(); len(q.Mutations)+len(q.Blobs)+len(q.Chunks)+len(q.Aside) != 0 {
			t.Errorf("%s: queue after the sync: %s", d.DeviceID(), queueSize(q))
		}
	}

	// The server's own account of the day.
	mark = time.Now()
	seen, all := listAll(t, f.office)
	if want := len(devices) * recordsPerPhone; len(all) != want {
		t.Errorf("the server lists %d records, want %d", len(all), want)
	}
	pending := 0
	for _, r := range all {
		if len(r.PhotosPending) > 0 {
			pending++
		}
	}
	if pending > 0 {
		t.Errorf("%d records still wait for photos", pending)
	}
	var rep struct {
		Totals struct {
			PersonsCleared  int64 `json:"persons_cleared"`
			VehiclesCleared int64 `json:"vehicles_cleared"`
			GrazingStopped  int64 `json:"grazing_stopped"`
		} `json:"totals"`
	}
	if st := f.office.do("GET", totalsPath, nil, &rep); st != 200 || rep.Totals.PersonsCleared != wantPersons ||
		rep.Totals.VehiclesCleared != wantVehicles || rep.Totals.GrazingStopped != wantGrazing {
		t.Errorf("totals: %d %+v; want %d persons, %d vehicles, %d grazing", st, rep.Totals, wantPersons, wantVehicles, wantGrazing)
	}
	for _, d := range devices {
		for k, id := range d.ids {
			if seen[id] != 1 {
				t.Errorf("%s: record %d (%s) listed %d times", d.DeviceID(), k, id, seen[id])
			}
		}
	}
	// Every photo and every track, read by eight readers at once.
	sem = make(chan struct{}, 8)
	for _, d := range devices {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := checkFleetDevice(f.base, f.office.token, d, chunkSeqs(trackRuns)); err != nil {
				t.Errorf("%s: %v", d.DeviceID(), err)
			}
		})
	}
	wg.Wait()
	// The devices the server knows are the fleet's, each its officer's.
	var devs struct {
		Devices []struct {
			ID    string `json:"id"`
			Owner string `json:"owner"`
		} `json:"devices"`
	}
	if st := f.admin.do("GET", "/api/v1/devices", nil, &devs); st != http.StatusOK || len(devs.Devices) != len(devices) {
		t.Errorf("devices: %d, %d of %d", st, len(devs.Devices), len(devices))
	}
	t.Logf("checked in %v; %v in all", time.Since(mark), time.Since(began))
}

// loginReplay sends the first sign-in of each user to the server and
// answers the later ones of the same user and password with the same
// answer.
type loginReplay struct {
	base    http.RoundTripper
	mu      sync.Mutex
	answers map[string][]byte // username and password → the answer's body
	real    atomic.Int32
}

func (l *loginReplay) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.URL.Path, "/auth/login") || r.Body == nil {
		return l.base.RoundTrip(r)
	}
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	key := string(body)
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.answers[key]; ok {
		return &http.Response{StatusCode: 200, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader(b)),
			ContentLength: int64(len(b)), Request: r}, nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	resp, err := l.base.RoundTrip(r)
	if err != nil || resp.StatusCode != 200 {
		return resp, err
	}
	l.real.Add(1)
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	l.answers[key] = b
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

// chunkSeqs is 1, 2, … n.
func chunkSeqs(n int) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = int64(i + 1)
	}
	return s
}

// checkFleetDevice reads back, as token, the photo and the track that d
// captured; it may run on any goroutine.
func checkFleetDevice(base, token string, d *fleetDevice, chunks []int64) error {
	get := func(path string) (int, []byte, error) {
		req, err := http.NewRequest("GET", base+path, nil)
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	st, b, err := get("/api/v1/blobs/" + d.photo.SHA256)
	if err != nil || st != 200 || !bytes.Equal(b, d.photoBytes) {
		return fmt.Errorf("photo %s: %d, %d bytes, equal %v, %v", d.photo.SHA256, st, len(b), bytes.Equal(b, d.photoBytes), err)
	}
	st, b, err = get("/api/v1/patrols/" + d.patrolID + "/track")
	if err != nil {
		return fmt.Errorf("track of %s: %w", d.patrolID, err)
	}
	var tr serverTrack
	if err := json.Unmarshal(b, &tr); err != nil && st == 200 {
		return fmt.Errorf("track of %s: %w", d.patrolID, err)
	}
	if msg := trackMismatch(st, tr, d.track, chunks); msg != "" {
		return fmt.Errorf("track of %s: %s", d.patrolID, msg)
	}
	return nil
}
