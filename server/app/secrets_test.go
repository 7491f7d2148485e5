package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/baoshui/baoshui/server/app"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/monitoring"
)

// lockedBuffer is a log sink for a server under test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestNoSecretInLogs runs the flows that handle secrets — sign-in, a wrong
// password, refresh and logout, an account created with its password, a
// station's device password issued — with the server logging at debug
// level, and then looks for each secret in the logs.
func TestNoSecretInLogs(t *testing.T) {
	dir := t.TempDir()
	var logs lockedBuffer
	cfg := testConfig(t, dir, "-stations-file", repoPath(t, "testdata/stations.json"))
	a, err := app.Start(context.Background(), cfg, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	anon := newClient(t, a.URL())
	secrets := []string{"root-password", "password-of-alice", "wrong-password-42"}
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if st := anon.do("POST", "/api/v1/auth/login", map[string]string{"username": "root", "password": "root-password"}, &tok); st != 200 {
		t.Fatalf("login: %d", st)
	}
	root := &client{t: t, base: a.URL(), token: tok.AccessToken, http: anon.http}
	secrets = append(secrets, tok.AccessToken, tok.RefreshToken)
	if st := root.do("POST", "/api/v1/units", enforcement.Unit{ID: "miyun", Name: "密云区保水大队", Tier: "district"}, nil); st != 201 {
		t.Fatalf("unit: %d", st)
	}
	if st := root.do("POST", "/api/v1/users", map[string]string{"username": "alice", "password": "password-of-alice", "role": "officer", "unit": "miyun"}, nil); st != 201 {
		t.Fatalf("user: %d", st)
	}
	if st := anon.do("POST", "/api/v1/auth/login", map[string]string{"username": "alice", "password": "wrong-password-42"}, nil); st != 401 {
		t.Fatalf("wrong password: %d", st)
	}
	var alice struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	anon.do("POST", "/api/v1/auth/login", map[string]string{"username": "alice", "password": "password-of-alice"}, &alice)
	var fresh struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if st := anon.do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": alice.RefreshToken}, &fresh); st != 200 {
		t.Fatalf("refresh: %d", st)
	}
	anon.do("POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": alice.RefreshToken}, nil) // reused: refused
	anon.do("POST", "/api/v1/auth/logout", map[string]string{"refresh_token": fresh.RefreshToken}, nil)
	secrets = append(secrets, alice.AccessToken, alice.RefreshToken, fresh.AccessToken, fresh.RefreshToken)
	officer := &client{t: t, base: a.URL(), token: fresh.AccessToken, http: anon.http}
	officer.raw("GET", "/api/v1/records?cursor="+fresh.RefreshToken, nil) // a token where a cursor goes
	var cred monitoring.IssuedCredential
	if st := root.do("POST", "/api/v1/stations/res-dam/credentials", nil, &cred); st != 201 || cred.Password == "" {
		t.Fatalf("credentials: %d", st)
	}
	secrets = append(secrets, cred.Password)
	if key, err := os.ReadFile(filepath.Join(dir, "token.key")); err == nil {
		secrets = append(secrets, strings.TrimSpace(string(key)))
	}
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if os.Getenv("BAOSHUI_SHOW_LOGS") != "" {
		t.Log(out)
	}
	if !strings.Contains(out, "/api/v1/auth/login") {
		t.Fatalf("the logs do not show the requests; nothing was checked:\n%.2000s", out)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("the logs contain a secret (%.8s…)", s)
		}
	}
}
