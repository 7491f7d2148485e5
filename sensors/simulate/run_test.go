package simulate_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/baoshui/baoshui/sensors"
	"github.com/baoshui/baoshui/sensors/broker"
	"github.com/baoshui/baoshui/sensors/ingest"
	"github.com/baoshui/baoshui/sensors/simulate"
)

// quiet keeps the broker's and the simulator's chatter out of the output.
var quiet = slog.New(slog.DiscardHandler)

const serverUser, serverPassword = "ingest", "server-secret"

// devices returns a device per station, with the password "pw-" + id.
func devices(sts []sensors.Station) []simulate.Device {
	out := make([]simulate.Device, len(sts))
	for i, st := range sts {
		out[i] = simulate.Device{Station: st, Username: "dev-" + st.ID, Password: "pw-" + st.ID}
	}
	return out
}

// users holds the devices of sts and the server.
func users(t testing.TB, sts []sensors.Station) *broker.Users {
	t.Helper()
	u := broker.NewUsers()
	for _, d := range devices(sts) {
		if err := u.Set(d.Username, d.Password, broker.DeviceRole(d.Station.ID)); err != nil {
			t.Fatal(err)
		}
	}
	if err := u.Set(serverUser, serverPassword, broker.ServerRole()); err != nil {
		t.Fatal(err)
	}
	return u
}

// startBroker starts the embedded broker on addr for sts, closed at the end
// of the test.
func startBroker(t testing.TB, addr string, sts []sensors.Station) *broker.Broker {
	t.Helper()
	b, err := broker.Start(context.Background(), broker.Config{Addr: addr, Auth: users(t, sts), Logger: quiet})
	if err != nil {
		t.Fatalf("broker.Start: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// message is one message the subscriber received.
type message struct {
	topic    string
	payload  []byte
	received time.Time
}

// subscriber is the server's side: every reading published.
type subscriber struct {
	mu   sync.Mutex
	msgs []message
	more chan struct{}
}

// subscribe connects a server client to b subscribed to every station's
// readings at QoS 1.
func subscribe(t testing.TB, b *broker.Broker) *subscriber {
	t.Helper()
	s := &subscriber{more: make(chan struct{}, 1)}
	opts := paho.NewClientOptions().AddBroker(b.URL()).SetClientID("test-server").
		SetUsername(serverUser).SetPassword(serverPassword).SetProtocolVersion(4).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).SetOrderMatters(false)
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	tok := c.Subscribe(ingest.DefaultTopic, 1, func(_ paho.Client, m paho.Message) {
		s.mu.Lock()
		s.msgs = append(s.msgs, message{m.Topic(), m.Payload(), time.Now()})
		s.mu.Unlock()
		select {
		case s.more <- struct{}{}:
		default:
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return s
}

// waitFor waits until n messages have come, or fails the test after
// timeout, and returns a copy of them.
func (s *subscriber) waitFor(t testing.TB, n int, timeout time.Duration) []message {
	t.Helper()
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		got := len(s.msgs)
		s.mu.Unlock()
		if got >= n {
			break
		}
		select {
		case <-s.more:
		case <-deadline:
			t.Fatalf("%d messages after %v, want %d", got, timeout, n)
		}
	}
	return s.messages()
}

func (s *subscriber) messages() []message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]message(nil), s.msgs...)
}

func TestRunPublishesEveryStation(t *testing.T) {
	sts := loadStations(t)
	parser := &ingest.Parser{Stations: byID(sts)}
	const count = 4
	for _, c := range []struct {
		name   string
		format string
	}{
		{"json by default", ""},
		{"json", simulate.FormatJSON},
		{"senml", simulate.FormatSenML},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := startBroker(t, "127.0.0.1:0", sts)
			sub := subscribe(t, b)
			start := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
			cfg := simulate.Config{
				BrokerURL: b.URL(), Devices: devices(sts), Format: c.format,
				Start: start, Count: count, Seed: 77, Speed: 1e5, Logger: quiet,
				ExceedanceEvery: 2,
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			stats, err := simulate.Run(ctx, cfg)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			want := count * len(sts)
			if stats.Published != uint64(want) || stats.Failed != 0 {
				t.Errorf("Stats %+v, want %d published and none failed", stats, want)
			}
			sub.waitFor(t, want, 10*time.Second)
			time.Sleep(200 * time.Millisecond) // room for a message too many
			msgs := sub.messages()
			if len(msgs) != want {
				t.Errorf("%d messages, want exactly %d", len(msgs), want)
			}

			// Each station's samples, as published: Start + i·Interval,
			// what its generator makes, and parsed cleanly.
			got := map[string]map[int64]sensors.Sample{} // by Unix milliseconds
			exceeding := 0
			for _, m := range msgs {
				rs, err := parser.Parse(m.topic, m.payload, m.received)
				if err != nil {
					t.Fatalf("Parse %s: %v\n%s", m.topic, err, m.payload)
				}
				if c.format == simulate.FormatSenML && !strings.HasPrefix(string(m.payload), "[") ||
					c.format != simulate.FormatSenML && !strings.HasPrefix(string(m.payload), "{") {
					t.Errorf("payload %s is not in format %q", m.payload, c.format)
				}
				for _, r := range rs {
					if got[r.Station] == nil {
						got[r.Station] = map[int64]sensors.Sample{}
					}
					got[r.Station][r.Sample.Time.UnixMilli()] = r.Sample
					if r.Result.Exceeds {
						exceeding++
					}
				}
			}
			for _, st := range sts {
				g := simulate.NewGenerator(st, 77)
				g.SetExceedanceEvery(2, st.Interval.Duration())
				if len(got[st.ID]) != count {
					t.Errorf("%s: %d distinct samples, want %d", st.ID, len(got[st.ID]), count)
				}
				for i := range count {
					tm := start.Add(time.Duration(i) * st.Interval.Duration())
					s, ok := got[st.ID][tm.UnixMilli()]
					if !ok {
						t.Errorf("%s: no sample at %v", st.ID, tm)
						continue
					}
					if want := g.Sample(tm); !maps.Equal(s.Values, want.Values) {
						t.Errorf("%s at %v: %v, want the generator's %v", st.ID, tm, s.Values, want.Values)
					}
				}
			}
			// Two spikes in four samples per station (runs of two slots).
			if exceeding < len(sts) {
				t.Errorf("%d exceeding samples; want at least %d with ExceedanceEvery 2", exceeding, len(sts))
			}
		})
	}
}

