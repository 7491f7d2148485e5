package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
	"github.com/baoshui/baoshui/mobile-sync/client"
)

// server is a small stand-in for the Baoshui server: sign-in, devices,
// push through the real engine (records with more than 1000 persons are
// rejected), an empty pull, and tokens that can be made to expire.
type server struct {
	mu      sync.Mutex
	url     string
	devices map[string]string
	expired bool
	engine  *mobilesync.Engine
	stored  int
}

func (s *server) Owner(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.devices[id]
	return o, ok
}

func (s *server) Apply(_ context.Context, _ mobilesync.Actor, m mobilesync.Mutation, _ mobilesync.Meta) (mobilesync.Outcome, error) {
	var r struct {
		ID      string `json:"id"`
		Persons int    `json:"persons"`
	}
	_ = json.Unmarshal(m.Record, &r)
	if r.Persons > 1000 {
		p := `{"type":"/problems/validation","status":422,"errors":[{"field":"persons","detail":"must be between 1 and 1000"}]}`
		return mobilesync.Outcome{Status: mobilesync.StatusRejected, RecordID: r.ID, Problem: []byte(p)}, nil
	}
	s.mu.Lock()
	s.stored++
	s.mu.Unlock()
	return mobilesync.Outcome{Status: mobilesync.StatusApplied, RecordID: r.ID, Rev: 1}, nil
}

func newServer(t *testing.T) *server {
	s := &server{devices: map[string]string{}}
	s.engine = mobilesync.NewEngine(mobilesync.NewMemoryLedger(), s, s, nil)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answer := func(status int, v any) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(v)
		}
		s.mu.Lock()
		expired := s.expired
		s.mu.Unlock()
		switch r.URL.Path {
		case "/api/v1/auth/login":
			var req struct{ Username, Password string }
			_ = json.NewDecoder(r.Body).Decode(&req)
			if req.Password != "pw" {
				answer(401, map[string]any{"type": "/problems/bad-credentials", "status": 401})
				return
			}
			answer(200, map[string]any{"access_token": "a", "refresh_token": "r", "expires_in": 900})
			return
		case "/api/v1/auth/refresh":
			answer(401, map[string]any{"type": "/problems/bad-credentials", "status": 401})
			return
		}
		if expired {
			answer(401, map[string]any{"type": "/problems/token-expired", "status": 401})
			return
		}
		switch r.URL.Path {
		case "/api/v1/me":
			answer(200, map[string]any{"username": "wang", "role": "officer", "unit": "town-a"})
		case "/api/v1/devices":
			var d struct{ ID string }
			_ = json.NewDecoder(r.Body).Decode(&d)
			s.mu.Lock()
			s.devices[d.ID] = "wang"
			s.mu.Unlock()
			answer(201, d)
		case "/api/v1/sync/push":
			var req mobilesync.PushRequest
			_ = json.NewDecoder(r.Body).Decode(&req)
			resp, err := s.engine.Push(r.Context(), mobilesync.Actor{Username: "wang"}, req)
			if err != nil {
				answer(400, map[string]any{"type": "/problems/malformed-request", "status": 400, "detail": err.Error()})
				return
			}
			answer(200, resp)
		case "/api/v1/sync/pull":
			answer(200, map[string]any{"changes": []any{}, "next_cursor": "c0", "has_more": false,
				"reference": map[string]any{"units": []any{}, "zones_generation": 1}})
		default:
			answer(404, map[string]any{"type": "/problems/not-found", "status": 404})
		}
	})
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	s.url = ts.URL
	return s
}

func deadURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "http://" + l.Addr().String()
}

