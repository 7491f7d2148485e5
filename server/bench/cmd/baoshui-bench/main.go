// Command baoshui-bench measures the figures of BENCHMARKS.md in one run,
// each beside its raw-driver baseline on the same store:
//
//  1. record creation through the HTTP API with 16 concurrent clients vs the
//     raw driver's InsertMany of the same documents;
//  2. start-up of the baoshui binary (time to /readyz, RSS) with N records in
//     the embedded store vs a plain full scan of the collection;
//  3. the totals endpoint for a year (p50/p95) vs one raw $group pipeline;
//  4. the incident map for a city box at zoom 10 and a street box at zoom
//     16 under 8 concurrent clients, beside the raw driver's count of the
//     street box;
//  5. with -only readings-startup, start-up of the binary with N stored
//     water-quality readings (-readings) vs a raw full scan of them;
//  6. with -only cases, the open-case dashboard over -cases stored cases
//     and the dossier export of a case with 50 documents.
//
// Usage: go run ./server/bench/cmd/baoshui-bench -records 1000000
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/baoshui/baoshui/sensors"
	"github.com/baoshui/baoshui/server/accounts"
	"github.com/baoshui/baoshui/server/app"
	"github.com/baoshui/baoshui/server/auth"
	"github.com/baoshui/baoshui/server/demo"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/internal/observe"
	"github.com/baoshui/baoshui/server/records"
	"github.com/baoshui/baoshui/server/store"
	"github.com/baoshui/baoshui/server/zones"
)

var (
	nRecords   = flag.Int("records", 1_000_000, "records in the store for the start-up and totals figures")
	nCreate    = flag.Int("create", 20_000, "records created through the API (and inserted raw)")
	clients    = flag.Int("clients", 16, "concurrent HTTP clients")
	queries    = flag.Int("queries", 200, "totals requests")
	mapQueries = flag.Int("map-queries", 400, "map requests per box, spread over 8 clients")
	workDir    = flag.String("dir", "", "work directory (default: a new temporary one, removed after)")
	cpuProf    = flag.String("cpuprofile", "", "write a CPU profile of the record-creation phase to this file")
	only       = flag.String("only", "", "run only one part: create, startup, map, push, fleet, ingest, alerts, readings-startup, cases or console")
	nCases     = flag.Int("cases", 100_000, "stored cases for -only cases")
)

func main() {
	flag.Parse()
	dir := *workDir
	if dir == "" {
		d, err := os.MkdirTemp("", "baoshui-bench-")
		must(err)
		defer os.RemoveAll(d)
		dir = d
	}
	fmt.Printf("# baoshui-bench on %s, GOMAXPROCS=%d, %s\n\n", runtime.GOOS+"/"+runtime.GOARCH, runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.RFC3339))
	year := demo.Generate(demo.Seed)
	if *only == "" || *only == "create" {
		benchCreate(filepath.Join(dir, "create"), year)
	}
	if *only == "" || *only == "startup" {
		benchStartupAndTotals(filepath.Join(dir, "startup"), year)
	}
	if *only == "map" {
		benchMapOnly(filepath.Join(dir, "startup"))
	}
	if *only == "" || *only == "push" {
		benchPush(filepath.Join(dir, "push"), year)
	}
	if *only == "" || *only == "fleet" {
		benchFleet(filepath.Join(dir, "fleet"))
	}
	if *only == "ingest" {
		benchIngest(filepath.Join(dir, "ingest"))
	}
	if *only == "alerts" {
		benchAlerts(filepath.Join(dir, "alerts"))
	}
	if *only == "readings-startup" {
		benchReadingsStartup(filepath.Join(dir, "readings-startup"))
	}
	if *only == "cases" {
		benchCases(filepath.Join(dir, "cases"))
	}
	if *only == "console" {
		benchConsole(dir)
	}
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "baoshui-bench:", err)
		os.Exit(1)
	}
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func config(dir, addr string, demoYear bool) app.Config {
	args := []string{"-data-dir", dir, "-http-addr", addr, "-mqtt-addr", "off", "-bootstrap-admin", "root:root-password"}
	if demoYear {
		args = append(args, "-demo", "1")
	}
	c, err := app.LoadConfig("bench", args, func(string) string { return "" })
	must(err)
	return c
}

