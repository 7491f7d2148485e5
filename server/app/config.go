package app

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is the whole configuration of the server. Every field comes from a
// BAOSHUI_* environment variable and may be overridden by a flag.
type Config struct {
	HTTPAddr          string        // BAOSHUI_HTTP_ADDR
	DataDir           string        // BAOSHUI_DATA_DIR
	MongoURI          string        // BAOSHUI_MONGO_URI
	MongoDatabase     string        // BAOSHUI_MONGO_DATABASE
	FerretPostgresURL string        // BAOSHUI_FERRETDB_POSTGRES_URL
	Demo              bool          // BAOSHUI_DEMO
	BootstrapAdmin    string        // BAOSHUI_BOOTSTRAP_ADMIN
	TokenKey          string        // BAOSHUI_TOKEN_KEY
	AccessTTL         time.Duration // BAOSHUI_ACCESS_TTL
	RefreshTTL        time.Duration // BAOSHUI_REFRESH_TTL
	MaxBodyBytes      int64         // BAOSHUI_MAX_BODY_BYTES
	LogLevel          string        // BAOSHUI_LOG_LEVEL
	LogFormat         string        // BAOSHUI_LOG_FORMAT
	ShutdownTimeout   time.Duration // BAOSHUI_SHUTDOWN_TIMEOUT
	// TombstoneRetention: BAOSHUI_SYNC_TOMBSTONE_RETENTION.
	TombstoneRetention time.Duration
	MaxBlobBytes       int64 // BAOSHUI_MAX_BLOB_BYTES
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
	{"BAOSHUI_DATA_DIR", "data-dir", "./data", "directory of the embedded store and the token key", str(func(c *Config) *string { return &c.DataDir })},
	{"BAOSHUI_MONGO_URI", "mongo-uri", "", "external MongoDB (replica set) URI instead of the embedded store", str(func(c *Config) *string { return &c.MongoURI })},
	{"BAOSHUI_MONGO_DATABASE", "mongo-database", "baoshui", "database name", str(func(c *Config) *string { return &c.MongoDatabase })},
	{"BAOSHUI_FERRETDB_POSTGRES_URL", "ferretdb-postgres-url", "", "run the embedded FerretDB on this PostgreSQL instead of SQLite", str(func(c *Config) *string { return &c.FerretPostgresURL })},
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
