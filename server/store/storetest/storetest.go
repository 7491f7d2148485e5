// Package storetest gives tests a real store: a fresh, randomly named
// database on the embedded FerretDB (SQLite), on FerretDB's PostgreSQL
// backend when PostgreSQL answers on 127.0.0.1:5432 (or at
// BAOSHUI_TEST_POSTGRES_URL; skipped with -short unless
// BAOSHUI_TEST_REQUIRE_POSTGRES=1, which also makes its absence a failure),
// and on the MongoDB at BAOSHUI_TEST_MONGO_URI when that is set. Each
// database is dropped when the test ends.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/store"
)

// Engine is one engine tests can run on.
type Engine struct {
	Name string
	uri  string
}

var (
	mu       sync.Mutex
	engines  map[string]*store.Store // the embedded servers, started once per test binary
	sqliteAt string                  // the embedded SQLite server's data directory
)

// host starts (once) an embedded FerretDB for the named backend and returns
// its URI, or "" if that backend is not available here.
func host(t testing.TB, name string) string {
	mu.Lock()
	defer mu.Unlock()
	if engines == nil {
		engines = map[string]*store.Store{}
	}
	if s, ok := engines[name]; ok {
		if s == nil {
			return ""
		}
		return s.URI()
	}
	// The hosting connection gets a throw-away database of its own; the
	// tests only need the engine's URI.
	cfg := store.Config{Logger: slog.New(slog.DiscardHandler), Database: "host_" + randomName()}
	switch name {
	case "sqlite":
		dir, err := os.MkdirTemp("", "baoshui-storetest-")
		if err != nil {
			t.Fatalf("storetest: %v", err)
		}
		cfg.DataDir, sqliteAt = dir, dir
	case "postgresql":
		cfg.FerretPostgresURL = PostgresURL()
		if cfg.FerretPostgresURL == "" {
			engines[name] = nil
			return ""
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := store.Open(ctx, cfg)
	if err != nil {
		if name == "postgresql" {
			t.Logf("storetest: PostgreSQL backend unavailable: %v", err)
			engines[name] = nil
			return ""
		}
		t.Fatalf("storetest: start embedded store: %v", err)
	}
	_ = s.Drop(ctx)
	engines[name] = s
	return s.URI()
}

// PostgresURL returns the PostgreSQL URL for FerretDB's PostgreSQL backend
// in tests, or "" when no PostgreSQL answers.
func PostgresURL() string {
	if u := os.Getenv("BAOSHUI_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	c, err := net.DialTimeout("tcp", "127.0.0.1:5432", 300*time.Millisecond)
	if err != nil {
		return ""
	}
	c.Close()
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// Engines lists the engines available to this test run. The embedded SQLite
// store is always there.
func Engines(t testing.TB) []Engine {
	out := []Engine{{Name: "sqlite", uri: host(t, "sqlite")}}
	required := os.Getenv("BAOSHUI_TEST_REQUIRE_POSTGRES") == "1"
	if testing.Short() && !required {
		return out
	}
	if u := host(t, "postgresql"); u != "" {
		out = append(out, Engine{Name: "postgresql", uri: u})
	} else if required {
		t.Fatal("storetest: BAOSHUI_TEST_REQUIRE_POSTGRES=1 but FerretDB's PostgreSQL backend is unavailable (is PostgreSQL on 127.0.0.1:5432?)")
	}
	if u := os.Getenv("BAOSHUI_TEST_MONGO_URI"); u != "" {
		out = append(out, Engine{Name: "mongodb", uri: u})
	}
	return out
}

// Open returns a store on a fresh, randomly named database of engine e,
// dropped and closed when the test ends.
func (e Engine) Open(t testing.TB) *store.Store {
	t.Helper()
	return e.open(t, "t_"+randomName())
}

// OpenShared returns n stores, each with its own connection pool, on one
// fresh database of engine e: what n server instances sharing a store have.
func (e Engine) OpenShared(t testing.TB, n int) []*store.Store {
	t.Helper()
	db := "t_" + randomName()
	out := make([]*store.Store, n)
	for i := range out {
		out[i] = e.open(t, db)
	}
	return out
}

func (e Engine) open(t testing.TB, database string) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := store.Config{MongoURI: e.uri, Database: database}
	// The test's database gets the _id indexes an embedded store makes.
	switch e.Name {
	case "sqlite":
		mu.Lock()
		cfg.FerretSQLiteDir = sqliteAt
		mu.Unlock()
	case "postgresql":
		cfg.FerretPostgresURL = PostgresURL()
	}
	s, err := store.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("storetest: open %s: %v", e.Name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = s.Drop(ctx)
		_ = s.Close(ctx)
	})
	return s
}

// Open returns a store on a fresh database of the embedded SQLite engine.
func Open(t testing.TB) *store.Store { return Engine{Name: "sqlite", uri: host(t, "sqlite")}.Open(t) }

// Each runs fn as a subtest on every available engine.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	for _, e := range Engines(t) {
		t.Run(e.Name, func(t *testing.T) { fn(t, e.Open(t)) })
	}
}

func randomName() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
