package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/baoshui/baoshui/sensors"
	"github.com/baoshui/baoshui/sensors/ingest"
	"github.com/baoshui/baoshui/server/internal/mosquittotest"
	"github.com/baoshui/baoshui/server/monitoring"
)

// mqttClients skips the test when the Mosquitto command-line clients are
// missing (they are the client we did not write), unless
// BAOSHUI_TEST_REQUIRE_MOSQUITTO=1 makes that a failure.
func mqttClients(t *testing.T) {
	t.Helper()
	for _, b := range []string{"mosquitto_pub", "mosquitto_sub"} {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("BAOSHUI_TEST_REQUIRE_MOSQUITTO") == "1" {
				t.Fatalf("%s is required (BAOSHUI_TEST_REQUIRE_MOSQUITTO=1)", b)
			}
			t.Skipf("%s is not installed", b)
		}
	}
}

// mosquittoPub publishes one message at QoS 1 with mosquitto_pub and
// reports its failure (a refused connection, a dropped one) as an error.
func mosquittoPub(addr, user, password, topic, payload string) error {
	host, port, _ := net.SplitHostPort(addr)
	args := []string{"-h", host, "-p", port, "-q", "1", "-t", topic, "-m", payload}
	if user != "" {
		args = append(args, "-u", user, "-P", password)
	}
	out, err := exec.Command("mosquitto_pub", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mosquitto_pub: %v: %s", err, out)
	}
	return nil
}

func readingJSON(ts time.Time, tp float64) string {
	return fmt.Sprintf(`{"ts":%q,"ph":7.8,"do_mg_l":8.2,"codmn_mg_l":2.1,"nh3n_mg_l":0.1,"tp_mg_l":%g}`, ts.UTC().Format(time.RFC3339Nano), tp)
}

// waitFor polls cond every 20 ms for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// samples returns how many readings of station the server holds from the
// last two days, from its quality report.
func samples(c *client, station string) int {
	var q sensors.QualityReport
	from := time.Now().Add(-48 * time.Hour).UTC().Format(time.RFC3339)
	to := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if st := c.do("GET", "/api/v1/stations/"+station+"/quality?from="+from+"&to="+to, nil, &q); st != 200 {
		c.t.Fatalf("quality of %s: %d", station, st)
	}
	return q.Samples
}

