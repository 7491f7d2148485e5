package ingest_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/baoshui/baoshui/sensors"
	"github.com/baoshui/baoshui/sensors/ingest"
)

// cuttable opens connections that the test can cut, as the death of the
// process would, and keeps refusing new ones until revived. The client gets
// one end of a pipe copied to and from the broker: cutting closes the
// other end and the broker's, so the client reads an end of file, as from
// a peer that went away (paho takes a connection closed on its own side
// for a disconnection it asked for).
type cuttable struct {
	mu    sync.Mutex
	conns []net.Conn
	dead  bool
}

func (c *cuttable) open(uri *url.URL, _ paho.ClientOptions) (net.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return nil, errors.New("the server is dead")
	}
	up, err := net.DialTimeout("tcp", uri.Host, 5*time.Second)
	if err != nil {
		return nil, err
	}
	client, far := net.Pipe()
	go func() { _, _ = io.Copy(up, far); up.Close() }()
	go func() { _, _ = io.Copy(far, up); far.Close() }()
	c.conns = append(c.conns, up, far)
	return client, nil
}

func (c *cuttable) kill() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dead = true
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

func (c *cuttable) revive() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dead = false
}

// station publishes readings of one station, one a second from an hour
// ago, and tells which of them sinks hold.
type station struct {
	t   *testing.T
	url string
	st  sensors.Station
	tb  time.Time
}

func newStation(t *testing.T, url string) station {
	return station{t: t, url: url, st: testStation(), tb: base()}
}

// burst publishes readings from to to (excluded) with mosquitto_pub.
func (s station) burst(from, to int) {
	s.t.Helper()
	var msgs []string
	for i := from; i < to; i++ {
		msgs = append(msgs, reading(s.tb, i, 7, 0.02))
	}
	mosquittoPub(s.t, s.url, "", "", ingest.ReadingsTopic(s.st.ID), msgs...)
}

// heldBy reports whether the sinks hold readings from to to between them.
func (s station) heldBy(from, to int, sinks ...*ingest.MemorySink) func() bool {
	return func() bool {
		got := held(sinks...)
		for i := from; i < to; i++ {
			if !got[ingest.ReadingID(s.st.ID, s.tb.Add(time.Duration(i)*time.Second))] {
				return false
			}
		}
		return true
	}
}

// held returns the ids of the readings the sinks hold between them.
func held(sinks ...*ingest.MemorySink) map[string]bool {
	ids := map[string]bool{}
	for _, s := range sinks {
		for _, r := range s.Readings() {
			ids[r.ID()] = true
		}
	}
	return ids
}

// TestTakeoverOfADeadServer runs two servers on one shared subscription
// of the machine's Mosquitto, which keeps queuing a member's turns while
// it is away. Server A dies (its connection cut, no reconnection): B must
// take over A's session and store, alone, every reading published from
// then on, without A coming back. When A comes back it takes its session
// back, B lets go, and the readings are split again; none is lost.
func TestTakeoverOfADeadServer(t *testing.T) {
	u := mosquittoURL(t)
	s := newStation(t, u)
	stations := map[string]sensors.Station{s.st.ID: s.st}
	topic := "$share/" + randomID("g") + "/" + ingest.DefaultTopic
	var cut cuttable
	sinkA, sinkB := ingest.NewMemorySink(), ingest.NewMemorySink()
	a := startIngest(t, ingest.WithConnection(ingest.Config{BrokerURL: u, Topic: topic, Takeover: true, Stations: stations, Logger: testLog(t)}, cut.open), sinkA)
	b := startIngest(t, ingest.Config{BrokerURL: u, Topic: topic, Takeover: true, Stations: stations, Logger: testLog(t)}, sinkB)
	const n = 100
	s.burst(0, n)
	waitFor(t, "the first burst split between A and B", 15*time.Second, func() bool {
		return len(held(sinkA, sinkB)) == n
	})
	if sinkA.Len() == 0 || sinkB.Len() == 0 {
		t.Fatalf("the shared subscription did not split: A %d, B %d", sinkA.Len(), sinkB.Len())
	}

	cut.kill()
	s.burst(n, 2*n) // some of it queued for A's session before B takes it
	waitFor(t, "B to take over A's session", 15*time.Second, func() bool { return b.Stats().Held == 1 })
	s.burst(2*n, 3*n)
	waitFor(t, "B alone to store everything published after A died", 30*time.Second, s.heldBy(n, 3*n, sinkB))
	if st := b.Stats(); st.Takeovers != 1 {
		t.Errorf("B took over %d times, want 1", st.Takeovers)
	}

	aBefore := sinkA.Len()
	cut.revive()
	waitFor(t, "A back and B letting go", 30*time.Second, func() bool {
		return a.Stats().Connected && b.Stats().Held == 0
	})
	s.burst(3*n, 4*n)
	waitFor(t, "every reading stored", 15*time.Second, func() bool { return len(held(sinkA, sinkB)) == 4*n })
	if sinkA.Len() == aBefore {
		t.Errorf("A stored nothing after it came back: its turns did not return to it")
	}
	if st := b.Stats(); st.Takeovers != 1 {
		t.Errorf("B took over %d times in all, want 1 (a fight over A's session?)", st.Takeovers)
	}
}

