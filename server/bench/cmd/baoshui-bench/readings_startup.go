package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/baoshui/baoshui/sensors"
	"github.com/baoshui/baoshui/server/internal/observe"
	"github.com/baoshui/baoshui/server/monitoring"
	"github.com/baoshui/baoshui/server/store"
)

var nReadings = flag.Int("readings", 1_000_000, "readings-startup: readings in the store, spread over 100 stations at 5-minute intervals ending now")

// readingsStations is how many stations the readings-startup benchmark
// registers (bench-001 …, copies of res-dam).
const readingsStations = 100

// benchReadingsStartup fills an embedded store with -readings readings of
// 100 stations (5 minutes apart, ending now), then times the real binary's
// start on it to /readyz, reads its memory and asks the readings and
// quality queries of one station, beside a raw driver full scan of the
// readings collection on the same store.
func benchReadingsStartup(dir string) {
	ctx := context.Background()
	data := filepath.Join(dir, "data")
	must(os.MkdirAll(data, 0o750))

	// The stations, through the monitoring service, as the server stores
	// them; then the readings straight into the store.
	st, err := store.Open(ctx, store.Config{DataDir: data, Logger: quiet()})
	must(err)
	svc, err := monitoring.Open(ctx, st, monitoring.Options{Logger: quiet()})
	must(err)
	stations := benchStations(readingsStations)
	for _, s := range stations {
		_, err := svc.PutStation(ctx, "bench", s, true)
		must(err)
	}
	checkValues(stations[0])
	svc.Close()

	per := *nReadings / readingsStations
	total := per * readingsStations
	const step = 5 * time.Minute
	end := time.Now().UTC().Truncate(time.Minute)
	first := end.Add(-time.Duration(per-1) * step)
	// Reading k of station s: every value of compliantValues moved by up
	// to ±3 % (deterministically, by k and s), classified as the ingest
	// does. Readings go in time order over all stations, as they arrive
	// live: a batch of 500 is five instants of the 100 stations.
	reading := func(k, s int) monitoring.StoredReading {
		ts := first.Add(time.Duration(k) * step)
		v := make(map[sensors.Param]float64, len(compliantValues))
		for p, x := range compliantValues {
			f := float64((k*7+s*13+len(p)*3)%13-6) / 200 // −3 % … +3 %
			v[p] = x * (1 + f)
		}
		res := sensors.ClassifySample(stations[s], sensors.Sample{Time: ts, Values: v})
		return monitoring.StoredReading{Station: stations[s].ID, Time: ts, Values: v, Assessment: res.Assessment,
			Full: res.Full, Exceeds: res.Exceeds, ReceivedAt: ts.Add(2 * time.Second)}
	}
	t0 := time.Now()
	work := make(chan []monitoring.StoredReading, 8)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range work {
				for _, err := range st.InsertReadings(ctx, batch) {
					must(err)
				}
			}
		}()
	}
	exceeding := 0
	batch := make([]monitoring.StoredReading, 0, 500)
	for k := 0; k < per; k++ {
		for s := range stations {
			r := reading(k, s)
			if r.Exceeds {
				exceeding++
			}
			batch = append(batch, r)
			if len(batch) == 500 {
				work <- batch
				batch = make([]monitoring.StoredReading, 0, 500)
			}
		}
	}
	if len(batch) > 0 {
		work <- batch
	}
	close(work)
	wg.Wait()
	fill := time.Since(t0)
	must(st.Close(ctx))
	dbBytes := dirSize(data)

	// The real binary on that data directory.
	bin := filepath.Join(dir, "baoshui")
	build := exec.Command("go", "build", "-o", bin, "./server/cmd/baoshui")
	build.Stderr = os.Stderr
	must(build.Run())
	addr := freeAddr()
	cmd := exec.Command(bin, "serve", "-data-dir", data, "-http-addr", addr, "-mqtt-addr", "off", "-log-level", "info",
		"-bootstrap-admin", "root:root-password")
	stderr, err := cmd.StderrPipe()
	must(err)
	cmd.Stdout = io.Discard
	var logMu sync.Mutex
	var monLine, recLine string
	logDone := make(chan struct{})
	t1 := time.Now()
	must(cmd.Start())
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			var m struct {
				Msg   string `json:"msg"`
				Level string `json:"level"`
			}
			json.Unmarshal([]byte(line), &m)
			logMu.Lock()
			switch {
			case m.Msg == "monitoring read models built":
				monLine = line
			case m.Msg == "read models built":
				recLine = line
			case m.Level == "WARN" || m.Level == "ERROR":
				fmt.Fprintln(os.Stderr, line)
			}
			logMu.Unlock()
		}
	}()
	srv := &server{cmd: cmd, base: "http://" + addr}
	srv.waitReady(t1, 30*time.Minute)

	// The queries of one station's last 35 days, as root.
	tok := login(srv.base, "root", "root-password")
	now := time.Now().UTC()
	q := url.Values{"from": {now.Add(-35 * 24 * time.Hour).Format(time.RFC3339)}, "to": {now.Format(time.RFC3339)}}
	rq := url.Values{"from": q["from"], "to": q["to"], "max_points": {"500"}}
	const runs = 20
	type result struct {
		lat   []time.Duration
		bytes int
		body  []byte
	}
	get := func(path string) result {
		var r result
		for i := 0; i < runs; i++ {
			t := time.Now()
			req, _ := http.NewRequest("GET", srv.base+path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			must(err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			must(err)
			r.lat = append(r.lat, time.Since(t))
			if resp.StatusCode != 200 {
				must(fmt.Errorf("GET %s: status %d: %s", path, resp.StatusCode, body))
			}
			r.bytes, r.body = len(body), body
		}
		sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
		return r
	}
	readings := get("/api/v1/stations/bench-001/readings?" + rq.Encode())
	// 35 days back reaches past the raw retention (35 days before the
	// server's now) and is answered from the per-day summaries; 34 days
	// is answered from the raw readings.
	rq34 := url.Values{"from": {now.Add(-34 * 24 * time.Hour).Format(time.RFC3339)}, "to": q["to"], "max_points": {"500"}}
	readings34 := get("/api/v1/stations/bench-001/readings?" + rq34.Encode())
	quality := get("/api/v1/stations/bench-001/quality?" + q.Encode())
	rss2, hwm2 := observe.Memory(cmd.Process.Pid)
	srv.stop()
	<-logDone

	// The baseline on the same store, the server stopped: a raw driver
	// full scan into bson.Raw.
	st, err = store.Open(ctx, store.Config{DataDir: data, Logger: quiet()})
	must(err)
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(st.URI()))
	must(err)
	t3 := time.Now()
	cur, err := client.Database(st.DatabaseName()).Collection("readings").Find(ctx, bson.D{})
	must(err)
	rawScanned := 0
	for cur.Next(ctx) {
		var r bson.Raw
		must(cur.Decode(&r))
		rawScanned++
	}
	must(cur.Err())
	must(cur.Close(ctx))
	rawScan := time.Since(t3)
	must(client.Disconnect(ctx))
	must(st.Close(ctx))

	// A second start after the clean stop above: the monitoring snapshot
	// written at that stop matches the store (nothing was written since),
	// so the start reads it instead of scanning.
	again := startServer(bin, data)
	again.stop()

	field := func(line, key string) string {
		var m map[string]any
		d := json.NewDecoder(strings.NewReader(line))
		d.UseNumber()
		if d.Decode(&m) != nil {
			return "?"
		}
		return fmt.Sprint(m[key])
	}
	points := func(body []byte) string {
		var s struct {
			Resolution string `json:"resolution"`
			Params     map[string]struct {
				Points  []json.RawMessage `json:"points"`
				Buckets []json.RawMessage `json:"buckets"`
			} `json:"params"`
		}
		if json.Unmarshal(body, &s) != nil {
			return "?"
		}
		pts, bks := 0, 0
		for _, p := range s.Params {
			pts, bks = pts+len(p.Points), bks+len(p.Buckets)
		}
		return fmt.Sprintf("resolution %s, %d params, %d points, %d buckets", s.Resolution, len(s.Params), pts, bks)
	}
	pct := func(lat []time.Duration) string {
		return fmt.Sprintf("%s / %s / %s", lat[len(lat)/2].Round(10*time.Microsecond), lat[len(lat)*95/100].Round(10*time.Microsecond),
			lat[len(lat)-1].Round(10*time.Microsecond))
	}
	mr := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	fmt.Printf("## Start-up with %d readings of %d stations in the embedded store (SQLite)\n\n", total, readingsStations)
	fmt.Printf("(filled: %d per station, every 5 minutes from %s to %s, %d exceeding; %s, %.0f readings/s, "+
		"store.InsertReadings in batches of 500 from 4 goroutines; data dir %d MB)\n\n",
		per, first.Format(time.RFC3339), end.Format(time.RFC3339), exceeding, mr(fill), float64(total)/fill.Seconds(), dbBytes>>20)
	fmt.Printf("| what | time | figure |\n|---|---|---|\n")
	fmt.Printf("| `baoshui serve` to /readyz | %s | RSS %d MB (peak %d MB) after ready |\n", mr(srv.ready), srv.rss>>20, srv.hwm>>20)
	logMu.Lock()
	fmt.Printf("| log \"monitoring read models built\": elapsed_ms | %s ms | readings %s, stations %s, alerts %s |\n",
		field(monLine, "elapsed_ms"), field(monLine, "readings"), field(monLine, "stations"), field(monLine, "alerts"))
	fmt.Printf("| log \"read models built\" (records, accounts; before monitoring): elapsed_ms | %s ms | records %s, from %s |\n",
		field(recLine, "elapsed_ms"), field(recLine, "records"), field(recLine, "from"))
	logMu.Unlock()
	fmt.Printf("| raw driver Find({}) of readings into bson.Raw (%d documents) | %s | %.0f docs/s |\n", rawScanned, mr(rawScan), float64(rawScanned)/rawScan.Seconds())
	fmt.Printf("| `baoshui serve` again after a clean stop (the monitoring snapshot) to /readyz | %s | RSS %d MB (peak %d MB) after ready |\n\n",
		mr(again.ready), again.rss>>20, again.hwm>>20)
	fmt.Printf("| bench-001, last 35 days, as root (%d requests each) | p50 / p95 / max | answer |\n|---|---|---|\n", runs)
	fmt.Printf("| GET /api/v1/stations/bench-001/readings?from&to&max_points=500 | %s | %d bytes, %s |\n", pct(readings.lat), readings.bytes, points(readings.body))
	fmt.Printf("| the same, from 34 days ago | %s | %d bytes, %s |\n", pct(readings34.lat), readings34.bytes, points(readings34.body))
	fmt.Printf("| GET /api/v1/stations/bench-001/quality?from&to | %s | %d bytes |\n\n", pct(quality.lat), quality.bytes)
	fmt.Printf("server RSS after the queries %d MB (peak %d MB)\n\n", rss2>>20, hwm2>>20)
}

// dirSize is the total size of the regular files under dir.
func dirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}
