// Package ingest subscribes to the stations' readings over MQTT (paho), turns
// each message into classified readings (package sensors) and hands them to
// a Sink in batches, acknowledging a message to the broker only once what it
// carries is stored. Messages that cannot be read or break a rule are
// quarantined, counted and logged, and never stop the flow.
//
// The guarantee is at-least-once delivery into the sink, with no loss: the
// session is persistent (a fixed client id, clean session off), the broker
// keeps every message that is not acknowledged and sends it again after a
// reconnection, and the sink de-duplicates by (station, time). Nothing is
// ever dropped in this package: when the sink is slow or down, messages wait
// unacknowledged and the broker's inflight window throttles the flow (see
// Ingest).
//
// Several servers may share the readings through a shared subscription;
// with Config.Takeover, the servers online take over the session of one
// that went silent, so that its share is not held back until it returns
// (takeover.go).
//
// With the embedded broker there is no subscription: StartLocal runs the
// same queue and batcher, the broker hands each device's publish to Submit
// and sends the PUBACK when the ingest acknowledges it, so the message
// stays with the device until it is stored.
//
// The package imports paho and the sensors root; it does not import the
// embedded broker, and works with any MQTT 3.1.1 broker.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/baoshui/baoshui/sensors"
)

// Reading is one accepted sample of a station, classified.
type Reading struct {
	// Station is the station's id.
	Station string
	// Sample is the sample as received, its time kept to the millisecond.
	Sample sensors.Sample
	// Result is sensors.ClassifySample of Sample at the station.
	Result sensors.Result
	// ReceivedAt is when the ingest received the message (its clock).
	ReceivedAt time.Time
}

// ID returns the reading's store id, ReadingID(r.Station, r.Sample.Time).
func (r Reading) ID() string { return ReadingID(r.Station, r.Sample.Time) }

// ReadingID returns the deterministic id of the reading of station at ts:
// "{station}:{ts}", ts in UTC as 2006-01-02T15:04:05.000Z. A station id has
// no ':' and the time has a fixed width, so the ids of one station sort by
// time and two readings share an id exactly when they share station and
// millisecond.
func ReadingID(station string, ts time.Time) string {
	return station + ":" + ts.UTC().Format("2006-01-02T15:04:05.000Z")
}

// Quarantined is a refused message, kept for inspection.
type Quarantined struct {
	// Topic and Payload are the message as received.
	Topic   string
	Payload []byte
	// Station is the station id of the topic, or "" when the topic has
	// none.
	Station string
	// Reason says why it was refused, Detail says it for a person.
	Reason Reason
	Detail string
	// ReceivedAt is when the ingest received it.
	ReceivedAt time.Time
}

// MaxBatchSize is the most readings the ingest passes to one
// StoreReadings call: one InsertMany of the store (server/store
// MaxInsertBatch). FerretDB's hang on bulk writes of more than 40
// statements (DESIGN §2) is one of statements that match stored documents;
// inserts of 500 documents that all exist already answer at once
// (measured in the store's TestInsertManyOfDuplicatesDoesNotHang).
const MaxBatchSize = 500

// Sink is where the ingest puts what it receives. The ingest makes one call
// at a time, unless the sink is an OrderedSink.
//
// StoreReadings stores rs (1 to MaxBatchSize readings) durably and returns
// nil, or returns an error and the ingest calls it again with the same
// readings later, backing off; the messages are acknowledged to the broker
// only after it returns nil. It must be idempotent per reading: after a
// redelivery by the broker, or a retry after an error that struck part-way,
// it is called with readings it already holds, and must count a reading
// whose (Station, Sample.Time) it holds as stored, not as an error. Writing
// each reading as an insert whose _id is Reading.ID(), and taking a
// duplicate-key error as "already stored", does exactly that (DESIGN §2). A
// batch may hold one reading twice, and readings in any order: order by
// Sample.Time, never by arrival.
//
// Quarantine keeps one refused message; the same rules apply (nil means
// kept, an error means try again, and a redelivered message may come
// again).
//
// ctx is cancelled when the ingest gives up at Close.
type Sink interface {
	StoreReadings(ctx context.Context, rs []Reading) error
	Quarantine(ctx context.Context, q Quarantined) error
}