// TestSensorsOverEmbeddedBroker drives the embedded broker with
// mosquitto_pub: a reading appears classified over HTTP, a redelivery is
// stored once, a malformed payload is quarantined while the readings
// around it are stored, a device may not publish for another station nor
// connect with a wrong password, and an exceedance opens an alert that is
// listed, acknowledged and published retained.
func TestSensorsOverEmbeddedBroker(t *testing.T) {
	mqttClients(t)
	a := start(t, testConfig(t, t.TempDir(), "-stations-file", repoPath(t, "testdata/stations.json")))
	root := newClient(t, a.URL()).login("root", "root-password")
	broker := a.Broker.Addr()

	// Station administration and its bad input.
	var st sensors.Station
	if code := root.do("GET", "/api/v1/stations/res-dam", nil, &st); code != 200 || st.TargetClass != sensors.ClassII {
		t.Fatalf("GET res-dam: %d %+v", code, st)
	}
	for _, tc := range []struct {
		name, method, path, body string
		want                     int
		wantType                 string
	}{
		{"bad target class", "POST", "/api/v1/stations", `{"id":"x1","name":"X","location":{"type":"Point","coordinates":[116.9,40.5]},"water_body":"reservoir","target_class":"VI","params":["ph"],"interval":"PT5M"}`, 422, "/problems/validation"},
		{"unknown member", "POST", "/api/v1/stations", `{"id":"x1","colour":"blue"}`, 422, "/problems/validation"},
		{"not JSON", "POST", "/api/v1/stations", `{`, 400, "/problems/malformed-request"},
		{"id taken", "POST", "/api/v1/stations", mustStationJSON(t, st), 409, "/problems/already-exists"},
		{"path and body disagree", "PUT", "/api/v1/stations/res-west", mustStationJSON(t, st), 422, "/problems/validation"},
		{"credential of an unknown station", "POST", "/api/v1/stations/nope/credentials", "", 404, "/problems/not-found"},
		{"readings of an unknown station", "GET", "/api/v1/stations/nope/readings", "", 404, "/problems/not-found"},
		{"bad from", "GET", "/api/v1/stations/res-dam/readings?from=yesterday", "", 400, "/problems/bad-query"},
		{"inverted range", "GET", "/api/v1/stations/res-dam/readings?from=2024-02-01&to=2024-01-01", "", 400, "/problems/bad-query"},
		{"unknown param", "GET", "/api/v1/stations/res-dam/readings?param=gold_mg_l", "", 400, "/problems/bad-query"},
		{"max_points out of range", "GET", "/api/v1/stations/res-dam/readings?max_points=1", "", 400, "/problems/bad-query"},
		{"bad alert state", "GET", "/api/v1/alerts?state=burning", "", 400, "/problems/bad-query"},
		{"ack of an unknown alert", "POST", "/api/v1/alerts/nope/ack", "", 404, "/problems/not-found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			var p struct{ Type string }
			if code := root.do(tc.method, tc.path, body, &p); code != tc.want || p.Type != tc.wantType {
				t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, code, p.Type, tc.want, tc.wantType)
			}
		})
	}

	var cred monitoring.IssuedCredential
	code, b, h := root.raw("POST", "/api/v1/stations/res-dam/credentials", nil)
	if code != 201 || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("credentials: %d %s %v", code, b, h)
	}
	if err := json.Unmarshal(b, &cred); err != nil || cred.Username != "res-dam" || cred.Password == "" {
		t.Fatalf("credential %s: %v", b, err)
	}
	topic := "baoshui/v1/stations/res-dam/readings"
	now := time.Now().Truncate(time.Second)

	// A reading published by mosquitto_pub appears classified.
	if err := mosquittoPub(broker, "res-dam", cred.Password, topic, readingJSON(now.Add(-3*time.Minute), 0.02)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the first reading", func() bool { return samples(root, "res-dam") == 1 })
	var view monitoring.StationView
	root.do("GET", "/api/v1/stations/res-dam", nil, &view)
	if view.Latest == nil || view.Latest.Assessment != sensors.ClassII || view.Status != "compliant" ||
		view.Latest.Values[sensors.ParamTP] != 0.02 {
		t.Fatalf("station after the first reading: %+v", view)
	}

	// Published twice, stored once.
	if err := mosquittoPub(broker, "res-dam", cred.Password, topic, readingJSON(now.Add(-3*time.Minute), 0.02)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the duplicate", func() bool { return a.Monitoring.Stats().Duplicates == 1 })
	if n := samples(root, "res-dam"); n != 1 {
		t.Fatalf("%d readings after a duplicate, want 1", n)
	}

	// A malformed payload between two valid ones.
	for _, p := range []string{readingJSON(now.Add(-2*time.Minute), 0.021), `{"ts":"yesterday","tp_mg_l":-1}`, readingJSON(now.Add(-time.Minute), 0.022)} {
		if err := mosquittoPub(broker, "res-dam", cred.Password, topic, p); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "the readings around the malformed one", func() bool { return samples(root, "res-dam") == 3 })
	var quar struct {
		Total    int
		Messages []struct{ Reason, Station, Payload string }
	}
	root.do("GET", "/api/v1/water-quality/quarantine", nil, &quar)
	if quar.Total != 1 || len(quar.Messages) != 1 || quar.Messages[0].Station != "res-dam" || quar.Messages[0].Payload != `{"ts":"yesterday","tp_mg_l":-1}` {
		t.Fatalf("quarantine %+v", quar)
	}

	// Another station's topic, and a wrong password, are refused.
	if err := mosquittoPub(broker, "res-dam", cred.Password, "baoshui/v1/stations/res-west/readings", readingJSON(now, 0.02)); err == nil {
		t.Error("a device published to another station's topic")
	}
	if err := mosquittoPub(broker, "res-dam", cred.Password+"x", topic, readingJSON(now, 0.02)); err == nil {
		t.Error("a wrong password was accepted")
	}
	if err := mosquittoPub(broker, "", "", topic, readingJSON(now, 0.02)); err == nil {
		t.Error("an anonymous client was accepted")
	}
	if n := samples(root, "res-west"); n != 0 {
		t.Fatalf("res-west holds %d readings published by res-dam's device", n)
	}

	// An exceedance: TP 0.05 mg/L is Class III against the target II.
	if err := mosquittoPub(broker, "res-dam", cred.Password, topic, readingJSON(now, 0.05)); err != nil {
		t.Fatal(err)
	}
	var alerts struct{ Alerts []sensors.Alert }
	waitFor(t, 10*time.Second, "the alert", func() bool {
		root.do("GET", "/api/v1/alerts?state=open&station=res-dam", nil, &alerts)
		return len(alerts.Alerts) == 1
	})
	al := alerts.Alerts[0]
	if al.Kind != sensors.AlertExceedance || !al.OpenedAt.Equal(now) || len(al.Peaks) != 1 || al.Peaks[0].Multiple != 1 {
		t.Fatalf("alert %+v: want an exceedance opened at %v, TP exceeding by 1 times", al, now)
	}
	// The device reads its station's retained alert message.
	host, port, _ := net.SplitHostPort(broker)
	out, err := exec.Command("mosquitto_sub", "-h", host, "-p", port, "-u", "res-dam", "-P", cred.Password, "-q", "1",
		"-t", "baoshui/v1/alerts/res-dam", "-C", "1", "-W", "10").CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte(al.ID)) {
		t.Fatalf("retained alert message: %v %s", err, out)
	}
	var acked sensors.Alert
	if code := root.do("POST", "/api/v1/alerts/"+url.PathEscape(al.ID)+"/ack", nil, &acked); code != 200 || acked.AckedBy != "root" || acked.State != sensors.AlertOpen {
		t.Fatalf("ack: %d %+v", code, acked)
	}
	// Three compliant samples clear it.
	for i := 1; i <= 3; i++ {
		if err := mosquittoPub(broker, "res-dam", cred.Password, topic, readingJSON(now.Add(time.Duration(i)*time.Second), 0.02)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "the alert to clear", func() bool {
		root.do("GET", "/api/v1/alerts?state=open&station=res-dam", nil, &alerts)
		return len(alerts.Alerts) == 0
	})
	root.do("GET", "/api/v1/alerts?station=res-dam", nil, &alerts)
	if len(alerts.Alerts) != 1 || alerts.Alerts[0].State != sensors.AlertCleared || alerts.Alerts[0].AckedBy != "root" {
		t.Fatalf("after clearing: %+v", alerts.Alerts)
	}
	code, metrics, _ := root.raw("GET", "/metrics", nil)
	for _, m := range []string{"baoshui_readings_stored_total 7", "baoshui_readings_duplicate_total 1", `baoshui_ingest_quarantined_total{reason="ts_out_of_range"} 0`,
		"baoshui_alerts_opened_total 1", "baoshui_alerts_cleared_total 1"} {
		if code != 200 || !bytes.Contains(metrics, []byte(m+"\n")) {
			t.Errorf("/metrics lacks %q", m)
		}
	}
}

func mustStationJSON(t *testing.T, st sensors.Station) string {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sensorRig is the real binary with the shipped stations, on fixed ports
// so that it can be killed and started again at the same addresses.
type sensorRig struct {
	bin, dir, httpAddr string
	args               []string
	srv                *exec.Cmd
}

func newSensorRig(t *testing.T, extra ...string) *sensorRig {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and kills the real binary")
	}
	r := &sensorRig{dir: t.TempDir(), httpAddr: freeAddr(t)}
	r.bin = filepath.Join(r.dir, "baoshui")
	if out, err := exec.Command("go", "build", "-o", r.bin, "github.com/baoshui/baoshui/server/cmd/baoshui").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	r.args = append([]string{"serve", "-data-dir", filepath.Join(r.dir, "data"), "-http-addr", r.httpAddr, "-bootstrap-admin", "root:root-password",
		"-log-level", "warn", "-stations-file", repoPath(t, "testdata/stations.json")}, extra...)
	r.start(t)
	t.Cleanup(func() {
		if r.srv != nil {
			_ = r.srv.Process.Kill()
			_ = r.srv.Wait()
		}
	})
	return r
}

func (r *sensorRig) start(t *testing.T) {
	t.Helper()
	r.srv = exec.Command(r.bin, r.args...)
	log, err := os.OpenFile(filepath.Join(r.dir, "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	r.srv.Stdout, r.srv.Stderr = log, log
	if err := r.srv.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get("http://" + r.httpAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for the server to be ready; its log:\n%s", r.log())
		}
	}
}

func (r *sensorRig) kill(t *testing.T) {
	t.Helper()
	if err := r.srv.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = r.srv.Wait()
	r.srv = nil
}

func (r *sensorRig) log() string {
	b, _ := os.ReadFile(filepath.Join(r.dir, "server.log"))
	return string(b)
}

// TestSensorsKillEmbedded kills the server, and with it the embedded
// broker, while twelve devices publish a burst at QoS 1 with persistent
// sessions; after the restart the devices send what was not acknowledged,
// and every reading is stored exactly once: the broker acknowledges a
// publish only once the reading is stored.
func TestSensorsKillEmbedded(t *testing.T) {
	mqttAddr := freeAddr(t)
	r := newSensorRig(t, "-mqtt-addr", mqttAddr)
	base := "http://" + r.httpAddr
	root := newClient(t, base).login("root", "root-password")
	var list struct{ Stations []monitoring.StationView }
	root.do("GET", "/api/v1/stations", nil, &list)
	const perStation = 400
	var wg sync.WaitGroup
	var acked sync.Map
	clients := make([]paho.Client, len(list.Stations))
	for i, st := range list.Stations {
		var cred monitoring.IssuedCredential
		if code := root.do("POST", "/api/v1/stations/"+st.ID+"/credentials", nil, &cred); code != 201 {
			t.Fatalf("credential %s: %d", st.ID, code)
		}
		opts := paho.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID("dev-" + st.ID).SetUsername(cred.Username).
			SetPassword(cred.Password).SetCleanSession(false).SetProtocolVersion(4).SetAutoReconnect(true).
			SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).SetMaxReconnectInterval(200 * time.Millisecond)
		c := paho.NewClient(opts)
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("connect %s: %v", st.ID, tok.Error())
		}
		clients[i] = c
	}
	base0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i, st := range list.Stations {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var toks []paho.Token
			for k := 0; k < perStation; k++ {
				p := readingJSON(base0.Add(time.Duration(k)*time.Second), 0.02)
				toks = append(toks, clients[i].Publish("baoshui/v1/stations/"+st.ID+"/readings", 1, false, p))
				if k%20 == 0 {
					time.Sleep(5 * time.Millisecond) // a burst that lasts past the kill
				}
			}
			n := 0
			for _, tok := range toks {
				if tok.WaitTimeout(2*time.Minute) && tok.Error() == nil {
					n++
				}
			}
			acked.Store(st.ID, n)
		}()
	}
	waitFor(t, time.Minute, "a third of the burst", func() bool {
		total := 0
		for _, st := range list.Stations {
			total += samples(root, st.ID)
		}
		return total > perStation*len(list.Stations)/3
	})
	r.kill(t)
	r.start(t)
	wg.Wait()
	for _, c := range clients {
		c.Disconnect(100)
	}
	root = newClient(t, base).login("root", "root-password")
	// paho completes the token of a message it sends again after a
	// reconnection when it sends it, not when the broker acknowledges it
	// (messageIds.claimID in v1.5.1), so the tokens prove nothing here:
	// the store does. Every reading arrives, and none twice.
	for _, st := range list.Stations {
		if n, _ := acked.Load(st.ID); n != perStation {
			t.Errorf("%s: %v publishes completed, want %d", st.ID, n, perStation)
		}
		waitFor(t, time.Minute, "every reading of "+st.ID, func() bool { return samples(root, st.ID) >= perStation })
	}
	time.Sleep(500 * time.Millisecond) // room for a reading stored twice to show
	for _, st := range list.Stations {
		if n := samples(root, st.ID); n != perStation {
			t.Errorf("%s: %d readings stored, want exactly %d", st.ID, n, perStation)
		}
	}
	if t.Failed() {
		_, m, _ := root.raw("GET", "/metrics", nil)
		for _, l := range strings.Split(string(m), "\n") {
			if strings.HasPrefix(l, "baoshui_ingest") || strings.HasPrefix(l, "baoshui_readings") {
				t.Log(l)
			}
		}
		t.Log(r.log())
	}
}

