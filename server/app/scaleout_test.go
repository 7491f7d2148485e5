package app_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/internal/mosquittotest"
	"github.com/baoshui/baoshui/server/internal/observe"
	"github.com/baoshui/baoshui/server/store"
)

// metric reads one unlabelled counter or gauge from a server's /metrics,
// or -1 when the server does not answer.
func metric(t *testing.T, base, name string) float64 {
	t.Helper()
	m, err := observe.Metrics(nil, base)
	if v, ok := m[name]; err == nil && ok {
		return v
	}
	return -1
}

// TestTwoInstancesShareIngest is the scale-out drill of the sensor ingest:
// two server processes on one store (an embedded FerretDB both reach by
// URI) and one Mosquitto, both subscribed through the shared subscription
// $share/baoshui/…; 101 stations (one registered through B while both
// run) publish 100 readings each at QoS 1 while one instance is SIGKILLed;
// ten stations exceed their target for a while. The other instance must
// take over the dead one's broker session and hold every reading before
// the dead one is started again, and let go of the session when it is.
// Afterwards both instances, and a third started on the same store, count
// exactly 100 readings of every station (each reading stored once, none
// lost, none quarantined as of an unknown station, none missing from an
// instance's read models though the other received it), both instances
// list the same alerts, and both took a share.
func TestTwoInstancesShareIngest(t *testing.T) {
	mqttClients(t)
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	const stations, perStation = 100, 100
	ctx := context.Background()
	backing, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = backing.Close(context.Background()) })

	// Stations 1 to 100 are registered through A before B starts; one
	// more through B once both run, which A must learn of, or it would
	// quarantine its share of that station's readings.
	ids := make([]string, stations+1)
	users := map[string]string{mosquittotest.ServerUser: "server-secret"}
	for i := range ids {
		ids[i] = fmt.Sprintf("st-%03d", i+1)
		users[ids[i]] = "device-secret-" + ids[i]
	}
	mq := mosquittotest.Start(t, users)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	shared := []string{"-mongo-uri", backing.URI(), "-mongo-database", backing.DatabaseName(), "-token-key", hex.EncodeToString(key)}
	instance := func(name string, mqtt bool) *sensorRig {
		args := append([]string{}, shared...)
		if mqtt {
			args = append(args, "-mqtt-url", mq.URL(), "-mqtt-username", mosquittotest.ServerUser, "-mqtt-password", "server-secret",
				"-mqtt-client-id", "baoshui-"+name, "-mqtt-topic", "$share/baoshui/baoshui/v1/stations/+/readings")
		} else {
			args = append(args, "-mqtt-addr", "off")
		}
		return newSensorRig(t, args...)
	}

	// A first: it creates the admin and the stations; B starts on a store
	// that holds them.
	a := instance("a", true)
	baseA := "http://" + a.httpAddr
	root := newClient(t, baseA).login("root", "root-password")
	for _, id := range ids[:stations] {
		registerStation(t, root, id)
	}
	b := instance("b", true)
	baseB := "http://" + b.httpAddr
	if st := newClient(t, baseB).login("root", "root-password").do("GET", "/api/v1/stations/st-100", nil, nil); st != 200 {
		t.Fatalf("instance B does not see the stations: %d", st)
	}
	registerStation(t, root.withBase(baseB), ids[stations])
	waitFor(t, 30*time.Second, "A to know the station registered through B", func() bool {
		return root.do("GET", "/api/v1/stations/"+ids[stations], nil, nil) == 200
	})

	base0 := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, len(ids))
	for _, id := range ids {
		var lines strings.Builder
		for k := 0; k < perStation; k++ {
			tp := 0.02
			if id <= "st-010" && k >= 40 && k < 60 {
				tp = 0.05 // class IV: an exceedance alert, cleared after
			}
			lines.WriteString(readingJSON(base0.Add(time.Duration(k)*time.Second), tp) + "\n")
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command("mosquitto_pub", "-h", "127.0.0.1", "-p", strconv.Itoa(mq.Port), "-u", id, "-P", users[id],
				"-i", "dev-"+id, "-q", "1", "-t", "baoshui/v1/stations/"+id+"/readings", "-l")
			cmd.Stdin = strings.NewReader(lines.String())
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("%s: %v %s", id, err, out)
			}
		}()
	}
	// Kill A once both instances have stored part of the burst.
	waitFor(t, 2*time.Minute, "both instances ingesting", func() bool {
		return metric(t, baseA, "baoshui_ingest_acked_total") > 0 && metric(t, baseB, "baoshui_ingest_acked_total") > 0
	})
	ackedA := metric(t, baseA, "baoshui_ingest_acked_total")
	a.kill(t)
	killedAt := time.Now()
	waitFor(t, time.Minute, "B to take over A's session", func() bool {
		return metric(t, baseB, "baoshui_ingest_takeovers_total") >= 1
	})
	tookOver := time.Since(killedAt)
	wg.Wait()
	publishedAt := time.Now()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Mosquitto keeps handing A its turns, queued in A's session: B must
	// take that session over and store them, A's share before the kill
	// included, without A coming back.
	rb := root.withBase(baseB)
	waitFor(t, 3*time.Minute, "B alone to hold every reading while A is dead", func() bool {
		for _, id := range ids {
			if samples(rb, id) != perStation {
				return false
			}
		}
		return true
	})
	t.Logf("B took over A's session %v after the kill and held every reading %v after it (the stations were done publishing %v after it)",
		tookOver.Round(time.Millisecond), time.Since(killedAt).Round(time.Millisecond), publishedAt.Sub(killedAt).Round(time.Millisecond))
	a.start(t)
	waitFor(t, time.Minute, "B to let go of A's session", func() bool {
		return metric(t, baseB, "baoshui_ingest_sessions_held") == 0
	})
	// Everything published is acknowledged by one instance or the other:
	// wait until Mosquitto holds nothing more for either session.
	total := float64(len(ids) * perStation)
	waitFor(t, 3*time.Minute, "the burst stored", func() bool {
		return ackedA+metric(t, baseA, "baoshui_ingest_acked_total")+metric(t, baseB, "baoshui_ingest_acked_total") >= total
	})
	ackedB := metric(t, baseB, "baoshui_ingest_acked_total")
	t.Logf("acknowledged: A %.0f before the kill and %.0f after its restart, B %.0f (of %.0f; redeliveries count twice)",
		ackedA, metric(t, baseA, "baoshui_ingest_acked_total"), ackedB, total)
	if ackedB == 0 || ackedA == 0 {
		t.Errorf("the load was not split: A %.0f, B %.0f", ackedA, ackedB)
	}
	// Each instance holds every reading, whichever received it, and the
	// same alerts once both applied the same monitoring log.
	for _, id := range ids {
		if na, nb := samples(root, id), samples(rb, id); na != perStation || nb != perStation {
			t.Errorf("%s: A holds %d readings and B %d, want %d each", id, na, nb, perStation)
		}
	}
	alertsA := sameAlerts(t, root, rb)
	var listed struct {
		Alerts []struct {
			Station string `json:"station"`
			Kind    string `json:"kind"`
		} `json:"alerts"`
	}
	if err := json.Unmarshal(alertsA, &listed); err != nil {
		t.Fatal(err)
	}
	// Mosquitto hands a station's burst to the instances in turn, so its
	// readings reach the log out of time order, and the watch ignores a
	// reading older than one it saw (as it does alone): a station whose
	// exceeding readings all came late has no alert. Which ones is up to
	// the broker; that both instances agree is the point.
	exceeded := map[string]bool{}
	for _, al := range listed.Alerts {
		if al.Kind == "exceedance" {
			exceeded[al.Station] = true
			if al.Station > "st-010" {
				t.Errorf("an exceedance alert of %s, which never exceeded", al.Station)
			}
		}
	}
	if len(exceeded) == 0 {
		t.Errorf("no exceedance alert: the comparison shows little: %s", alertsA)
	}
	t.Logf("exceedance alerts of %d of the 10 stations that exceeded", len(exceeded))
	a.kill(t)
	b.kill(t)

	// A third instance reads the store from scratch and counts.
	c := instance("c", false)
	rc := newClient(t, "http://"+c.httpAddr).login("root", "root-password")
	for _, id := range ids {
		if n := samples(rc, id); n != perStation {
			t.Errorf("%s: %d readings stored, want exactly %d", id, n, perStation)
		}
	}
	if t.Failed() {
		t.Log("A:", a.log(), "\nB:", b.log(), "\nMosquitto:", mq.Log())
	}
}