// clone returns the k-th copy of r under a new id (k = 0 is r itself),
// moved by up to about 300 m (deterministically, by k) so that the copies do
// not pile up on the original's spot.
func clone(r enforcement.Record, k int) enforcement.Record {
	if k > 0 {
		r.ID = r.ID + "-" + strconv.Itoa(k)
		if r.PatrolID != "" {
			r.PatrolID = r.PatrolID + "-" + strconv.Itoa(k)
		}
		dx := float64((k*7919)%601-300) * 1e-5 * 1.3
		dy := float64((k*104729)%601-300) * 1e-5
		if r.Location != nil {
			l := *r.Location
			l.Coordinates = enforcement.Position{l.Coordinates[0] + dx, l.Coordinates[1] + dy}
			r.Location = &l
		}
		if r.Track != nil {
			t := &enforcement.LineString{Type: r.Track.Type, Coordinates: make([]enforcement.Position, len(r.Track.Coordinates))}
			for i, p := range r.Track.Coordinates {
				t.Coordinates[i] = enforcement.Position{p[0] + dx, p[1] + dy}
			}
			r.Track = t
		}
	}
	return r
}

// startWithOfficers starts the app on dir with the demo year's units and
// officers (no records) and returns it with each officer's access token;
// with phones, each officer also has a registered device "phone-<username>".
func startWithOfficers(dir string, year demo.Year, phones bool) (*app.App, map[string]string) {
	ctx := context.Background()
	a, err := app.Start(ctx, config(dir, "127.0.0.1:0", false), quiet())
	must(err)
	for _, u := range year.Units {
		_, err := a.Accounts.CreateUnit(ctx, "bench", u)
		must(err)
	}
	tokens := map[string]string{}
	for _, u := range year.Users {
		if u.Role != demo.RoleOfficer {
			continue
		}
		_, err := a.Accounts.CreateUser(ctx, "bench", toNewUser(u))
		must(err)
		t, err := a.Accounts.Login(ctx, u.Username, u.Password)
		must(err)
		tokens[u.Username] = t.AccessToken
		if phones {
			_, err = a.Accounts.RegisterDevice(ctx, u.Username, auth.Device{ID: "phone-" + u.Username, Name: "bench"})
			must(err)
		}
	}
	return a, tokens
}

func benchCreate(dir string, year demo.Year) {
	ctx := context.Background()
	a, tokens := startWithOfficers(dir, year, false)
	defer a.Close(ctx)
	var err error
	bodies := make([][]byte, *nCreate)
	owners := make([]string, *nCreate)
	recs := make([]enforcement.Record, *nCreate)
	for i := range bodies {
		r := clone(year.Records[i%len(year.Records)], i/len(year.Records)+1)
		recs[i] = r
		bodies[i], _ = json.Marshal(r)
		owners[i] = r.Officers[0]
	}
	var next atomic.Int64
	var failed atomic.Int64
	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *clients}}
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		must(err)
		must(pprof.StartCPUProfile(f))
	}
	t0 := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < *clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(bodies) {
					return
				}
				req, _ := http.NewRequest("POST", a.URL()+"/api/v1/records", bytes.NewReader(bodies[i]))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+tokens[owners[i]])
				resp, err := httpc.Do(req)
				if err != nil || resp.StatusCode != 201 {
					failed.Add(1)
				}
				if resp != nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	api := time.Since(t0)
	if *cpuProf != "" {
		pprof.StopCPUProfile()
	}

	// The same documents, as the store writes them, through the raw driver.
	docs := make([]any, len(recs))
	for i, r := range recs {
		r.Rev, r.CreatedBy, r.RecordedBy, r.ReceivedAt = 1, owners[i], owners[i], time.Now().UTC()
		r.BodySHA256, r.UnitPath = r.CanonicalHash(), a.Accounts.Units.Path(r.Unit)
		docs[i], err = store.EncodeRecord(r)
		must(err)
	}
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(a.Store.URI()))
	must(err)
	defer client.Disconnect(ctx)
	rawInsert := func(name string, batch int) time.Duration {
		col := client.Database(a.Store.DatabaseName()).Collection(name)
		t := time.Now()
		for i := 0; i < len(docs); i += batch {
			_, err := col.InsertMany(ctx, docs[i:min(i+batch, len(docs))])
			must(err)
		}
		return time.Since(t)
	}
	raw := rawInsert("raw_insert", 1000)
	// The group size that 16 concurrent clients allow the writer, for scale.
	raw16 := rawInsert("raw_insert_16", *clients)
	apiRate := float64(len(bodies)) / api.Seconds()
	rawRate := float64(len(docs)) / raw.Seconds()
	fmt.Printf("## Record creation, %d records\n\n", len(bodies))
	fmt.Printf("| path | time | records/s |\n|---|---|---|\n")
	fmt.Printf("| POST /api/v1/records, %d clients (failed: %d) | %s | %.0f |\n", *clients, failed.Load(), api.Round(time.Millisecond), apiRate)
	fmt.Printf("| raw driver InsertMany, batches of 1000 | %s | %.0f |\n", raw.Round(time.Millisecond), rawRate)
	fmt.Printf("| raw driver InsertMany, batches of %d, one caller | %s | %.0f |\n", *clients, raw16.Round(time.Millisecond), float64(len(docs))/raw16.Seconds())
	fmt.Printf("\nratio API / raw: **%.2f**\n\n", apiRate/rawRate)
}

