package app

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/baoshui/baoshui/server/console"
)

// Config is the whole configuration of the server. Every field comes from a
// BAOSHUI_* environment variable and may be overridden by a flag.
type Config struct {
	HTTPAddr string // BAOSHUI_HTTP_ADDR
	// TLSCert and TLSKey: BAOSHUI_TLS_CERT, BAOSHUI_TLS_KEY; with both the
	// server speaks HTTPS only.
	TLSCert, TLSKey   string
	DataDir           string // BAOSHUI_DATA_DIR
	MongoURI          string // BAOSHUI_MONGO_URI
	MongoDatabase     string // BAOSHUI_MONGO_DATABASE
	FerretPostgresURL string // BAOSHUI_FERRETDB_POSTGRES_URL
	// StoreServe, StoreTLSCert, StoreTLSKey and StoreTLSCA:
	// BAOSHUI_STORE_SERVE and BAOSHUI_STORE_TLS_{CERT,KEY,CA}, the embedded
	// store served to other instances over mutual TLS.
	StoreServe, StoreTLSCert, StoreTLSKey, StoreTLSCA string
	Demo                                              bool          // BAOSHUI_DEMO
	BootstrapAdmin                                    string        // BAOSHUI_BOOTSTRAP_ADMIN
	TokenKey                                          string        // BAOSHUI_TOKEN_KEY
	AccessTTL                                         time.Duration // BAOSHUI_ACCESS_TTL
	// LoginMaxFailures and LoginLockout: BAOSHUI_LOGIN_MAX_FAILURES,
	// BAOSHUI_LOGIN_LOCKOUT.
	LoginMaxFailures int
	LoginLockout     time.Duration
	// WriteRate and WriteRatePerAddress: BAOSHUI_WRITE_RATE,
	// BAOSHUI_WRITE_RATE_PER_ADDRESS (writes per second; 0 = no limit).
	WriteRate, WriteRatePerAddress float64
	RefreshTTL                     time.Duration // BAOSHUI_REFRESH_TTL
	MaxBodyBytes                   int64         // BAOSHUI_MAX_BODY_BYTES
	LogLevel                       string        // BAOSHUI_LOG_LEVEL
	LogFormat                      string        // BAOSHUI_LOG_FORMAT
	ShutdownTimeout                time.Duration // BAOSHUI_SHUTDOWN_TIMEOUT
	// TombstoneRetention: BAOSHUI_SYNC_TOMBSTONE_RETENTION.
	TombstoneRetention time.Duration
	MaxBlobBytes       int64 // BAOSHUI_MAX_BLOB_BYTES

	MQTTAddr     string // BAOSHUI_MQTT_ADDR: the embedded broker, or "off"
	MQTTURL      string // BAOSHUI_MQTT_URL: an external broker instead
	MQTTUsername string // BAOSHUI_MQTT_USERNAME
	MQTTPassword string // BAOSHUI_MQTT_PASSWORD
	MQTTClientID string // BAOSHUI_MQTT_CLIENT_ID
	MQTTTopic    string // BAOSHUI_MQTT_TOPIC
	StationsFile string // BAOSHUI_STATIONS_FILE
	// AuthorityName and AuthorityCode: BAOSHUI_AUTHORITY_NAME,
	// BAOSHUI_AUTHORITY_CODE, the deciding authority on the publicity lists.
	AuthorityName string
	AuthorityCode string
	// CaseCatalogue: BAOSHUI_CASE_CATALOGUE, the file of violations, legal
	// bases and discretion bands fines are checked against ("" = none).
	CaseCatalogue string
	// TileURL, TileAttribution and TileSubdomains: BAOSHUI_TILE_URL,
	// BAOSHUI_TILE_ATTRIBUTION, BAOSHUI_TILE_SUBDOMAINS, the raster base map
	// the console draws beneath its vector layers ("" = none, no internet).
	TileURL         string
	TileAttribution string
	TileSubdomains  string
	Simulate        bool // BAOSHUI_SIMULATE
	// SimulateSpeed: BAOSHUI_SIMULATE_SPEED, simulated seconds per second.
	SimulateSpeed float64
	// AlertClearAfter and AlertSilenceFactor: BAOSHUI_ALERT_CLEAR_AFTER,
	// BAOSHUI_ALERT_SILENCE_FACTOR.
	AlertClearAfter    int
	AlertSilenceFactor float64
}