// TestTwoInstancesShareRecords is the scale-out drill of the whole field
// system: two server processes on one store and the machine's Mosquitto,
// 100 phones of 10 officers pushing 20 records each through both instances
// in turn (each phone registered on one of them) while 100 stations publish
// 20 readings each through a shared subscription of both, instance A
// SIGKILLed mid-run and started again while the phones retry on the other.
// Afterwards both instances and a third one started from a scan hold every
// record once (the same totals, equal to what the phones captured, the
// sync feed with each record once, one unbroken audit chain) and every
// reading once, and A and B list the same alerts.
func TestTwoInstancesShareRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	machineMosquitto(t)
	const officers, phones, perPhone, batch = 10, 100, 20, 5
	// The machine's Mosquitto runs on its defaults: it sends a session at
	// most 20 messages unacknowledged and queues at most 1,000 more, then
	// drops the rest ("Outgoing messages are being dropped" in its log).
	// At 50 readings/s, an instance under the race detector keeps up and
	// A's share while it restarts stays well below that; the README's
	// settings lift both limits.
	const stations, perStation, publishEvery = 100, 20, 2 * time.Second
	ctx := context.Background()
	backing, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = backing.Close(context.Background()) })
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	// A group, client ids and stations of this run alone: the machine's
	// Mosquitto outlives it.
	run := time.Now().UnixNano()
	instance := func(name string) *sensorRig {
		args := []string{"-mongo-uri", backing.URI(), "-mongo-database", backing.DatabaseName(),
			"-token-key", hex.EncodeToString(key), "-write-rate", "0"}
		if name == "" {
			return newSensorRig(t, append(args, "-mqtt-addr", "off")...)
		}
		id := fmt.Sprintf("baoshui-drill-%s-%d", name, run)
		forgetSession(t, id)
		return newSensorRig(t, append(args, "-mqtt-url", "tcp://127.0.0.1:1883", "-mqtt-client-id", id,
			"-mqtt-topic", fmt.Sprintf("$share/drill%d/baoshui/v1/stations/+/readings", run))...)
	}
	a := instance("a")
	b := instance("b")
	bases := [2]string{"http://" + a.httpAddr, "http://" + b.httpAddr}

	root := newClient(t, bases[0]).login("root", "root-password")
	for _, u := range []enforcement.Unit{{ID: "miyun", Name: "密云区保水大队", Tier: "district"},
		{ID: "town-a", Name: "甲镇", Tier: "town", Parent: "miyun"}, {ID: "town-b", Name: "乙镇", Tier: "town", Parent: "miyun"}} {
		if st := root.do("POST", "/api/v1/units", u, nil); st != 201 {
			t.Fatalf("unit %s: %d", u.ID, st)
		}
	}
	users := []map[string]string{{"username": "office", "password": "password-office", "role": "office", "unit": "miyun"}}
	for o := range officers {
		users = append(users, map[string]string{"username": fmt.Sprintf("off-%d", o), "password": "password-off",
			"role": "officer", "unit": []string{"town-a", "town-b"}[o%2]})
	}
	for _, u := range users {
		if st := root.do("POST", "/api/v1/users", u, nil); st != 201 {
			t.Fatalf("user %s: %d", u["username"], st)
		}
	}
	// Phones are registered on A and B alternately: each instance learns
	// the accounts and devices the other created by following them.
	waitFor(t, time.Minute, "instance B to know the officers", func() bool {
		var list struct {
			Users []json.RawMessage `json:"users"`
		}
		return root.withBase(bases[1]).do("GET", "/api/v1/users", nil, &list) == 200 && len(list.Users) == len(users)+1
	})
	var tokens [officers]string
	for o := range officers {
		tokens[o] = newClient(t, bases[o%2]).login(fmt.Sprintf("off-%d", o), "password-off").token
	}
	type phone struct {
		id, unit string
		officer  int
		muts     []mobilesync.Mutation
	}
	var wantPersons int64
	all := make([]*phone, phones)
	for i := range all {
		ph := &phone{id: fmt.Sprintf("phone-%03d", i), officer: i % officers, unit: []string{"town-a", "town-b"}[i%officers%2]}
		c := &client{t: t, base: bases[i%2], http: root.http, token: tokens[ph.officer]}
		if st := c.do("POST", "/api/v1/devices", map[string]string{"id": ph.id, "name": ph.id}, nil); st != 201 {
			t.Fatalf("register %s: %d", ph.id, st)
		}
		for j := range perPhone {
			persons := 1 + j%4
			wantPersons += int64(persons)
			ph.muts = append(ph.muts, mobilesync.Mutation{Seq: int64(j + 1), Op: mobilesync.OpCreate,
				Record: []byte(rec(fmt.Sprintf("%s-r%02d", ph.id, j), ph.unit, persons))})
		}
		all[i] = ph
	}
	sts := make([]string, stations)
	for i := range sts {
		sts[i] = fmt.Sprintf("d%d-st-%03d", run%1_000_000, i)
		registerStation(t, root, sts[i])
	}
	waitFor(t, time.Minute, "B to know every station", func() bool {
		var list struct {
			Stations []json.RawMessage `json:"stations"`
		}
		return root.withBase(bases[1]).do("GET", "/api/v1/stations", nil, &list) == 200 && len(list.Stations) >= stations
	})
	waitFor(t, time.Minute, "both instances to know every phone", func() bool {
		var da, db struct {
			Devices []json.RawMessage `json:"devices"`
		}
		return root.do("GET", "/api/v1/devices", nil, &da) == 200 && len(da.Devices) == phones &&
			root.withBase(bases[1]).do("GET", "/api/v1/devices", nil, &db) == 200 && len(db.Devices) == phones
	})

	var acked atomic.Int64
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		for acked.Load() < phones*perPhone/4 {
			time.Sleep(5 * time.Millisecond)
		}
		a.kill(t)
		time.Sleep(time.Second)
		a.start(t)
	}()
	// The stations publish while the phones push and A is killed; five
	// of them exceed their target for a while.
	base0 := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	var pubs sync.WaitGroup
	pubErrs := make(chan error, stations)
	for i, id := range sts {
		lines := make([]string, perStation)
		for k := range lines {
			tp := 0.02
			if i < 5 && k >= 5 && k < 12 {
				tp = 0.05
			}
			lines[k] = readingJSON(base0.Add(time.Duration(k)*time.Second), tp)
		}
		pubs.Add(1)
		go func() {
			defer pubs.Done()
			if err := publishSlowly("baoshui/v1/stations/"+id+"/readings", lines, publishEvery); err != nil {
				pubErrs <- err
			}
		}()
	}
	httpc := &http.Client{Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	errs := make(chan error, phones)
	for i, ph := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Every push, and every retry, goes to the other instance.
			server := func(attempt int) string { return bases[(i+1+attempt)%2] }
			if err := pushLikeAPhone(httpc, server, tokens[ph.officer], ph.id, ph.muts, batch, &acked, time.Now().Add(4*time.Minute)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	<-killed
	pubs.Wait()
	close(pubErrs)
	for err := range pubErrs {
		t.Error(err)
	}
	if t.Failed() {
		t.Fatal("A:", a.log(), "\nB:", b.log())
	}
	t.Logf("%d phones pushed %d records through two instances; %d answered as new (the rest replayed after the kill)",
		phones, phones*perPhone, acked.Load())
	// Both stand at the same place in the server sequence log, with
	// nothing left to follow.
	waitFor(t, 30*time.Second, "both instances at one frontier", func() bool {
		fa, fb := metric(t, bases[0], "baoshui_server_sequence_frontier"), metric(t, bases[1], "baoshui_server_sequence_frontier")
		return fa > 0 && fa == fb && metric(t, bases[0], "baoshui_server_sequence_claims_queued") == 0 &&
			metric(t, bases[1], "baoshui_server_sequence_claims_queued") == 0 &&
			metric(t, bases[0], "baoshui_records") == phones*perPhone && metric(t, bases[1], "baoshui_records") == phones*perPhone
	})

	// A campaign created through A is updated through B and read through
	// both: the registries besides the records follow the log too.
	offA, offB := newClient(t, bases[0]).login("office", "password-office"), newClient(t, bases[1]).login("office", "password-office")
	camp := map[string]any{"id": "drill-2026", "name": "演练", "from": "2026-01-01", "to": "2026-12-31",
		"targets": map[string]int64{"persons_cleared": 100}}
	if st := offA.do("POST", "/api/v1/campaigns", camp, nil); st != 201 {
		t.Fatalf("campaign on A: %d", st)
	}
	waitFor(t, 30*time.Second, "B to know the campaign", func() bool { return offB.do("GET", "/api/v1/campaigns/drill-2026", nil, nil) == 200 })
	camp["base_rev"], camp["name"] = 1, "演练（改）"
	if st, b, _ := offB.raw("PUT", "/api/v1/campaigns/drill-2026", camp); st != 200 {
		t.Fatalf("campaign update on B: %d %s", st, b)
	}
	waitFor(t, 30*time.Second, "A to know B's update", func() bool {
		var got struct {
			Rev int `json:"rev"`
		}
		return offA.do("GET", "/api/v1/campaigns/drill-2026", nil, &got) == 200 && got.Rev == 2
	})

	// Every reading, whichever instance received it, in both; the same
	// alerts in both.
	readings := float64(stations * perStation)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		ra, rb := metric(t, bases[0], "baoshui_readings_stored_total"), metric(t, bases[1], "baoshui_readings_stored_total")
		if ra == readings && rb == readings {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("A holds %v readings and B %v, want %v each (received: A %v, B %v; a broker that drops what it queued for a session loses readings)",
				ra, rb, readings, metric(t, bases[0], "baoshui_ingest_received_total"), metric(t, bases[1], "baoshui_ingest_received_total"))
		}
	}
	alerts := sameAlerts(t, root, root.withBase(bases[1]))
	if !strings.Contains(string(alerts), `"kind":"exceedance"`) {
		t.Errorf("no exceedance alert; five stations exceeded: %s", alerts)
	}

	c := instance("")
	check := func(name string, cl *client) {
		var tot struct {
			Totals enforcement.Totals `json:"totals"`
		}
		var feed int
		seen := map[string]bool{}
		waitFor(t, time.Minute, name+" to hold every record", func() bool {
			return cl.do("GET", "/api/v1/reports/totals?from=2020-01-01&to=2021-01-01", nil, &tot) == 200 &&
				tot.Totals.PersonsCleared == wantPersons
		})
		cursor := ""
		for {
			var page struct {
				Changes []struct {
					ID        string `json:"id"`
					ServerSeq int64  `json:"server_seq"`
				} `json:"changes"`
				NextCursor string `json:"next_cursor"`
				HasMore    bool   `json:"has_more"`
			}
			if st := cl.do("GET", "/api/v1/sync/pull?limit=500&cursor="+cursor, nil, &page); st != 200 {
				t.Fatalf("%s: pull: %d", name, st)
			}
			for _, ch := range page.Changes {
				if seen[ch.ID] {
					t.Errorf("%s: %s twice in the sync feed", name, ch.ID)
				}
				seen[ch.ID] = true
				feed++
			}
			cursor = page.NextCursor
			if !page.HasMore {
				break
			}
		}
		if feed != phones*perPhone {
			t.Errorf("%s: the sync feed holds %d records, want %d", name, feed, phones*perPhone)
		}
		var rep struct {
			OK      bool            `json:"ok"`
			Entries int64           `json:"entries"`
			Break   json.RawMessage `json:"break"`
		}
		if st := cl.do("GET", "/api/v1/audit/verify", nil, &rep); st != 200 || !rep.OK {
			t.Errorf("%s: audit verify %d: ok %v, %d entries, break %s", name, st, rep.OK, rep.Entries, rep.Break)
		}
		for _, id := range sts {
			if n := samples(cl, id); n != perStation {
				t.Errorf("%s: %s holds %d readings, want %d", name, id, n, perStation)
			}
		}
	}
	check("A (restarted)", newClient(t, bases[0]).login("office", "password-office"))
	check("B", newClient(t, bases[1]).login("office", "password-office"))
	check("C (started afterwards)", newClient(t, "http://"+c.httpAddr).login("office", "password-office"))
	if t.Failed() {
		t.Log("A:", a.log(), "\nB:", b.log())
	}
}

