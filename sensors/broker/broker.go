// Package broker is Baoshui's embedded MQTT broker: mochi-mqtt configured
// for the monitoring stations. Every client authenticates (anonymous
// connections are refused), every topic is checked against a deny-by-default
// ACL (see Allowed), and the limits are set so that a burst of QoS 1
// readings is delivered to the server's persistent session without loss
// (see Start).
//
// In the server the broker hands the devices' readings straight to the
// ingest (Config.Intake), which acknowledges each publish only once it is
// stored; without an Intake the ingest (package ingest) subscribes to it
// over MQTT like to any other broker. The package imports mochi-mqtt and
// the sensors root, and not the ingest.
package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// DefaultAddr is the address the broker listens on when Config.Addr is
// empty: the standard MQTT port, on the loopback interface only.
const DefaultAddr = "127.0.0.1:1883"

// DefaultMaxPending is the default, and the largest allowed value, of
// Config.MaxPending.
const DefaultMaxPending = 8192

// The limits Start sets on mochi-mqtt, and why. With mochi's defaults a
// burst of 100,000 QoS 1 messages from one publisher to one connected
// subscriber loses a fifth to a quarter of them (18–26% in the runs of
// TestBurstMochiDefaultsDrop on this machine; DESIGN §4 measured 25–41%),
// silently: they are only counted in $SYS/broker/messages/dropped and
// inflight_dropped. The publisher is acknowledged on receipt and writes far
// faster than the subscriber acknowledges, and an MQTT 3.1.1 client
// (paho.mqtt.golang speaks nothing newer) sends no Receive Maximum, so mochi
// applies no flow control to it. Two per-session limits then drop
// messages:
//
//   - Capabilities.MaximumInflight (default 8,192): every QoS 1 message
//     stays in the session's inflight store until the subscriber's PUBACK,
//     and a message that finds the store full is dropped ("client store
//     quota reached"). Every message lost in those runs was lost here
//     (InflightDropped).
//   - Capabilities.MaximumClientWritesPending (default 8,192): the
//     subscriber's outbound queue; a message that finds it full is dropped
//     (ErrPendingClientWritesExceeded, MessagesDropped). It did not
//     overflow in those runs, but it is the next limit a subscriber with a
//     slow socket meets once the first is raised.
//
// The client write buffer (ClientNetWriteBufferSize) made no difference to
// the loss and is left at mochi's default.
//
// Raising the limits alone only moves the cliff: a session can never hold
// more than 65,535 unacknowledged messages (packet identifiers are 16-bit),
// and a store slower than the devices fills any limit in time. So the
// broker also throttles the publishers (Config.MaxPending): while a
// connected server session holds MaxPending or more unacknowledged
// messages, it stops reading from publishing devices (their PUBLISH waits
// in the OnPublish hook, unacknowledged), so the TCP window and the
// devices' own QoS 1 retry hold the burst instead of the broker dropping
// it. This makes the guarantee independent of the size of the burst and of
// the speed of the store behind the ingest (which acknowledges only stored
// readings). One slow server session slows every device, which is the
// point. The check is not atomic, so a session may overshoot MaxPending by
// about one message per publishing device.
//
// Hence:
//
//   - maxInflight: 65,535, the most a session can hold. It protects a
//     server session while it is disconnected (the throttle applies to
//     connected sessions only, or a session left behind would stop every
//     device forever): up to 65,535 readings wait for the ingest to come
//     back; beyond that they are dropped and counted.
//   - maxClientWritesPending: twice DefaultMaxPending, so that the outbound
//     queue of a throttled session cannot fill (every QoS 1 message in the
//     queue is also in flight). The queue is allocated per client, 8 bytes
//     a slot: 128 KiB each, 13 MiB for 100 stations.
//   - maxSessionExpiry: 30 days, the longest the session of a client that
//     left without a clean session is kept (mochi keeps it 136 years, a
//     leak for devices that connect with changing client ids).
//   - Messages expire only when their publisher asks (an MQTT 5 message
//     expiry interval): MaximumMessageExpiryInterval is 0, where mochi's
//     default of one day would silently discard the readings queued for an
//     ingest that is down longer, and the retained alerts of a long
//     exceedance.
const (
	maxInflight            = 65535
	maxClientWritesPending = 2 * DefaultMaxPending
	maxSessionExpiry       = 30 * 24 * 60 * 60 // seconds
)

