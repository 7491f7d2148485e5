package simulate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/baoshui/baoshui/sensors"
	"github.com/baoshui/baoshui/sensors/ingest"
)

// Device is a station's device: the station it measures for and its MQTT
// credentials.
type Device struct {
	Station  sensors.Station
	Username string
	Password string
}

// Config configures Run.
type Config struct {
	// BrokerURL is the broker's address, "tcp://host:port"; required.
	BrokerURL string
	// Devices are the devices to simulate, at least one, each of a valid
	// station (sensors.ValidateStation) with a username, and no two of the
	// same station.
	Devices []Device
	// Interval is the simulated time between two samples of one station;
	// when 0, each station's own Interval.
	Interval time.Duration
	// Speed is the number of simulated seconds per real second: 1 is real
	// time, 60 one simulated minute per second; 1 when 0. It must be
	// finite and not negative. The simulated clock runs on from Start
	// whatever the real clock does; with Speed above 1 it runs ahead of the
	// real clock, and a server refuses readings more than its MaxFuture
	// (ingest.DefaultMaxFuture, 10 minutes) ahead: start in the past for a
	// fast replay.
	Speed float64
	// NotAhead holds each sample back until the real clock reaches its
	// simulated time: with Start in the past and a high Speed, the past is
	// replayed quickly and then the stations report in real time, never
	// ahead of the clock (what a demonstration wants).
	NotAhead bool
	// Start is the simulated time of every station's first sample; the
	// current time, truncated to the second, when zero.
	Start time.Time
	// Count is the number of samples per station after which Run returns;
	// 0 publishes until ctx ends.
	Count int
	// Seed seeds the generators (see NewGenerator): the same seed gives the
	// same readings.
	Seed uint64
	// Format is the payload format, FormatJSON or FormatSenML; FormatJSON
	// when empty.
	Format string
	// Events are rain events added to every station's generator (see
	// Event); each must have a Start, a positive Duration and a finite
	// Peak of at least 1.
	Events []Event
	// ExceedanceEvery spikes one sample in every ExceedanceEvery of each
	// station above its target class (see Generator.SetExceedanceEvery);
	// 0 never does.
	ExceedanceEvery int
	// Logger receives the connections, the failures and the retries;
	// slog.Default() when nil.
	Logger *slog.Logger
}

// Stats counts what Run did.
type Stats struct {
	// Published counts the samples the broker acknowledged (PUBACK).
	Published uint64
	// Failed counts the publish attempts that failed or were not
	// acknowledged within a minute; each was retried with the same
	// payload, so the broker may have received a sample more than once
	// (the server de-duplicates by station and time).
	Failed uint64
}

// Errors wrapped by Run's error.
var (
	// ErrInvalidConfig: the Config breaks a rule of its fields.
	ErrInvalidConfig = errors.New("invalid simulator config")
	// ErrRefused: the broker refused a device's connection for good: a bad
	// username or password, not authorised, a rejected client id or
	// protocol version.
	ErrRefused = errors.New("connection refused by the broker")
)

// Timings of Run.
const (
	connectTimeout = 10 * time.Second
	keepAlive      = 30 * time.Second
	// ackTimeout is how long Run waits for a PUBACK before it publishes
	// the sample again.
	ackTimeout = time.Minute
	// minBackoff and maxBackoff bound the wait before a retry, which
	// doubles from the first to the second.
	minBackoff = 100 * time.Millisecond
	maxBackoff = 10 * time.Second
	// quiesce is how long a client may take to finish at the end, in ms.
	quiesce = 250
)

