package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
	"github.com/baoshui/baoshui/server/enforcement"
)

// The endpoints of the report, as route patterns under /api/v1.
const (
	epPush      = "POST /sync/push"
	epIncidents = "GET /map/incidents"
	epHeat      = "GET /map/heat"
	epTotals    = "GET /reports/totals"
	epRecord    = "GET /records/{id}"
	epPublish   = "MQTT publish"
)

// cst is Asia/Shanghai time, in which the server counts days and years.
var cst = time.FixedZone("CST", 8*3600)

// totals are the seven figures of GET /api/v1/reports/totals, with the
// arithmetic the checks need.
type totals enforcement.Totals

func (t *totals) add(o totals) {
	t.PersonsCleared += o.PersonsCleared
	t.GrazingStopped += o.GrazingStopped
	t.VehiclesCleared += o.VehiclesCleared
	t.ItemsConfiscated += o.ItemsConfiscated
	t.ConfiscatedValueFen += o.ConfiscatedValueFen
	t.CasesFiled += o.CasesFiled
	t.FinesFen += o.FinesFen
	for k, v := range o.ByActivity {
		if t.ByActivity == nil {
			t.ByActivity = map[enforcement.Activity]int64{}
		}
		t.ByActivity[k] += v
	}
}

// minus is t − o.
func (t totals) minus(o totals) totals {
	d := totals{PersonsCleared: t.PersonsCleared - o.PersonsCleared, GrazingStopped: t.GrazingStopped - o.GrazingStopped,
		VehiclesCleared: t.VehiclesCleared - o.VehiclesCleared, ItemsConfiscated: t.ItemsConfiscated - o.ItemsConfiscated,
		ConfiscatedValueFen: t.ConfiscatedValueFen - o.ConfiscatedValueFen, CasesFiled: t.CasesFiled - o.CasesFiled,
		FinesFen: t.FinesFen - o.FinesFen, ByActivity: map[enforcement.Activity]int64{}}
	for k, v := range t.ByActivity {
		d.ByActivity[k] += v
	}
	for k, v := range o.ByActivity {
		d.ByActivity[k] -= v
	}
	for k, v := range d.ByActivity {
		if v == 0 {
			delete(d.ByActivity, k)
		}
	}
	return d
}

func (t totals) String() string {
	acts := make([]string, 0, len(t.ByActivity))
	for k, v := range t.ByActivity {
		if v != 0 {
			acts = append(acts, fmt.Sprintf("%s %d", k, v))
		}
	}
	sort.Strings(acts)
	return fmt.Sprintf("persons %d (%s), grazing %d, vehicles %d, items %d, value %d fen, cases %d, fines %d fen",
		t.PersonsCleared, strings.Join(acts, ", "), t.GrazingStopped, t.VehiclesCleared, t.ItemsConfiscated,
		t.ConfiscatedValueFen, t.CasesFiled, t.FinesFen)
}

func (t totals) equal(o totals) bool { return t.minus(o).String() == totals{}.String() }

// stored is what the server says it holds of what the load writes.
type stored struct {
	incidents int // numberMatched of the current year's incidents
	totals    totals
	readings  float64 // baoshui_readings_stored_total
}

// run holds one load run's state.
type run struct {
	cfg    Config
	api    *apiClient
	rec    *recorder
	admin  *session
	office *session
	year   int
	runID  string
	done   chan struct{}
	log    io.Writer

	units []string // the teams, for totals by unit

	poolMu sync.Mutex
	pool   []string // record ids the browsers read (the store's and the pushed ones)

	syncMu   sync.Mutex
	sync     SyncResult
	expected totals

	pubMu sync.Mutex
	pub   MQTTResult
}

