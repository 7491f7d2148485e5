package main

import (
	"bytes"
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
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/baoshui/baoshui/sensors"
	"github.com/baoshui/baoshui/server/app"
	"github.com/baoshui/baoshui/server/internal/observe"
	"github.com/baoshui/baoshui/server/store"
)

var (
	sensorStations = flag.Int("stations", 100, "ingest, alerts: stations publishing over MQTT (bench-001 …)")
	ingestMessages = flag.Int("messages", 100_000, "ingest: readings published in the burst, spread over the stations")
	alertRate      = flag.Int("rate", 1000, "alerts: readings per second over all stations")
	alertDuration  = flag.Duration("duration", 30*time.Second, "alerts: how long to publish")
)

// The values of a reservoir station's reading: every parameter of res-dam,
// all within Class II (compliant with the target class). exceedTP is total
// phosphorus in Class III, an exceedance for a Class II reservoir station.
var (
	compliantValues = map[sensors.Param]float64{
		"ph": 7.8, "do_mg_l": 8.2, "codmn_mg_l": 2.6, "nh3n_mg_l": 0.12, "tp_mg_l": 0.02, "tn_mg_l": 0.42,
		"temp_c": 18.5, "conductivity_us_cm": 310, "turbidity_ntu": 3.2, "chla_ug_l": 4.1,
	}
	exceedTP = 0.05
)

// sensorTarget is the server the ingest and alert benchmarks talk to: the
// real binary in its own process, or (with -cpuprofile, to profile it) the
// app in this process.
type sensorTarget struct {
	base, mqtt string // http://host:port, host:port of the embedded broker
	pid        int
	admin      string // root's access token
	stations   []sensors.Station
	passwords  map[string]string
	stop       func()
}

// startSensorTarget starts the server on a fresh data directory under dir
// with -stations stations copied from the reservoir station res-dam of
// testdata/stations.json, and issues each a device credential, all over
// HTTP as root.
func startSensorTarget(dir string) *sensorTarget {
	ctx := context.Background()
	must(os.MkdirAll(dir, 0o750))
	data := filepath.Join(dir, "data")
	httpAddr, mqttAddr := freeAddr(), freeAddr()
	t := &sensorTarget{base: "http://" + httpAddr, mqtt: mqttAddr, passwords: map[string]string{}}
	args := []string{"-data-dir", data, "-http-addr", httpAddr, "-mqtt-addr", mqttAddr, "-bootstrap-admin", "root:root-password"}
	if *cpuProf != "" {
		c, err := app.LoadConfig("bench", args, func(string) string { return "" })
		must(err)
		a, err := app.Start(ctx, c, quiet())
		must(err)
		t.pid, t.stop = os.Getpid(), func() { a.Close(ctx) }
	} else {
		bin := filepath.Join(dir, "baoshui")
		build := exec.Command("go", "build", "-o", bin, "./server/cmd/baoshui")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		must(build.Run())
		cmd := exec.Command(bin, append([]string{"serve"}, append(args, "-log-level", "warn")...)...)
		cmd.Stderr = os.Stderr
		must(cmd.Start())
		srv := &server{cmd: cmd, base: t.base}
		t.pid, t.stop = cmd.Process.Pid, srv.stop
	}
	for i := 0; ; i++ {
		if resp, err := http.Get(t.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if i > 1200 {
			t.stop()
			must(fmt.Errorf("server not ready after a minute"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.admin = login(t.base, "root", "root-password")

	for _, st := range benchStations(*sensorStations) {
		if code := t.call("POST", "/api/v1/stations", st, nil); code != 201 {
			must(fmt.Errorf("POST /api/v1/stations %s: status %d", st.ID, code))
		}
		var cred struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}
		if code := t.call("POST", "/api/v1/stations/"+st.ID+"/credentials", nil, &cred); code != 201 {
			must(fmt.Errorf("POST /api/v1/stations/%s/credentials: status %d", st.ID, code))
		}
		t.stations = append(t.stations, st)
		t.passwords[cred.Username] = cred.Password
	}
	return t
}

// call sends an HTTP request as root with body as JSON (when not nil),
// decodes a JSON answer into out (when not nil) and returns the status.
func (t *sensorTarget) call(method, path string, body, out any) int {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		must(err)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, t.base+path, r)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+t.admin)
	resp, err := http.DefaultClient.Do(req)
	must(err)
	defer resp.Body.Close()
	if out != nil && resp.StatusCode/100 == 2 {
		must(json.NewDecoder(resp.Body).Decode(out))
	} else {
		io.Copy(io.Discard, resp.Body)
	}
	return resp.StatusCode
}

// metrics scrapes /metrics into name (with its labels) → value.
func (t *sensorTarget) metrics() map[string]float64 {
	m, err := observe.Metrics(nil, t.base)
	must(err)
	return m
}

// connect connects one device client per station: MQTT 3.1.1, a fixed
// client id (the station id), clean session off, the issued credential.
func (t *sensorTarget) connect() []paho.Client {
	cs := make([]paho.Client, len(t.stations))
	for i, st := range t.stations {
		opts := paho.NewClientOptions().AddBroker("tcp://" + t.mqtt).SetClientID(st.ID).
			SetUsername(st.ID).SetPassword(t.passwords[st.ID]).SetProtocolVersion(4).
			SetCleanSession(false).SetOrderMatters(false).SetKeepAlive(30 * time.Second).
			SetAutoReconnect(true).SetConnectTimeout(10 * time.Second)
		c := paho.NewClient(opts)
		tok := c.Connect()
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			must(fmt.Errorf("mqtt connect %s: %v", st.ID, tok.Error()))
		}
		cs[i] = c
	}
	return cs
}

func readingsTopic(station string) string { return "baoshui/v1/stations/" + station + "/readings" }

// payload is the JSON message of one reading at ts with values.
func payload(ts time.Time, values map[sensors.Param]float64) []byte {
	b := make([]byte, 0, 256)
	b = append(b, `{"ts":"`...)
	b = ts.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, '"')
	keys := make([]string, 0, len(values))
	for p := range values {
		keys = append(keys, string(p))
	}
	sort.Strings(keys)
	for _, k := range keys {
		b = append(b, `,"`...)
		b = append(b, k...)
		b = append(b, `":`...)
		b = strconv.AppendFloat(b, values[sensors.Param(k)], 'f', -1, 64)
	}
	return append(b, '}')
}