// TestSensorsMosquittoKillAndRestart runs the server against a Mosquitto
// configured as the README says: devices publish with mosquitto_pub
// (-l, one message per line) while the server is SIGKILLed and restarted,
// and later while Mosquitto itself restarts; every reading is stored
// exactly once and ingestion resumes by itself.
func TestSensorsMosquittoKillAndRestart(t *testing.T) {
	mqttClients(t)
	b, err := os.ReadFile(repoPath(t, "testdata/stations.json"))
	if err != nil {
		t.Fatal(err)
	}
	sts, err := sensors.LoadStations(b)
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]string{mosquittotest.ServerUser: "server-secret"}
	for _, st := range sts {
		users[st.ID] = "device-secret-" + st.ID
	}
	mq := mosquittotest.Start(t, users)
	r := newSensorRig(t, "-mqtt-url", mq.URL(), "-mqtt-username", mosquittotest.ServerUser, "-mqtt-password", "server-secret",
		"-mqtt-client-id", "baoshui-test")
	base := "http://" + r.httpAddr
	root := newClient(t, base).login("root", "root-password")

	// publish sends n readings per station, from offset seconds after
	// base0, one mosquitto_pub -l per station.
	base0 := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	publish := func(offset, n int) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, len(sts))
		for _, st := range sts {
			var lines strings.Builder
			for k := 0; k < n; k++ {
				lines.WriteString(readingJSON(base0.Add(time.Duration(offset+k)*time.Second), 0.02) + "\n")
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd := exec.Command("mosquitto_pub", "-h", "127.0.0.1", "-p", strconv.Itoa(mq.Port), "-u", st.ID, "-P", users[st.ID],
					"-q", "1", "-t", "baoshui/v1/stations/"+st.ID+"/readings", "-l")
				cmd.Stdin = strings.NewReader(lines.String())
				if out, err := cmd.CombinedOutput(); err != nil {
					errs <- fmt.Errorf("%s: %v %s", st.ID, err, out)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
	const burst = 500
	done := make(chan struct{})
	go func() { defer close(done); publish(0, burst) }()
	waitFor(t, time.Minute, "part of the burst", func() bool { return samples(root, sts[0].ID) > 0 })
	r.kill(t)
	<-done // the rest of the burst waits in the server's persistent session
	r.start(t)
	root = newClient(t, base).login("root", "root-password")
	check := func(want int) {
		t.Helper()
		for _, st := range sts {
			waitFor(t, time.Minute, fmt.Sprintf("%d readings of %s", want, st.ID), func() bool { return samples(root, st.ID) >= want })
			if n := samples(root, st.ID); n != want {
				t.Errorf("%s: %d readings, want exactly %d", st.ID, n, want)
			}
		}
	}
	check(burst)
	// A device publishing under another station's topic is refused by the
	// ACL (Mosquitto drops it without telling an MQTT 3.1.1 client):
	// nothing is stored for that station, which the exact count of its
	// readings below checks (the reading's time is one no other has).
	if err := mosquittoPub(mq.Addr(), sts[0].ID, users[sts[0].ID], "baoshui/v1/stations/"+sts[1].ID+"/readings",
		readingJSON(base0.Add(-time.Minute), 0.02)); err != nil {
		t.Log("mosquitto_pub to another station's topic:", err)
	}

	// The broker restarts while the server runs: the server reconnects by
	// itself and the readings published afterwards arrive.
	mq.Restart(t)
	publish(burst, 100)
	check(burst + 100)
	if t.Failed() {
		t.Log(r.log(), "\n", mq.Log())
	}
}

// machineMosquitto skips the test (or fails it, with
// BAOSHUI_TEST_REQUIRE_MOSQUITTO=1) unless the machine's Mosquitto answers
// on 127.0.0.1:1883 and its clients are installed.
func machineMosquitto(t *testing.T) {
	t.Helper()
	mqttClients(t)
	c, err := net.DialTimeout("tcp", "127.0.0.1:1883", time.Second)
	if err != nil {
		if os.Getenv("BAOSHUI_TEST_REQUIRE_MOSQUITTO") == "1" {
			t.Fatal("no Mosquitto on 127.0.0.1:1883")
		}
		t.Skip("no Mosquitto on 127.0.0.1:1883")
	}
	c.Close()
}

// forgetSession removes, when the test ends, the persistent session a
// server made on the machine's Mosquitto: a clean session with the same
// client id replaces it. Call it before starting the server: cleanups run
// last first, and a server still running would reconnect and make the
// session again.
func forgetSession(t *testing.T, clientID string) {
	t.Cleanup(func() {
		// A clean session removes the persistent one; the empty retained
		// message removes the server's presence, if it had one.
		_ = exec.Command("mosquitto_pub", "-h", "127.0.0.1", "-p", "1883", "-i", clientID, "-q", "1", "-r", "-n",
			"-t", ingest.PresenceTopic(clientID)).Run()
	})
}

// TestSensorsOnMachineMosquitto is the server against the Mosquitto this
// machine runs on 127.0.0.1:1883 (anonymous, default settings): a reading
// published by mosquitto_pub appears classified over HTTP.
func TestSensorsOnMachineMosquitto(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the machine's Mosquitto on 127.0.0.1:1883")
	}
	machineMosquitto(t)
	id := fmt.Sprintf("baoshui-test-%d", time.Now().UnixNano())
	forgetSession(t, id) // registered first, so it runs after the server stops
	a := start(t, testConfig(t, t.TempDir(), "-stations-file", repoPath(t, "testdata/stations.json"),
		"-mqtt-url", "tcp://127.0.0.1:1883", "-mqtt-client-id", id))
	root := newClient(t, a.URL()).login("root", "root-password")
	ts := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	if err := mosquittoPub("127.0.0.1:1883", "", "", "baoshui/v1/stations/inflow-chao/readings", readingJSON(ts, 0.3)); err != nil {
		t.Fatal(err)
	}
	var view monitoring.StationView
	waitFor(t, 10*time.Second, "the reading", func() bool {
		root.do("GET", "/api/v1/stations/inflow-chao", nil, &view)
		return view.Latest != nil && view.Latest.Time.Equal(ts)
	})
	// 0.3 mg/L of TP in a river is Class IV (limit of IV is 0.3, inclusive).
	if view.Latest.Assessment != sensors.ClassIV || !view.Latest.Exceeds || view.Status != "exceeds" {
		t.Fatalf("station after the reading: %+v", view.Latest)
	}
}