// step is one fieldsync invocation and what it must answer.
type step struct {
	args     string
	stdin    string
	wantCode int
	wantOut  string // a substring of stdout
	wantErr  string // a substring of stderr
	setup    func(s *server)
}

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"offline capture, then sync when online", []step{
			{args: "-server {url} login -user wang", stdin: "pw\n", wantOut: "signed in as wang (town-a)"},
			{args: "-server {dead} capture grazing --at 40.52,116.95", wantOut: "queued grazing"},
			{args: "sync", wantCode: exitOffline, wantErr: "server unreachable: 1 record stays queued; run fieldsync sync when online"},
			{args: "queue", wantOut: "seq 1  create grazing"},
			{args: "-server {url} sync", wantOut: "sent 1 record (1 stored)"},
			{args: "queue", wantOut: "nothing waits"},
		}},
		{"sign-in and capture defaults", []step{
			{args: "-server {url} login -user wang -password pw", wantOut: "registered this device as fs-"},
			{args: "capture expulsion --persons 3 --activity swimming --at 40.52,116.95", wantOut: "as seq 1"},
			{args: "status", wantOut: "queued:      1 record, 0 photos, 0 track chunks"},
			{args: "capture patrol --track {gpx}", wantOut: "and a track of 3 points in 1 chunk"},
			{args: "status", wantOut: "queued:      2 records, 0 photos, 1 track chunk"},
		}},
		{"wrong password", []step{
			{args: "-server {url} login -user wang -password nope", wantCode: exitError, wantErr: "sign-in refused: wrong username or password"},
		}},
		{"rejected record kept with its reason", []step{
			{args: "-server {url} login -user wang -password pw"},
			{args: "capture expulsion --persons 5000 --activity fishing --at 40.52,116.95"},
			{args: "capture expulsion --persons 2 --activity fishing --at 40.52,116.95"},
			{args: "sync", wantOut: "sent 2 records (1 stored, 1 kept aside)", wantErr: "#1 create expulsion"},
			{args: "queue", wantOut: "rejected: persons: must be between 1 and 1000"},
			{args: "show 1", wantOut: `"persons": 5000`},
			{args: "resubmit 1 -", stdin: "{{fixed}}", wantOut: "queued again as seq 3"},
			{args: "sync", wantOut: "sent 1 record (1 stored)"},
			{args: "status", wantOut: "kept aside:  0"},
		}},
		{"token expired with records queued", []step{
			{args: "-server {url} login -user wang -password pw"},
			{args: "capture grazing --at 40.52,116.95"},
			{args: "capture grazing --at 40.52,116.95"},
			{setup: func(s *server) { s.expired = true }, args: "sync", wantCode: exitError,
				wantErr: "sign in again with fieldsync login; 2 records stay queued"},
			{setup: func(s *server) { s.expired = false }, args: "login -user wang -password pw"},
			{args: "sync", wantOut: "sent 2 records (2 stored)"},
		}},
		{"never signed in", []step{
			{args: "-server {dead} capture grazing --at 40.52,116.95 --unit town-a", wantOut: "queued grazing"},
			{args: "sync", wantCode: exitError, wantErr: "sign in again with fieldsync login; 1 record stays queued"},
		}},
		{"usage", []step{
			{args: "", wantCode: exitUsage, wantErr: "usage: fieldsync"},
			{args: "fly", wantCode: exitUsage, wantErr: `unknown command "fly"`},
			{args: "capture expulsion --at 40.52,116.95 --unit u", wantCode: exitUsage, wantErr: "--persons N (1 or more) is required"},
			{args: "capture expulsion --persons 3 --activity swimming --at 116.95,40.52 --unit u", wantCode: exitUsage, wantErr: "may be swapped"},
			{args: "login", wantCode: exitUsage, wantErr: "give -user U"},
			{args: "sync now", wantCode: exitUsage, wantErr: "sync takes no arguments"},
			{args: "dismiss x", wantCode: exitUsage, wantErr: `"x" is not an item number`},
			{args: "sync", wantCode: exitUsage, wantErr: "no server known: give -server URL"},
			{args: "help", wantOut: "exit codes: 0 ok, 1 error, 2 usage, 3 offline"},
			{args: "capture grazing -h", wantOut: "-animals"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t)
			dead := deadURL(t)
			db := filepath.Join(t.TempDir(), "outbox.db")
			gpx := filepath.Join(t.TempDir(), "route.gpx")
			if err := os.WriteFile(gpx, []byte(`<gpx><trk><trkseg>
				<trkpt lat="40.52" lon="116.95"><time>2020-07-04T00:00:00Z</time></trkpt>
				<trkpt lat="40.53" lon="116.96"><time>2020-07-04T00:00:05Z</time></trkpt>
				<trkpt lat="40.54" lon="116.97"><time>2020-07-04T00:00:10Z</time></trkpt></trkseg></trk></gpx>`), 0o600); err != nil {
				t.Fatal(err)
			}
			for i, st := range tc.steps {
				if st.setup != nil {
					s.mu.Lock()
					st.setup(s)
					s.mu.Unlock()
				}
				args := strings.Fields(strings.NewReplacer("{url}", s.url, "{dead}", dead, "{gpx}", gpx).Replace(st.args))
				stdin := st.stdin
				if stdin == "{{fixed}}" {
					stdin = fixedRecord(t, db)
				}
				var out, errOut bytes.Buffer
				e := env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut,
					getenv:   func(k string) string { return map[string]string{"FIELDSYNC_DB": db}[k] },
					home:     func() (string, error) { return "", errors.New("no home in tests") },
					hostname: func() (string, error) { return "test-host", nil },
					now:      time.Now,
					backoff:  client.Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond, Attempts: 2}}
				code := run(context.Background(), args, e)
				if code != st.wantCode || !strings.Contains(out.String(), st.wantOut) || !strings.Contains(errOut.String(), st.wantErr) {
					t.Fatalf("step %d: fieldsync %s: exit %d\nstdout: %s\nstderr: %s\nwant exit %d, stdout with %q, stderr with %q",
						i, st.args, code, out.String(), errOut.String(), st.wantCode, st.wantOut, st.wantErr)
				}
			}
		})
	}
}

// fixedRecord is kept-aside item 1's record with persons corrected.
func fixedRecord(t *testing.T, db string) string {
	c, err := client.Open(db, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a, err := c.KeptAside(1)
	if err != nil {
		t.Fatal(err)
	}
	var r map[string]any
	_ = json.Unmarshal(a.Mutation.Record, &r)
	r["persons"] = 50
	b, _ := json.Marshal(r)
	return string(b)
}

func TestDBPath(t *testing.T) {
	for _, tc := range []struct {
		name, flag, envDB, home, want string
	}{
		{"flag", "/x/o.db", "/y/o.db", "/home/wang", "/x/o.db"},
		{"environment", "", "/y/o.db", "/home/wang", "/y/o.db"},
		{"home", "", "", "/home/wang", "/home/wang/.fieldsync/outbox.db"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := env{getenv: func(string) string { return tc.envDB }, home: func() (string, error) { return tc.home, nil }}
			if got, err := dbPath(tc.flag, e); err != nil || got != tc.want {
				t.Errorf("%q %v, want %q", got, err, tc.want)
			}
		})
	}
}