// Run simulates the devices of cfg.Devices: for each, it connects one paho
// client (MQTT 3.1.1, client id "sim-" + the station id, the device's
// credentials, clean session off, automatic reconnection) and publishes the
// station's samples on ingest.ReadingsTopic(station) at QoS 1, not retained,
// encoded in cfg.Format (see Encode). Sample i of a station is
// Generator.Sample(Start + i·Interval), published Speed times faster than
// its simulated offset from the moment Run started, or at once when the
// device is behind (after a reconnection, say): the simulated clock never
// drifts. Each publish waits for the broker's PUBACK before the next.
//
// Nothing is skipped: a failed connection attempt is retried with an
// exponential backoff (0.1 s doubling to 10 s, with jitter) while ctx lives,
// and so is a publish that fails or is not acknowledged within a minute,
// with the same payload. Once connected, paho's automatic reconnection
// takes over, and a sample published while the connection is down is
// stored by paho and sent on reconnection.
//
// A wrong password does not retry: when the broker refuses a device's
// connection with a MQTT 3.1.1 refusal that retrying cannot cure (bad
// username or password, not authorised, identifier rejected, unacceptable
// protocol version), Run stops every device and returns an error wrapping
// ErrRefused that names the station. Code 3, server unavailable, is
// retried.
//
// Run returns when every station has Count samples acknowledged, with a nil
// error; or when ctx ends, with a nil error if Count is 0 and otherwise an
// error wrapping ctx's error; or at the first refused connection. Stats
// count what was done in every case. A Config that breaks a rule of its
// fields fails at once with ErrInvalidConfig.
//
// Run leaves nothing behind: every client is disconnected when it returns.
// paho cannot abort a connection attempt, so when ctx ends during one, Run
// waits for it to end: at once when the broker answers or refuses the
// connection, after the 10-second connect timeout at worst.
//
// Two Runs, or a Run and a real device, must not simulate the same station
// at the same time: they would share the client id and take the
// connection from each other.
func Run(ctx context.Context, cfg Config) (Stats, error) {
	cfg, err := cfg.normalize(time.Now())
	if err != nil {
		return Stats{}, err
	}
	r := &runner{cfg: cfg, log: cfg.Logger, realStart: time.Now()}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(cfg.Devices))
	var wg sync.WaitGroup
	for i, d := range cfg.Devices {
		wg.Go(func() {
			errs[i] = r.device(runCtx, d)
			if errors.Is(errs[i], ErrRefused) {
				cancel()
			}
		})
	}
	wg.Wait()
	stats := Stats{Published: r.published.Load(), Failed: r.failed.Load()}
	var refused []error
	var stopped error
	for _, e := range errs {
		switch {
		case errors.Is(e, ErrRefused):
			refused = append(refused, e)
		case e != nil && stopped == nil:
			stopped = e
		}
	}
	switch {
	case len(refused) > 0:
		return stats, errors.Join(refused...)
	case stopped == nil || cfg.Count == 0 && ctx.Err() != nil:
		return stats, nil
	case ctx.Err() != nil:
		return stats, fmt.Errorf("simulate.Run: stopped before %d samples per station: %w", cfg.Count, ctx.Err())
	}
	return stats, stopped // not expected: a device stops early only for the reasons above
}

// normalize checks cfg and fills in the defaults; now is the current time.
func (cfg Config) normalize(now time.Time) (Config, error) {
	var probs []string
	add := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	if u, err := url.Parse(cfg.BrokerURL); cfg.BrokerURL == "" || err != nil || u.Scheme == "" || u.Host == "" {
		add("BrokerURL %q: want tcp://host:port", cfg.BrokerURL)
	}
	if len(cfg.Devices) == 0 {
		add("Devices: at least one device is required")
	}
	seen := map[string]bool{}
	for i, d := range cfg.Devices {
		if err := sensors.ValidateStation(d.Station); err != nil {
			add("Devices[%d]: %v", i, err)
		}
		if d.Username == "" {
			add("Devices[%d] (%s): Username is required", i, d.Station.ID)
		}
		if seen[d.Station.ID] {
			add("Devices[%d]: station %q is simulated twice", i, d.Station.ID)
		}
		seen[d.Station.ID] = true
	}
	if cfg.Interval < 0 {
		add("Interval %v: must not be negative", cfg.Interval)
	}
	if cfg.Speed < 0 || math.IsNaN(cfg.Speed) || math.IsInf(cfg.Speed, 0) {
		add("Speed %v: must be finite and not negative", cfg.Speed)
	}
	if cfg.Count < 0 {
		add("Count %d: must not be negative", cfg.Count)
	}
	if cfg.ExceedanceEvery < 0 {
		add("ExceedanceEvery %d: must not be negative", cfg.ExceedanceEvery)
	}
	switch cfg.Format {
	case "":
		cfg.Format = FormatJSON
	case FormatJSON, FormatSenML:
	default:
		add("Format %q: want %q or %q", cfg.Format, FormatJSON, FormatSenML)
	}
	for i, e := range cfg.Events {
		if p := e.problem(); p != "" {
			add("Events[%d]: %s", i, p)
		}
	}
	if len(probs) > 0 {
		err := ErrInvalidConfig
		for _, p := range probs {
			err = fmt.Errorf("%w; %s", err, p)
		}
		return cfg, fmt.Errorf("simulate.Run: %w", err)
	}
	if cfg.Speed == 0 {
		cfg.Speed = 1
	}
	if cfg.Start.IsZero() {
		cfg.Start = now.Truncate(time.Second)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}

// runner is one Run.
type runner struct {
	cfg       Config
	log       *slog.Logger
	realStart time.Time
	published atomic.Uint64
	failed    atomic.Uint64
}

// device runs one device until it has published cfg.Count samples, ctx
// ends, or the broker refuses it.
func (r *runner) device(ctx context.Context, d Device) error {
	st := d.Station
	interval := r.cfg.Interval
	if interval == 0 {
		interval = st.Interval.Duration()
	}
	gen := NewGenerator(st, r.cfg.Seed)
	for _, e := range r.cfg.Events {
		gen.AddEvent(e)
	}
	gen.SetExceedanceEvery(r.cfg.ExceedanceEvery, interval)
	log := r.log.With("station", st.ID)

	client, err := r.connect(ctx, d, log)
	if err != nil {
		return err
	}
	defer client.Disconnect(quiesce)

	topic := ingest.ReadingsTopic(st.ID)
	for i := 0; r.cfg.Count == 0 || i < r.cfg.Count; i++ {
		offset := time.Duration(i) * interval
		due := r.realStart.Add(time.Duration(float64(offset) / r.cfg.Speed))
		if at := r.cfg.Start.Add(offset); r.cfg.NotAhead && at.After(due) {
			due = at
		}
		if err := sleepUntil(ctx, due); err != nil {
			return err
		}
		payload, err := Encode(r.cfg.Format, st.ID, gen.Sample(r.cfg.Start.Add(offset)))
		if err != nil {
			return err // not expected: the generator makes valid samples
		}
		if err := r.publish(ctx, client, topic, payload, log); err != nil {
			return err
		}
	}
	return nil
}

// connect connects a client for d, retrying as Run says.
func (r *runner) connect(ctx context.Context, d Device, log *slog.Logger) (paho.Client, error) {
	opts := paho.NewClientOptions().
		AddBroker(r.cfg.BrokerURL).
		SetClientID("sim-" + d.Station.ID).
		SetUsername(d.Username).
		SetPassword(d.Password).
		SetProtocolVersion(4). // MQTT 3.1.1, without paho's fallback to 3.1
		SetCleanSession(false).
		SetAutoReconnect(true).
		SetConnectRetry(false). // Run retries the first connection itself, within ctx
		SetMaxReconnectInterval(maxBackoff).
		SetConnectTimeout(connectTimeout).
		SetKeepAlive(keepAlive).
		SetOrderMatters(false).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			log.Warn("simulate: connection lost; reconnecting", "err", err)
		}).
		SetReconnectingHandler(func(paho.Client, *paho.ClientOptions) {
			log.Info("simulate: reconnecting")
		})
	client := paho.NewClient(opts)
	var b backoff
	for attempt := 1; ; attempt++ {
		tok := client.Connect()
		select {
		case <-tok.Done():
		case <-ctx.Done():
			// paho cannot abort an attempt: wait for it to end, so that
			// Run leaves no connection behind.
			tok.Wait()
			if tok.Error() == nil {
				client.Disconnect(quiesce)
			}
			return nil, ctx.Err()
		}
		err := tok.Error()
		if err == nil {
			log.Info("simulate: connected", "broker", r.cfg.BrokerURL, "attempt", attempt)
			return client, nil
		}
		var code byte
		if ct, ok := tok.(*paho.ConnectToken); ok {
			code = ct.ReturnCode()
		}
		if permanentRefusal(code) {
			log.Error("simulate: connection refused", "code", code, "err", err)
			return nil, fmt.Errorf("simulate.Run: station %s (user %q): %w: %v", d.Station.ID, d.Username, ErrRefused, err)
		}
		wait := b.next()
		log.Warn("simulate: connection failed; retrying", "err", err, "attempt", attempt, "retry_in", wait)
		if err := sleepUntil(ctx, time.Now().Add(wait)); err != nil {
			return nil, err
		}
	}
}