// Config configures a Broker.
type Config struct {
	// Addr is the TCP address to listen on; DefaultAddr when empty. Port 0
	// picks a free port (see Broker.Addr). Where the port is taken, as on a
	// machine that runs Mosquitto on 1883, Start fails saying so: listen
	// elsewhere, or use that broker instead of this one.
	Addr string
	// Auth checks every connection; required.
	Auth Authenticator
	// MaxPending is the number of unacknowledged QoS 1 and 2 messages a
	// connected server session may hold before the broker holds back the
	// devices' publishes (see Start): 1 to DefaultMaxPending, and
	// DefaultMaxPending when 0. Negative turns the throttle off, and with
	// it the guarantee: a burst the server cannot take is then dropped.
	MaxPending int
	// Logger receives mochi's log and the broker's; slog.Default() when nil.
	// mochi logs every connection refused and every dropped connection at
	// WARN.
	Logger *slog.Logger
	// Intake, when set, takes the devices' readings in place of a server
	// subscription (see Intake): the broker then acknowledges a device's
	// publish only once the intake has stored it.
	Intake Intake

	// tune, when set, adjusts mochi's options after Start has set them;
	// tests use it to measure mochi's defaults.
	tune func(*mqtt.Options)
}

// Intake takes the readings devices publish to the embedded broker, so that
// a publish is acknowledged to the device only after the server has stored
// it. Without it the broker acknowledges a QoS 1 publish on receipt and
// keeps the message in memory until the server's session takes it, and a
// crash in between loses it (DESIGN §4). With it, a device's PUBACK is sent
// once what it published is stored, or quarantined; a crash before that
// leaves the message with the device, whose session sends it again.
type Intake interface {
	// Submit hands over one message a device published on its own
	// readings topic (the ACL has checked the topic). It may block while
	// the intake is full, which holds back that device's connection only.
	// It calls ack exactly once, from any goroutine, when the message is
	// stored (or quarantined), and returns true; or it returns false
	// without calling ack when it takes nothing more (it is closing), and
	// the broker then drops the device's connection so that the device
	// sends the message again later. dup is the publish's DUP flag.
	Submit(topic string, payload []byte, dup bool, ack func()) bool
}

// Broker is a running embedded MQTT broker.
type Broker struct {
	srv        *mqtt.Server
	ln         *tcpListener
	auth       Authenticator
	log        *slog.Logger
	maxPending int
	intake     Intake

	mu       sync.RWMutex
	roles    map[*mqtt.Client]Role
	replaced map[*mqtt.Client]*mqtt.Client // new client → the session it takes over
	servers  atomic.Pointer[[]*mqtt.Client]

	closed    atomic.Bool
	closeOnce sync.Once

	authRefused atomic.Int64
	aclDenied   atomic.Int64
	throttled   atomic.Int64
	taken       atomic.Int64
	takenAcked  atomic.Int64
}

