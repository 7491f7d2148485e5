package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/app"
)

// testConfig is a configuration for a server on a free port with its data
// in dir; the store is the embedded SQLite FerretDB. extra are more flags.
func testConfig(t *testing.T, dir string, extra ...string) app.Config {
	t.Helper()
	c, err := app.LoadConfig("test", append([]string{"-http-addr", "127.0.0.1:0", "-mqtt-addr", "127.0.0.1:0", "-data-dir", dir,
		"-bootstrap-admin", "root:root-password"}, extra...), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// start runs a real server (real store, real HTTP listener) for one test.
func start(t *testing.T, c app.Config) *app.App {
	t.Helper()
	a, err := app.Start(context.Background(), c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	return a
}

// client talks to the server as one user.
type client struct {
	t     testing.TB
	base  string
	token string
	http  *http.Client
}

func newClient(t testing.TB, base string) *client {
	return &client{t: t, base: base, http: &http.Client{Timeout: 60 * time.Second}}
}

func (c *client) login(user, password string) *client {
	c.t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if st := c.do("POST", "/api/v1/auth/login", map[string]string{"username": user, "password": password}, &tok); st != 200 {
		c.t.Fatalf("login %s: status %d", user, st)
	}
	return &client{t: c.t, base: c.base, token: tok.AccessToken, http: c.http}
}

// do sends body (bytes are sent as they are, anything else as JSON) and
// decodes the answer into out when out is not nil. It returns the status.
func (c *client) do(method, path string, body, out any) int {
	c.t.Helper()
	st, b, _ := c.raw(method, path, body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %d, undecodable answer %q: %v", method, path, st, b, err)
		}
	}
	return st
}

func (c *client) raw(method, path string, body any) (int, []byte, http.Header) {
	c.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// repoPath returns a path inside the repository, found from go.mod upwards.
func repoPath(t testing.TB, rel string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, rel)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}