func toNewUser(u demo.User) accounts.NewUser {
	return accounts.NewUser{Username: u.Username, Password: u.Password, Name: u.Name, Role: auth.Role(u.Role), Unit: u.Unit}
}

// fillClones loads the demo year into the store of dir through the app,
// then inserts n clones of those of its records that keep accepts straight
// into the store (placed with records.Derive, as the service does at write
// time), and returns how many it inserted and how long that took.
func fillClones(dir string, year demo.Year, n int, keep func(enforcement.Record) bool) (int, time.Duration) {
	ctx := context.Background()
	a, err := app.Start(ctx, config(dir, "127.0.0.1:0", true), quiet())
	must(err)
	units := a.Accounts.Units
	must(a.Close(ctx))
	st, err := store.Open(ctx, store.Config{DataDir: dir, Logger: quiet()})
	must(err)
	defer func() { must(st.Close(ctx)) }()
	reg, err := zones.Open(ctx, st, nil)
	must(err)
	set := reg.Current()
	t0 := time.Now()
	work := make(chan []enforcement.Record, 8)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range work {
				for _, err := range st.InsertRevisions(ctx, batch) {
					must(err)
				}
			}
		}()
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	done := 0
	var batch []enforcement.Record
	for k := 1; done < n; k++ {
		for _, r := range year.Records {
			if done >= n {
				break
			}
			if !keep(r) {
				continue
			}
			c := clone(r, k)
			c.Rev, c.CreatedBy, c.RecordedBy, c.ReceivedAt = 1, r.Officers[0], r.Officers[0], now
			c.BodySHA256, c.UnitPath = c.CanonicalHash(), units.Path(c.Unit)
			records.Derive(&c, set)
			batch = append(batch, c)
			done++
			if len(batch) == store.MaxBatch {
				work <- batch
				batch = nil
			}
		}
	}
	if len(batch) > 0 {
		work <- batch
	}
	close(work)
	wg.Wait()
	return done, time.Since(t0)
}

