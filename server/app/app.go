// Package app wires Baoshui together: the store, the services, the HTTP API
// and the demo data. Start and Close are used by the binary and by
// end-to-end tests alike.
package app

import (
	"context"
	"crypto/rand"
	"crypto/tls"
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
	"github.com/baoshui/baoshui/sensors"
	"github.com/baoshui/baoshui/sensors/broker"
	"github.com/baoshui/baoshui/sensors/ingest"
	"github.com/baoshui/baoshui/server/accounts"
	"github.com/baoshui/baoshui/server/api"
	"github.com/baoshui/baoshui/server/auth"
	"github.com/baoshui/baoshui/server/blobs"
	"github.com/baoshui/baoshui/server/cases"
	"github.com/baoshui/baoshui/server/casesvc"
	"github.com/baoshui/baoshui/server/console"
	"github.com/baoshui/baoshui/server/monitoring"
	"github.com/baoshui/baoshui/server/records"
	"github.com/baoshui/baoshui/server/store"
	"github.com/baoshui/baoshui/server/syncsvc"
	"github.com/baoshui/baoshui/server/zones"
)

// followedKinds are the documents besides records whose revisions other
// instances follow through the server sequence log: the audit entries'
// Object prefixes.
var followedKinds = []string{"case", "custody", "campaign", "operation", "zones", "station", "credential"}

// accountsFollowInterval is how often an instance on a shared store reads
// the units, users and devices again.
const accountsFollowInterval = 5 * time.Second

// App is a running server.
type App struct {
	Config   Config
	Log      *slog.Logger
	Store    *store.Store
	Records  *records.Service
	Accounts *accounts.Service
	Zones    *zones.Registry
	Blobs    *blobs.Service
	// Monitoring holds the stations, readings and alerts; Ingest takes
	// the readings from MQTT; Broker is the embedded broker (nil with an
	// external one or with BAOSHUI_MQTT_ADDR=off).
	Monitoring *monitoring.Service
	Ingest     *ingest.Ingest
	Broker     *broker.Broker
	// Cases holds the administrative penalty cases.
	Cases *casesvc.Service
	// Custody holds the confiscated items in custody.
	Custody *casesvc.Custody
	// Campaigns holds the campaigns and joint operations.
	Campaigns *casesvc.Campaigns

	stopSim context.CancelFunc
	simDone chan struct{}
	// stopFollow ends the following of the accounts other instances
	// create (a shared store only).
	stopFollow context.CancelFunc
	http       *http.Server
	ln         net.Listener
	served     chan error
	scheme     string // http or https
	DemoInfo   string // what the demo loader did, printed at start
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
		Database: c.MongoDatabase, Logger: log, Serve: c.StoreServe, ServeCert: c.StoreTLSCert, ServeKey: c.StoreTLSKey,
		ServeCA: c.StoreTLSCA})
}

// sharedStore tells whether other instances may write to the store: one
// reached by URL, or the embedded one served to them.
func (c Config) sharedStore() bool {
	return c.MongoURI != "" || c.FerretPostgresURL != "" || c.StoreServe != ""
}

