package ingest

import (
	"encoding/json"
	"errors"
	"hash/fnv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// The takeover of a silent peer's share (Config.Takeover).
//
// A broker that hands the messages of a shared subscription to its members
// in turn may go on handing a member its turn while the member is away:
// Mosquitto 2.0 queues it in the member's persistent session until the
// member comes back. A server that dies would thus hold back its share of
// every station's readings until it is restarted. Each server therefore
// announces itself with a retained message on PresenceTopic ("online" once
// connected, "offline" as its will and when it closes), and every server
// follows the presences of its peers, the servers subscribed to the same
// Topic. Each peer that is offline is taken over by exactly one of the
// servers online, chosen by rendezvous hashing so that all choose alike
// without talking: it connects under the peer's client id, with the
// peer's persistent session (clean session off), and takes the messages
// queued there, and the peer's turns from then on, through its own queue
// and sink, acknowledging each once stored as it does its own. It does not
// reconnect that connection by itself. When the peer comes back, its
// connection under its own id makes the broker close the taker's; the
// taker lets go for good once the peer's presence says "online", and what
// the taker received but had not acknowledged is sent again to the peer.
// Nothing is lost on the way, and a message received by both is stored
// once: readings are written by their id.

// PresenceTopic returns the topic on which the server with client id
// client announces itself (retained): "baoshui/v1/servers/{client}/presence".
func PresenceTopic(client string) string { return presencePrefix + client + "/presence" }

const (
	presencePrefix = "baoshui/v1/servers/"
	presenceFilter = presencePrefix + "+/presence"
	// takeoverEvery is how often a server looks again at its peers, over
	// and above each presence it receives.
	takeoverEvery = 2 * time.Second
	// takeoverSettle is how long a server that starts listens to the
	// presences before it takes anything.
	takeoverSettle = 500 * time.Millisecond
	// takeoverBackoffMin and takeoverBackoffMax bound the wait before a
	// server takes a peer's session again after it lost it (the peer came
	// back before its presence said so, or the connection dropped); the
	// wait doubles with each loss until the peer's presence changes.
	takeoverBackoffMin = 2 * time.Second
	takeoverBackoffMax = time.Minute
)

// presence is the payload of a PresenceTopic message.
type presence struct {
	// Client is the server's client id, as in the topic.
	Client string `json:"client"`
	// Topic is the filter the server subscribes to: servers take over
	// only peers of the same filter (the same share group).
	Topic string `json:"topic"`
	// State is "online" or "offline".
	State string `json:"state"`
}

const (
	stateOnline  = "online"
	stateOffline = "offline"
)

// presencePayload returns the presence of the server configured by cfg in
// state.
func presencePayload(cfg Config, state string) []byte {
	b, _ := json.Marshal(presence{Client: cfg.ClientID, Topic: cfg.Topic, State: state})
	return b
}

// parsePresence reads a message of PresenceTopic: the client id of the
// topic, and its presence; ok is false for a topic or payload that is not
// one (the message is then ignored). An empty payload is the removal of
// the retained presence: ok, with an empty State.
func parsePresence(topic string, payload []byte) (client string, p presence, ok bool) {
	rest, found := strings.CutPrefix(topic, presencePrefix)
	if !found {
		return "", p, false
	}
	client, found = strings.CutSuffix(rest, "/presence")
	if !found || client == "" || strings.Contains(client, "/") {
		return "", p, false
	}
	if len(payload) == 0 {
		return client, presence{Client: client}, true
	}
	if len(payload) > 4096 || json.Unmarshal(payload, &p) != nil || p.Client != client ||
		(p.State != stateOnline && p.State != stateOffline) {
		return "", presence{}, false
	}
	return client, p, true
}

// assign returns the peers whose sessions self should hold: of the peers
// (client id → online), each one offline goes to the server, among self
// and the peers online, with the highest rendezvous hash of the pair. Every
// server that sees the same presences computes the same assignment.
func assign(self string, peers map[string]bool) map[string]bool {
	live := []string{self}
	for id, online := range peers {
		if online && id != self {
			live = append(live, id)
		}
	}
	out := map[string]bool{}
	for id, online := range peers {
		if online || id == self {
			continue
		}
		best, bestScore := "", uint64(0)
		for _, l := range live {
			if s := rendezvous(id, l); best == "" || s > bestScore || (s == bestScore && l < best) {
				best, bestScore = l, s
			}
		}
		if best == self {
			out[id] = true
		}
	}
	return out
}

// rendezvous is the score of server for the session of peer.
func rendezvous(peer, server string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(peer))
	h.Write([]byte{0})
	h.Write([]byte(server))
	// fnv's last bytes barely move its high bits; mix them (splitmix64).
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// takeover follows the peers' presences and holds the sessions assigned
// to this server. Only its loop touches held, backoff and empty.
type takeover struct {
	in   *Ingest
	wake chan struct{}
	stop chan struct{}
	done chan struct{}

	mu    sync.Mutex
	peers map[string]bool // client id → online, of the peers of cfg.Topic

	held    map[string]*heldSession
	backoff map[string]*pause
	// empty are the peers found without a session on the broker: nothing
	// to take until their presence changes.
	empty map[string]bool

	nHeld     atomic.Int64
	takeovers atomic.Uint64
}

// heldSession is a peer's session held by this server.
type heldSession struct {
	client paho.Client
	lost   chan struct{} // closed when the connection drops
}

// pause is the backoff of one peer: no new attempt before until.
type pause struct {
	wait  time.Duration
	until time.Time
}

func newTakeover(in *Ingest) *takeover {
	return &takeover{in: in, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		peers: map[string]bool{}, held: map[string]*heldSession{}, backoff: map[string]*pause{}, empty: map[string]bool{}}
}

// poke makes the loop look at the peers now.
func (tk *takeover) poke() {
	select {
	case tk.wake <- struct{}{}:
	default:
	}
}

// onPresence is the handler of the presences.
func (tk *takeover) onPresence(_ paho.Client, m paho.Message) {
	defer m.Ack()
	cfg := tk.in.cfg
	id, p, ok := parsePresence(m.Topic(), m.Payload())
	if !ok {
		tk.in.log.Warn("ingest: presence message ignored: not one", "topic", m.Topic(), "bytes", len(m.Payload()))
		return
	}
	if id == cfg.ClientID {
		// Our own will, sent by the broker for a connection of ours that
		// it found dead after we had connected again: say we are here, or
		// the peers take our session from under us.
		select {
		case <-tk.in.closing:
			return // our own "offline" of Close
		default:
		}
		if p.State == stateOffline && p.Topic == cfg.Topic && tk.in.client.IsConnectionOpen() {
			tk.in.client.Publish(PresenceTopic(id), QoS, true, presencePayload(cfg, stateOnline))
		}
		return
	}
	tk.mu.Lock()
	old, known := tk.peers[id]
	switch {
	case p.State == "" || p.Topic != cfg.Topic:
		delete(tk.peers, id)
	default:
		tk.peers[id] = p.State == stateOnline
	}
	now, still := tk.peers[id]
	tk.mu.Unlock()
	if known != still || old != now {
		tk.in.log.Info("ingest: peer presence", "peer", id, "state", p.State)
	}
	tk.poke()
}

// loop looks at the peers every takeoverEvery and whenever poked, until
// stop is closed.
func (tk *takeover) loop() {
	defer close(tk.done)
	// The retained presences arrive one by one after the subscription: a
	// server that judged before it knew every peer online would take
	// sessions that are another's, and hand them back at once.
	select {
	case <-tk.stop:
		return
	case <-time.After(takeoverSettle):
	}
	t := time.NewTicker(takeoverEvery)
	defer t.Stop()
	for {
		tk.reconcile(time.Now())
		select {
		case <-tk.stop:
			return
		case <-tk.wake:
		case <-t.C:
		}
	}
}

// reconcile lets go of the sessions no longer assigned to this server, and
// takes those newly assigned.
func (tk *takeover) reconcile(now time.Time) {
	tk.mu.Lock()
	peers := make(map[string]bool, len(tk.peers))
	for id, online := range tk.peers {
		peers[id] = online
		if online {
			// Back, or gone from the list: a later silence starts afresh.
			delete(tk.backoff, id)
			delete(tk.empty, id)
		}
	}
	tk.mu.Unlock()
	want := assign(tk.in.cfg.ClientID, peers)
	for id, h := range tk.held {
		select {
		case <-h.lost:
			delete(tk.held, id)
			if peers[id] {
				// The peer is back: the broker closed ours for its own.
				tk.in.log.Info("ingest: a silent peer is back and has its session again", "peer", id)
				continue
			}
			tk.in.log.Info("ingest: lost the session of a silent peer (it is back but has not said so yet, or the connection dropped)",
				"peer", id, "retry_in", tk.backOff(id, now))
			continue
		default:
		}
		if !want[id] {
			h.client.Disconnect(250)
			delete(tk.held, id)
			tk.in.log.Info("ingest: let go of the session of a peer", "peer", id, "online", peers[id])
		}
	}
	if tk.in.client.IsConnectionOpen() {
		for id := range want {
			if tk.held[id] != nil || tk.empty[id] {
				continue
			}
			if p := tk.backoff[id]; p != nil && now.Before(p.until) {
				continue
			}
			tk.take(id)
		}
	}
	tk.nHeld.Store(int64(len(tk.held)))
}

// take connects under the client id of peer with its persistent session.
func (tk *takeover) take(peer string) {
	cfg := tk.in.cfg
	h := &heldSession{lost: make(chan struct{})}
	var lostOnce sync.Once
	opts := tk.in.sessionOptions(peer).
		SetAutoReconnect(false).
		SetConnectionLostHandler(func(paho.Client, error) {
			lostOnce.Do(func() { close(h.lost) })
			tk.poke()
		})
	c := paho.NewClient(opts)
	h.client = c
	tok := c.Connect()
	failed := func(err error) {
		c.Disconnect(0)
		tk.in.log.Warn("ingest: could not take over the session of a silent peer", "peer", peer,
			"retry_in", tk.backOff(peer, time.Now()), "error", err)
	}
	if !tok.WaitTimeout(cfg.ConnectTimeout) {
		failed(errNoAnswer)
		return
	}
	if err := tok.Error(); err != nil {
		failed(err)
		return
	}
	if !tok.(*paho.ConnectToken).SessionPresent() {
		// The broker holds nothing for the peer (a session removed, a
		// broker that lost its state): no share waits there. Drop its
		// retained presence, so that no server tries again, and leave
		// the empty session our connection made; it has no subscription.
		c.Disconnect(250)
		tk.empty[peer] = true
		tk.in.client.Publish(PresenceTopic(peer), QoS, true, []byte{})
		tk.in.log.Info("ingest: a silent peer has no session on the broker; its presence is removed", "peer", peer)
		return
	}
	tk.held[peer] = h
	tk.takeovers.Add(1)
	tk.in.log.Warn("ingest: took over the session of a silent peer", "peer", peer)
}

// backOff doubles the wait before peer's session is taken again, from
// takeoverBackoffMin up to takeoverBackoffMax, and returns it.
func (tk *takeover) backOff(peer string, now time.Time) time.Duration {
	p := tk.backoff[peer]
	if p == nil {
		p = &pause{wait: takeoverBackoffMin / 2}
		tk.backoff[peer] = p
	}
	p.wait = min(2*p.wait, takeoverBackoffMax)
	p.until = now.Add(p.wait)
	return p.wait
}

// releaseAll lets go of every session held; the loop must have stopped.
func (tk *takeover) releaseAll() {
	for id, h := range tk.held {
		h.client.Disconnect(250)
		delete(tk.held, id)
	}
	tk.nHeld.Store(0)
}

var errNoAnswer = errors.New("no answer from the broker")