// Start starts a broker listening on cfg.Addr and returns once it accepts
// connections. The broker runs until Close; ctx only bounds the start.
//
// Start configures mochi so that QoS 1 messages to the server's session are
// not dropped (see the comment on maxInflight for the measurements and the
// reasons): Capabilities.MaximumInflight 65,535 and
// MaximumClientWritesPending 16,384 instead of 8,192 each, no forced message
// expiry, sessions kept 30 days, and the MaxPending throttle, which holds
// the devices back while the server's session is full. Stats counts what
// was dropped anyway; in operation both drop counters must stay 0.
func Start(ctx context.Context, cfg Config) (*Broker, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("broker.Start: %w", err)
	}
	if cfg.Auth == nil {
		return nil, errors.New("broker.Start: Config.Auth is required")
	}
	if cfg.MaxPending > DefaultMaxPending {
		return nil, fmt.Errorf("broker.Start: MaxPending %d: must be at most %d", cfg.MaxPending, DefaultMaxPending)
	}
	addr := cfg.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	maxPending := cfg.MaxPending
	if maxPending == 0 {
		maxPending = DefaultMaxPending
	}

	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumInflight = maxInflight
	caps.MaximumClientWritesPending = maxClientWritesPending
	caps.MaximumMessageExpiryInterval = 0
	caps.MaximumSessionExpiryInterval = maxSessionExpiry
	opts := &mqtt.Options{
		Capabilities: caps,
		Logger:       log,
		InlineClient: true,
	}
	if cfg.tune != nil {
		cfg.tune(opts)
	}
	b := &Broker{
		srv:        mqtt.New(opts),
		auth:       cfg.Auth,
		log:        log,
		maxPending: maxPending,
		intake:     cfg.Intake,
		roles:      make(map[*mqtt.Client]Role),
		replaced:   make(map[*mqtt.Client]*mqtt.Client),
	}
	b.servers.Store(new([]*mqtt.Client))
	if err := b.srv.AddHook(&hook{b: b}, nil); err != nil {
		return nil, fmt.Errorf("broker.Start: %w", err)
	}
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("broker.Start: listen on %s: the port is taken, perhaps by another MQTT broker such as Mosquitto: "+
				"give the embedded broker another address, or connect the server to that broker instead: %w", addr, err)
		}
		return nil, fmt.Errorf("broker.Start: listen on %s: %w", addr, err)
	}
	b.ln = &tcpListener{id: "tcp", ln: ln}
	if err := b.srv.AddListener(b.ln); err != nil {
		ln.Close()
		return nil, fmt.Errorf("broker.Start: %w", err)
	}
	if err := b.srv.Serve(); err != nil {
		b.srv.Close()
		return nil, fmt.Errorf("broker.Start: %w", err)
	}
	return b, nil
}

// Addr returns the address the broker listens on, with the port it bound
// (useful with port 0).
func (b *Broker) Addr() string { return b.ln.Address() }

// URL returns the broker's address as a client URL, "tcp://host:port".
func (b *Broker) URL() string { return "tcp://" + b.Addr() }

// Close stops listening and disconnects every client. The sessions, and the
// messages queued for them, are lost: they live in memory only. Close may
// be called more than once.
func (b *Broker) Close() error {
	var err error
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		if cerr := b.srv.Close(); cerr != nil {
			err = fmt.Errorf("broker.Close: %w", cerr)
		}
	})
	return err
}

// Publish publishes payload on topic at QoS 1 from inside the process (the
// server's alerts), retained if retain is true. The topic must be one the
// server role may publish to (see Allowed).
func (b *Broker) Publish(topic string, payload []byte, retain bool) error {
	if !Allowed(ServerRole(), topic, true) {
		return fmt.Errorf("broker.Publish: %q: not a topic the server may publish to", topic)
	}
	if b.closed.Load() {
		return fmt.Errorf("broker.Publish: %q: broker closed", topic)
	}
	if err := b.srv.Publish(topic, payload, retain, 1); err != nil {
		return fmt.Errorf("broker.Publish: %q: %w", topic, err)
	}
	return nil
}

// Stats are counters of a broker since it started.
type Stats struct {
	// ClientsConnected is the number of clients connected now.
	ClientsConnected int64
	// MessagesReceived and MessagesSent count PUBLISH packets in and out.
	MessagesReceived, MessagesSent int64
	// MessagesDropped counts messages not delivered because a client's
	// outbound queue was full; InflightDropped those not delivered because
	// a session held the most unacknowledged messages it may, or ran out of
	// packet identifiers. Both must stay 0: anything else is lost readings.
	MessagesDropped, InflightDropped int64
	// Inflight is the number of unacknowledged QoS 1 and 2 messages held
	// now, in every session.
	Inflight int64
	// AuthRefused counts refused connections; ACLDenied refused publishes,
	// subscriptions and deliveries.
	AuthRefused, ACLDenied int64
	// Throttled counts device publishes held back by the MaxPending
	// throttle.
	Throttled int64
	// Taken counts the device publishes handed to the Intake, and
	// TakenAcked those of them acknowledged to the device after the
	// intake stored them.
	Taken, TakenAcked int64
}