// checkValues makes sure the compliant values are compliant at a station
// like st, and the exceeding one is an exceedance.
func checkValues(st sensors.Station) {
	now := time.Now()
	if r := sensors.ClassifySample(st, sensors.Sample{Time: now, Values: compliantValues}); r.Exceeds || r.Assessment == sensors.ClassNone || len(r.Invalid) > 0 {
		must(fmt.Errorf("the compliant values are not compliant at %s: %+v", st.ID, r))
	}
	v := withTP(exceedTP)
	if r := sensors.ClassifySample(st, sensors.Sample{Time: now, Values: v}); !r.Exceeds {
		must(fmt.Errorf("tp_mg_l %g is no exceedance at %s: %+v", exceedTP, st.ID, r))
	}
}

func withTP(tp float64) map[sensors.Param]float64 {
	v := make(map[sensors.Param]float64, len(compliantValues))
	for p, x := range compliantValues {
		v[p] = x
	}
	v["tp_mg_l"] = tp
	return v
}

// rawReading is the document the store writes for a reading
// (server/store/sensors.go readingDoc), field for field.
type rawReading struct {
	ID         string             `bson:"_id"`
	Station    string             `bson:"station"`
	Time       time.Time          `bson:"ts"`
	Day        string             `bson:"day"`
	Values     map[string]float64 `bson:"values"`
	Assessment string             `bson:"assessment"`
	Full       string             `bson:"full"`
	Exceeds    bool               `bson:"exceeds"`
	ReceivedAt time.Time          `bson:"received_at"`
}