// testLog logs to the test's output (shown when it fails or with -v).
func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, nil))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// TestTakeoverAmongThree checks that of the servers online exactly one
// takes over a dead peer's session, and that a server closed on purpose
// is taken over like one that died: A dies, then C closes, and B, alone
// online, ends up holding both sessions and storing everything.
func TestTakeoverAmongThree(t *testing.T) {
	u := mosquittoURL(t)
	s := newStation(t, u)
	stations := map[string]sensors.Station{s.st.ID: s.st}
	topic := "$share/" + randomID("g") + "/" + ingest.DefaultTopic
	cfg := ingest.Config{BrokerURL: u, Topic: topic, Takeover: true, Stations: stations, Logger: testLog(t)}
	var cut cuttable
	sinkA, sinkB, sinkC := ingest.NewMemorySink(), ingest.NewMemorySink(), ingest.NewMemorySink()
	startIngest(t, ingest.WithConnection(cfg, cut.open), sinkA)
	b := startIngest(t, cfg, sinkB)
	c := startIngest(t, cfg, sinkC)
	const n = 90
	s.burst(0, n)
	waitFor(t, "the first burst", 15*time.Second, s.heldBy(0, n, sinkA, sinkB, sinkC))

	cut.kill()
	waitFor(t, "B or C to take over A's session", 15*time.Second, func() bool { return b.Stats().Held+c.Stats().Held == 1 })
	s.burst(n, 2*n)
	waitFor(t, "B and C to store everything after A died", 30*time.Second, s.heldBy(n, 2*n, sinkB, sinkC))
	if tb, tc := b.Stats().Takeovers, c.Stats().Takeovers; tb+tc != 1 {
		t.Errorf("B took over %d times and C %d, want once in all", tb, tc)
	}

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B to hold the sessions of A and C", 30*time.Second, func() bool { return b.Stats().Held == 2 })
	s.burst(2*n, 3*n)
	waitFor(t, "B alone to store everything after C closed", 30*time.Second, s.heldBy(2*n, 3*n, sinkB))
}

// BenchmarkTakeover measures, on the machine's Mosquitto, how long after
// a server's connection dies its peer holds its session (takeover-ms), and
// how long after the server is started again it has its session back and
// the peer has let go (handback-ms).
func BenchmarkTakeover(b *testing.B) {
	u := "tcp://127.0.0.1:1883"
	st := testStation()
	stations := map[string]sensors.Station{st.ID: st}
	topic := "$share/" + randomID("g") + "/" + ingest.DefaultTopic
	quiet := slog.New(slog.DiscardHandler)
	cfg := ingest.Config{BrokerURL: u, Topic: topic, Takeover: true, Stations: stations, Logger: quiet}
	start := func(cfg ingest.Config) (*ingest.Ingest, *cuttable) {
		cut := new(cuttable)
		in, err := ingest.Start(context.Background(), ingest.WithConnection(cfg, cut.open), ingest.NewMemorySink())
		if err != nil {
			b.Fatal(err)
		}
		return in, cut
	}
	cfgA, cfgP := cfg, cfg
	cfgA.ClientID, cfgP.ClientID = randomID("baoshui-bench-"), randomID("baoshui-bench-")
	b.Cleanup(func() { purgeSession(cfgA); purgeSession(cfgP) })
	a, cutA := start(cfgA)
	p, _ := start(cfgP)
	defer func() { a.Close(); p.Close() }()
	poll := func(what string, cond func() bool) time.Duration {
		t0 := time.Now()
		for !cond() {
			if time.Since(t0) > time.Minute {
				b.Fatalf("no %s in a minute", what)
			}
			time.Sleep(time.Millisecond)
		}
		return time.Since(t0)
	}
	var takeover, handback time.Duration
	time.Sleep(time.Second) // P listens to the presences before it takes anything
	b.ResetTimer()
	for range b.N {
		cutA.kill()
		takeover += poll("takeover", func() bool { return p.Stats().Held == 1 })
		b.StopTimer()
		a.Close() // the dead server's goroutines; its connection is gone
		b.StartTimer()
		t0 := time.Now()
		a, cutA = start(cfgA) // the server started again
		poll("handback", func() bool { return p.Stats().Held == 0 })
		handback += time.Since(t0)
	}
	b.ReportMetric(float64(takeover.Microseconds())/1000/float64(b.N), "takeover-ms")
	b.ReportMetric(float64(handback.Microseconds())/1000/float64(b.N), "handback-ms")
}