func TestRunPacesBySpeed(t *testing.T) {
	st := station(t, "res-dam")
	b := startBroker(t, "127.0.0.1:0", []sensors.Station{st})
	sub := subscribe(t, b)
	// Three samples a simulated minute apart at 600 simulated seconds per
	// second: 100 ms apart in real time, 200 ms in all.
	cfg := simulate.Config{
		BrokerURL: b.URL(), Devices: devices([]sensors.Station{st}),
		Interval: time.Minute, Speed: 600, Count: 3, Logger: quiet,
		Start: time.Now().Add(-time.Hour),
	}
	began := time.Now()
	stats, err := simulate.Run(context.Background(), cfg)
	elapsed := time.Since(began)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Published != 3 {
		t.Errorf("Published %d, want 3", stats.Published)
	}
	if elapsed < 200*time.Millisecond || elapsed > 5*time.Second {
		t.Errorf("Run took %v; want about 200 ms", elapsed)
	}
	msgs := sub.waitFor(t, 3, 5*time.Second)
	if gap := msgs[2].received.Sub(msgs[0].received); gap < 150*time.Millisecond {
		t.Errorf("the first and the last messages came %v apart; want about 200 ms", gap)
	}
	p, err := ingest.DecodePayload(msgs[1].payload)
	if err != nil {
		t.Fatal(err)
	}
	if want := cfg.Start.Truncate(time.Millisecond).Add(time.Minute); !p.Samples[0].Time.Equal(want) {
		t.Errorf("second sample at %v, want %v (Start + Interval)", p.Samples[0].Time, want)
	}
}