// withBase is c talking to another instance with the same token.
func (c *client) withBase(base string) *client {
	d := *c
	d.base = base
	return &d
}

// registerStation registers a reservoir station reporting every five
// minutes through c.
func registerStation(t *testing.T, c *client, id string) {
	t.Helper()
	body := fmt.Sprintf(`{"id":%q,"name":%q,"location":{"type":"Point","coordinates":[116.96,40.52]},"water_body":"reservoir",`+
		`"target_class":"II","params":["ph","do_mg_l","codmn_mg_l","nh3n_mg_l","tp_mg_l"],"interval":"PT5M"}`, id, "测试站 "+id)
	if st, b, _ := c.raw("POST", "/api/v1/stations", body); st != 201 {
		t.Fatalf("station %s: %d %s", id, st, b)
	}
}

// publishSlowly publishes lines on topic at QoS 1 through the machine's
// Mosquitto, one every interval, as a station catching up would.
func publishSlowly(topic string, lines []string, interval time.Duration) error {
	cmd := exec.Command("mosquitto_pub", "-h", "127.0.0.1", "-p", "1883", "-q", "1", "-t", topic, "-l")
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	for _, l := range lines {
		if _, err := io.WriteString(in, l+"\n"); err != nil {
			break
		}
		time.Sleep(interval)
	}
	in.Close()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("%s: %v %s", topic, err, out.String())
	}
	return nil
}