// OrderedSink is a Sink whose writes may overlap: the ingest then makes up
// to Config.Parallel StoreReadings (and Quarantine) calls at once, each with
// a different batch, and, once a batch is stored, calls Apply with its
// readings, one call at a time, in the order the batches were formed
// (which is the order the messages were received), before it acknowledges
// them. StoreReadings only stores; Apply does what must follow the order of
// the readings (read models, alerts). A batch that failed part-way is given
// to StoreReadings again and to Apply once, when it is stored whole; Apply
// must not count a reading twice that an earlier batch held too (a
// redelivery). Apply may fail, as when it must write too (a log shared
// with other servers): the ingest then calls it again with the same
// readings, backing off as for StoreReadings, and acknowledges nothing of
// the batch before it succeeds; a failed call must have applied nothing.
type OrderedSink interface {
	Sink
	Apply(ctx context.Context, rs []Reading) error
}

// Defaults of Config.
const (
	DefaultQueueSize = 4096
	// DefaultMaxWaiting is how many messages may wait in the ingest's
	// memory, past the queue, before a message's delivery is held up.
	DefaultMaxWaiting = 200_000
	// DefaultParallel is the number of batches written at once to an
	// OrderedSink: two keep the store busy while the ingest prepares and
	// acknowledges the batch before.
	DefaultParallel       = 2
	DefaultFlushInterval  = 10 * time.Millisecond
	DefaultRetryMin       = 100 * time.Millisecond
	DefaultRetryMax       = 10 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultCloseTimeout   = 10 * time.Second
	// QoS is the quality of service of the subscription: at least once.
	QoS = 1
)

// Config configures an Ingest.
type Config struct {
	// BrokerURL is the broker's address, "tcp://host:port" (paho's other
	// schemes, such as ssl:// and ws://, work too). Required.
	BrokerURL string
	// ClientID identifies the persistent session; required, and it must
	// stay the same from one run to the next, or the messages queued for
	// the old session are never delivered.
	ClientID string
	// Username and Password are the server's broker credentials.
	Username, Password string
	// Topic is the filter subscribed to; DefaultTopic when empty. A shared
	// subscription ("$share/{group}/" + DefaultTopic) spreads the readings
	// over several servers.
	Topic string
	// QueueSize is the number of messages that may wait for the store;
	// DefaultQueueSize when 0.
	QueueSize int
	// MaxWaiting is how many more messages delivered by the broker may
	// wait, unparsed and in order, while the queue is full;
	// DefaultMaxWaiting when 0. Past that, a delivery waits for room (see
	// Ingest).
	MaxWaiting int
	// BatchSize is the most readings per StoreReadings call, 1 to
	// MaxBatchSize; MaxBatchSize when 0.
	BatchSize int
	// Parallel is the most batches written at once to an OrderedSink, 1 to
	// 8; DefaultParallel when 0. A plain Sink gets one at a time.
	Parallel int
	// FlushInterval is how long a reading may wait for its batch to fill
	// before the batch is written anyway; DefaultFlushInterval when 0. Keep
	// it short: the broker sends a session only so many unacknowledged
	// messages (its inflight window), and when that window is smaller than
	// BatchSize every batch waits the whole interval. (Mosquitto's
	// max_inflight_messages defaults to 20; raise it well above
	// MaxBatchSize.)
	FlushInterval time.Duration
	// Stations are the registered stations by id; readings of any other
	// station are quarantined. See also Ingest.SetStations.
	Stations map[string]sensors.Station
	// Clock tells the time of reception; time.Now when nil.
	Clock func() time.Time
	// MaxFuture is how far ahead of Clock a reading's time may be;
	// DefaultMaxFuture when 0.
	MaxFuture time.Duration
	// RetryMin and RetryMax bound the backoff between two attempts to
	// write to a failing sink; DefaultRetryMin and DefaultRetryMax when 0.
	RetryMin, RetryMax time.Duration
	// ConnectTimeout bounds the first connection and subscription, in
	// Start; DefaultConnectTimeout when 0.
	ConnectTimeout time.Duration
	// CloseTimeout bounds how long Close waits for the sink to take what
	// was received; DefaultCloseTimeout when 0.
	CloseTimeout time.Duration
	// Logger receives the ingest's log; slog.Default() when nil.
	Logger *slog.Logger
	// Takeover makes the server announce itself on PresenceTopic(ClientID)
	// and take over the persistent session of a peer subscribed to the
	// same Topic while that peer is offline (see takeover.go). Set it with
	// a shared subscription on a broker that queues a member's turns while
	// it is away (Mosquitto 2.0). The server's username must be allowed to
	// publish and subscribe to PresenceTopic of every server.
	Takeover bool

	// openConn, when set, opens the connection of the server's own client
	// (the tests cut it to play a server that dies).
	openConn paho.OpenConnectionFunc
}

