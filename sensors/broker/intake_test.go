package broker

import (
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// heldIntake keeps what it is given and acknowledges only on demand; with
// closed set it takes nothing.
type heldIntake struct {
	mu     sync.Mutex
	topics []string
	acks   []func()
	closed bool
}

func (h *heldIntake) Submit(topic string, _ []byte, _ bool, ack func()) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.topics = append(h.topics, topic)
	h.acks = append(h.acks, ack)
	return true
}

func (h *heldIntake) len() int { h.mu.Lock(); defer h.mu.Unlock(); return len(h.acks) }

// TestIntakeAcksOnlyWhenStored checks that a device's QoS 1 publish is
// acknowledged when the intake calls back, not on receipt; that the message
// is not routed to subscribers; and that an intake that takes nothing more
// gets the device disconnected, so that it sends the message again.
func TestIntakeAcksOnlyWhenStored(t *testing.T) {
	in := &heldIntake{}
	b := startBroker(t, Config{Intake: in})
	server := connect(t, clientOpts(b, "server", "ingest", "secret-server"))
	routed := make(chan struct{}, 1)
	if q := subscribe(t, server, ReadingsFilter, func(_ paho.Client, _ paho.Message) { routed <- struct{}{} }); q != 1 {
		t.Fatalf("server subscription granted %d", q)
	}
	dev := connect(t, clientOpts(b, "dev-a", "dev-a", "secret-a"))
	tok := dev.Publish(ReadingsTopic("st-a"), 1, false, []byte(`{"ts":"2024-01-01T00:00:00Z","ph":7}`))
	waitFor(t, "the intake to receive the publish", 5*time.Second, func() bool { return in.len() == 1 })
	if tok.WaitTimeout(300 * time.Millisecond) {
		t.Fatal("the publish was acknowledged before the intake stored it")
	}
	in.mu.Lock()
	ack, topic := in.acks[0], in.topics[0]
	in.mu.Unlock()
	if topic != ReadingsTopic("st-a") {
		t.Fatalf("intake got topic %q", topic)
	}
	ack()
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("no PUBACK after the intake's ack: %v", tok.Error())
	}
	select {
	case <-routed:
		t.Fatal("a publish taken by the intake was also routed to the server's subscription")
	case <-time.After(200 * time.Millisecond):
	}
	if st := b.Stats(); st.Taken != 1 || st.TakenAcked != 1 {
		t.Fatalf("stats %+v, want 1 taken and acknowledged", st)
	}

	in.mu.Lock()
	in.closed = true
	in.mu.Unlock()
	dev.Publish(ReadingsTopic("st-a"), 1, false, []byte(`{}`))
	waitFor(t, "the device to be disconnected", 5*time.Second, func() bool { return !dev.IsConnectionOpen() })
}