// Stats returns the broker's counters.
func (b *Broker) Stats() Stats {
	in := b.srv.Info.Clone()
	return Stats{
		ClientsConnected: in.ClientsConnected,
		MessagesReceived: in.MessagesReceived,
		MessagesSent:     in.MessagesSent,
		MessagesDropped:  in.MessagesDropped,
		InflightDropped:  in.InflightDropped,
		Inflight:         in.Inflight,
		AuthRefused:      b.authRefused.Load(),
		ACLDenied:        b.aclDenied.Load(),
		Throttled:        b.throttled.Load(),
		Taken:            b.taken.Load(),
		TakenAcked:       b.takenAcked.Load(),
	}
}

// role returns the role cl authenticated with.
func (b *Broker) role(cl *mqtt.Client) (Role, bool) {
	b.mu.RLock()
	r, ok := b.roles[cl]
	b.mu.RUnlock()
	return r, ok
}

// setRoleLocked records (or, with ok false, forgets) the role of cl and
// rebuilds the list of server clients. b.mu must be held.
func (b *Broker) setRoleLocked(cl *mqtt.Client, r Role, ok bool) {
	if ok {
		b.roles[cl] = r
	} else {
		delete(b.roles, cl)
	}
	var servers []*mqtt.Client
	for c, r := range b.roles {
		if r.Kind == KindServer {
			servers = append(servers, c)
		}
	}
	b.servers.Store(&servers)
}

// throttle holds back a publish from pub while a connected server session
// holds b.maxPending or more unacknowledged messages. It returns when none
// does, when pub or the broker closes.
func (b *Broker) throttle(pub *mqtt.Client) {
	if b.maxPending <= 0 {
		return
	}
	counted := false
	for wait := 100 * time.Microsecond; ; {
		busy := false
		for _, s := range *b.servers.Load() {
			if !s.Closed() && s.State.Inflight.Len() >= b.maxPending {
				busy = true
				break
			}
		}
		if !busy || pub.Closed() || b.closed.Load() {
			return
		}
		if !counted {
			counted = true
			b.throttled.Add(1)
		}
		time.Sleep(wait)
		wait = min(2*wait, 5*time.Millisecond)
	}
}

// hook is the broker's mochi hook: authentication, ACL and the throttle.
type hook struct {
	mqtt.HookBase
	b *Broker
}

func (h *hook) ID() string { return "baoshui" }

func (h *hook) Provides(b byte) bool {
	switch b {
	case mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnSessionEstablish, mqtt.OnSessionEstablished,
		mqtt.OnDisconnect, mqtt.OnClientExpired, mqtt.OnPublish:
		return true
	}
	return false
}

// OnConnectAuthenticate refuses anonymous clients, wrong credentials, a
// will on a topic the role may not publish to (mochi publishes wills
// without an ACL check), and a client id whose session belongs to another
// user (which would take that session over).
func (h *hook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	b := h.b
	username := string(pk.Connect.Username)
	refuse := func(why string) bool {
		b.authRefused.Add(1)
		b.log.Info("mqtt connection refused", "reason", why, "username", username, "client", cl.ID, "remote", cl.Net.Remote)
		return false
	}
	if username == "" {
		return refuse("anonymous")
	}
	password := ""
	if pk.Connect.PasswordFlag {
		password = string(pk.Connect.Password)
	}
	role, ok := b.auth.Authenticate(username, password)
	if !ok {
		return refuse("bad username or password")
	}
	if !role.valid() {
		return refuse("authenticator returned an invalid role " + role.String())
	}
	if pk.Connect.WillFlag && !Allowed(role, pk.Connect.WillTopic, true) {
		return refuse("will on a topic the user may not publish to: " + pk.Connect.WillTopic)
	}
	if old, ok := b.srv.Clients.Get(cl.ID); ok && string(old.Properties.Username) != username {
		return refuse("client id in use by another user")
	}
	b.mu.Lock()
	b.setRoleLocked(cl, role, true)
	b.mu.Unlock()
	return true
}