func benchStartupAndTotals(dir string, year demo.Year) {
	// The demo year and its accounts, through the app, then clones of it
	// straight into the store up to the requested number of records.
	cloned, load := fillClones(dir, year, *nRecords-len(year.Records), func(enforcement.Record) bool { return true })
	total := len(year.Records) + cloned
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{DataDir: dir, Logger: quiet()})
	must(err)
	fmt.Printf("## Start-up and totals with %d records in the embedded store (SQLite)\n\n", total)
	fmt.Printf("(bulk-loaded %d clones of the demo year in %s, %.0f records/s, through store.InsertRevisions)\n\n",
		total-len(year.Records), load.Round(time.Second), float64(total-len(year.Records))/load.Seconds())

	// Baseline: a plain full scan of the same collection through the driver.
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(st.URI()))
	must(err)
	t1 := time.Now()
	cur, err := client.Database(st.DatabaseName()).Collection("records").Find(ctx, bson.D{}, options.Find().SetBatchSize(1000))
	must(err)
	scanned := 0
	for cur.Next(ctx) {
		scanned++
	}
	must(cur.Err())
	scan := time.Since(t1)
	must(client.Disconnect(ctx))
	must(st.Close(ctx))

	// Start-up of the real binary on that data directory: first from a scan
	// of the store (the bulk load invalidated any snapshot), then, after a
	// clean shutdown wrote the read-model snapshot, from the snapshot.
	bin := filepath.Join(dir, "baoshui")
	build := exec.Command("go", "build", "-o", bin, "./server/cmd/baoshui")
	build.Stderr = os.Stderr
	must(build.Run())
	cold := startServer(bin, dir)
	cold.stop()
	warm := startServer(bin, dir)
	defer warm.stop()
	cmd, base := warm.cmd, warm.base
	fmt.Printf("| what | time | memory |\n|---|---|---|\n")
	fmt.Printf("| `baoshui serve` to /readyz, read models from a full scan | %s | RSS %d MB (peak %d MB) |\n", cold.ready.Round(time.Millisecond), cold.rss>>20, cold.hwm>>20)
	fmt.Printf("| `baoshui serve` to /readyz, read models from the snapshot | %s | RSS %d MB (peak %d MB) |\n", warm.ready.Round(time.Millisecond), warm.rss>>20, warm.hwm>>20)
	fmt.Printf("| raw driver full scan of the records collection (%d documents) | %s | |\n\n", scanned, scan.Round(time.Millisecond))

	// Totals for 2020: the endpoint, sequentially.
	tok := login(base, "office", demo.Password)
	var lat []time.Duration
	var rep records.TotalsReport
	for i := 0; i < *queries; i++ {
		t := time.Now()
		req, _ := http.NewRequest("GET", base+"/api/v1/reports/totals?from=2020-01-01&to=2021-01-01", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		must(err)
		if i == 0 {
			must(json.NewDecoder(resp.Body).Decode(&rep))
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lat = append(lat, time.Since(t))
	}
	mapLines := benchMap(base, tok)
	rss2, _ := observe.Memory(cmd.Process.Pid)
	warm.stop()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p50, p95 := lat[len(lat)/2], lat[len(lat)*95/100]

	// Baseline: the raw $group pipeline for one figure (persons by activity).
	st, err = store.Open(ctx, store.Config{DataDir: dir, Logger: quiet()})
	must(err)
	defer st.Close(ctx)
	client, err = mongo.Connect(ctx, options.Client().ApplyURI(st.URI()))
	must(err)
	defer client.Disconnect(ctx)
	t3 := time.Now()
	pipe := bson.A{
		bson.D{{Key: "$match", Value: bson.D{{Key: "superseded", Value: false}, {Key: "voided", Value: false},
			{Key: "kind", Value: "expulsion"}, {Key: "day", Value: bson.D{{Key: "$gte", Value: "2020-01-01"}, {Key: "$lt", Value: "2021-01-01"}}}}}},
		bson.D{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$activity"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: "$persons"}}}}}},
	}
	cur, err = client.Database(st.DatabaseName()).Collection("records").Aggregate(ctx, pipe)
	must(err)
	var rows []struct {
		ID string `bson:"_id"`
		N  int64  `bson:"n"`
	}
	must(cur.All(ctx, &rows))
	group := time.Since(t3)
	var persons int64
	for _, r := range rows {
		persons += r.N
	}
	agree := "agree"
	if persons != rep.Totals.PersonsCleared {
		agree = fmt.Sprintf("DISAGREE (%d vs %d)", persons, rep.Totals.PersonsCleared)
	}
	fmt.Printf("| totals for 2020 | p50 | p95 |\n|---|---|---|\n")
	fmt.Printf("| GET /api/v1/reports/totals (all figures, %d requests) | %s | %s |\n", *queries, p50.Round(time.Microsecond), p95.Round(time.Microsecond))
	fmt.Printf("| raw $match/$group pipeline, persons by activity only (1 run) | %s | |\n\n", group.Round(time.Millisecond))
	fmt.Printf("ratio pipeline / endpoint p95: **%.0f×**; persons cleared: endpoint %d, pipeline %d — %s; server RSS after the queries %d MB\n\n",
		group.Seconds()/p95.Seconds(), rep.Totals.PersonsCleared, persons, agree, rss2>>20)

	// Baseline for the street box: the raw driver's find of the same box.
	t4 := time.Now()
	n, err := client.Database(st.DatabaseName()).Collection("records").CountDocuments(ctx, bson.D{
		{Key: "superseded", Value: false}, {Key: "voided", Value: false}, {Key: "kind", Value: bson.D{{Key: "$ne", Value: "patrol"}}},
		{Key: "lon", Value: bson.D{{Key: "$gte", Value: streetBox[0]}, {Key: "$lte", Value: streetBox[2]}}},
		{Key: "lat", Value: bson.D{{Key: "$gte", Value: streetBox[1]}, {Key: "$lte", Value: streetBox[3]}}}})
	must(err)
	raw := time.Since(t4)
	fmt.Printf("## The incident map with %d records stored (8 concurrent clients)\n\n", total)
	fmt.Printf("| query | requests | p50 | p95 | features | incidents matched |\n|---|---|---|---|---|---|\n")
	for _, l := range mapLines {
		fmt.Println(l)
	}
	fmt.Printf("| raw driver count of the street box, lon/lat range (1 run, %d documents) | 1 | %s | | | |\n\n", n, raw.Round(time.Millisecond))
}

type server struct {
	cmd      *exec.Cmd
	base     string
	ready    time.Duration
	rss, hwm int64
	stopped  bool
}

// startServer runs `baoshui serve` on dir and waits for /readyz.
func startServer(bin, dir string) *server {
	addr := freeAddr()
	cmd := exec.Command(bin, "serve", "-data-dir", dir, "-http-addr", addr, "-mqtt-addr", "off", "-log-level", "warn")
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	t0 := time.Now()
	must(cmd.Start())
	s := &server{cmd: cmd, base: "http://" + addr}
	s.waitReady(t0, 30*time.Minute)
	return s
}

// waitReady polls /readyz every 50 ms until it answers 200, then records
// the time since t0 and the server's memory; after limit it kills the
// server and gives up.
func (s *server) waitReady(t0 time.Time, limit time.Duration) {
	for {
		resp, err := http.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Since(t0) > limit {
			s.cmd.Process.Kill()
			must(fmt.Errorf("server not ready after %v", limit))
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.ready = time.Since(t0)
	s.rss, s.hwm = observe.Memory(s.cmd.Process.Pid)
}

// benchStations returns n copies of testdata/stations.json's res-dam,
// bench-001 to bench-NNN, for the sensor benchmarks.
func benchStations(n int) []sensors.Station {
	b, err := os.ReadFile("testdata/stations.json")
	must(err)
	all, err := sensors.LoadStations(b)
	must(err)
	var tmpl sensors.Station
	for _, st := range all {
		if st.ID == "res-dam" {
			tmpl = st
		}
	}
	if tmpl.ID == "" {
		must(fmt.Errorf("testdata/stations.json: no station res-dam"))
	}
	out := make([]sensors.Station, n)
	for i := range out {
		st := tmpl
		st.ID = fmt.Sprintf("bench-%03d", i+1)
		st.Name, st.NameEN = fmt.Sprintf("基准站 %d", i+1), fmt.Sprintf("Benchmark station %d (copy of res-dam)", i+1)
		out[i] = st
	}
	return out
}

// stop shuts the server down cleanly (SIGINT) and waits for it.
func (s *server) stop() {
	if s.stopped {
		return
	}
	s.stopped = true
	s.cmd.Process.Signal(os.Interrupt)
	s.cmd.Wait()
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	defer l.Close()
	return l.Addr().String()
}

func login(base, user, password string) string {
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	resp, err := http.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	must(err)
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		must(fmt.Errorf("login %s: status %d", user, resp.StatusCode))
	}
	var t struct {
		AccessToken string `json:"access_token"`
	}
	must(json.NewDecoder(resp.Body).Decode(&t))
	return t.AccessToken
}

// The boxes of the map benchmark: the reservoir and its shore towns, and
// about 1.5 km on the south-western shore, where the demo year has most incidents.
var (
	cityBox   = [4]float64{116.75, 40.40, 117.20, 40.70}
	streetBox = [4]float64{116.847, 40.4663, 116.865, 40.4798}
)

// benchMap asks /api/v1/map/incidents for the city box at zoom 10 and the
// street box at zoom 16 from 8 concurrent clients and returns table rows.
func benchMap(base, tok string) []string {
	var lines []string
	for _, q := range []struct {
		name string
		box  [4]float64
		zoom int
	}{{"city box, zoom 10", cityBox, 10}, {"street box, zoom 16", streetBox, 16}} {
		url := fmt.Sprintf("%s/api/v1/map/incidents?bbox=%g,%g,%g,%g&zoom=%d", base, q.box[0], q.box[1], q.box[2], q.box[3], q.zoom)
		var mu sync.Mutex
		var lat []time.Duration
		var features, matched int
		var wg sync.WaitGroup
		for c := 0; c < 8; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < *mapQueries/8; i++ {
					t := time.Now()
					req, _ := http.NewRequest("GET", url, nil)
					req.Header.Set("Authorization", "Bearer "+tok)
					resp, err := http.DefaultClient.Do(req)
					must(err)
					var fc struct {
						Features []json.RawMessage `json:"features"`
						Matched  int               `json:"numberMatched"`
					}
					must(json.NewDecoder(resp.Body).Decode(&fc))
					resp.Body.Close()
					d := time.Since(t)
					mu.Lock()
					lat = append(lat, d)
					features, matched = len(fc.Features), fc.Matched
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		lines = append(lines, fmt.Sprintf("| GET /api/v1/map/incidents, %s | %d | %s | %s | %d | %d |", q.name, len(lat),
			lat[len(lat)/2].Round(time.Microsecond), lat[len(lat)*95/100].Round(time.Microsecond), features, matched))
	}
	return lines
}

// benchMapOnly measures the map again on the store an earlier startup run
// left in dir (run with -dir), beside the raw driver's count of the street
// box.
func benchMapOnly(dir string) {
	ctx := context.Background()
	bin := filepath.Join(dir, "baoshui")
	build := exec.Command("go", "build", "-o", bin, "./server/cmd/baoshui")
	build.Stderr = os.Stderr
	must(build.Run())
	srv := startServer(bin, dir)
	tok := login(srv.base, "office", demo.Password)
	lines := benchMap(srv.base, tok)
	rss, _ := observe.Memory(srv.cmd.Process.Pid)
	srv.stop()
	st, err := store.Open(ctx, store.Config{DataDir: dir, Logger: quiet()})
	must(err)
	defer st.Close(ctx)
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(st.URI()))
	must(err)
	defer client.Disconnect(ctx)
	total, err := client.Database(st.DatabaseName()).Collection("records").EstimatedDocumentCount(ctx)
	must(err)
	t0 := time.Now()
	n, err := client.Database(st.DatabaseName()).Collection("records").CountDocuments(ctx, bson.D{
		{Key: "superseded", Value: false}, {Key: "voided", Value: false}, {Key: "kind", Value: bson.D{{Key: "$ne", Value: "patrol"}}},
		{Key: "lon", Value: bson.D{{Key: "$gte", Value: streetBox[0]}, {Key: "$lte", Value: streetBox[2]}}},
		{Key: "lat", Value: bson.D{{Key: "$gte", Value: streetBox[1]}, {Key: "$lte", Value: streetBox[3]}}}})
	must(err)
	raw := time.Since(t0)
	fmt.Printf("## The incident map with %d records stored (8 concurrent clients; server ready in %s from the %s)\n\n", total, srv.ready.Round(time.Millisecond), "store")
	fmt.Printf("| query | requests | p50 | p95 | features | incidents matched |\n|---|---|---|---|---|---|\n")
	for _, l := range lines {
		fmt.Println(l)
	}
	fmt.Printf("| raw driver count of the street box, lon/lat range (1 run, %d documents) | 1 | %s | | | |\n\n", n, raw.Round(time.Millisecond))
	fmt.Printf("server RSS after the map queries: %d MB\n", rss>>20)
}
