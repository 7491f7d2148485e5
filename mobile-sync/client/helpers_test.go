package client

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// fast makes retries quick enough for tests.
var fast = Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond, Attempts: 3}

// open opens an outbox in dir for server url.
func open(t *testing.T, dir, url string, b Backoff) *Client {
	t.Helper()
	c, err := Open(filepath.Join(dir, "outbox.db"), Options{Server: url, Backoff: b})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newClient returns a client of f, signed in as wang with its device
// registered; it is closed at the end of the test.
func newClient(t *testing.T, f *fakeServer, b Backoff) *Client {
	t.Helper()
	c := open(t, t.TempDir(), f.URL, b)
	t.Cleanup(func() { c.Close() })
	signIn(t, c)
	return c
}

func signIn(t *testing.T, c *Client) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.Login(ctx, "wang", "pw"); err != nil {
		t.Fatal(err)
	}
	if err := c.RegisterDevice(ctx, "wang's phone"); err != nil {
		t.Fatal(err)
	}
}

func expulsion(persons int64) Record {
	return Record{Kind: KindExpulsion, ObservedAt: time.Date(2020, 7, 4, 15, 20, 0, 0, time.FixedZone("CST", 8*3600)),
		Location: &Point{Lon: 116.95, Lat: 40.52}, Unit: "town-a", Officers: []string{"wang"},
		Persons: persons, Activity: "swimming"}
}

// capture queues n expulsions and returns their ids.
func capture(t *testing.T, c *Client, n int) []string {
	t.Helper()
	var ids []string
	for i := 0; i < n; i++ {
		got, err := c.Capture(expulsion(int64(i + 1)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got.ID)
	}
	return ids
}

// deadURL returns a URL nothing listens on.
func deadURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	return url
}

// queued returns the seqs waiting in the outbox.
func queued(t *testing.T, c *Client) []int64 {
	t.Helper()
	q, err := c.Queue()
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for _, p := range q.Mutations {
		seqs = append(seqs, p.Seq)
	}
	return seqs
}

// once checks that the server stored each id by exactly one create.
func (f *fakeServer) once(t *testing.T, ids []string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		if n := f.creates[id]; n != 1 {
			t.Errorf("record %s created %d times, want once", id, n)
		}
	}
}