// withDefaults checks cfg and fills in its defaults.
func (cfg Config) withDefaults() (Config, error) {
	u, err := url.Parse(cfg.BrokerURL)
	switch {
	case cfg.BrokerURL == "":
		return cfg, errors.New("BrokerURL is required")
	case err != nil || u.Host == "" || u.Scheme == "":
		return cfg, fmt.Errorf("BrokerURL %q: want tcp://host:port", cfg.BrokerURL)
	case cfg.ClientID == "":
		return cfg, errors.New("ClientID is required: a fixed id keeps the persistent session")
	case cfg.Takeover && strings.ContainsAny(cfg.ClientID, "/+#"):
		return cfg, fmt.Errorf("ClientID %q: with Takeover it names a topic level, and may not hold '/', '+' or '#'", cfg.ClientID)
	case cfg.BatchSize < 0 || cfg.BatchSize > MaxBatchSize:
		return cfg, fmt.Errorf("BatchSize %d: must be 1 to %d", cfg.BatchSize, MaxBatchSize)
	case cfg.Parallel < 0 || cfg.Parallel > 8:
		return cfg, fmt.Errorf("Parallel %d: must be 1 to 8", cfg.Parallel)
	case cfg.QueueSize < 0, cfg.MaxWaiting < 0, cfg.FlushInterval < 0, cfg.MaxFuture < 0, cfg.RetryMin < 0, cfg.RetryMax < 0,
		cfg.ConnectTimeout < 0, cfg.CloseTimeout < 0:
		return cfg, errors.New("sizes and durations must not be negative")
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if cfg.Topic == "" {
		cfg.Topic = DefaultTopic
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.MaxWaiting == 0 {
		cfg.MaxWaiting = DefaultMaxWaiting
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = MaxBatchSize
	}
	if cfg.Parallel == 0 {
		cfg.Parallel = DefaultParallel
	}
	def(&cfg.FlushInterval, DefaultFlushInterval)
	def(&cfg.MaxFuture, DefaultMaxFuture)
	def(&cfg.RetryMin, DefaultRetryMin)
	def(&cfg.RetryMax, DefaultRetryMax)
	def(&cfg.ConnectTimeout, DefaultConnectTimeout)
	def(&cfg.CloseTimeout, DefaultCloseTimeout)
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = cfg.RetryMin
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}

// item is one received message on its way to the sink: its readings, or
// its quarantine entry.
type item struct {
	ack        func() // acknowledges the message to the broker
	readings   []Reading
	quarantine *Quarantined
}

// Ingest is a running subscriber.
//
// The paho message handler never touches the sink. It parses the message
// (cheap, bounded by MaxPayload) and puts it on a bounded queue; a single
// batcher takes from the queue, writes batches of readings to the sink,
// retrying with backoff while the sink fails, and acknowledges each message
// only after its readings (or its quarantine entry) are stored.
//
// When the queue is full, the handler puts the message, as received, on a
// waiting list of up to cfg.MaxWaiting messages, from which one goroutine
// feeds the queue in order as it makes room; past that, the handler waits
// for room: it blocks the delivery of that message, never drops it. paho
// runs each handler on its own goroutine (SetOrderMatters(false)), so its
// network reader keeps running and the connection's keepalive survives a
// long store outage. What bounds the messages waiting is the broker's
// inflight window, the number of unacknowledged messages it sends a
// session before it holds the rest back (Mosquitto's
// max_inflight_messages; the embedded broker's MaxPending throttle, which
// then holds the devices back too). That window is the backpressure: a
// slow store slows the broker, not the other way round, and nothing is
// lost on the way. The waiting list is for a broker that does not keep to
// its window (Mosquitto 2.0.11 sent a flooded server 88,000 messages with
// max_inflight_messages 1000): a message waiting there costs its bytes, a
// blocked handler a goroutine as well. (With in-order delivery the
// handler would block paho's reader instead: no PINGRESP would be read, and
// after the keepalive and ping timeout, about 40 s of a stalled store, paho
// would drop the connection and the broker would send the whole window
// again. Order does not matter here: readings are keyed by their time.)
type Ingest struct {
	cfg    Config
	sink   Sink
	log    *slog.Logger
	client paho.Client
	tk     *takeover // nil without Config.Takeover

	stations atomic.Pointer[map[string]sensors.Station]

	queue    chan item
	parallel int           // batches written at once
	closing  chan struct{} // closed by Close: stop taking messages
	done     chan struct{} // closed when the batcher has finished
	// storeCtx is passed to the sink; cancelled when Close gives up.
	storeCtx    context.Context
	cancelStore context.CancelFunc

	subscribed chan error // the outcome of the first subscription
	subOnce    sync.Once
	closeOnce  sync.Once
	closeErr   error

	// waiting are the messages delivered while the queue was full, oldest
	// first, that feedWaiting has not queued yet; wake tells it there are
	// some.
	waitMu  sync.Mutex
	waiting []paho.Message
	wake    chan struct{}

	received, stored, acked, quarantined, storeErrors, queueWaits atomic.Uint64
	// byReason counts the quarantined messages by reason; its keys are
	// Reasons, set at Start.
	byReason map[Reason]*atomic.Uint64
}

// Start connects to the broker with a persistent session, subscribes to
// cfg.Topic at QoS 1 and starts handing readings to sink. It returns once
// the subscription is granted, or an error if the first connection or
// subscription fails (wrong address or credentials, a topic the broker
// refuses) or ctx ends first; after that the client reconnects by itself
// whenever the connection drops, and resubscribes.
func Start(ctx context.Context, cfg Config, sink Sink) (*Ingest, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("ingest.Start: %w", err)
	}
	if sink == nil {
		return nil, errors.New("ingest.Start: a Sink is required")
	}
	in, cancel := newIngest(cfg, sink)
	opts := in.sessionOptions(cfg.ClientID).
		SetResumeSubs(true).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(10 * time.Second).
		SetOnConnectHandler(in.onConnect).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			in.log.Warn("ingest: connection to the broker lost; reconnecting", "broker", cfg.BrokerURL, "error", err)
		})
	if cfg.openConn != nil {
		opts.SetCustomOpenConnectionFn(cfg.openConn)
	}
	if cfg.Takeover {
		in.tk = newTakeover(in)
		opts.SetBinaryWill(PresenceTopic(cfg.ClientID), presencePayload(cfg, stateOffline), QoS, true)
	}
	in.client = paho.NewClient(opts)
	go in.run()
	go in.feedWaiting()

	fail := func(err error) (*Ingest, error) {
		in.client.Disconnect(0)
		close(in.closing)
		cancel()
		<-in.done
		return nil, fmt.Errorf("ingest.Start: %s as %q: %w", cfg.BrokerURL, cfg.ClientID, err)
	}
	tok := in.client.Connect()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fail(fmt.Errorf("connect: %w", err))
		}
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	select {
	case err := <-in.subscribed:
		if err != nil {
			return fail(err)
		}
	case <-ctx.Done():
		return fail(ctx.Err())
	case <-time.After(cfg.ConnectTimeout):
		return fail(fmt.Errorf("subscribe to %s: no answer in %v", cfg.Topic, cfg.ConnectTimeout))
	}
	in.log.Info("ingest: subscribed", "broker", cfg.BrokerURL, "client", cfg.ClientID, "topic", cfg.Topic, "takeover", cfg.Takeover)
	if in.tk != nil {
		go in.tk.loop()
	}
	return in, nil
}

