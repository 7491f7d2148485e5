package ingest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/baoshui/baoshui/sensors"
	"github.com/baoshui/baoshui/sensors/broker"
	"github.com/baoshui/baoshui/sensors/ingest"
)

// The integration tests run against the Mosquitto this machine runs on
// 127.0.0.1:1883 (BAOSHUI_TEST_MQTT_URL names another), and publish with
// the real mosquitto_pub. Where either is missing they skip, unless
// BAOSHUI_TEST_REQUIRE_MQTT=1, where they fail. Each test uses stations
// with random ids, so runs never see each other's messages, and removes
// its persistent session from the broker when it ends.

// mosquittoURL returns the external broker's URL, or skips.
func mosquittoURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("BAOSHUI_TEST_MQTT_URL")
	if u == "" {
		u = "tcp://127.0.0.1:1883"
	}
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatalf("BAOSHUI_TEST_MQTT_URL %q: %v", u, err)
	}
	c, err := net.DialTimeout("tcp", pu.Host, time.Second)
	if err != nil {
		skipOrFail(t, "no MQTT broker at %s: %v", u, err)
	}
	c.Close()
	return u
}

func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("BAOSHUI_TEST_REQUIRE_MQTT") == "1" {
		t.Fatalf(format+" (BAOSHUI_TEST_REQUIRE_MQTT=1)", args...)
	}
	t.Skipf(format+"; set BAOSHUI_TEST_REQUIRE_MQTT=1 to make this a failure", args...)
}