// Run performs one load run as cfg says and returns its report; progress
// goes to logw. It fails when the load cannot be set up (the server does
// not start, an account cannot sign in, a station cannot connect).
func Run(ctx context.Context, cfg Config, logw io.Writer) (*Report, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	rep := &Report{Config: cfg, Date: time.Now().UTC(), GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(),
		GoVersion: runtime.Version(), MemTotal: memTotal(), LoadAvg: loadAvg()}
	base, mqttAddr := cfg.URL, cfg.MQTTAddr
	var srv *ownServer
	if base == "" {
		var err error
		srv, err = startServer(cfg, logw)
		if err != nil {
			return nil, err
		}
		defer srv.stop()
		base, mqttAddr = srv.url, srv.mqtt
		rep.Own = &OwnServer{Bin: srv.bin, Built: srv.built, Env: srv.env, Startup: srv.startup}
	}
	rep.URL, rep.MQTTAddr = base, mqttAddr
	var names []string
	if cfg.Officers > 0 {
		names = append(names, epPush)
	}
	if cfg.Browsers > 0 {
		names = append(names, epIncidents, epHeat, epTotals, epRecord)
	}
	if cfg.Stations > 0 {
		names = append(names, epPublish)
	}
	rec := newRecorder(names...)
	r := &run{cfg: cfg, rec: rec, api: newAPIClient(base, cfg.Officers+cfg.Browsers, cfg.Timeout, rec),
		year: time.Now().In(cst).Year(), runID: strings.ToLower(ulid.Make().String()[16:]), done: make(chan struct{}), log: logw}

	t0 := time.Now()
	phones, stations, err := r.setup(mqttAddr)
	defer func() {
		for _, st := range stations {
			st.client.Disconnect(250)
		}
	}()
	if err != nil {
		return nil, err
	}
	rep.Setup = time.Since(t0)
	rep.Phones, rep.OfficerAccounts = len(phones), countOwners(phones)
	rep.StationIDs = make([]string, len(stations))
	for i, st := range stations {
		rep.StationIDs[i] = st.id
	}
	rep.StationsRegistered = r.pub.Registered

	before, err := r.stored()
	if err != nil {
		return nil, fmt.Errorf("before the load: %w", err)
	}
	var pid int
	if srv != nil {
		pid = srv.pid()
	}
	smp := newSampler(r.api, pid)
	if err := smp.sample(); err != nil {
		return nil, fmt.Errorf("before the load: %w", err)
	}
	stopSampling := smp.every(time.Second)

	fmt.Fprintf(logw, "baoshui-load: %d phones, %d office users, %d stations for %s…\n", len(phones), cfg.Browsers, len(stations), cfg.Duration)
	start, cpu0 := time.Now(), ownCPU()
	var wg sync.WaitGroup
	for i, p := range phones {
		wg.Go(func() { r.officer(i, p, start) })
	}
	for i := range cfg.Browsers {
		wg.Go(func() { r.browser(i, start) })
	}
	for i, st := range stations {
		wg.Go(func() { r.station(i, st, start) })
	}
	select {
	case <-time.After(cfg.Duration):
	case <-ctx.Done():
		rep.Interrupted = true
	}
	close(r.done)
	wg.Wait()
	elapsed := time.Since(start)
	rep.GeneratorCPU = ownCPU() - cpu0
	stopSampling()
	_ = smp.sample()
	rep.Elapsed = elapsed
	rep.Endpoints = rec.results(elapsed)
	rep.Resources = smp.summary()

	// The last readings may still be on their way to the store when their
	// PUBACK timed out; wait a little for what was sent.
	r.pubMu.Lock()
	sent := r.pub.Sent
	r.pubMu.Unlock()
	deadline := time.Now().Add(cfg.Settle)
	if len(r.api.bases) > 1 {
		// Each instance follows the others' writes; wait until every one
		// counts what was applied, since the counts below are read from
		// any of them.
		r.syncMu.Lock()
		want := before.incidents + r.sync.Applied
		r.syncMu.Unlock()
		for _, base := range r.api.bases {
			for time.Now().Before(deadline) {
				if n, err := r.incidentsAt(base); err == nil && n >= want {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
	after, err := r.stored()
	for err == nil && cfg.Stations > 0 && int64(after.readings-before.readings) < sent && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		after, err = r.stored()
	}
	if err != nil {
		return nil, fmt.Errorf("after the load: %w", err)
	}

	r.syncMu.Lock()
	rep.Sync = r.sync
	rep.Sync.ExpectedTotals = r.expected
	r.syncMu.Unlock()
	rep.Sync.Year = r.year
	rep.Sync.IncidentsBefore, rep.Sync.IncidentsAfter = before.incidents, after.incidents
	rep.Sync.TotalsDelta = after.totals.minus(before.totals)
	r.pubMu.Lock()
	rep.MQTT = r.pub
	r.pubMu.Unlock()
	rep.MQTT.StoredDelta = int64(after.readings - before.readings)
	if srv != nil {
		rep.Own.Warnings, rep.Own.FirstWarnings = srv.warnings()
	}
	return rep, nil
}

// incidentsAt counts the current year's incidents on the instance at base.
func (r *run) incidentsAt(base string) (int, error) {
	var m struct {
		Matched int `json:"numberMatched"`
	}
	_, err := r.api.callAt(base, "", "GET", fmt.Sprintf("/api/v1/map/incidents?zoom=0&from=%d-01-01&to=%d-01-01", r.year, r.year+1),
		r.office.current(), nil, &m)
	return m.Matched, err
}

// stored reads what the server holds: the current year's incidents and
// totals (as the office) and the readings stored (from /metrics: the
// fewest any instance holds).
func (r *run) stored() (stored, error) {
	var s stored
	period := fmt.Sprintf("from=%d-01-01&to=%d-01-01", r.year, r.year+1)
	incidents, err := r.incidentsAt(r.api.base())
	if err != nil {
		return s, fmt.Errorf("counting the incidents: %w", err)
	}
	var t struct {
		Totals totals `json:"totals"`
	}
	if _, err := r.office.call("", "GET", "/api/v1/reports/totals?"+period, nil, &t); err != nil {
		return s, fmt.Errorf("reading the totals: %w", err)
	}
	// Every instance holds every reading (the monitoring log), whichever
	// stored it: the least of them is what all hold.
	s.readings = -1
	for _, base := range r.api.bases {
		m, err := r.api.scrape(base)
		if err != nil {
			return s, err
		}
		if v := m["baoshui_readings_stored_total"]; s.readings < 0 || v < s.readings {
			s.readings = v
		}
	}
	s.incidents, s.totals = incidents, t.Totals
	return s, nil
}

// setup signs in, registers a device per phone and the missing stations,
// issues the stations' credentials and connects them, and fills the pool
// of record ids the browsers read.
func (r *run) setup(mqttAddr string) ([]*phone, []*station, error) {
	cfg := r.cfg
	au, ap, _ := strings.Cut(cfg.Admin, ":")
	ou, op, _ := strings.Cut(cfg.Office, ":")
	var err error
	if r.admin, err = r.api.login(au, ap); err != nil {
		return nil, nil, err
	}
	if r.office, err = r.api.login(ou, op); err != nil {
		return nil, nil, err
	}
	var units struct {
		Units []struct {
			ID string `json:"id"`
		} `json:"units"`
	}
	if _, err := r.office.call("", "GET", "/api/v1/units", nil, &units); err != nil {
		return nil, nil, fmt.Errorf("GET /api/v1/units: %w", err)
	}
	for _, u := range units.Units {
		r.units = append(r.units, u.ID)
	}
	var recs struct {
		Records []struct {
			ID string `json:"id"`
		} `json:"records"`
	}
	if _, err := r.office.call("", "GET", "/api/v1/records?limit=200", nil, &recs); err != nil {
		return nil, nil, fmt.Errorf("GET /api/v1/records: %w", err)
	}
	for _, x := range recs.Records {
		r.pool = append(r.pool, x.ID)
	}
	phones, err := r.setupPhones()
	if err != nil {
		return nil, nil, err
	}
	stations, err := r.setupStations(mqttAddr)
	return phones, stations, err
}

// officerAccount is a user of the officer role.
type officerAccount struct {
	Username string `json:"username"`
	Role     string `json:"role"`
	Unit     string `json:"unit"`
}

// setupPhones gives each of the -officers phones a demo officer (in turn,
// several phones per officer when there are more phones than officers) and
// registers it as that officer's device.
func (r *run) setupPhones() ([]*phone, error) {
	if r.cfg.Officers == 0 {
		return nil, nil
	}
	var users struct {
		Users []officerAccount `json:"users"`
	}
	if _, err := r.admin.call("", "GET", "/api/v1/users", nil, &users); err != nil {
		return nil, fmt.Errorf("GET /api/v1/users: %w", err)
	}
	var officers []officerAccount
	for _, u := range users.Users {
		if u.Role == "officer" && u.Unit != "" {
			officers = append(officers, u)
		}
	}
	if len(officers) == 0 {
		return nil, errors.New("the server has no officer accounts (the load expects the demo year's, BAOSHUI_DEMO=1)")
	}
	sort.Slice(officers, func(i, j int) bool { return officers[i].Username < officers[j].Username })
	sessions := map[string]*session{}
	phones := make([]*phone, r.cfg.Officers)
	for i := range phones {
		o := officers[i%len(officers)]
		s, ok := sessions[o.Username]
		if !ok {
			var err error
			if s, err = r.api.login(o.Username, r.cfg.OfficerPassword); err != nil {
				return nil, err
			}
			sessions[o.Username] = s
		}
		p := &phone{sess: s, officer: o.Username, unit: o.Unit, device: fmt.Sprintf("load-%s-%03d", r.runID, i)}
		if _, err := s.call("", "POST", "/api/v1/devices", map[string]string{"id": p.device, "name": "baoshui-load phone"}, nil); err != nil {
			return nil, fmt.Errorf("registering %s for %s: %w", p.device, o.Username, err)
		}
		phones[i] = p
	}
	return phones, nil
}

func countOwners(ps []*phone) int {
	m := map[string]bool{}
	for _, p := range ps {
		m[p.officer] = true
	}
	return len(m)
}

// stopped reports whether the load is over.
func (r *run) stopped() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// pace waits until next, or returns false when the load ends first.
func (r *run) pace(next time.Time) bool {
	d := time.Until(next)
	if d <= 0 {
		return !r.stopped()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.done:
		return false
	case <-t.C:
		return true
	}
}

// after is the next start after one at prev with interval, never in the
// past (a worker that falls behind does not burst to catch up).
func after(prev time.Time, interval time.Duration) time.Time {
	n := prev.Add(interval)
	if now := time.Now(); n.Before(now) {
		return now
	}
	return n
}

// phone is one simulated officer's phone.
type phone struct {
	sess    *session
	officer string
	unit    string
	device  string
	seq     int64 // the last seq given to a mutation
	counted int64 // the last seq whose result was counted
	pending *batch
}

// batch is one push, kept until the server answered it (re-sent as it
// is after a transport failure or a 5xx, as a phone does).
type batch struct {
	req    mobilesync.PushRequest
	ids    map[int64]string
	counts map[int64]totals
}

// SyncResult is what the phones' pushes did.
type SyncResult struct {
	Pushes, PushesOK                        int
	Mutations                               int
	Applied, Duplicates, Rejected, Conflict int
	Retried                                 int // pushes re-sent after a failure
	ExpectedTotals                          totals
	TotalsDelta                             totals
	Year                                    int
	IncidentsBefore, IncidentsAfter         int
}

// officer runs one phone: a push of -batch new records every
// -push-interval until the load ends.
func (r *run) officer(i int, p *phone, start time.Time) {
	rng := rand.New(rand.NewPCG(uint64(r.cfg.Seed), uint64(1_000_000+i)))
	next := start.Add(time.Duration(rng.Int64N(int64(r.cfg.PushInterval))))
	for r.pace(next) {
		if p.pending == nil {
			p.pending = r.newBatch(rng, p)
		} else {
			r.syncMu.Lock()
			r.sync.Retried++
			r.syncMu.Unlock()
		}
		p.pending.req.DeviceTime = time.Now()
		var out mobilesync.PushResponse
		t0 := time.Now()
		st, err := p.sess.call("", "POST", "/api/v1/sync/push", p.pending.req, &out)
		d := time.Since(t0)
		failure := ""
		if err != nil {
			failure = err.Error()
		}
		r.syncMu.Lock()
		r.sync.Pushes++
		if err == nil {
			r.sync.PushesOK++
			r.sync.Mutations += len(p.pending.req.Mutations)
		}
		var fresh []string
		for _, res := range out.Results {
			if res.Seq <= p.counted {
				continue
			}
			p.counted = res.Seq
			switch res.Status {
			case mobilesync.StatusApplied, mobilesync.StatusDuplicate:
				if res.Status == mobilesync.StatusApplied {
					r.sync.Applied++
				} else {
					r.sync.Duplicates++
				}
				r.expected.add(p.pending.counts[res.Seq])
				fresh = append(fresh, p.pending.ids[res.Seq])
			case mobilesync.StatusRejected:
				r.sync.Rejected++
				if failure == "" {
					failure = "mutation rejected: " + problemText(res.Problem)
				}
			case mobilesync.StatusConflict:
				r.sync.Conflict++
				if failure == "" {
					failure = "mutation conflict: record " + res.RecordID
				}
			}
		}
		r.syncMu.Unlock()
		r.rec.observe(epPush, d, failure)
		r.addToPool(fresh...)
		switch {
		case err == nil:
			p.pending = nil
		case st == 0 || st >= 500:
			// Sent again as it is: the ledger answers what was applied.
		case st == 409:
			// A seq gap (another writer of this device?): nothing was
			// applied; continue from the seq the server expects.
			var es *errStatus
			if errors.As(err, &es) && es.expectedSeq > 0 {
				p.seq, p.counted = es.expectedSeq-1, es.expectedSeq-1
			} else {
				p.seq = p.counted
			}
			p.pending = nil
		default:
			// Refused as a whole (400, 403, 413, 429…): nothing applied;
			// the next batch takes the same seqs.
			p.seq = p.counted
			p.pending = nil
		}
		next = after(next, r.cfg.PushInterval)
	}
}

// confiscated are item lines a phone records (name, unit value in fen).
var confiscated = []struct {
	name  string
	value int64
}{{"地笼", 3500}, {"鱼竿", 73100}, {"鱼护", 4400}, {"渔网", 12000}}

// newBatch captures -batch new incidents of the phone's team, observed in
// the last hours of the current year (never 2020), each under a new ULID.
func (r *run) newBatch(rng *rand.Rand, p *phone) *batch {
	b := &batch{req: mobilesync.PushRequest{DeviceID: p.device, SchemaVersion: 1}, ids: map[int64]string{}, counts: map[int64]totals{}}
	yearStart := time.Date(r.year, 1, 1, 0, 0, 0, 0, cst)
	for range r.cfg.Batch {
		p.seq++
		now := time.Now()
		at := now.Add(-time.Duration(rng.Int64N(int64(6 * time.Hour))))
		if at.Before(yearStart) {
			at = yearStart.Add(time.Duration(rng.Int64N(int64(max(now.Sub(yearStart), time.Second)))))
		}
		id := ulid.Make().String()
		rec := map[string]any{
			"id": id, "observed_at": at.In(cst).Truncate(time.Second).Format(time.RFC3339),
			"location": map[string]any{"type": "Point", "coordinates": []float64{
				round6(116.80 + rng.Float64()*0.35), round6(40.45 + rng.Float64()*0.18)}},
			"unit": p.unit, "officers": []string{p.officer}, "note": "baoshui-load",
		}
		var c totals
		switch k := rng.IntN(10); {
		case k < 5:
			n, act := int64(1+rng.IntN(4)), enforcement.Activities[rng.IntN(len(enforcement.Activities))]
			rec["kind"], rec["persons"], rec["activity"] = "expulsion", n, act
			c.PersonsCleared, c.ByActivity = n, map[enforcement.Activity]int64{act: n}
		case k < 7:
			n := int64(1 + rng.IntN(2))
			plates := make([]string, n)
			for j := range plates {
				plates[j] = fmt.Sprintf("京Q·%05d", rng.IntN(100000))
			}
			rec["kind"], rec["vehicles"], rec["plates"] = "vehicle", n, plates
			c.VehiclesCleared = n
		case k < 8:
			rec["kind"], rec["animals"] = "grazing", 5+rng.IntN(40)
			c.GrazingStopped = 1
		default:
			var items []map[string]any
			for j := range 1 + rng.IntN(3) {
				it := confiscated[(j+rng.IntN(len(confiscated)))%len(confiscated)]
				q := int64(1 + rng.IntN(3))
				items = append(items, map[string]any{"name": it.name, "quantity": q, "unit_value_fen": it.value})
				c.ItemsConfiscated += q
				c.ConfiscatedValueFen += q * it.value
			}
			rec["kind"], rec["items"] = "confiscation", items
		}
		body, _ := json.Marshal(rec)
		b.req.Mutations = append(b.req.Mutations, mobilesync.Mutation{Seq: p.seq, Op: mobilesync.OpCreate, Record: body})
		b.ids[p.seq], b.counts[p.seq] = id, c
	}
	return b
}

func round6(x float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', 6, 64), 64)
	return v
}

func (r *run) addToPool(ids ...string) {
	if len(ids) == 0 {
		return
	}
	r.poolMu.Lock()
	defer r.poolMu.Unlock()
	r.pool = append(r.pool, ids...)
	if len(r.pool) > 20000 {
		r.pool = append(r.pool[:0], r.pool[len(r.pool)-10000:]...)
	}
}

func (r *run) fromPool(rng *rand.Rand) string {
	r.poolMu.Lock()
	defer r.poolMu.Unlock()
	if len(r.pool) == 0 {
		return ""
	}
	// Mostly the latest records, as an office user opens what just came in.
	if rng.IntN(2) == 0 {
		return r.pool[len(r.pool)-1-rng.IntN(min(len(r.pool), 200))]
	}
	return r.pool[rng.IntN(len(r.pool))]
}

// The reservoir and its shore towns, where the browsers look.
const (
	areaW, areaS, areaE, areaN = 116.75, 40.40, 117.20, 40.70
)

// browser runs one office user: a request every -browse-interval, the
// incident map most often, then single records, the heat map and the
// totals.
func (r *run) browser(i int, start time.Time) {
	rng := rand.New(rand.NewPCG(uint64(r.cfg.Seed), uint64(2_000_000+i)))
	next := start.Add(time.Duration(rng.Int64N(int64(max(r.cfg.BrowseInterval, time.Millisecond)))))
	for r.pace(next) {
		switch k := rng.IntN(20); {
		case k < 7:
			r.office.call(epIncidents, "GET", "/api/v1/map/incidents?"+r.mapQuery(rng, true), nil, nil)
		case k < 11:
			r.office.call(epHeat, "GET", "/api/v1/map/heat?"+r.mapQuery(rng, false), nil, nil)
		case k < 15:
			r.office.call(epTotals, "GET", "/api/v1/reports/totals?"+r.totalsQuery(rng), nil, nil)
		default:
			if id := r.fromPool(rng); id != "" {
				r.office.call(epRecord, "GET", "/api/v1/records/"+url.PathEscape(id), nil, nil)
			} else {
				r.office.call(epIncidents, "GET", "/api/v1/map/incidents?"+r.mapQuery(rng, true), nil, nil)
			}
		}
		next = after(next, r.cfg.BrowseInterval)
	}
}

// mapQuery is a box of a 1024×768 pixel map somewhere on the reservoir
// at a zoom from 9 (the whole reservoir) to 17 (single incidents), with a
// period.
func (r *run) mapQuery(rng *rand.Rand, zoom bool) string {
	z := 9 + rng.IntN(9)
	w := 1024 * 360 / (256 * float64(int(1)<<z))
	h := w * 0.75 * 0.76 // 768 px, and a degree of longitude is 0.76 of one of latitude here
	lon := areaW + rng.Float64()*(areaE-areaW)
	lat := areaS + rng.Float64()*(areaN-areaS)
	q := url.Values{}
	q.Set("bbox", fmt.Sprintf("%.6f,%.6f,%.6f,%.6f", lon-w/2, lat-h/2, lon+w/2, lat+h/2))
	if zoom {
		q.Set("zoom", strconv.Itoa(z))
	}
	r.period(rng, q)
	return q.Encode()
}

// period sets from and to: the demo year, one of its months, the current
// year so far, or no period at all.
func (r *run) period(rng *rand.Rand, q url.Values) {
	switch rng.IntN(4) {
	case 0:
		q.Set("from", "2020-01-01")
		q.Set("to", "2021-01-01")
	case 1:
		m := 1 + rng.IntN(12)
		from := time.Date(2020, time.Month(m), 1, 0, 0, 0, 0, cst)
		q.Set("from", from.Format(time.DateOnly))
		q.Set("to", from.AddDate(0, 1, 0).Format(time.DateOnly))
	case 2:
		q.Set("from", fmt.Sprintf("%d-01-01", r.year))
		q.Set("to", fmt.Sprintf("%d-01-01", r.year+1))
	}
}

// totalsQuery asks for a period's totals, sometimes of one team.
func (r *run) totalsQuery(rng *rand.Rand) string {
	q := url.Values{}
	r.period(rng, q)
	if q.Get("from") == "" {
		q.Set("from", "2020-01-01")
		q.Set("to", fmt.Sprintf("%d-01-01", r.year+1))
	}
	if len(r.units) > 0 && rng.IntN(3) == 0 {
		q.Set("unit", r.units[rng.IntN(len(r.units))])
	}
	return q.Encode()
}