// StartLocal starts an ingest without an MQTT client: messages come in
// through Submit, from an embedded broker that hands over the devices'
// publishes (its broker.Intake) and sends each PUBACK when ack is called.
// cfg.BrokerURL, ClientID, Username, Password, Topic and ConnectTimeout are
// not used. Close stops it like an ingest started by Start.
func StartLocal(cfg Config, sink Sink) (*Ingest, error) {
	cfg.BrokerURL, cfg.ClientID = "local://in-process", "local"
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("ingest.StartLocal: %w", err)
	}
	if sink == nil {
		return nil, errors.New("ingest.StartLocal: a Sink is required")
	}
	in, _ := newIngest(cfg, sink)
	go in.run()
	return in, nil
}

// Publish publishes payload on topic at QoS 1 through the ingest's broker
// connection (the server's alerts), retained if retain is true, and waits
// up to cfg.ConnectTimeout for the broker's acknowledgement. An ingest
// started by StartLocal has no connection and answers an error.
func (in *Ingest) Publish(topic string, payload []byte, retain bool) error {
	if in.client == nil {
		return fmt.Errorf("ingest.Publish %s: no broker connection (a local ingest)", topic)
	}
	tok := in.client.Publish(topic, QoS, retain, payload)
	if !tok.WaitTimeout(in.cfg.ConnectTimeout) {
		return fmt.Errorf("ingest.Publish %s: no acknowledgement in %v", topic, in.cfg.ConnectTimeout)
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("ingest.Publish %s: %w", topic, err)
	}
	return nil
}