// benchIngest measures a burst of -messages readings from -stations
// devices publishing at QoS 1 at once to the binary's embedded broker, until
// every reading is stored, beside the raw driver's InsertMany of the same
// documents in batches of 500 into a second embedded store.
func benchIngest(dir string) {
	ctx := context.Background()
	t := startSensorTarget(dir)
	defer t.stop()
	checkValues(t.stations[0])
	n := len(t.stations)
	per := *ingestMessages / n
	total := per * n
	// Reading k of a station is k seconds after base: increasing per
	// station, distinct, all within the last hour and a half.
	base := time.Now().UTC().Truncate(time.Second).Add(-time.Duration(per)*time.Second - time.Minute)
	payloads := make([][][]byte, n)
	for s := range payloads {
		payloads[s] = make([][]byte, per)
		for k := range payloads[s] {
			payloads[s][k] = payload(base.Add(time.Duration(k)*time.Second), compliantValues)
		}
	}
	clients := t.connect()
	m0 := t.metrics()

	// Poll the stored counter every 50 ms from the first publish on (a
	// scrape costs the server about 1 ms of CPU).
	var storedAt atomic.Int64
	pollDone := make(chan struct{})
	var t0 time.Time
	start := make(chan struct{})
	go func() {
		defer close(pollDone)
		<-start
		for time.Since(t0) < 5*time.Minute {
			if t.metrics()["baoshui_readings_stored_total"] >= float64(total) {
				storedAt.Store(int64(time.Since(t0)))
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		must(err)
		must(pprof.StartCPUProfile(f))
	}
	srvCPU0, ownCPU0 := procCPU(t.pid), ownCPU()
	var published, acked atomic.Int64
	var lastPublish, lastAck atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	t0 = time.Now()
	close(start)
	for s, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			topic := readingsTopic(t.stations[s].ID)
			toks := make([]paho.Token, per)
			for k := range toks {
				toks[k] = c.Publish(topic, 1, false, payloads[s][k])
				published.Add(1)
			}
			d := int64(time.Since(t0))
			for v := lastPublish.Load(); d > v && !lastPublish.CompareAndSwap(v, d); v = lastPublish.Load() {
			}
			for _, tok := range toks {
				if !tok.WaitTimeout(5*time.Minute) || tok.Error() != nil {
					failed.Add(1)
					continue
				}
				acked.Add(1)
			}
			d = int64(time.Since(t0))
			for v := lastAck.Load(); d > v && !lastAck.CompareAndSwap(v, d); v = lastAck.Load() {
			}
		}()
	}
	wg.Wait()
	<-pollDone
	if *cpuProf != "" {
		pprof.StopCPUProfile()
	}
	took := time.Duration(storedAt.Load())
	srvCPU, own := procCPU(t.pid)-srvCPU0, ownCPU()-ownCPU0
	m := t.metrics()
	_, hwm := observe.Memory(t.pid)
	for _, c := range clients {
		c.Disconnect(250)
	}
	t.stop()

	// The raw driver: the same documents, as the store writes them, in
	// batches of 500 (unordered), one caller, into a second embedded store:
	// once into a collection of its own, once into that store's readings
	// collection, which has the _id index the store adds (as the server's).
	raw := filepath.Join(dir, "raw")
	st, err := store.Open(ctx, store.Config{DataDir: raw, Logger: quiet()})
	must(err)
	defer st.Close(ctx)
	res := sensors.ClassifySample(t.stations[0], sensors.Sample{Time: base, Values: compliantValues})
	assessment, _ := res.Assessment.MarshalText()
	full, _ := res.Full.MarshalText()
	values := map[string]float64{}
	for p, v := range compliantValues {
		values[string(p)] = v
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	docs := make([]any, 0, total)
	for _, s := range t.stations {
		for k := 0; k < per; k++ {
			ts := base.Add(time.Duration(k) * time.Second)
			docs = append(docs, rawReading{ID: store.ReadingID(s.ID, ts), Station: s.ID, Time: ts,
				Day: sensors.DayOf(ts), Values: values, Assessment: string(assessment), Full: string(full),
				Exceeds: res.Exceeds, ReceivedAt: now})
		}
	}
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(st.URI()))
	must(err)
	defer client.Disconnect(ctx)
	rawInsert := func(col string) time.Duration {
		c := client.Database(st.DatabaseName()).Collection(col)
		t := time.Now()
		for i := 0; i < len(docs); i += 500 {
			_, err := c.InsertMany(ctx, docs[i:min(i+500, len(docs))], options.InsertMany().SetOrdered(false))
			must(err)
		}
		return time.Since(t)
	}
	rawPlain := rawInsert("raw_readings")
	rawIdx := rawInsert("readings")

	stored := m["baoshui_readings_stored_total"] - m0["baoshui_readings_stored_total"]
	dups := m["baoshui_readings_duplicate_total"] - m0["baoshui_readings_duplicate_total"]
	rate := float64(total) / took.Seconds()
	rawRate := float64(total) / rawPlain.Seconds()
	loss := "no loss"
	if int(stored) != total || failed.Load() > 0 {
		loss = fmt.Sprintf("**LOSS: stored %d of %d, %d publishes not acknowledged**", int(stored), total, failed.Load())
	}
	fmt.Printf("## Sensor ingest: %d readings from %d stations (%d each), QoS 1, all at once\n\n", total, n, per)
	fmt.Printf("| path | time | readings/s |\n|---|---|---|\n")
	fmt.Printf("| MQTT publish → embedded broker → ingest → store, first publish to %d stored (polled every 50 ms) | %s | %.0f |\n",
		total, took.Round(time.Millisecond), rate)
	fmt.Printf("| raw driver InsertMany, unordered, batches of 500, one caller, a collection of its own | %s | %.0f |\n",
		rawPlain.Round(time.Millisecond), rawRate)
	fmt.Printf("| raw driver InsertMany, the same, into the readings collection of a second store (with the store's _id index) | %s | %.0f |\n",
		rawIdx.Round(time.Millisecond), float64(total)/rawIdx.Seconds())
	fmt.Printf("\nratio ingest / raw: **%.2f** (%.2f against the readings collection)\n\n", rate/rawRate, rate/(float64(total)/rawIdx.Seconds()))
	fmt.Printf("| counter | value |\n|---|---|\n")
	fmt.Printf("| publishes handed to paho / PUBACKs received (failed) | %d / %d (%d) |\n", published.Load(), acked.Load(), failed.Load())
	fmt.Printf("| last publish handed to paho / last PUBACK, after the first publish | %s / %s |\n",
		time.Duration(lastPublish.Load()).Round(time.Millisecond), time.Duration(lastAck.Load()).Round(time.Millisecond))
	for _, k := range []string{"baoshui_readings_stored_total", "baoshui_readings_duplicate_total", "baoshui_readings_quarantined_total",
		"baoshui_ingest_received_total", "baoshui_ingest_acked_total", "baoshui_ingest_store_errors_total"} {
		fmt.Printf("| %s | %.0f |\n", k, m[k]-m0[k])
	}
	fmt.Printf("| server peak RSS (VmHWM) | %d MB |\n", hwm>>20)
	if *cpuProf == "" {
		fmt.Printf("| CPU (user + sys) during the burst: server process / bench process (the %d paho clients) | %s (%.2f cores) / %s (%.2f cores) |\n",
			n, srvCPU.Round(10*time.Millisecond), srvCPU.Seconds()/took.Seconds(), own.Round(10*time.Millisecond), own.Seconds()/took.Seconds())
	} else {
		fmt.Printf("| CPU (user + sys) during the burst, server and clients in one process | %s (%.2f cores) |\n",
			own.Round(10*time.Millisecond), own.Seconds()/took.Seconds())
	}
	fmt.Printf("\nzero-loss check: stored %d of %d, duplicates %d — %s\n\n", int(stored), total, int(dups), loss)
}

