package ingest_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/baoshui/baoshui/sensors"
	"github.com/baoshui/baoshui/sensors/ingest"
)

// privateMosquitto starts a Mosquitto of the test's own, anonymous, that
// sends a session up to inflight unacknowledged messages, and returns its
// URL. It skips where Mosquitto is not installed, unless
// BAOSHUI_TEST_REQUIRE_MQTT=1.
func privateMosquitto(t *testing.T, inflight int) string {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		skipOrFail(t, "mosquitto not installed: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\nmax_inflight_messages %d\nmax_queued_messages 1000000\nmax_queued_bytes 0\n",
		port, inflight)
	if os.Geteuid() == 0 {
		conf += "user root\n" // or it drops to the user mosquitto
	}
	path := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitFor(t, "the private Mosquitto", 10*time.Second, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return "tcp://" + addr
}

// TestFloodWaitsWithoutAGoroutineEach delivers 3,000 messages, within the
// broker's inflight window, to an ingest whose store is down and whose
// queue holds 10 (its batches take 1,000 more). The messages past those
// wait on the ingest's list,
// not in a blocked handler goroutine each; once the store is back, every
// reading is stored and every message acknowledged.
func TestFloodWaitsWithoutAGoroutineEach(t *testing.T) {
	u := privateMosquitto(t, 5000)
	st := testStation()
	sink := ingest.NewMemorySink()
	sink.SetFailure(errors.New("the store is down"))
	in := startIngest(t, ingest.Config{BrokerURL: u, QueueSize: 10, RetryMin: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		Stations: map[string]sensors.Station{st.ID: st}}, sink)
	before := runtime.NumGoroutine()
	const n = 3000
	b := base()
	msgs := make([]string, n)
	for i := range msgs {
		msgs[i] = reading(b, i, 7, 0.02)
	}
	mosquittoPub(t, u, "", "", ingest.ReadingsTopic(st.ID), msgs...)
	waitFor(t, "the messages delivered", 30*time.Second, func() bool {
		s := in.Stats()
		return s.Received+uint64(s.Waiting) == n
	})
	if w := in.Stats().Waiting; w < n/2 {
		t.Fatalf("only %d messages on the waiting list; the test shows little", w)
	}
	// Measured while they wait: a blocked handler each would add ~3,000.
	if g := runtime.NumGoroutine(); g > before+300 {
		t.Errorf("%d goroutines with %d messages waiting, %d before the flood", g, in.Stats().Waiting, before)
	}
	sink.SetFailure(nil)
	waitFor(t, "every reading stored", 60*time.Second, func() bool { return sink.Len() == n })
	waitFor(t, "every message acknowledged", 30*time.Second, func() bool { return in.Stats().Acked == n })
	if s := in.Stats(); s.Waiting != 0 || s.Queued != 0 {
		t.Errorf("after the flood: %d waiting, %d queued", s.Waiting, s.Queued)
	}
	rs := sink.Readings()
	for i, r := range rs {
		if want := b.Add(time.Duration(i) * time.Second); !r.Sample.Time.Equal(want) {
			t.Fatalf("reading %d at %v, want %v", i, r.Sample.Time, want)
		}
	}
}