// sessionOptions are the paho options of a connection under clientID with
// its persistent session, whose messages go to in.handle: the server's own,
// and a silent peer's it takes over (takeover.go). The connection does not
// retry its first attempt.
func (in *Ingest) sessionOptions(clientID string) *paho.ClientOptions {
	return paho.NewClientOptions().
		AddBroker(in.cfg.BrokerURL).
		SetClientID(clientID).
		SetUsername(in.cfg.Username).
		SetPassword(in.cfg.Password).
		SetProtocolVersion(4). // MQTT 3.1.1, without paho's fallback to 3.1
		SetCleanSession(false).
		SetOrderMatters(false).
		SetAutoAckDisabled(true).
		SetConnectRetry(false).
		SetConnectTimeout(in.cfg.ConnectTimeout).
		SetKeepAlive(30 * time.Second).
		// The default handler is set before connecting: a persistent
		// session's queued messages may arrive before the SUBSCRIBE of
		// the new connection is answered, and a taken session has no
		// subscription of this client at all.
		SetDefaultPublishHandler(in.handle)
}

// newIngest makes an ingest without a client; the batcher is not started.
func newIngest(cfg Config, sink Sink) (*Ingest, context.CancelFunc) {
	storeCtx, cancel := context.WithCancel(context.Background())
	in := &Ingest{
		cfg:         cfg,
		sink:        sink,
		log:         cfg.Logger,
		queue:       make(chan item, cfg.QueueSize),
		closing:     make(chan struct{}),
		done:        make(chan struct{}),
		storeCtx:    storeCtx,
		cancelStore: cancel,
		subscribed:  make(chan error, 1),
		wake:        make(chan struct{}, 1),
		byReason:    make(map[Reason]*atomic.Uint64, len(Reasons)),
	}
	in.parallel = 1
	if _, ok := sink.(OrderedSink); ok {
		in.parallel = cfg.Parallel
	}
	in.SetStations(cfg.Stations)
	for _, r := range Reasons {
		in.byReason[r] = new(atomic.Uint64)
	}
	return in, cancel

}

// onConnect subscribes on every (re)connection. With a persistent session
// the broker keeps the subscription anyway; subscribing again is harmless
// and covers a broker that lost its state.
func (in *Ingest) onConnect(c paho.Client) {
	err := in.subscribe(c, in.cfg.Topic, in.handle)
	if err == nil && in.tk != nil {
		err = in.announce(c)
	}
	if err != nil {
		in.log.Error("ingest: subscription failed", "error", err)
	}
	in.subOnce.Do(func() { in.subscribed <- err })
}

// announce publishes that the server is online and subscribes to the
// presences of its peers (Config.Takeover).
func (in *Ingest) announce(c paho.Client) error {
	tok := c.Publish(PresenceTopic(in.cfg.ClientID), QoS, true, presencePayload(in.cfg, stateOnline))
	if !tok.WaitTimeout(in.cfg.ConnectTimeout) {
		return fmt.Errorf("publish presence: no answer in %v", in.cfg.ConnectTimeout)
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("publish presence: %w", err)
	}
	return in.subscribe(c, presenceFilter, in.tk.onPresence)
}