func boolean(dst func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		switch v {
		case "1", "true":
			*dst(c) = true
		case "0", "false":
			*dst(c) = false
		default:
			return fmt.Errorf("want 1 or 0, got %q", v)
		}
		return nil
	}
}

// setting describes one configuration value, for flags, the environment and
// the README's table.
type setting struct {
	env, flag, def, help string
	set                  func(c *Config, v string) error
}

func str(dst func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *dst(c) = v; return nil }
}

func dur(dst func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("want a positive duration such as 15m or 720h, got %q", v)
		}
		*dst(c) = d
		return nil
	}
}

var settings = []setting{
	{"BAOSHUI_HTTP_ADDR", "http-addr", "127.0.0.1:8080", "HTTP listen address", str(func(c *Config) *string { return &c.HTTPAddr })},
	{"BAOSHUI_TLS_CERT", "tls-cert", "", "PEM certificate (chain) file; with BAOSHUI_TLS_KEY the server speaks HTTPS only, with HSTS", str(func(c *Config) *string { return &c.TLSCert })},
	{"BAOSHUI_TLS_KEY", "tls-key", "", "PEM private key file of BAOSHUI_TLS_CERT", str(func(c *Config) *string { return &c.TLSKey })},
	{"BAOSHUI_DATA_DIR", "data-dir", "./data", "directory of the embedded store and the token key", str(func(c *Config) *string { return &c.DataDir })},
	{"BAOSHUI_MONGO_URI", "mongo-uri", "", "external MongoDB (replica set) URI instead of the embedded store", str(func(c *Config) *string { return &c.MongoURI })},
	{"BAOSHUI_MONGO_DATABASE", "mongo-database", "baoshui", "database name", str(func(c *Config) *string { return &c.MongoDatabase })},
	{"BAOSHUI_FERRETDB_POSTGRES_URL", "ferretdb-postgres-url", "", "run the embedded FerretDB on this PostgreSQL instead of SQLite", str(func(c *Config) *string { return &c.FerretPostgresURL })},
	{"BAOSHUI_STORE_SERVE", "store-serve", "", "also serve the embedded store to other instances at this host:port, over TLS with client certificates (BAOSHUI_STORE_TLS_*)", str(func(c *Config) *string { return &c.StoreServe })},
	{"BAOSHUI_STORE_TLS_CERT", "store-tls-cert", "", "PEM certificate of the served store", str(func(c *Config) *string { return &c.StoreTLSCert })},
	{"BAOSHUI_STORE_TLS_KEY", "store-tls-key", "", "PEM private key of BAOSHUI_STORE_TLS_CERT", str(func(c *Config) *string { return &c.StoreTLSKey })},
	{"BAOSHUI_STORE_TLS_CA", "store-tls-ca", "", "PEM CA certificate that signs the certificates of the instances allowed to connect to the served store", str(func(c *Config) *string { return &c.StoreTLSCA })},
	{"BAOSHUI_DEMO", "demo", "0", "1 loads the 2020 demo year and demo accounts into an empty store", func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("want 0 or 1, got %q", v)
		}
		c.Demo = b
		return nil
	}},
	{"BAOSHUI_BOOTSTRAP_ADMIN", "bootstrap-admin", "", "user:password of the first admin, created on a store without accounts", str(func(c *Config) *string { return &c.BootstrapAdmin })},
	{"BAOSHUI_TOKEN_KEY", "token-key", "", "hex key (≥32 bytes) signing access tokens; default: generated once into DATA_DIR/token.key. Instances sharing a store must share it", str(func(c *Config) *string { return &c.TokenKey })},
	{"BAOSHUI_ACCESS_TTL", "access-ttl", "15m", "lifetime of access tokens", dur(func(c *Config) *time.Duration { return &c.AccessTTL })},
	{"BAOSHUI_LOGIN_MAX_FAILURES", "login-max-failures", "5", "failed sign-ins of one account within 15 minutes that lock it for BAOSHUI_LOGIN_LOCKOUT (one address is refused after 4 times as many, on any accounts)", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return fmt.Errorf("want 1 to 1000, got %q", v)
		}
		c.LoginMaxFailures = n
		return nil
	}},
	{"BAOSHUI_WRITE_RATE", "write-rate", "200", "writes (POST, PUT, PATCH, DELETE) per second a signed-in user may make, in bursts of 5 times as many; past it 429 with Retry-After (0: no limit)", rateFlag(func(c *Config) *float64 { return &c.WriteRate })},
	{"BAOSHUI_WRITE_RATE_PER_ADDRESS", "write-rate-per-address", "0", "writes per second from one client address, in bursts of 5 times as many (0: no limit; behind a reverse proxy every client shares its address)", rateFlag(func(c *Config) *float64 { return &c.WriteRatePerAddress })},
	{"BAOSHUI_LOGIN_LOCKOUT", "login-lockout", "15m", "how long an account stays locked after too many failed sign-ins (429 with Retry-After)", dur(func(c *Config) *time.Duration { return &c.LoginLockout })},
	{"BAOSHUI_REFRESH_TTL", "refresh-ttl", "720h", "lifetime of refresh tokens", dur(func(c *Config) *time.Duration { return &c.RefreshTTL })},
	{"BAOSHUI_MAX_BODY_BYTES", "max-body-bytes", "4194304", "largest request body accepted (413 beyond)", func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1024 || n > 1<<30 {
			return fmt.Errorf("want bytes between 1024 and 1073741824, got %q", v)
		}
		c.MaxBodyBytes = n
		return nil
	}},
	{"BAOSHUI_LOG_LEVEL", "log-level", "info", "debug, info, warn or error", str(func(c *Config) *string { return &c.LogLevel })},
	{"BAOSHUI_LOG_FORMAT", "log-format", "json", "json or text", str(func(c *Config) *string { return &c.LogFormat })},
	{"BAOSHUI_SYNC_TOMBSTONE_RETENTION", "sync-tombstone-retention", "2160h", "how long a void stays in the sync feed; a pull cursor older than that gets 410", dur(func(c *Config) *time.Duration { return &c.TombstoneRetention })},
	{"BAOSHUI_MAX_BLOB_BYTES", "max-blob-bytes", "33554432", "largest photo or evidence file accepted (413 beyond)", func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1024 || n > 1<<32 {
			return fmt.Errorf("want bytes between 1024 and 4294967296, got %q", v)
		}
		c.MaxBlobBytes = n
		return nil
	}},
	{"BAOSHUI_SHUTDOWN_TIMEOUT", "shutdown-timeout", "15s", "how long a shutdown waits for requests in flight", dur(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
	{"BAOSHUI_MQTT_ADDR", "mqtt-addr", "127.0.0.1:1883", "listen address of the embedded MQTT broker (stations publish here); off disables it. Where the port is taken (e.g. by Mosquitto) choose another or use BAOSHUI_MQTT_URL", str(func(c *Config) *string { return &c.MQTTAddr })},
	{"BAOSHUI_MQTT_URL", "mqtt-url", "", "external MQTT broker (tcp://host:port, e.g. Mosquitto or EMQX) instead of the embedded one", str(func(c *Config) *string { return &c.MQTTURL })},
	{"BAOSHUI_MQTT_USERNAME", "mqtt-username", "baoshui-server", "the server's username on the external broker", str(func(c *Config) *string { return &c.MQTTUsername })},
	{"BAOSHUI_MQTT_PASSWORD", "mqtt-password", "", "the server's password on the external broker", str(func(c *Config) *string { return &c.MQTTPassword })},
	{"BAOSHUI_MQTT_CLIENT_ID", "mqtt-client-id", "baoshui-server", "client id of the server's persistent session on the external broker (keep it fixed)", str(func(c *Config) *string { return &c.MQTTClientID })},
	{"BAOSHUI_MQTT_TOPIC", "mqtt-topic", "baoshui/v1/stations/+/readings", "filter the server subscribes to on the external broker ($share/baoshui/… to share the load between instances)", str(func(c *Config) *string { return &c.MQTTTopic })},
	{"BAOSHUI_AUTHORITY_NAME", "authority-name", "密云区保水执法机关（示意，请配置）", "the deciding authority named on the publicity lists of penalty decisions", str(func(c *Config) *string { return &c.AuthorityName })},
	{"BAOSHUI_AUTHORITY_CODE", "authority-code", "", "the deciding authority's unified social credit code (统一社会信用代码) on the publicity lists", str(func(c *Config) *string { return &c.AuthorityCode })},
	{"BAOSHUI_CASE_CATALOGUE", "case-catalogue", "", "violations, legal bases and penalty discretion bands (JSON like the illustrative testdata/cases/catalogue.json; the official one comes from the office); when set, a fine outside its band needs a written justification", str(func(c *Config) *string { return &c.CaseCatalogue })},
	{"BAOSHUI_TILE_URL", "tile-url", "", "raster tile URL template ({z}/{x}/{y}, optionally {s}) the console draws beneath its own vector layers, e.g. Tianditu's WGS-84 service; empty draws none and the console reaches no other host", str(func(c *Config) *string { return &c.TileURL })},
	{"BAOSHUI_TILE_ATTRIBUTION", "tile-attribution", "", "attribution shown with BAOSHUI_TILE_URL's tiles", str(func(c *Config) *string { return &c.TileAttribution })},
	{"BAOSHUI_TILE_SUBDOMAINS", "tile-subdomains", "", "values of {s} in BAOSHUI_TILE_URL, e.g. 01234567", str(func(c *Config) *string { return &c.TileSubdomains })},
	{"BAOSHUI_STATIONS_FILE", "stations-file", "", "stations JSON (like testdata/stations.json) loaded when no station is registered yet", str(func(c *Config) *string { return &c.StationsFile })},
	{"BAOSHUI_SIMULATE", "simulate", "0", "1 issues device credentials to every station and publishes simulated readings through the embedded broker (demonstrations only: it rotates the credentials)", boolean(func(c *Config) *bool { return &c.Simulate })},
	{"BAOSHUI_SIMULATE_SPEED", "simulate-speed", "2880", "how fast BAOSHUI_SIMULATE replays the last day, in simulated seconds per second; once it reaches the present the stations report in real time", func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 1 || f > 100000 {
			return fmt.Errorf("want 1 to 100000, got %q", v)
		}
		c.SimulateSpeed = f
		return nil
	}},
	{"BAOSHUI_ALERT_CLEAR_AFTER", "alert-clear-after", "3", "consecutive compliant samples that clear an exceedance alert", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return fmt.Errorf("want 1 to 1000, got %q", v)
		}
		c.AlertClearAfter = n
		return nil
	}},
	{"BAOSHUI_ALERT_SILENCE_FACTOR", "alert-silence-factor", "3", "a station is silent after this many expected intervals without a reading", func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 1 || f > 1000 {
			return fmt.Errorf("want 1 to 1000, got %q", v)
		}
		c.AlertSilenceFactor = f
		return nil
	}},
}