// permanentRefusal reports whether an MQTT 3.1.1 CONNACK return code is a
// refusal that retrying cannot cure: 1 unacceptable protocol version, 2
// identifier rejected, 4 bad username or password, 5 not authorised.
// Code 3 (server unavailable) and paho's own codes for network errors are
// not.
func permanentRefusal(code byte) bool {
	switch code {
	case 1, 2, 4, 5:
		return true
	}
	return false
}

// publish publishes payload on topic at QoS 1 and waits for the PUBACK,
// retrying as Run says until it comes or ctx ends.
func (r *runner) publish(ctx context.Context, c paho.Client, topic string, payload []byte, log *slog.Logger) error {
	var b backoff
	for attempt := 1; ; attempt++ {
		tok := c.Publish(topic, 1, false, payload)
		timer := time.NewTimer(ackTimeout)
		var err error
		select {
		case <-tok.Done():
			err = tok.Error()
		case <-timer.C:
			err = errors.New("no PUBACK within " + ackTimeout.String())
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		}
		timer.Stop()
		if err == nil {
			r.published.Add(1)
			return nil
		}
		r.failed.Add(1)
		wait := b.next()
		log.Warn("simulate: publish failed; retrying", "topic", topic, "err", err, "attempt", attempt, "retry_in", wait)
		if err := sleepUntil(ctx, time.Now().Add(wait)); err != nil {
			return err
		}
	}
}

// backoff is an exponential backoff from minBackoff to maxBackoff with
// jitter; the zero value is ready.
type backoff struct{ d time.Duration }

// next returns the next wait: the current step, plus up to half of it at
// random.
func (b *backoff) next() time.Duration {
	if b.d == 0 {
		b.d = minBackoff
	}
	d := b.d + rand.N(b.d/2+1)
	b.d = min(2*b.d, maxBackoff)
	return d
}

// sleepUntil waits until t or until ctx ends, and returns ctx's error then.
func sleepUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