// Start opens the store, builds the read models, loads the demo year when
// asked on an empty store, and starts serving HTTP. It returns once the
// server accepts connections.
//
// With a store that other instances may share (reached by URL, or the
// embedded one served), the records follow the server sequence log (see
// records.Options.Shared) and the accounts are read again every
// accountsFollowInterval (DESIGN.md §2).
func Start(ctx context.Context, c Config, log *slog.Logger) (_ *App, err error) {
	a := &App{Config: c, Log: log, served: make(chan error, 1)}
	defer func() {
		if err != nil {
			// What started is stopped: the store, the broker's port.
			a.Close(context.Background())
		}
	}()
	t0 := time.Now()
	if a.Store, err = OpenStore(ctx, c, log); err != nil {
		return nil, err
	}
	if u := a.Store.ServeURI(); u != "" {
		log.Info("the store is served to other instances; each adds its client certificate and the CA to the URI",
			"uri", u+"&tlsCAFile=CA.pem&tlsCertificateKeyFile=CLIENT.pem")
	}
	key, err := tokenKey(c)
	if err != nil {
		return nil, err
	}
	signer, err := auth.NewSigner(key, c.AccessTTL)
	if err != nil {
		return nil, err
	}
	if a.Accounts, err = accounts.Open(ctx, a.Store, signer, accounts.Options{RefreshTTL: c.RefreshTTL, Shared: c.sharedStore()}); err != nil {
		return nil, err
	}
	// The embedded store is this process's alone unless it is served; a
	// shared one gets no snapshots (other instances' writes would not
	// clear their token) and its accounts are followed.
	snap := ""
	if !c.sharedStore() {
		snap = filepath.Join(c.DataDir, "read-models.snapshot")
	} else {
		fctx, cancel := context.WithCancel(context.Background())
		a.stopFollow = cancel
		go a.Accounts.Follow(fctx, accountsFollowInterval, func(err error) { log.Warn("following accounts", "err", err) })
	}
	if a.Zones, err = zones.Open(ctx, a.Store, nil); err != nil {
		return nil, err
	}
	if a.Records, err = records.Open(ctx, a.Store, a.Accounts.Units, records.Options{Logger: log, SnapshotPath: snap, Zones: a.Zones,
		TombstoneRetention: c.TombstoneRetention, Shared: c.sharedStore(), DocKinds: followedKinds}); err != nil {
		return nil, err
	}
	a.Zones.Watch(func(*zones.Set) { a.Records.ZonesChanged() })
	debug.FreeOSMemory() // the scan's garbage is gone for good
	a.Accounts.SetAuditor(a.Records)
	rules := cases.DefaultRules()
	if c.CaseCatalogue != "" {
		b, err := os.ReadFile(c.CaseCatalogue)
		if err != nil {
			return nil, fmt.Errorf("app: case catalogue: %w", err)
		}
		cat, err := cases.LoadCatalogue(b)
		if err != nil {
			return nil, fmt.Errorf("app: case catalogue %s: %w", c.CaseCatalogue, err)
		}
		rules.Catalogue = &cat
	}
	mirror := func(ctx context.Context, k cases.Case) error { return mirrorCase(ctx, a.Records, time.Now, k) }
	if a.Cases, err = casesvc.Open(ctx, a.Store, a.Store, rules, casesvc.Options{Logger: log, Auditor: a.Records, Changed: mirror}); err != nil {
		return nil, err
	}
	if a.Custody, err = casesvc.OpenCustody(ctx, a.Store, a.Records, casesvc.Options{Logger: log, Auditor: a.Records}); err != nil {
		return nil, err
	}
	if a.Campaigns, err = casesvc.OpenCampaigns(ctx, a.Store, casesvc.Options{Logger: log, Auditor: a.Records}); err != nil {
		return nil, err
	}
	a.Records.FollowDocs("case", a.Cases.Follow)
	a.Records.FollowDocs("custody", a.Custody.Follow)
	a.Records.FollowDocs("campaign", a.Campaigns.FollowCampaign)
	a.Records.FollowDocs("operation", a.Campaigns.FollowOperation)
	a.Records.FollowDocs("zones", a.Zones.Follow)
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
	if err := a.startSensors(ctx); err != nil {
		return nil, err
	}
	a.Records.FollowDocs("station", a.Monitoring.FollowStation)
	a.Records.FollowDocs("credential", a.Monitoring.FollowCredential)
	web, err := console.New(console.Options{TileURL: c.TileURL, TileAttribution: c.TileAttribution, TileSubdomains: c.TileSubdomains})
	if err != nil {
		return nil, err
	}
	engine := mobilesync.NewEngine(a.Store.Ledger(), &syncsvc.Applier{Records: a.Records, Accounts: a.Accounts, Now: time.Now},
		syncsvc.Devices{Accounts: a.Accounts}, nil)
	handler := api.New(api.Deps{Records: a.Records, Accounts: a.Accounts, Zones: a.Zones, Sync: engine, Signer: signer, Ping: a.Store.Ping,
		Blobs: a.Blobs, Monitoring: a.Monitoring, Cases: a.Cases, Custody: a.Custody, Campaigns: a.Campaigns,
		Authority: cases.Authority{Name: c.AuthorityName, CreditCode: c.AuthorityCode},
		Throttle:  auth.ThrottleOptions{MaxFailures: c.LoginMaxFailures, MaxFailuresPerClient: 4 * c.LoginMaxFailures, Lockout: c.LoginLockout},
		Writes: api.WriteLimits{UserPerSecond: c.WriteRate, UserBurst: int(5 * c.WriteRate),
			ClientPerSecond: c.WriteRatePerAddress, ClientBurst: int(5 * c.WriteRatePerAddress)},
		IngestStats: a.ingestStats, Console: web, Logger: log, MaxBodyBytes: c.MaxBodyBytes, MaxBlobBytes: c.MaxBlobBytes, TombstoneRetention: c.TombstoneRetention})
	a.ln, err = net.Listen("tcp", c.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("app: listen on %s: %w (set BAOSHUI_HTTP_ADDR or -http-addr to a free address)", c.HTTPAddr, err)
	}
	a.http = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	if c.TLSCert != "" || c.TLSKey != "" {
		if c.TLSCert == "" || c.TLSKey == "" {
			a.ln.Close()
			return nil, fmt.Errorf("app: HTTPS needs both BAOSHUI_TLS_CERT and BAOSHUI_TLS_KEY")
		}
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			a.ln.Close()
			return nil, fmt.Errorf("app: TLS certificate: %w", err)
		}
		a.http.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		a.scheme = "https"
		go func() { a.served <- a.http.ServeTLS(a.ln, "", "") }()
	} else {
		a.scheme = "http"
		go func() { a.served <- a.http.Serve(a.ln) }()
	}
	log.Info("serving", "addr", a.ln.Addr().String(), "startup_ms", time.Since(t0).Milliseconds())
	return a, nil
}

