package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
	"github.com/baoshui/baoshui/mobile-sync/client"
	"github.com/baoshui/baoshui/server/internal/observe"
)

var (
	fleetDevices = flag.Int("devices", 200, "fleet: phones syncing at once")
	fleetRecords = flag.Int("device-records", 50, "fleet: records per phone besides its patrol")
	fleetPhotos  = flag.Int("device-photos", 5, "fleet: photos per phone")
	fleetPhotoKB = flag.Int("photo-kb", 1000, "fleet: size of each photo in KB (1000 = 1 MB)")
)

// timing records the latency of every sync push a phone sends.
type timing struct {
	next http.RoundTripper
	mu   sync.Mutex
	push []time.Duration
}

func (t *timing) RoundTrip(r *http.Request) (*http.Response, error) {
	t0 := time.Now()
	resp, err := t.next.RoundTrip(r)
	if r.URL.Path == "/api/v1/sync/push" {
		t.mu.Lock()
		t.push = append(t.push, time.Since(t0))
		t.mu.Unlock()
	}
	return resp, err
}

// benchFleet runs the binary in its own process and lets -devices phones,
// each with an 8-hour patrol track (one fix per 5 s), -device-records
// records and -device-photos photos captured offline, sync at once: the wall
// time until every phone is done, the push latency, and the server's peak
// resident memory.
func benchFleet(dir string) {
	must(os.MkdirAll(dir, 0o750))
	bin := filepath.Join(dir, "baoshui")
	build := exec.Command("go", "build", "-o", bin, "./server/cmd/baoshui")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	must(build.Run())
	data := filepath.Join(dir, "data")
	addr := freeAddr()
	cmd := exec.Command(bin, "serve", "-data-dir", data, "-http-addr", addr, "-mqtt-addr", "off", "-log-level", "warn", "-bootstrap-admin", "root:root-password")
	cmd.Stderr = os.Stderr
	must(cmd.Start())
	srv := &server{cmd: cmd, base: "http://" + addr}
	defer srv.stop()
	for i := 0; ; i++ {
		if resp, err := http.Get(srv.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if i > 6000 {
			must(fmt.Errorf("server not ready"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	admin := login(srv.base, "root", "root-password")
	post := func(path string, body any) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", srv.base+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		must(err)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			must(fmt.Errorf("POST %s: %d", path, resp.StatusCode))
		}
	}
	post("/api/v1/units", map[string]string{"id": "miyun", "name": "密云区保水大队", "tier": "district"})
	// Teams of ten officers, as in the district: a phone pulls its own
	// team's records, not the whole district's.
	n := *fleetDevices
	for t := 0; t < (n+9)/10; t++ {
		post("/api/v1/units", map[string]string{"id": fmt.Sprintf("team-%02d", t), "name": fmt.Sprintf("巡查队 %d", t), "tier": "town", "parent": "miyun"})
	}
	tr := &timing{next: &http.Transport{MaxIdleConnsPerHost: 4}}
	httpc := &http.Client{Transport: tr, Timeout: 10 * time.Minute}
	phones := make([]*client.Client, n)
	captured := 0
	photoBytes := int64(0)
	ctx := context.Background()
	day := time.Date(2020, 7, 4, 0, 0, 0, 0, time.UTC)
	for i := range phones {
		user := fmt.Sprintf("officer-%03d", i)
		team := fmt.Sprintf("team-%02d", i/10)
		post("/api/v1/users", map[string]string{"username": user, "password": "password-" + user, "role": "officer", "unit": team})
		c, err := client.Open(filepath.Join(dir, "phones", user, "outbox.db"), client.Options{Server: srv.base,
			DeviceID: "phone-" + user, HTTPClient: httpc, BlobDir: filepath.Join(dir, "phones", user, "blobs"),
			Backoff: client.Backoff{Initial: 200 * time.Millisecond, Max: 5 * time.Second, Attempts: 20}})
		must(err)
		phones[i] = c
		_, err = c.Login(ctx, user, "password-"+user)
		must(err)
		must(c.RegisterDevice(ctx, "bench phone"))
		// The patrol: 8 hours along the shore, one fix every 5 s.
		start := day.Add(time.Duration(i%60) * time.Minute)
		end := start.Add(8 * time.Hour)
		lon0, lat0 := 116.85+float64(i%20)*0.01, 40.45+float64(i/20)*0.01
		p, err := c.Capture(client.Record{Kind: client.KindPatrol, ObservedAt: start, StartedAt: &start, EndedAt: &end,
			Location: &client.Point{Lon: lon0, Lat: lat0}, Unit: team, Officers: []string{user}})
		must(err)
		pts := make([]mobilesync.TrackPoint, 8*720)
		for k := range pts {
			a := float64(k) / float64(len(pts)) * 2 * math.Pi
			pts[k] = mobilesync.TrackPoint{Lon: lon0 + 0.02*math.Sin(a), Lat: lat0 + 0.01*(1-math.Cos(a)), UnixMilli: start.Add(time.Duration(k) * 5 * time.Second).UnixMilli()}
		}
		_, err = c.AppendTrack(p.ID, pts, "")
		must(err)
		captured++
		var photos []client.Photo
		for k := 0; k < *fleetPhotos; k++ {
			b := make([]byte, *fleetPhotoKB*1000)
			_, _ = rand.Read(b)
			copy(b, []byte{0xFF, 0xD8, 0xFF, 0xE0})
			path := filepath.Join(dir, "phones", user, fmt.Sprintf("photo-%d.jpg", k))
			must(os.WriteFile(path, b, 0o640))
			ph, err := c.AttachPhoto(path)
			must(err)
			photos = append(photos, ph)
			photoBytes += int64(len(b))
		}
		for k := 0; k < *fleetRecords; k++ {
			r := client.Record{Kind: client.KindExpulsion, ObservedAt: start.Add(time.Duration(k) * 9 * time.Minute),
				Location: &client.Point{Lon: lon0 + float64(k)*0.0003, Lat: lat0}, Unit: team, Officers: []string{user},
				Persons: int64(1 + k%4), Activity: client.Activities[k%4]}
			if k < len(photos) {
				r.Photos = []client.Photo{photos[k]}
			}
			_, err := c.Capture(r)
			must(err)
			captured++
		}
	}
	var peak atomic.Int64
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
				if rss, _ := observe.Memory(cmd.Process.Pid); rss > peak.Load() {
					peak.Store(rss)
				}
			}
		}
	}()
	_, hwm0 := observe.Memory(cmd.Process.Pid)
	t0 := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var applied, uploaded, chunks int
	var errs []string
	for _, c := range phones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep, err := c.Sync(ctx)
			mu.Lock()
			defer mu.Unlock()
			applied += rep.Applied + rep.Duplicates
			uploaded += rep.BlobsUploaded
			chunks += rep.ChunksSent
			if err != nil {
				errs = append(errs, err.Error())
			}
		}()
	}
	wg.Wait()
	took := time.Since(t0)
	close(stop)
	_, hwm := observe.Memory(cmd.Process.Pid)
	for _, c := range phones {
		q, err := c.Queue()
		must(err)
		if len(q.Mutations)+len(q.Blobs)+len(q.Chunks)+len(q.Aside) > 0 {
			errs = append(errs, fmt.Sprintf("%s: %d mutations, %d blobs, %d chunks waiting, %d aside", c.DeviceID(),
				len(q.Mutations), len(q.Blobs), len(q.Chunks), len(q.Aside)))
		}
		c.Close()
	}
	sort.Slice(tr.push, func(i, j int) bool { return tr.push[i] < tr.push[j] })
	pct := func(q float64) time.Duration {
		if len(tr.push) == 0 {
			return 0
		}
		return tr.push[int(q*float64(len(tr.push)-1))].Round(time.Millisecond)
	}
	fmt.Printf("## Fleet sync: %d phones (teams of 10) at once, each an 8-hour track (5,760 fixes), %d records, %d photos of %d KB, then a pull of the team's records\n\n",
		n, *fleetRecords, *fleetPhotos, *fleetPhotoKB)
	fmt.Printf("| figure | value |\n|---|---|\n")
	fmt.Printf("| wall time until every phone is synced | %s |\n", took.Round(time.Millisecond))
	fmt.Printf("| records captured / applied | %d / %d |\n", captured, applied)
	fmt.Printf("| photos uploaded | %d (%.0f MB) |\n", uploaded, float64(photoBytes)/1e6)
	fmt.Printf("| track chunks stored | %d |\n", chunks)
	fmt.Printf("| sync pushes | %d, p50 %s, p95 %s, max %s |\n", len(tr.push), pct(0.5), pct(0.95), pct(1))
	fmt.Printf("| server peak RSS during the sync (sampled / VmHWM) | %d MB / %d MB (%d MB before) |\n", peak.Load()>>20, hwm>>20, hwm0>>20)
	if len(errs) > 0 {
		fmt.Printf("\nerrors (%d): %s\n", len(errs), strings.Join(errs[:min(5, len(errs))], "; "))
	}
	fmt.Println()
}