// LoadConfig reads the environment (getenv) and then args as flags, and
// validates the result. The error names every bad value.
func LoadConfig(name string, args []string, getenv func(string) string) (Config, error) {
	var c Config
	var errs []error
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	for _, st := range settings {
		v := st.def
		source := "default"
		if e := getenv(st.env); e != "" {
			v, source = e, st.env
		}
		if err := st.set(&c, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", source, err))
		}
		fs.Func(st.flag, st.help+" ("+st.env+", default "+strconv.Quote(st.def)+")", func(v string) error { return st.set(&c, v) })
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	return c, c.Validate()
}

// Validate checks the combination of values and names every problem.
func (c Config) Validate() error {
	var errs []string
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		errs = append(errs, fmt.Sprintf("BAOSHUI_HTTP_ADDR: want host:port, got %q", c.HTTPAddr))
	}
	if c.MongoURI != "" && !strings.HasPrefix(c.MongoURI, "mongodb://") && !strings.HasPrefix(c.MongoURI, "mongodb+srv://") {
		errs = append(errs, "BAOSHUI_MONGO_URI: want a mongodb:// or mongodb+srv:// URI")
	}
	if c.MongoURI != "" && c.FerretPostgresURL != "" {
		errs = append(errs, "BAOSHUI_MONGO_URI and BAOSHUI_FERRETDB_POSTGRES_URL: choose one store")
	}
	if c.FerretPostgresURL != "" && !strings.HasPrefix(c.FerretPostgresURL, "postgres://") && !strings.HasPrefix(c.FerretPostgresURL, "postgresql://") {
		errs = append(errs, "BAOSHUI_FERRETDB_POSTGRES_URL: want a postgres:// URL")
	}
	if c.StoreServe != "" {
		if c.MongoURI != "" {
			errs = append(errs, "BAOSHUI_STORE_SERVE: serves the embedded store; with BAOSHUI_MONGO_URI there is none")
		}
		if _, _, err := net.SplitHostPort(c.StoreServe); err != nil {
			errs = append(errs, fmt.Sprintf("BAOSHUI_STORE_SERVE: want host:port, got %q", c.StoreServe))
		}
		if c.StoreTLSCert == "" || c.StoreTLSKey == "" || c.StoreTLSCA == "" {
			errs = append(errs, "BAOSHUI_STORE_SERVE: needs BAOSHUI_STORE_TLS_CERT, BAOSHUI_STORE_TLS_KEY and BAOSHUI_STORE_TLS_CA (the store is served only over mutual TLS)")
		}
	}
	if c.MongoURI == "" && c.FerretPostgresURL == "" && c.DataDir == "" {
		errs = append(errs, "BAOSHUI_DATA_DIR: required for the embedded store")
	}
	if c.BootstrapAdmin != "" {
		if u, p, ok := strings.Cut(c.BootstrapAdmin, ":"); !ok || u == "" || len(p) < 8 {
			errs = append(errs, "BAOSHUI_BOOTSTRAP_ADMIN: want user:password with a password of at least 8 characters")
		}
	}
	if c.TokenKey != "" {
		if b, err := decodeKey(c.TokenKey); err != nil || len(b) < 32 {
			errs = append(errs, "BAOSHUI_TOKEN_KEY: want at least 64 hex digits (32 bytes)")
		}
	}
	if c.TileURL != "" {
		if err := console.CheckTileURL(c.TileURL); err != nil {
			errs = append(errs, "BAOSHUI_TILE_URL: "+err.Error())
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Sprintf("BAOSHUI_LOG_LEVEL: want debug, info, warn or error, got %q", c.LogLevel))
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		errs = append(errs, fmt.Sprintf("BAOSHUI_LOG_FORMAT: want json or text, got %q", c.LogFormat))
	}
	if c.MQTTAddr != "off" && c.MQTTURL == "" {
		if _, _, err := net.SplitHostPort(c.MQTTAddr); err != nil {
			errs = append(errs, fmt.Sprintf("BAOSHUI_MQTT_ADDR: want host:port or off, got %q", c.MQTTAddr))
		}
	}
	if c.MQTTURL != "" {
		if u, err := url.Parse(c.MQTTURL); err != nil || u.Host == "" || u.Scheme == "" {
			errs = append(errs, fmt.Sprintf("BAOSHUI_MQTT_URL: want tcp://host:port, got %q", c.MQTTURL))
		}
		if c.Simulate {
			errs = append(errs, "BAOSHUI_SIMULATE: works with the embedded broker only (an external broker keeps its own device passwords); run `baoshui simulate-stations` against it instead")
		}
	}
	if c.Simulate && c.MQTTAddr == "off" && c.MQTTURL == "" {
		errs = append(errs, "BAOSHUI_SIMULATE: needs the embedded broker (BAOSHUI_MQTT_ADDR is off)")
	}
	if len(errs) > 0 {
		return errors.New("configuration: " + strings.Join(errs, "; "))
	}
	return nil
}

// ConfigHelp lists every setting as a Markdown table row, for the README.
func ConfigHelp() string {
	var b strings.Builder
	for _, st := range settings {
		def := "—"
		if st.def != "" {
			def = "`" + st.def + "`"
		}
		fmt.Fprintf(&b, "| `%s` | `-%s` | %s | %s |\n", st.env, st.flag, def, st.help)
	}
	return b.String()
}

func getenvOS(k string) string { return os.Getenv(k) }

// rateFlag parses a rate in events per second, 0 to 1,000,000.
func rateFlag(field func(c *Config) *float64) func(c *Config, v string) error {
	return func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1e6 || f != f {
			return fmt.Errorf("want 0 to 1000000 per second, got %q", v)
		}
		*field(c) = f
		return nil
	}
}