// OnACLCheck applies Allowed to the client's role; a client without one
// (never authenticated here) is denied.
func (h *hook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	role, ok := h.b.role(cl)
	if ok && Allowed(role, topic, write) {
		return true
	}
	h.b.aclDenied.Add(1)
	h.b.log.Debug("mqtt acl denied", "client", cl.ID, "role", role.String(), "topic", topic, "write", write)
	return false
}

// OnSessionEstablish notes the session cl is about to take over, if any,
// so that OnSessionEstablished can forget its role once cl has replaced it
// (until then messages may still be routed to it and must pass the ACL).
func (h *hook) OnSessionEstablish(cl *mqtt.Client, _ packets.Packet) {
	if old, ok := h.b.srv.Clients.Get(cl.ID); ok && old != cl {
		h.b.mu.Lock()
		h.b.replaced[cl] = old
		h.b.mu.Unlock()
	}
}

func (h *hook) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	b := h.b
	b.mu.Lock()
	if old, ok := b.replaced[cl]; ok {
		delete(b.replaced, cl)
		b.setRoleLocked(old, Role{}, false)
	}
	b.mu.Unlock()
}

// OnDisconnect forgets the role of a client whose session ends with the
// connection; a persistent session keeps its role, so that messages can
// still be queued for it.
func (h *hook) OnDisconnect(cl *mqtt.Client, _ error, expire bool) {
	b := h.b
	b.mu.Lock()
	delete(b.replaced, cl)
	if expire {
		b.setRoleLocked(cl, Role{}, false)
	}
	b.mu.Unlock()
}

func (h *hook) OnClientExpired(cl *mqtt.Client) {
	h.b.mu.Lock()
	delete(h.b.replaced, cl)
	h.b.setRoleLocked(cl, Role{}, false)
	h.b.mu.Unlock()
}

// OnPublish hands a device's publish to the Intake, when there is one, or
// else applies the MaxPending throttle to it. It runs on the publishing
// client's read goroutine, so waiting here stops reading from that client
// only.
func (h *hook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	role, ok := h.b.role(cl)
	if !ok || role.Kind != KindDevice {
		return pk, nil
	}
	if h.b.intake == nil {
		h.b.throttle(cl)
		return pk, nil
	}
	return pk, h.b.take(cl, pk)
}

// take hands pk, a device's publish, to the intake and answers
// packets.ErrRejectPacket, so that mochi neither acknowledges it nor routes
// it: the PUBACK goes out when the intake calls back. QoS 2 is refused
// (the exchange it needs is mochi's to run): the device is disconnected and
// its log says why.
func (b *Broker) take(cl *mqtt.Client, pk packets.Packet) error {
	if pk.FixedHeader.Qos > 1 {
		b.log.Warn("mqtt publish at QoS 2 refused: publish readings at QoS 1", "client", cl.ID, "topic", pk.TopicName)
		cl.Stop(errors.New("QoS 2 publishes are not supported; use QoS 1"))
		return packets.ErrRejectPacket
	}
	ack := func() {}
	if pk.FixedHeader.Qos == 1 {
		id := pk.PacketID
		ack = func() {
			b.takenAcked.Add(1)
			if err := cl.WritePacket(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: id}); err != nil {
				// The connection is gone: the device's session sends the
				// message again, and the intake de-duplicates it.
				b.log.Debug("mqtt puback not delivered", "client", cl.ID, "packet", id, "error", err)
			}
		}
	}
	b.taken.Add(1)
	if !b.intake.Submit(pk.TopicName, pk.Payload, pk.FixedHeader.Dup, ack) {
		cl.Stop(errors.New("the server is shutting down"))
	}
	return packets.ErrRejectPacket
}
