// Package app wires Baoshui together: the store, the services, the HTTP API
// and the demo data. Start and Close are used by the binary and by
// end-to-end tests alike.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
	"github.com/baoshui/baoshui/server/accounts"
	"github.com/baoshui/baoshui/server/api"
	"github.com/baoshui/baoshui/server/auth"
	"github.com/baoshui/baoshui/server/blobs"
	"github.com/baoshui/baoshui/server/records"
	"github.com/baoshui/baoshui/server/store"
	"github.com/baoshui/baoshui/server/syncsvc"
	"github.com/baoshui/baoshui/server/zones"
)

// App is a running server.
type App struct {
	Config   Config
	Log      *slog.Logger
	Store    *store.Store
	Records  *records.Service
	Accounts *accounts.Service
	Zones    *zones.Registry
	Blobs    *blobs.Service

	http     *http.Server
	ln       net.Listener
	served   chan error
	DemoInfo string // what the demo loader did, printed at start
}

// NewLogger returns the JSON (or text) logger the configuration asks for.
func NewLogger(c Config, w io.Writer) *slog.Logger {
	lvl := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}[c.LogLevel]
	opts := &slog.HandlerOptions{Level: lvl}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// OpenStore opens the store the configuration names.
func OpenStore(ctx context.Context, c Config, log *slog.Logger) (*store.Store, error) {
	return store.Open(ctx, store.Config{MongoURI: c.MongoURI, DataDir: c.DataDir, FerretPostgresURL: c.FerretPostgresURL,
		Database: c.MongoDatabase, Logger: log})
}

// Start opens the store, builds the read models, loads the demo year when
// asked on an empty store, and starts serving HTTP. It returns once the
// server accepts connections.
func Start(ctx context.Context, c Config, log *slog.Logger) (a *App, err error) {
	a = &App{Config: c, Log: log, served: make(chan error, 1)}
	defer func() {
		if err != nil {
			a.Close(context.Background())
		}
	}()
	t0 := time.Now()
	if a.Store, err = OpenStore(ctx, c, log); err != nil {
		return nil, err
	}
	key, err := tokenKey(c)
	if err != nil {
		return nil, err
	}
	signer, err := auth.NewSigner(key, c.AccessTTL)
	if err != nil {
		return nil, err
	}
	if a.Accounts, err = accounts.Open(ctx, a.Store, signer, accounts.Options{RefreshTTL: c.RefreshTTL}); err != nil {
		return nil, err
	}
	snap := ""
	if c.MongoURI == "" && c.FerretPostgresURL == "" {
		snap = filepath.Join(c.DataDir, "read-models.snapshot")
	}
	if a.Zones, err = zones.Open(ctx, a.Store, nil); err != nil {
		return nil, err
	}
	if a.Records, err = records.Open(ctx, a.Store, a.Accounts.Units, records.Options{Logger: log, SnapshotPath: snap, Zones: a.Zones,
		TombstoneRetention: c.TombstoneRetention}); err != nil {
		return nil, err
	}
	a.Zones.Watch(func(*zones.Set) { a.Records.ZonesChanged() })
	debug.FreeOSMemory() // the scan's garbage is gone for good
	a.Accounts.SetAuditor(a.Records)
	log.Info("read models built", "records", a.Records.Count(), "units", len(a.Accounts.Units.All()),
		"users", a.Accounts.UserCount(), "engine", a.Store.Engine(), "from", a.Records.LoadedFrom,
		"elapsed_ms", time.Since(t0).Milliseconds())
	if c.Demo {
		if a.DemoInfo, err = LoadDemo(ctx, a); err != nil {
			return nil, fmt.Errorf("app: demo: %w", err)
		}
	}
	if created, err := a.Accounts.Bootstrap(ctx, c.BootstrapAdmin); err != nil {
		return nil, err
	} else if created {
		log.Info("bootstrap admin created", "username", strings.SplitN(c.BootstrapAdmin, ":", 2)[0])
	}
	a.Blobs = blobs.New(a.Store, blobs.Options{MaxBytes: c.MaxBlobBytes, Logger: log})
	if err := a.Blobs.Load(ctx); err != nil {
		return nil, err
	}
	engine := mobilesync.NewEngine(a.Store.Ledger(), &syncsvc.Applier{Records: a.Records, Accounts: a.Accounts, Now: time.Now},
		syncsvc.Devices{Accounts: a.Accounts}, nil)
	handler := api.New(api.Deps{Records: a.Records, Accounts: a.Accounts, Zones: a.Zones, Sync: engine, Signer: signer, Ping: a.Store.Ping,
		Blobs: a.Blobs, Logger: log, MaxBodyBytes: c.MaxBodyBytes, MaxBlobBytes: c.MaxBlobBytes, TombstoneRetention: c.TombstoneRetention})
	a.ln, err = net.Listen("tcp", c.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("app: listen on %s: %w (set BAOSHUI_HTTP_ADDR or -http-addr to a free address)", c.HTTPAddr, err)
	}
	a.http = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() { a.served <- a.http.Serve(a.ln) }()
	log.Info("serving", "addr", a.ln.Addr().String(), "startup_ms", time.Since(t0).Milliseconds())
	return a, nil
}

// Addr is the address the HTTP server listens on.
func (a *App) Addr() string { return a.ln.Addr().String() }

// URL is the base URL of the HTTP server.
func (a *App) URL() string { return "http://" + a.Addr() }

// Served reports the HTTP server's end (nil after a clean shutdown).
func (a *App) Served() <-chan error { return a.served }

// Close stops accepting requests, waits for those in flight (bounded by
// ctx), lets the writer finish what is queued, and closes the store.
func (a *App) Close(ctx context.Context) error {
	var errs []error
	if a.http != nil {
		if err := a.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
	}
	if a.Records != nil {
		a.Records.Close()
	}
	if a.Store != nil {
		if err := a.Store.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func decodeKey(s string) ([]byte, error) { return hex.DecodeString(strings.TrimSpace(s)) }

// tokenKey returns the configured key, or the one kept in the data
// directory, generating it on first start.
func tokenKey(c Config) ([]byte, error) {
	if c.TokenKey != "" {
		return decodeKey(c.TokenKey)
	}
	if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("app: token key: %w", err)
	}
	path := filepath.Join(c.DataDir, "token.key")
	if b, err := os.ReadFile(path); err == nil {
		k, err := decodeKey(string(b))
		if err != nil || len(k) < 32 {
			return nil, fmt.Errorf("app: token key %s is damaged; delete it to make a new one (sessions end)", path)
		}
		return k, nil
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(k)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("app: token key: %w", err)
	}
	return k, nil
}