// subscribe subscribes to filter at QoS 1, asking up to three times while
// the broker's answer for the filter does not come back: paho v1.5.1,
// asked to subscribe while its connection is still "connecting" with
// ResumeSubs set, sends the stored request itself under a token of its own
// and completes ours without the broker's answer (Result() lacks the
// filter).
func (in *Ingest) subscribe(c paho.Client, filter string, h paho.MessageHandler) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var present bool
		if present, err = in.subscribeOnce(c, filter, h); err == nil || present {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// subscribeOnce subscribes to filter once and reports whether the broker's
// answer for the filter came back (present) and, if so, whether it granted
// QoS 1.
func (in *Ingest) subscribeOnce(c paho.Client, filter string, h paho.MessageHandler) (present bool, err error) {
	tok := c.Subscribe(filter, QoS, h)
	if !tok.WaitTimeout(in.cfg.ConnectTimeout) {
		return false, fmt.Errorf("subscribe to %s: no answer in %v", filter, in.cfg.ConnectTimeout)
	}
	if err := tok.Error(); err != nil {
		return false, fmt.Errorf("subscribe to %s: %w", filter, err)
	}
	q, ok := tok.(*paho.SubscribeToken).Result()[resultKey(filter)]
	switch {
	case !ok:
		return false, fmt.Errorf("subscribe to %s: no answer from the broker for the filter", filter)
	case q != QoS:
		return true, fmt.Errorf("subscribe to %s: the broker granted %#x, want QoS %d (is the topic allowed for %q?)",
			filter, q, QoS, in.cfg.Username)
	}
	return true, nil
}

// resultKey is the filter as paho keys its subscription result: without
// the $share/{group}/ of a shared subscription or the $queue/ prefix.
func resultKey(filter string) string {
	if rest, ok := strings.CutPrefix(filter, "$share/"); ok {
		if _, f, ok := strings.Cut(rest, "/"); ok {
			return f
		}
	}
	return strings.TrimPrefix(filter, "$queue/")
}

// SetStations replaces the registered stations; messages handled from now
// on are checked against the new set. The map is copied.
func (in *Ingest) SetStations(stations map[string]sensors.Station) {
	m := make(map[string]sensors.Station, len(stations))
	for id, st := range stations {
		m[id] = st
	}
	in.stations.Store(&m)
}

// handle is paho's message handler (see Ingest): it queues the message,
// or puts it on the waiting list when the queue is full or messages wait
// already, or, when the list is full too, waits for room in the queue.
func (in *Ingest) handle(_ paho.Client, m paho.Message) {
	in.waitMu.Lock()
	if len(in.waiting) > 0 || len(in.queue) == cap(in.queue) {
		if len(in.waiting) < in.cfg.MaxWaiting {
			in.waiting = append(in.waiting, m)
			in.waitMu.Unlock()
			select {
			case in.wake <- struct{}{}:
			default:
			}
			return
		}
	}
	in.waitMu.Unlock()
	in.Submit(m.Topic(), m.Payload(), m.Duplicate(), m.Ack)
}

// feedWaiting moves the waiting messages to the queue, oldest first, until
// Close; what still waits then is not acknowledged and stays with the
// broker.
func (in *Ingest) feedWaiting() {
	for {
		select {
		case <-in.wake:
		case <-in.closing:
			return
		}
		for {
			in.waitMu.Lock()
			if len(in.waiting) == 0 {
				in.waiting = nil // let the emptied array go
				in.waitMu.Unlock()
				break
			}
			m := in.waiting[0]
			in.waiting[0] = nil
			in.waiting = in.waiting[1:]
			in.waitMu.Unlock()
			if !in.Submit(m.Topic(), m.Payload(), m.Duplicate(), m.Ack) {
				return
			}
		}
	}
}

// Submit takes one message received on topic: it parses it, queues its
// readings (or its quarantine entry) for the sink, and calls ack once they
// are stored. It blocks while the queue is full. It returns false, without
// calling ack, when the ingest is closing: the message is then left to the
// broker, which sends it again. dup is the message's DUP flag, for the log.
//
// The paho subscription calls it for every message; an embedded broker
// calls it directly (see StartLocal), as its broker.Intake.
func (in *Ingest) Submit(topic string, payload []byte, dup bool, ack func()) bool {
	select {
	case <-in.closing:
		return false // not acknowledged: the broker sends it again next session
	default:
	}
	in.received.Add(1)
	now := in.cfg.Clock()
	p := Parser{Stations: *in.stations.Load(), MaxFuture: in.cfg.MaxFuture}
	it := item{ack: ack}
	rs, err := p.Parse(topic, payload, now)
	if err != nil {
		rej, ok := err.(*RejectError)
		if !ok {
			rej = &RejectError{Reason: ReasonMalformed, Detail: err.Error()}
		}
		station, _ := StationFromTopic(topic)
		it.quarantine = &Quarantined{Topic: topic, Payload: payload, Station: station,
			Reason: rej.Reason, Detail: rej.Detail, ReceivedAt: now}
		in.quarantined.Add(1)
		if c, ok := in.byReason[rej.Reason]; ok {
			c.Add(1)
		}
		in.log.Warn("ingest: message quarantined", "reason", string(rej.Reason), "detail", rej.Detail,
			"topic", topic, "bytes", len(payload), "duplicate", dup)
	} else {
		it.readings = rs
	}
	select {
	case in.queue <- it:
		return true
	default:
	}
	in.queueWaits.Add(1)
	select {
	case in.queue <- it:
		return true
	case <-in.closing:
		return false
	}
}

// run is the batcher: it takes messages from the queue and forms batches of
// at most cfg.BatchSize readings (a quarantined message is a batch of its
// own), which it hands to the writers in order. It returns after Close,
// once every batch formed is written and acknowledged (unless Close gave up
// on the sink).
func (in *Ingest) run() {
	order := make(chan *job, in.parallel)
	writing := make(chan struct{}, in.parallel) // a slot per write under way
	finished := make(chan struct{})
	go in.finish(order, finished)
	defer func() {
		close(order)
		<-finished
		close(in.done)
	}()
	var (
		batch []item
		n     int // readings in batch
	)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	dispatch := func(j *job) {
		writing <- struct{}{} // waits while in.parallel batches are being written
		order <- j
		go func() {
			defer func() { <-writing }()
			in.write(j)
		}()
	}
	flush := func() {
		timer.Stop()
		if len(batch) > 0 {
			dispatch(&job{items: batch, done: make(chan struct{})})
			batch, n = nil, 0
		}
	}
	take := func(it item) {
		if it.quarantine != nil {
			// Written in order: the batch before it first.
			flush()
			dispatch(&job{items: []item{it}, done: make(chan struct{})})
			return
		}
		if n > 0 && n+len(it.readings) > in.cfg.BatchSize {
			flush()
		}
		if len(batch) == 0 {
			timer.Reset(in.cfg.FlushInterval)
		}
		batch = append(batch, it)
		n += len(it.readings)
		if n >= in.cfg.BatchSize {
			flush()
		}
	}
	for {
		select {
		case it := <-in.queue:
			take(it)
		case <-timer.C:
			flush()
		case <-in.closing:
			for {
				select {
				case it := <-in.queue:
					take(it)
					continue
				default:
				}
				break
			}
			flush()
			return
		}
	}
}

// job is one batch on its way to the sink: its messages, and whether the
// write succeeded once done is closed.
type job struct {
	items []item
	done  chan struct{}
	ok    bool
}

// write stores the readings of j (or keeps its quarantined message),
// retrying while the sink fails; up to in.parallel writes run at once.
func (in *Ingest) write(j *job) {
	defer close(j.done)
	if q := j.items[0].quarantine; q != nil {
		j.ok = in.retry("quarantine", func(ctx context.Context) error { return in.sink.Quarantine(ctx, *q) })
		return
	}
	var rs []Reading
	for _, it := range j.items {
		rs = append(rs, it.readings...)
	}
	for len(rs) > 0 {
		chunk := rs[:min(len(rs), in.cfg.BatchSize)]
		if !in.retry("store readings", func(ctx context.Context) error { return in.sink.StoreReadings(ctx, chunk) }) {
			return
		}
		in.stored.Add(uint64(len(chunk)))
		rs = rs[len(chunk):]
	}
	j.ok = true
}

// finish takes the batches in the order they were formed, waits for each
// to be written, lets an OrderedSink apply it, and acknowledges its
// messages. A batch the ingest gave up on (Close) is not acknowledged.
func (in *Ingest) finish(order <-chan *job, finished chan<- struct{}) {
	defer close(finished)
	ordered, _ := in.sink.(OrderedSink)
	for j := range order {
		<-j.done
		if !j.ok {
			continue
		}
		if ordered != nil && j.items[0].quarantine == nil {
			var rs []Reading
			for _, it := range j.items {
				rs = append(rs, it.readings...)
			}
			if !in.retry("apply readings", func(ctx context.Context) error { return ordered.Apply(ctx, rs) }) {
				continue
			}
		}
		for _, it := range j.items {
			it.ack()
			in.acked.Add(1)
		}
	}
}

// retry calls f until it returns nil, backing off exponentially with
// jitter between cfg.RetryMin and cfg.RetryMax, and reports true; or false
// when Close gave up on the sink.
func (in *Ingest) retry(op string, f func(context.Context) error) bool {
	wait := in.cfg.RetryMin
	for attempt := 1; ; attempt++ {
		err := f(in.storeCtx)
		if err == nil {
			if attempt > 1 {
				in.log.Info("ingest: sink recovered", "op", op, "attempts", attempt)
			}
			return true
		}
		in.storeErrors.Add(1)
		if in.storeCtx.Err() != nil {
			return false
		}
		d := wait/2 + rand.N(wait/2+1) // jitter: half to all of wait
		in.log.Warn("ingest: sink failed; nothing acknowledged, retrying", "op", op, "attempt", attempt, "retry_in", d, "error", err)
		select {
		case <-time.After(d):
		case <-in.storeCtx.Done():
			return false
		}
		wait = min(2*wait, in.cfg.RetryMax)
	}
}

// Close stops taking messages, gives the sink up to cfg.CloseTimeout to
// store what was received (acknowledging it), and disconnects. Whatever is
// not acknowledged by then stays with the broker, in the persistent
// session, and is delivered again to the next Start with the same client
// id. With Takeover, Close first lets go of the peers' sessions it holds
// and announces itself offline, so that a peer takes its session over
// until it starts again. Close may be called more than once.
func (in *Ingest) Close() error {
	in.closeOnce.Do(func() {
		if in.tk != nil {
			close(in.tk.stop)
			<-in.tk.done
		}
		close(in.closing)
		select {
		case <-in.done:
		case <-time.After(in.cfg.CloseTimeout):
			in.cancelStore()
			<-in.done
			in.closeErr = fmt.Errorf("ingest.Close: the sink did not take the received messages in %v; "+
				"the broker keeps them for the next session", in.cfg.CloseTimeout)
		}
		in.cancelStore()
		if in.tk != nil {
			// What the held sessions received and the sink did not take
			// goes back to the broker with them. Then the peers are told
			// to take this server's share while it is away (a DISCONNECT
			// discards the will).
			in.tk.releaseAll()
			in.client.Publish(PresenceTopic(in.cfg.ClientID), QoS, true, presencePayload(in.cfg, stateOffline)).
				WaitTimeout(time.Second)
		}
		if in.client != nil {
			in.client.Disconnect(250)
		}
	})
	return in.closeErr
}

// Stats are counters of an ingest since it started.
type Stats struct {
	// Received counts the messages delivered by the broker, redeliveries
	// included, that were parsed: a message on the waiting list counts
	// once it leaves it.
	Received uint64
	// Stored counts the readings the sink took (duplicates included: the
	// sink tells no difference to the ingest).
	Stored uint64
	// Acked counts the messages acknowledged to the broker.
	Acked uint64
	// Quarantined counts the refused messages, ByReason by reason (every
	// Reason present, zeros included).
	Quarantined uint64
	ByReason    map[Reason]uint64
	// StoreErrors counts the sink calls that failed (and were retried).
	StoreErrors uint64
	// QueueWaits counts the messages that found the queue full and waited.
	QueueWaits uint64
	// Queued is the number of messages in the queue now, and Waiting the
	// number on the waiting list behind it.
	Queued, Waiting int
	// Connected reports whether the client is connected now.
	Connected bool
	// Held is the number of silent peers' sessions this server holds now,
	// and Takeovers counts the times it took one (Config.Takeover).
	Held      int
	Takeovers uint64
}

// waitingLen is the length of the waiting list.
func (in *Ingest) waitingLen() int {
	in.waitMu.Lock()
	defer in.waitMu.Unlock()
	return len(in.waiting)
}

// Stats returns the ingest's counters.
func (in *Ingest) Stats() Stats {
	s := Stats{
		Received:    in.received.Load(),
		Stored:      in.stored.Load(),
		Acked:       in.acked.Load(),
		Quarantined: in.quarantined.Load(),
		ByReason:    make(map[Reason]uint64, len(Reasons)),
		StoreErrors: in.storeErrors.Load(),
		QueueWaits:  in.queueWaits.Load(),
		Queued:      len(in.queue),
		Waiting:     in.waitingLen(),
		Connected:   in.client == nil || in.client.IsConnectionOpen(),
	}
	for r, c := range in.byReason {
		s.ByReason[r] = c.Load()
	}
	if in.tk != nil {
		s.Held, s.Takeovers = int(in.tk.nHeld.Load()), in.tk.takeovers.Load()
	}
	return s
}