// benchAlerts publishes -rate readings per second spread evenly over
// -stations devices for -duration; about once a second one station (each
// in turn) publishes an exceeding reading in place of a compliant one, and
// a probe polls GET /api/v1/alerts every 2 ms until the alert that reading
// opened shows. The station's next three compliant readings clear it.
func benchAlerts(dir string) {
	t := startSensorTarget(dir)
	defer t.stop()
	checkValues(t.stations[0])
	n := len(t.stations)
	clients := t.connect()
	period := time.Duration(float64(n) * float64(time.Second) / float64(*alertRate))
	normal := payloadValues(compliantValues)
	exceed := payloadValues(withTP(exceedTP))
	probeNext := make([]atomic.Bool, n)
	type probe struct {
		station string
		lat     time.Duration
		ok      bool
	}
	var (
		mu       sync.Mutex
		probes   []probe
		probeWG  sync.WaitGroup
		pubWG    sync.WaitGroup
		sent     atomic.Int64
		tokMu    sync.Mutex
		tokens   []paho.Token
		httpc    = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
		stopping = make(chan struct{})
	)
	m0 := t.metrics()
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		must(err)
		must(pprof.StartCPUProfile(f))
	}
	t0 := time.Now()
	// The probe: poll the station's open alerts until one opened at ts.
	runProbe := func(station string, ts, pub time.Time) {
		defer probeWG.Done()
		u := t.base + "/api/v1/alerts?station=" + url.QueryEscape(station) + "&state=open"
		for time.Since(pub) < 10*time.Second {
			req, _ := http.NewRequest("GET", u, nil)
			req.Header.Set("Authorization", "Bearer "+t.admin)
			resp, err := httpc.Do(req)
			if err == nil {
				var out struct {
					Alerts []sensors.Alert `json:"alerts"`
				}
				derr := json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				for _, a := range out.Alerts {
					if derr == nil && a.OpenedAt.Equal(ts) {
						d := time.Since(pub)
						mu.Lock()
						probes = append(probes, probe{station, d, true})
						mu.Unlock()
						return
					}
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
		mu.Lock()
		probes = append(probes, probe{station: station})
		mu.Unlock()
	}
	for s, c := range clients {
		pubWG.Add(1)
		go func() {
			defer pubWG.Done()
			st := t.stations[s].ID
			topic := readingsTopic(st)
			// Stations start spread over one period, so that the total
			// rate is even.
			time.Sleep(time.Duration(s) * period / time.Duration(n))
			tick := time.NewTicker(period)
			defer tick.Stop()
			var last time.Time
			var mine []paho.Token
			defer func() {
				tokMu.Lock()
				tokens = append(tokens, mine...)
				tokMu.Unlock()
			}()
			for {
				ts := time.Now().UTC().Truncate(time.Millisecond)
				if !ts.After(last) {
					ts = last.Add(time.Millisecond)
				}
				last = ts
				if probeNext[s].CompareAndSwap(true, false) {
					b := exceed(ts)
					probeWG.Add(1)
					pub := time.Now()
					mine = append(mine, c.Publish(topic, 1, false, b))
					go runProbe(st, ts, pub)
				} else {
					mine = append(mine, c.Publish(topic, 1, false, normal(ts)))
				}
				sent.Add(1)
				select {
				case <-stopping:
					return
				case <-tick.C:
				}
			}
		}()
	}
	// Once a second (from 0.5 s on), the next station's next reading
	// exceeds.
	go func() {
		time.Sleep(500 * time.Millisecond)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for k := 0; ; k++ {
			probeNext[k%n].Store(true)
			select {
			case <-stopping:
				return
			case <-tick.C:
			}
		}
	}()
	time.Sleep(*alertDuration)
	close(stopping)
	pubWG.Wait()
	took := time.Since(t0)
	probeWG.Wait()
	if *cpuProf != "" {
		pprof.StopCPUProfile()
	}
	var acked, failed int
	for _, tok := range tokens {
		if tok.WaitTimeout(time.Minute) && tok.Error() == nil {
			acked++
		} else {
			failed++
		}
	}
	time.Sleep(200 * time.Millisecond) // the last clears
	m := t.metrics()
	_, hwm := observe.Memory(t.pid)
	for _, c := range clients {
		c.Disconnect(250)
	}
	var lat []time.Duration
	missed := 0
	for _, p := range probes {
		if p.ok {
			lat = append(lat, p.lat)
		} else {
			missed++
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(q float64) string {
		if len(lat) == 0 {
			return "–"
		}
		return lat[int(q*float64(len(lat)-1))].Round(100 * time.Microsecond).String()
	}
	fmt.Printf("## Publish to alert: %d stations, %d readings/s in all for %s, one exceeding reading a second\n\n", n, *alertRate, *alertDuration)
	fmt.Printf("| figure | value |\n|---|---|\n")
	fmt.Printf("| readings published / PUBACKs (failed) | %d / %d (%d) |\n", sent.Load(), acked, failed)
	fmt.Printf("| achieved publish rate | %.0f readings/s |\n", float64(sent.Load())/took.Seconds())
	fmt.Printf("| probes (exceeding readings) / alert seen / not seen within 10 s | %d / %d / %d |\n", len(probes), len(lat), missed)
	fmt.Printf("| publish → open alert in GET /api/v1/alerts (polled every 2 ms): p50 / p95 / max | %s / %s / %s |\n", pct(0.5), pct(0.95), pct(1))
	for _, k := range []string{"baoshui_readings_stored_total", "baoshui_readings_duplicate_total", "baoshui_readings_quarantined_total",
		"baoshui_alerts_opened_total", "baoshui_alerts_cleared_total", "baoshui_ingest_received_total", "baoshui_ingest_acked_total"} {
		fmt.Printf("| %s | %.0f |\n", k, m[k]-m0[k])
	}
	fmt.Printf("| baoshui_alerts_open at the end | %.0f |\n", m["baoshui_alerts_open"])
	fmt.Printf("| server peak RSS (VmHWM) | %d MB |\n\n", hwm>>20)
}

// payloadValues returns a function writing the payload of a reading at ts
// with values, the values' part encoded once.
func payloadValues(values map[sensors.Param]float64) func(ts time.Time) []byte {
	tail := payload(time.Time{}, values)
	tail = tail[bytes.IndexByte(tail, ','):]
	return func(ts time.Time) []byte {
		b := make([]byte, 0, len(tail)+40)
		b = append(b, `{"ts":"`...)
		b = ts.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
		b = append(b, '"')
		return append(b, tail...)
	}
}

// procCPU returns the user and system CPU time a process has used, from
// /proc/{pid}/stat (clock ticks of 10 ms).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+k) * 10 * time.Millisecond
}

// ownCPU returns the user and system CPU time of this process.
func ownCPU() time.Duration { return procCPU(os.Getpid()) }