func TestRunWrongPasswordFails(t *testing.T) {
	sts := loadStations(t)[:3]
	b := startBroker(t, "127.0.0.1:0", sts)
	devs := devices(sts)
	devs[1].Password = "wrong"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	began := time.Now()
	// Count 0 would publish until ctx ends: the refusal must stop it.
	_, err := simulate.Run(ctx, simulate.Config{
		BrokerURL: b.URL(), Devices: devs, Speed: 60, Logger: quiet,
	})
	if !errors.Is(err, simulate.ErrRefused) {
		t.Fatalf("Run: %v, want ErrRefused", err)
	}
	if !strings.Contains(err.Error(), sts[1].ID) {
		t.Errorf("error %q does not name station %s", err, sts[1].ID)
	}
	if elapsed := time.Since(began); elapsed > 3*time.Second {
		t.Errorf("Run took %v to give up; want at once", elapsed)
	}
	if ctx.Err() != nil {
		t.Error("Run waited for ctx to end")
	}
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestRunRetriesUntilTheBrokerIsUp(t *testing.T) {
	sts := loadStations(t)[:2]
	addr := freeAddr(t)
	auth := users(t, sts)
	brokerUp := make(chan *broker.Broker, 1)
	go func() {
		time.Sleep(400 * time.Millisecond)
		b, err := broker.Start(context.Background(), broker.Config{Addr: addr, Auth: auth, Logger: quiet})
		if err != nil {
			t.Errorf("broker.Start: %v", err)
			brokerUp <- nil
			return
		}
		brokerUp <- b
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stats, err := simulate.Run(ctx, simulate.Config{
		BrokerURL: "tcp://" + addr, Devices: devices(sts), Count: 2, Speed: 1e5,
		Start: time.Now().Add(-time.Hour), Logger: quiet,
	})
	if b := <-brokerUp; b != nil {
		defer b.Close()
	}
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if stats.Published != 4 {
		t.Errorf("Published %d, want 4", stats.Published)
	}
}

func TestRunStopsWithContext(t *testing.T) {
	sts := loadStations(t)[:2]
	for _, c := range []struct {
		name      string
		broker    bool
		count     int
		wantErr   bool
		published bool
	}{
		{"no broker, count set: fails with ctx's error", false, 3, true, false},
		{"no broker, no count: fails with ctx's error", false, 0, false, false},
		{"count not reached: fails with ctx's error", true, 1000, true, true},
		{"count 0: ctx's end is the normal stop", true, 0, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			url := "tcp://" + freeAddr(t)
			if c.broker {
				url = startBroker(t, "127.0.0.1:0", sts).URL()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
			defer cancel()
			began := time.Now()
			// 5 simulated minutes per 50 ms.
			stats, err := simulate.Run(ctx, simulate.Config{
				BrokerURL: url, Devices: devices(sts), Count: c.count, Speed: 6000,
				Interval: 5 * time.Minute, Start: time.Now().Add(-24 * time.Hour), Logger: quiet,
			})
			if elapsed := time.Since(began); elapsed > 3*time.Second {
				t.Errorf("Run returned %v after ctx ended", elapsed-600*time.Millisecond)
			}
			if c.wantErr {
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("Run: %v, want an error wrapping context.DeadlineExceeded", err)
				}
			} else if err != nil {
				t.Errorf("Run: %v, want nil", err)
			}
			if (stats.Published > 0) != c.published {
				t.Errorf("Published %d; want some: %v", stats.Published, c.published)
			}
		})
	}
}

func TestRunInvalidConfig(t *testing.T) {
	sts := loadStations(t)[:2]
	good := simulate.Config{BrokerURL: "tcp://127.0.0.1:1", Devices: devices(sts), Count: 1, Logger: quiet}
	badStation := devices(sts)
	badStation[0].Station.TargetClass = 0
	noUser := devices(sts)
	noUser[1].Username = ""
	twice := append(devices(sts), devices(sts)[0])
	for _, c := range []struct {
		name   string
		change func(*simulate.Config)
		want   string
	}{
		{"no broker URL", func(c *simulate.Config) { c.BrokerURL = "" }, "BrokerURL"},
		{"broker URL without scheme", func(c *simulate.Config) { c.BrokerURL = "127.0.0.1:1883" }, "BrokerURL"},
		{"no devices", func(c *simulate.Config) { c.Devices = nil }, "Devices"},
		{"invalid station", func(c *simulate.Config) { c.Devices = badStation }, "target_class"},
		{"no username", func(c *simulate.Config) { c.Devices = noUser }, "Username"},
		{"station twice", func(c *simulate.Config) { c.Devices = twice }, "twice"},
		{"negative interval", func(c *simulate.Config) { c.Interval = -time.Second }, "Interval"},
		{"negative speed", func(c *simulate.Config) { c.Speed = -1 }, "Speed"},
		{"NaN speed", func(c *simulate.Config) { c.Speed = math.NaN() }, "Speed"},
		{"infinite speed", func(c *simulate.Config) { c.Speed = math.Inf(1) }, "Speed"},
		{"negative count", func(c *simulate.Config) { c.Count = -1 }, "Count"},
		{"unknown format", func(c *simulate.Config) { c.Format = "csv" }, "Format"},
		{"negative exceedance", func(c *simulate.Config) { c.ExceedanceEvery = -2 }, "ExceedanceEvery"},
		{"event without duration", func(c *simulate.Config) {
			c.Events = []simulate.Event{{Start: time.Now(), Peak: 3}}
		}, "Events[0]"},
		{"event with peak below 1", func(c *simulate.Config) {
			c.Events = []simulate.Event{{Start: time.Now(), Duration: time.Hour, Peak: 3}, {Start: time.Now(), Duration: time.Hour, Peak: 0}}
		}, "Events[1]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := good
			c.change(&cfg)
			began := time.Now()
			stats, err := simulate.Run(context.Background(), cfg)
			if !errors.Is(err, simulate.ErrInvalidConfig) {
				t.Fatalf("Run: %v, want ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
			if stats != (simulate.Stats{}) || time.Since(began) > time.Second {
				t.Errorf("Run did something: %+v after %v", stats, time.Since(began))
			}
		})
	}
}

func TestRunSurvivesABrokerRestart(t *testing.T) {
	sts := loadStations(t)[:2]
	addr := freeAddr(t)
	b := startBroker(t, addr, sts)
	sub := subscribe(t, b)
	const count = 8
	type result struct {
		stats simulate.Stats
		err   error
	}
	done := make(chan result, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() {
		// One sample per station every 100 ms.
		stats, err := simulate.Run(ctx, simulate.Config{
			BrokerURL: "tcp://" + addr, Devices: devices(sts), Count: count, Speed: 3000,
			Interval: 5 * time.Minute, Start: time.Now().Add(-24 * time.Hour), Logger: quiet,
		})
		done <- result{stats, err}
	}()
	sub.waitFor(t, 2*len(sts), 10*time.Second)
	b.Close() // the devices lose their connection mid-run
	time.Sleep(300 * time.Millisecond)
	b2 := startBroker(t, addr, sts)
	sub2 := subscribe(t, b2)
	r := <-done
	if r.err != nil {
		t.Fatalf("Run: %v", r.err)
	}
	if want := uint64(count * len(sts)); r.stats.Published != want {
		t.Errorf("Published %d, want %d", r.stats.Published, want)
	}
	// The publishing went on through the second broker. (Some samples may
	// be lost to the subscribers: those the first broker acknowledged but
	// had not delivered when it closed, and those the second one took
	// before its subscriber came.)
	if n := len(sub2.waitFor(t, 1, 10*time.Second)); n == 0 {
		t.Error("nothing was published through the second broker")
	}
	seen := map[string]bool{}
	for _, m := range append(sub.messages(), sub2.messages()...) {
		p, err := ingest.DecodePayload(m.payload)
		if err != nil {
			t.Fatal(err)
		}
		seen[m.topic+" "+p.Samples[0].Time.String()] = true
	}
	t.Logf("stats %+v; subscribers saw %d distinct samples", r.stats, len(seen))
}