// sameAlerts waits until two instances have applied the same monitoring
// log and list the same alerts, and returns the list; it fails the test
// when they do not within 30 s.
func sameAlerts(t *testing.T, a, b *client) json.RawMessage {
	t.Helper()
	var alertsA, alertsB json.RawMessage
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		ea, eb := metric(t, a.base, "baoshui_monitoring_log_event"), metric(t, b.base, "baoshui_monitoring_log_event")
		if ea > 0 && ea == eb && a.do("GET", "/api/v1/alerts", nil, &alertsA) == 200 &&
			b.do("GET", "/api/v1/alerts", nil, &alertsB) == 200 && string(alertsA) == string(alertsB) &&
			ea == metric(t, a.base, "baoshui_monitoring_log_event") {
			return alertsA
		}
		if time.Now().After(deadline) {
			t.Fatalf("the instances list different alerts at events %v and %v:\n%s", ea, eb, alertDiff(alertsA, alertsB))
		}
	}
}

// alertDiff lists the alerts that differ between two answers of GET
// /api/v1/alerts, by id.
func alertDiff(a, b json.RawMessage) string {
	index := func(raw json.RawMessage) map[string]string {
		var l struct {
			Alerts []json.RawMessage `json:"alerts"`
		}
		_ = json.Unmarshal(raw, &l)
		m := map[string]string{}
		for _, x := range l.Alerts {
			var id struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(x, &id)
			m[id.ID] = string(x)
		}
		return m
	}
	ma, mb := index(a), index(b)
	var out strings.Builder
	for id, x := range ma {
		if mb[id] != x {
			fmt.Fprintf(&out, "A %s\nB %s\n", x, mb[id])
		}
	}
	for id, x := range mb {
		if _, ok := ma[id]; !ok {
			fmt.Fprintf(&out, "A -\nB %s\n", x)
		}
	}
	return out.String()
}
