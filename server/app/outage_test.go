package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/baoshui/baoshui/server/monitoring"
	"github.com/baoshui/baoshui/server/store"
)

// cutProxy forwards TCP connections to a backend until cut. Cut with
// refuse, it drops every open connection and closes each new one at once,
// as a store whose process died looks to its clients; cut without, it is a
// black hole: connections stay open and whatever is sent is swallowed
// without an answer, as behind a failed link. Restored, it closes the
// connections it held and forwards new ones again.
type cutProxy struct {
	ln      net.Listener
	backend string
	mu      sync.Mutex
	down    bool
	refuse  bool
	conns   map[net.Conn]bool
}

func newCutProxy(t *testing.T, backend string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, backend: backend, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.closeAll() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *cutProxy) serve(c net.Conn) {
	p.mu.Lock()
	if p.down && p.refuse {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.conns[c] = true
	var b net.Conn
	if !p.down {
		var err error
		if b, err = net.Dial("tcp", p.backend); err != nil {
			delete(p.conns, c)
			p.mu.Unlock()
			c.Close()
			return
		}
		p.conns[b] = true
	}
	p.mu.Unlock()
	if b == nil { // a connection into the black hole
		_, _ = io.Copy(io.Discard, c)
		return
	}
	done := make(chan struct{}, 2)
	go func() { p.forward(b, c); done <- struct{}{} }()
	go func() { p.forward(c, b); done <- struct{}{} }()
	<-done
	c.Close()
	b.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, b)
	p.mu.Unlock()
}

// forward copies src to dst, swallowing what arrives while the proxy is a
// black hole.
func (p *cutProxy) forward(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			hole := p.down
			p.mu.Unlock()
			if !hole {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *cutProxy) cut(refuse bool) {
	p.mu.Lock()
	p.down, p.refuse = true, refuse
	p.mu.Unlock()
	if refuse {
		p.closeAll()
	}
}

// restore ends the outage; the connections held through it are closed, as
// their peers would have given up on them.
func (p *cutProxy) restore() {
	p.closeAll()
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

func (p *cutProxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

// TestStoreOutage is the drill of a store that cannot be reached for 30 s
// (BAOSHUI_OUTAGE overrides the length), once refusing connections and once
// a black hole: the server runs on a store it reaches through a proxy,
// which is cut. During the outage a write answers
// 503 with Retry-After (never a 500, never a hang), /readyz reports the
// store, and a station's reading published at QoS 1 stays unacknowledged.
// When the link returns, everything recovers without a restart: the
// retried write is stored once, the reading arrives and is acknowledged,
// /readyz is ready again.
func TestStoreOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("a 30 s drill: make test-integration runs it")
	}
	outage := 30 * time.Second
	if v := os.Getenv("BAOSHUI_OUTAGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		outage = d
	}
	for _, refuse := range []bool{true, false} {
		name := map[bool]string{true: "refused", false: "black hole"}[refuse]
		t.Run(name, func(t *testing.T) { storeOutage(t, outage, refuse) })
	}
}

func storeOutage(t *testing.T, outage time.Duration, refuse bool) {
	ctx := context.Background()
	backing, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = backing.Close(context.Background()) })
	u, err := url.Parse(backing.URI())
	if err != nil {
		t.Fatal(err)
	}
	px := newCutProxy(t, u.Host)
	u.Host = px.ln.Addr().String()
	f := newFixture(t, "-mongo-uri", u.String(), "-mongo-database", backing.DatabaseName(),
		"-stations-file", repoPath(t, "testdata/stations.json"))
	f.office.http.Timeout = 2 * time.Minute // a hang fails the test; a slow 503 does not

	if st := f.offA.do("POST", "/api/v1/records", rec("before-outage", "town-a", 2), nil); st != 201 {
		t.Fatalf("a write before the outage: %d", st)
	}
	var cred monitoring.IssuedCredential
	if st := f.admin.do("POST", "/api/v1/stations/res-dam/credentials", nil, &cred); st != 201 {
		t.Fatalf("credential: %d", st)
	}
	mq := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + f.app.Broker.Addr()).SetClientID("res-dam").
		SetUsername(cred.Username).SetPassword(cred.Password).SetProtocolVersion(4).SetCleanSession(false).SetAutoReconnect(true))
	if tok := mq.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer mq.Disconnect(100)

	px.cut(refuse)
	cutAt := time.Now()
	st, b, h := f.offA.raw("POST", "/api/v1/records", rec("during-outage", "town-a", 3))
	var p problem
	_ = json.Unmarshal(b, &p)
	if st != 503 || p.Type != "/problems/unavailable" || h.Get("Retry-After") == "" {
		t.Fatalf("a write during the outage: %d %q Retry-After %q: %s", st, p.Type, h.Get("Retry-After"), b)
	}
	t.Logf("a write %s into the outage answered 503 with Retry-After %s", time.Since(cutAt).Round(time.Millisecond), h.Get("Retry-After"))
	if st, b, _ := f.anon.raw("GET", "/readyz", nil); st != 503 {
		t.Errorf("/readyz during the outage: %d %s", st, b)
	}
	for _, path := range []string{"/api/v1/records/before-outage", "/api/v1/reports/totals?from=2020-01-01&to=2021-01-01", "/api/v1/stations"} {
		if st, b, _ := f.office.raw("GET", path, nil); st >= 500 && st != 503 {
			t.Errorf("GET %s during the outage: %d %s", path, st, b)
		}
	}
	reading := readingJSON(time.Now().Add(-time.Minute).Truncate(time.Second), 0.02)
	tok := mq.Publish("baoshui/v1/stations/res-dam/readings", 1, false, reading)
	if tok.WaitTimeout(3 * time.Second) {
		t.Errorf("a reading was acknowledged while the store was down (%v)", tok.Error())
	}

	time.Sleep(time.Until(cutAt.Add(outage)))
	px.restore()
	waitFor(t, 2*time.Minute, "/readyz after the outage", func() bool {
		st, _, _ := f.anon.raw("GET", "/readyz", nil)
		return st == 200
	})
	if !tok.WaitTimeout(2*time.Minute) || tok.Error() != nil {
		t.Fatalf("the reading was not acknowledged after the outage: %v", tok.Error())
	}
	waitFor(t, time.Minute, "the reading stored", func() bool { return samples(f.office, "res-dam") == 1 })
	if st, b, _ := f.offA.raw("POST", "/api/v1/records", rec("during-outage", "town-a", 3)); st != 201 && st != 200 {
		t.Fatalf("the write retried after the outage: %d %s", st, b)
	}
	var totals struct {
		Totals struct {
			PersonsCleared int `json:"persons_cleared"`
		}
	}
	if st := f.office.do("GET", "/api/v1/reports/totals?from=2020-01-01&to=2021-01-01", nil, &totals); st != 200 || totals.Totals.PersonsCleared != 5 {
		t.Errorf("totals after the outage: %d, persons %d, want 5 (2 before, 3 retried, each once)", st, totals.Totals.PersonsCleared)
	}
	t.Logf("outage of %s: a write answered 503 with Retry-After, a reading was held and acknowledged after it, no restart", outage)
}