// mosquittoPub publishes each payload to topic at QoS 1 with the real
// mosquitto_pub, in one run (-l: one message a line), and waits for the
// broker's acknowledgements. user and pass may be empty.
func mosquittoPub(t *testing.T, brokerURL, user, pass, topic string, payloads ...string) {
	t.Helper()
	bin, err := exec.LookPath("mosquitto_pub")
	if err != nil {
		skipOrFail(t, "mosquitto_pub not installed: %v", err)
	}
	pu, _ := url.Parse(brokerURL)
	args := []string{"-h", pu.Hostname(), "-p", pu.Port(), "-q", "1", "-t", topic, "-l"}
	if user != "" {
		args = append(args, "-u", user, "-P", pass)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(strings.Join(payloads, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func randomID(prefix string) string {
	var b [5]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// testStation returns a reservoir station with a random id.
func testStation() sensors.Station {
	return sensors.Station{ID: randomID("t-"), Name: "测试点", WaterBody: sensors.Reservoir, TargetClass: sensors.ClassII,
		Params: []sensors.Param{"ph", "do_mg_l", "tp_mg_l"}, Interval: sensors.Interval(time.Minute)}
}

// syncBuffer collects a log for the assertions.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startIngest starts an ingest; it is closed, and its persistent session
// removed from the broker, at the end of the test.
func startIngest(t *testing.T, cfg ingest.Config, sink ingest.Sink) *ingest.Ingest {
	t.Helper()
	if cfg.ClientID == "" {
		cfg.ClientID = randomID("baoshui-test-")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(&syncBuffer{}, nil))
	}
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = 20 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	in, err := ingest.Start(ctx, cfg, sink)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		in.Close()
		purgeSession(cfg)
	})
	return in
}

// purgeSession connects with cfg's client id and a clean session, which
// makes the broker discard the persistent session, and removes the
// retained presence of a server with Takeover.
func purgeSession(cfg ingest.Config) {
	c := paho.NewClient(paho.NewClientOptions().AddBroker(cfg.BrokerURL).SetClientID(cfg.ClientID).
		SetUsername(cfg.Username).SetPassword(cfg.Password).SetCleanSession(true).SetProtocolVersion(4))
	if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
		if cfg.Takeover {
			c.Publish(ingest.PresenceTopic(cfg.ClientID), 1, true, []byte{}).WaitTimeout(5 * time.Second)
		}
		c.Disconnect(50)
	}
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// reading returns a JSON reading of ph and tp at base + i seconds.
func reading(base time.Time, i int, ph, tp float64) string {
	return fmt.Sprintf(`{"ts":%q,"ph":%v,"tp_mg_l":%v}`, base.Add(time.Duration(i)*time.Second).Format(time.RFC3339), ph, tp)
}

// base is an hour ago, whole seconds.
func base() time.Time { return time.Now().UTC().Truncate(time.Second).Add(-time.Hour) }

func TestMosquittoPubReadingClassified(t *testing.T) {
	u := mosquittoURL(t)
	st := testStation()
	sink := ingest.NewMemorySink()
	in := startIngest(t, ingest.Config{BrokerURL: u, Stations: map[string]sensors.Station{st.ID: st}}, sink)
	b := base()
	mosquittoPub(t, u, "", "", ingest.ReadingsTopic(st.ID), reading(b, 0, 7.9, 0.05))
	waitFor(t, "the reading", 10*time.Second, func() bool { return in.Stats().Acked == 1 })
	rs := sink.Readings()
	if len(rs) != 1 {
		t.Fatalf("stored %d readings", len(rs))
	}
	r := rs[0]
	if r.Station != st.ID || !r.Sample.Time.Equal(b) || r.ID() != st.ID+":"+b.Format("2006-01-02T15:04:05.000Z") {
		t.Errorf("reading %s at %v", r.ID(), r.Sample.Time)
	}
	// TP 0.05 mg/L in a reservoir is class III, worse than the target II.
	if r.Result.Assessment != sensors.ClassIII || !r.Result.Exceeds || len(r.Result.Exceedances) != 1 ||
		r.Result.Exceedances[0].Param != sensors.ParamTP {
		t.Errorf("classified %v, exceeds %v, exceedances %+v", r.Result.Assessment, r.Result.Exceeds, r.Result.Exceedances)
	}
	if s := in.Stats(); s.Received != 1 || s.Stored != 1 || s.Quarantined != 0 || !s.Connected {
		t.Errorf("stats %+v", s)
	}
}

func TestDuplicateStoredOnce(t *testing.T) {
	u := mosquittoURL(t)
	st := testStation()
	sink := ingest.NewMemorySink()
	in := startIngest(t, ingest.Config{BrokerURL: u, Stations: map[string]sensors.Station{st.ID: st}}, sink)
	msg := reading(base(), 0, 7.2, 0.02)
	mosquittoPub(t, u, "", "", ingest.ReadingsTopic(st.ID), msg)
	mosquittoPub(t, u, "", "", ingest.ReadingsTopic(st.ID), msg)
	waitFor(t, "both messages acknowledged", 10*time.Second, func() bool { return in.Stats().Acked == 2 })
	if n, d := sink.Len(), sink.Duplicates(); n != 1 || d != 1 {
		t.Errorf("stored %d readings, %d duplicates; want 1 and 1", n, d)
	}
}

func TestMalformedQuarantined(t *testing.T) {
	u := mosquittoURL(t)
	st := testStation()
	sink := ingest.NewMemorySink()
	log := &syncBuffer{}
	in := startIngest(t, ingest.Config{BrokerURL: u, Stations: map[string]sensors.Station{st.ID: st},
		Logger: slog.New(slog.NewTextHandler(log, nil))}, sink)
	b := base()
	bad := `{"ts":"` + b.Format(time.RFC3339) + `","ph":7.1,`
	mosquittoPub(t, u, "", "", ingest.ReadingsTopic(st.ID), reading(b, 0, 7, 0.02), bad, reading(b, 1, 7.1, 0.02))
	waitFor(t, "three messages acknowledged", 10*time.Second, func() bool { return in.Stats().Acked == 3 })
	if n := sink.Len(); n != 2 {
		t.Errorf("stored %d readings, want the 2 valid ones", n)
	}
	q := sink.Quarantined()
	if len(q) != 1 || q[0].Reason != ingest.ReasonMalformed || string(q[0].Payload) != bad ||
		q[0].Topic != ingest.ReadingsTopic(st.ID) || q[0].Station != st.ID || q[0].ReceivedAt.IsZero() {
		t.Fatalf("quarantined %+v", q)
	}
	s := in.Stats()
	if s.Quarantined != 1 || s.ByReason[ingest.ReasonMalformed] != 1 || s.ByReason[ingest.ReasonTime] != 0 {
		t.Errorf("stats %+v", s)
	}
	if l := log.String(); !strings.Contains(l, "message quarantined") || !strings.Contains(l, "reason=malformed") {
		t.Errorf("the log does not name the reason:\n%s", l)
	}
}

func TestSenMLAccepted(t *testing.T) {
	u := mosquittoURL(t)
	st, other := testStation(), testStation()
	sink := ingest.NewMemorySink()
	in := startIngest(t, ingest.Config{BrokerURL: u, Stations: map[string]sensors.Station{st.ID: st, other.ID: other}}, sink)
	bt := base().Unix()
	pack := fmt.Sprintf(`[{"bn":"urn:dev:station:%s:","bt":%d,"n":"ph","v":7.6},{"n":"tp_mg_l","u":"mg/L","v":0.02},`+
		`{"n":"ph","v":7.7,"t":300},{"n":"tp_mg_l","u":"mg/L","v":0.03,"t":300}]`, st.ID, bt)
	forged := fmt.Sprintf(`[{"bn":"urn:dev:station:%s:","bt":%d,"n":"ph","v":7.6}]`, other.ID, bt)
	mosquittoPub(t, u, "", "", ingest.ReadingsTopic(st.ID), pack, forged)
	waitFor(t, "both packs acknowledged", 10*time.Second, func() bool { return in.Stats().Acked == 2 })
	rs := sink.Readings()
	if len(rs) != 2 || rs[0].Sample.Time.Unix() != bt || rs[1].Sample.Time.Unix() != bt+300 ||
		rs[1].Sample.Values[sensors.ParamTP] != 0.03 || rs[1].Result.Assessment != sensors.ClassIII {
		t.Errorf("readings %+v", rs)
	}
	if q := sink.Quarantined(); len(q) != 1 || q[0].Reason != ingest.ReasonStationMismatch {
		t.Errorf("quarantined %+v, want the pack naming another station", q)
	}
}

// TestSinkFailureNothingAcked checks that while the sink fails nothing is
// acknowledged, and that once it recovers every reading is stored.
func TestSinkFailureNothingAcked(t *testing.T) {
	u := mosquittoURL(t)
	st := testStation()
	sink := ingest.NewMemorySink()
	sink.SetFailure(errors.New("store down"))
	in := startIngest(t, ingest.Config{BrokerURL: u, Stations: map[string]sensors.Station{st.ID: st},
		RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond}, sink)
	const n = 20
	b := base()
	var msgs []string
	for i := range n {
		msgs = append(msgs, reading(b, i, 7, 0.02))
	}
	mosquittoPub(t, u, "", "", ingest.ReadingsTopic(st.ID), msgs...)
	waitFor(t, "several failed attempts", 10*time.Second, func() bool { _, failed := sink.Calls(); return failed >= 5 })
	if s := in.Stats(); s.Acked != 0 || s.Stored != 0 || sink.Len() != 0 {
		t.Fatalf("while the sink fails: stats %+v, %d stored", s, sink.Len())
	}
	sink.SetFailure(nil)
	waitFor(t, "every message acknowledged", 10*time.Second, func() bool { return in.Stats().Acked == n })
	if got := sink.Len(); got != n {
		t.Errorf("stored %d readings, want %d", got, n)
	}
	if s := in.Stats(); s.StoreErrors < 5 {
		t.Errorf("StoreErrors = %d", s.StoreErrors)
	}
}

// TestUnackedRedelivered stops an ingest whose sink is down, so that it
// acknowledges nothing, and starts another with the same client id and a
// working sink: the broker delivers every message again.
func TestUnackedRedelivered(t *testing.T) {
	u := mosquittoURL(t)
	st := testStation()
	stations := map[string]sensors.Station{st.ID: st}
	id := randomID("baoshui-test-")
	down := ingest.NewMemorySink()
	down.SetFailure(errors.New("store down"))
	first := startIngest(t, ingest.Config{BrokerURL: u, ClientID: id, Stations: stations, CloseTimeout: 200 * time.Millisecond,
		RetryMin: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond}, down)
	const n = 10
	b := base()
	var msgs []string
	for i := range n {
		msgs = append(msgs, reading(b, i, 7, 0.02))
	}
	mosquittoPub(t, u, "", "", ingest.ReadingsTopic(st.ID), msgs...)
	waitFor(t, "the ingest to receive the messages", 10*time.Second, func() bool { return first.Stats().Received == n })
	if err := first.Close(); err == nil {
		t.Errorf("Close with a failing sink: no error")
	}
	if s := first.Stats(); s.Acked != 0 {
		t.Fatalf("acknowledged %d messages the sink never stored", s.Acked)
	}
	sink := ingest.NewMemorySink()
	second := startIngest(t, ingest.Config{BrokerURL: u, ClientID: id, Stations: stations}, sink)
	waitFor(t, "every message redelivered and stored", 10*time.Second, func() bool { return sink.Len() == n })
	waitFor(t, "every message acknowledged", 5*time.Second, func() bool { return second.Stats().Acked >= n })
}

// TestPersistentSession publishes while the ingest is down: the next
// ingest with the same client id gets every message.
func TestPersistentSession(t *testing.T) {
	u := mosquittoURL(t)
	st := testStation()
	stations := map[string]sensors.Station{st.ID: st}
	id := randomID("baoshui-test-")
	sink := ingest.NewMemorySink()
	first := startIngest(t, ingest.Config{BrokerURL: u, ClientID: id, Stations: stations}, sink)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	const n = 100
	b := base()
	var msgs []string
	for i := range n {
		msgs = append(msgs, reading(b, i, 7, 0.02))
	}
	mosquittoPub(t, u, "", "", ingest.ReadingsTopic(st.ID), msgs...)
	second := startIngest(t, ingest.Config{BrokerURL: u, ClientID: id, Stations: stations}, sink)
	waitFor(t, "the 100 messages published while down", 15*time.Second, func() bool { return sink.Len() == n })
	rs := sink.Readings()
	for i, r := range rs {
		if want := b.Add(time.Duration(i) * time.Second); !r.Sample.Time.Equal(want) {
			t.Fatalf("reading %d at %v, want %v", i, r.Sample.Time, want)
		}
	}
	waitFor(t, "every message acknowledged", 5*time.Second, func() bool { return second.Stats().Acked >= n })
}

// embedded starts the embedded broker with a device for each station and
// the server user "ingest".
func embedded(t *testing.T, stations ...sensors.Station) *broker.Broker {
	t.Helper()
	return embeddedAt(t, "127.0.0.1:0", stations...)
}

// embeddedAt is embedded listening on addr.
func embeddedAt(t *testing.T, addr string, stations ...sensors.Station) *broker.Broker {
	t.Helper()
	users := broker.NewUsers()
	for _, st := range stations {
		if err := users.Set("dev-"+st.ID, "pw-"+st.ID, broker.DeviceRole(st.ID)); err != nil {
			t.Fatal(err)
		}
	}
	if err := users.Set("ingest", "server-secret", broker.ServerRole()); err != nil {
		t.Fatal(err)
	}
	b, err := broker.Start(context.Background(), broker.Config{Addr: addr, Auth: users,
		Logger: slog.New(slog.NewTextHandler(&syncBuffer{}, &slog.HandlerOptions{Level: slog.LevelError}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// device connects as the device of st to b.
func device(t *testing.T, b *broker.Broker, st sensors.Station, lost func(error)) paho.Client {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker(b.URL()).SetClientID("dev-" + st.ID).
		SetUsername("dev-" + st.ID).SetPassword("pw-" + st.ID).SetProtocolVersion(4).SetAutoReconnect(false)
	if lost != nil {
		opts.SetConnectionLostHandler(func(_ paho.Client, err error) { lost(err) })
	}
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("device connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}

func publish(t *testing.T, c paho.Client, topic, payload string) {
	t.Helper()
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
}

// TestEmbeddedBrokerEndToEnd runs the whole path on the embedded broker:
// devices publish with their own credentials (paho, and mosquitto_pub
// where installed), the ingest subscribes as the server, and a device
// writing for another station is cut off before anything is stored.
func TestEmbeddedBrokerEndToEnd(t *testing.T) {
	a, c := testStation(), testStation()
	b := embedded(t, a, c)
	sink := ingest.NewMemorySink()
	in := startIngest(t, ingest.Config{BrokerURL: b.URL(), Username: "ingest", Password: "server-secret",
		Stations: map[string]sensors.Station{a.ID: a, c.ID: c}}, sink)
	tb := base()
	lost := make(chan error, 1)
	devA := device(t, b, a, func(err error) { lost <- err })
	publish(t, devA, ingest.ReadingsTopic(a.ID), reading(tb, 0, 7.5, 0.01))
	waitFor(t, "the device's reading", 5*time.Second, func() bool { return sink.Len() == 1 })

	devA.Publish(ingest.ReadingsTopic(c.ID), 1, false, reading(tb, 1, 7.5, 0.01)).WaitTimeout(time.Second)
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("the device writing for another station was not disconnected")
	}
	wanted := 2
	if _, err := exec.LookPath("mosquitto_pub"); err == nil {
		// A client we did not write, with the device's credentials.
		mosquittoPub(t, b.URL(), "dev-"+c.ID, "pw-"+c.ID, ingest.ReadingsTopic(c.ID), reading(tb, 2, 7.6, 0.02))
	} else {
		publish(t, device(t, b, c, nil), ingest.ReadingsTopic(c.ID), reading(tb, 2, 7.6, 0.02))
	}
	waitFor(t, "the second station's reading", 5*time.Second, func() bool { return sink.Len() == wanted })
	for _, r := range sink.Readings() {
		if r.Station == c.ID && !r.Sample.Time.Equal(tb.Add(2*time.Second)) {
			t.Errorf("stored %s: the forged reading got through", r.ID())
		}
	}
	if s := b.Stats(); s.ACLDenied == 0 || s.MessagesDropped != 0 || s.InflightDropped != 0 {
		t.Errorf("broker stats %+v", s)
	}
	if s := in.Stats(); s.Acked != 2 || s.Quarantined != 0 {
		t.Errorf("ingest stats %+v", s)
	}
}

// TestReconnectAfterBrokerRestart restarts the broker under a running
// ingest: it reconnects and subscribes again by itself, and readings
// published after the restart are stored.
func TestReconnectAfterBrokerRestart(t *testing.T) {
	st := testStation()
	b := embedded(t, st)
	sink := ingest.NewMemorySink()
	in := startIngest(t, ingest.Config{BrokerURL: b.URL(), Username: "ingest", Password: "server-secret",
		Stations: map[string]sensors.Station{st.ID: st}}, sink)
	tb := base()
	publish(t, device(t, b, st, nil), ingest.ReadingsTopic(st.ID), reading(tb, 0, 7, 0.02))
	waitFor(t, "the first reading", 5*time.Second, func() bool { return sink.Len() == 1 })

	addr := b.Addr()
	b.Close()
	waitFor(t, "the ingest to notice", 5*time.Second, func() bool { return !in.Stats().Connected })
	b2 := embeddedAt(t, addr, st)
	waitFor(t, "the ingest to reconnect", 20*time.Second, func() bool { return in.Stats().Connected })
	dev := device(t, b2, st, nil)
	// The new broker has no session: the reading arrives only once the
	// ingest has subscribed again.
	waitFor(t, "the reading after the restart", 10*time.Second, func() bool {
		publish(t, dev, ingest.ReadingsTopic(st.ID), reading(tb, 1, 7, 0.02))
		return sink.Len() == 2
	})
}

// slowSink is a MemorySink that takes delay per call.
type slowSink struct {
	*ingest.MemorySink
	delay time.Duration
}

func (s slowSink) StoreReadings(ctx context.Context, rs []ingest.Reading) error {
	time.Sleep(s.delay)
	return s.MemorySink.StoreReadings(ctx, rs)
}

// TestBackpressure fills a tiny queue in front of a slow sink: the
// handler waits for room, and every reading is stored.
func TestBackpressure(t *testing.T) {
	st := testStation()
	b := embedded(t, st)
	sink := slowSink{ingest.NewMemorySink(), 3 * time.Millisecond}
	in := startIngest(t, ingest.Config{BrokerURL: b.URL(), Username: "ingest", Password: "server-secret",
		Stations: map[string]sensors.Station{st.ID: st}, QueueSize: 2, BatchSize: 5}, sink)
	dev := device(t, b, st, nil)
	const n = 500
	tb := base()
	var toks []paho.Token
	for i := range n {
		toks = append(toks, dev.Publish(ingest.ReadingsTopic(st.ID), 1, false, reading(tb, i, 7, 0.02)))
	}
	for _, tok := range toks {
		if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	waitFor(t, "every reading stored", 30*time.Second, func() bool { return sink.Len() == n })
	s := in.Stats()
	if s.QueueWaits == 0 {
		t.Errorf("the queue never filled: %+v", s)
	}
	calls, _ := sink.Calls()
	t.Logf("%d readings in %d sink calls; %d handler waits", n, calls, s.QueueWaits)
}

// TestEmbeddedBurst sends 20,000 readings from 10 devices through the
// embedded broker and the ingest, and counts them in the sink.
func TestEmbeddedBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("a 20,000-reading burst; run without -short")
	}
	const stations, per = 10, 2000
	var sts []sensors.Station
	m := map[string]sensors.Station{}
	for range stations {
		st := testStation()
		sts = append(sts, st)
		m[st.ID] = st
	}
	b := embedded(t, sts...)
	sink := ingest.NewMemorySink()
	in := startIngest(t, ingest.Config{BrokerURL: b.URL(), Username: "ingest", Password: "server-secret", Stations: m}, sink)
	tb := base()
	start := time.Now()
	var wg sync.WaitGroup
	for _, st := range sts {
		dev := device(t, b, st, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var toks []paho.Token
			for i := range per {
				toks = append(toks, dev.Publish(ingest.ReadingsTopic(st.ID), 1, false, reading(tb, i, 7, 0.02)))
			}
			for _, tok := range toks {
				tok.WaitTimeout(60 * time.Second)
			}
		}()
	}
	wg.Wait()
	waitFor(t, "every reading stored", 60*time.Second, func() bool { return sink.Len() == stations*per })
	el := time.Since(start)
	t.Logf("%d readings stored in %v (%.0f readings/s); ingest %+v; broker %+v",
		stations*per, el.Round(time.Millisecond), float64(stations*per)/el.Seconds(), in.Stats(), b.Stats())
	if s := b.Stats(); s.MessagesDropped != 0 || s.InflightDropped != 0 {
		t.Errorf("broker dropped messages: %+v", s)
	}
}

func TestStartErrors(t *testing.T) {
	st := testStation()
	b := embedded(t, st)
	ok := ingest.Config{BrokerURL: b.URL(), ClientID: "start-errors", Username: "ingest", Password: "server-secret"}
	with := func(f func(*ingest.Config)) ingest.Config {
		c := ok
		f(&c)
		return c
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	tests := []struct {
		name string
		cfg  ingest.Config
		sink ingest.Sink
		want string
	}{
		{"no broker URL", with(func(c *ingest.Config) { c.BrokerURL = "" }), ingest.NewMemorySink(), "BrokerURL is required"},
		{"URL without scheme", with(func(c *ingest.Config) { c.BrokerURL = "127.0.0.1:1883" }), ingest.NewMemorySink(), "want tcp://host:port"},
		{"no client id", with(func(c *ingest.Config) { c.ClientID = "" }), ingest.NewMemorySink(), "ClientID is required"},
		{"batch too large", with(func(c *ingest.Config) { c.BatchSize = ingest.MaxBatchSize + 1 }), ingest.NewMemorySink(), "BatchSize 501"},
		{"no sink", ok, nil, "a Sink is required"},
		{"nobody listening", with(func(c *ingest.Config) { c.BrokerURL = "tcp://" + closed }), ingest.NewMemorySink(), "connect"},
		{"wrong password", with(func(c *ingest.Config) { c.Password = "guess" }), ingest.NewMemorySink(), "connect"},
		{"a device's credentials", with(func(c *ingest.Config) { c.Username, c.Password = "dev-"+st.ID, "pw-"+st.ID }),
			ingest.NewMemorySink(), "granted 0x80"},
		{"a topic the broker refuses", with(func(c *ingest.Config) { c.Topic = "baoshui/v1/alerts/#" }),
			ingest.NewMemorySink(), "granted 0x80"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Logger = slog.New(slog.NewTextHandler(&syncBuffer{}, nil))
			if tc.cfg.ClientID != "" {
				// Each case its own session: the broker refuses a client
				// id whose session belongs to another user.
				tc.cfg.ClientID = randomID("start-errors-")
			}
			tc.cfg.ConnectTimeout = 3 * time.Second
			in, err := ingest.Start(context.Background(), tc.cfg, tc.sink)
			if err == nil {
				in.Close()
				t.Fatal("started")
			}
			if !strings.HasPrefix(err.Error(), "ingest.Start: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want ingest.Start: …%s…", err, tc.want)
			}
		})
	}
}

// TestSetStations registers a station while the ingest runs.
func TestSetStations(t *testing.T) {
	st := testStation()
	b := embedded(t, st)
	sink := ingest.NewMemorySink()
	in := startIngest(t, ingest.Config{BrokerURL: b.URL(), Username: "ingest", Password: "server-secret"}, sink)
	dev := device(t, b, st, nil)
	tb := base()
	publish(t, dev, ingest.ReadingsTopic(st.ID), reading(tb, 0, 7, 0.02))
	waitFor(t, "the unknown station's reading quarantined", 5*time.Second, func() bool { return in.Stats().Acked == 1 })
	if q := sink.Quarantined(); len(q) != 1 || q[0].Reason != ingest.ReasonUnknownStation {
		t.Fatalf("quarantined %+v", q)
	}
	in.SetStations(map[string]sensors.Station{st.ID: st})
	publish(t, dev, ingest.ReadingsTopic(st.ID), reading(tb, 1, 7, 0.02))
	waitFor(t, "the registered station's reading", 5*time.Second, func() bool { return sink.Len() == 1 })
}