// Addr is the address the HTTP server listens on.
func (a *App) Addr() string { return a.ln.Addr().String() }

// URL is the base URL of the HTTP server.
func (a *App) URL() string { return a.scheme + "://" + a.Addr() }

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
	a.stopSensors()
	if a.stopFollow != nil {
		a.stopFollow()
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

// startSensors opens the monitoring service, registers the stations file
// on an empty registry, and connects the readings: through the embedded
// broker, which hands every device publish to a local ingest and sends the
// PUBACK once it is stored, or through a persistent subscription to an
// external broker.
func (a *App) startSensors(ctx context.Context) error {
	c, log := a.Config, a.Log
	var err error
	rules := sensors.AlertRules{ClearAfter: c.AlertClearAfter, SilenceFactor: c.AlertSilenceFactor}
	snap := ""
	if !c.sharedStore() {
		snap = filepath.Join(c.DataDir, "sensors.snapshot")
	}
	if a.Monitoring, err = monitoring.Open(ctx, a.Store, monitoring.Options{Logger: log, Rules: rules, SnapshotPath: snap, Shared: c.sharedStore()}); err != nil {
		return err
	}
	debug.FreeOSMemory() // the scan's garbage is gone for good
	if c.StationsFile != "" && len(a.Monitoring.Stations()) == 0 {
		b, err := os.ReadFile(c.StationsFile)
		if err != nil {
			return fmt.Errorf("app: stations file: %w", err)
		}
		sts, err := sensors.LoadStations(b)
		if err != nil {
			return fmt.Errorf("app: stations file %s: %w", c.StationsFile, err)
		}
		for _, st := range sts {
			if _, err := a.Monitoring.PutStation(ctx, "stations-file", st, true); err != nil {
				return fmt.Errorf("app: stations file %s: %w", c.StationsFile, err)
			}
		}
		log.Info("stations registered from file", "file", c.StationsFile, "stations", len(sts))
	}
	icfg := ingest.Config{Stations: a.Monitoring.StationMap(), Logger: log}
	switch {
	case c.MQTTURL != "":
		icfg.BrokerURL, icfg.ClientID, icfg.Username, icfg.Password, icfg.Topic = c.MQTTURL, c.MQTTClientID, c.MQTTUsername, c.MQTTPassword, c.MQTTTopic
		// A shared subscription's members take over the share of one that
		// went silent (README, Deployment).
		icfg.Takeover = strings.HasPrefix(c.MQTTTopic, "$share/")
		if a.Ingest, err = ingest.Start(ctx, icfg, a.Monitoring); err != nil {
			return fmt.Errorf("app: external MQTT broker: %w", err)
		}
		a.Monitoring.SetPublisher(a.Ingest.Publish)
	case c.MQTTAddr != "off":
		if a.Ingest, err = ingest.StartLocal(icfg, a.Monitoring); err != nil {
			return err
		}
		auth := broker.AuthFunc(func(username, password string) (broker.Role, bool) {
			if st, ok := a.Monitoring.Authenticate(username, password); ok {
				return broker.DeviceRole(st), true
			}
			return broker.Role{}, false
		})
		a.Broker, err = broker.Start(ctx, broker.Config{Addr: c.MQTTAddr, Auth: auth, Intake: a.Ingest, Logger: log})
		if err != nil {
			return fmt.Errorf("app: embedded MQTT broker (BAOSHUI_MQTT_ADDR): %w", err)
		}
		a.Monitoring.SetPublisher(a.Broker.Publish)
		log.Info("embedded MQTT broker listening", "addr", a.Broker.Addr())
	default:
		log.Warn("MQTT is off (BAOSHUI_MQTT_ADDR=off): no readings are received")
	}
	if a.Ingest != nil {
		a.Monitoring.OnStations(a.Ingest.SetStations)
	}
	if c.Simulate && a.Broker != nil {
		return a.startSimulator(ctx)
	}
	return nil
}

func (a *App) ingestStats() ingest.Stats {
	if a.Ingest == nil {
		return ingest.Stats{}
	}
	return a.Ingest.Stats()
}

// stopSensors stops the simulator, the ingest (storing what it holds), the
// broker and the monitoring service, in that order.
func (a *App) stopSensors() {
	if a.stopSim != nil {
		a.stopSim()
		<-a.simDone
	}
	if a.Ingest != nil {
		// First: what it holds is stored and acknowledged while the
		// devices are still connected; the publishes that come meanwhile
		// are refused and sent again by the devices after the restart.
		if err := a.Ingest.Close(); err != nil {
			a.Log.Warn("ingest close", "err", err)
		}
	}
	if a.Broker != nil {
		a.Broker.Close()
	}
	if a.Monitoring != nil {
		a.Monitoring.Close()
	}
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
