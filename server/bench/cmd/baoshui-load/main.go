// Command baoshui-load puts a Baoshui server under the mixed load of a
// working day, all at once, and reports what it measured:
//
//   - officers' phones (-officers), each registered as its own device of a
//     demo officer, pushing batches of new field records (-batch) through
//     POST /api/v1/sync/push every -push-interval;
//   - office users (-browsers) browsing the incident map at varying boxes
//     and zooms, the heat map of the warden grid, the totals report and
//     single records, one request every -browse-interval each;
//   - monitoring stations (-stations) publishing a reading at QoS 1 over
//     MQTT every -publish-interval (stations beyond the registered ones are
//     registered first).
//
// For every endpoint it reports the count, the errors (non-2xx answers and
// transport failures, with the first distinct messages), the throughput and
// the p50/p95/p99/max latency; for MQTT the latency is publish to PUBACK.
// It samples the server's /metrics every second for its resident memory,
// CPU and goroutines, and at the end checks that the server stored exactly
// what it acknowledged: the incidents and totals of the current year grew by
// the records applied, and baoshui_readings_stored_total by the readings
// acknowledged.
//
// Without -url it starts its own server: -bin (bin/baoshui, built into a
// temporary directory when missing) serving a fresh temporary data directory
// with the 2020 demo year (BAOSHUI_DEMO=1), the shipped stations, the
// embedded MQTT broker on a free port and no write rate limit
// (BAOSHUI_WRITE_RATE=0). With -url it loads that server, which must hold
// the demo accounts (-admin, -office, officers with -officer-password);
// -mqtt names its broker. Issuing the stations' credentials rotates them:
// never point it at a server whose real stations must keep publishing.
//
// The records it pushes lie in the current year (never 2020, so the demo
// year's totals stay those of the report) and carry new ULIDs.
//
// Usage:
//
//	go run ./server/bench/cmd/baoshui-load -duration 60s -officers 50 -browsers 20 -stations 12 -out load-report.md
//
// The report is printed and written to -out. The exit status is 1 when the
// load could not run and 3 when a stored-count check failed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	cfg := DefaultConfig()
	cfg.Flags(flag.CommandLine)
	flag.Parse()
	cfg.Command = commandLine()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := Run(ctx, cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "baoshui-load:", err)
		os.Exit(1)
	}
	md := rep.Markdown()
	fmt.Print(md)
	if cfg.Out != "" {
		if err := os.WriteFile(cfg.Out, []byte(md), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "baoshui-load:", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "baoshui-load: report written to %s\n", cfg.Out)
	}
	if !rep.ChecksPass() {
		os.Exit(3)
	}
}

// commandLine is how this command was run: `go run` of its package when
// the go tool built it, with the make target that ran it.
func commandLine() string {
	name := os.Args[0]
	if strings.Contains(name, "go-build") {
		name = "go run ./server/bench/cmd/baoshui-load"
	}
	args := []string{name}
	for _, a := range os.Args[1:] {
		if a == "" || strings.ContainsAny(a, " \t'\"$") {
			a = strconv.Quote(a)
		}
		args = append(args, a)
	}
	cl := strings.Join(args, " ")
	if os.Getenv("MAKELEVEL") != "" {
		cl = "make load   # which ran:\n" + cl
	}
	return cl
}

// Config is what one load run does. The zero value of a count disables
// that part of the load.
type Config struct {
	// URL is the server to load (http://host:port); empty starts one.
	URL string
	// MQTTAddr is host:port of the broker the stations publish to; with
	// a server started here it is its embedded broker.
	MQTTAddr string
	// Bin is the baoshui binary started when URL is empty.
	Bin string
	// StationsFile is BAOSHUI_STATIONS_FILE of a server started here
	// (skipped when the file does not exist).
	StationsFile string
	// KeepData keeps the temporary data directory of a server started here.
	KeepData bool

	// Duration is how long the load runs (set-up and checks aside).
	Duration time.Duration

	// Officers phones push Batch new records each every PushInterval.
	Officers     int
	PushInterval time.Duration
	Batch        int

	// Browsers office users send a request each every BrowseInterval.
	Browsers       int
	BrowseInterval time.Duration

	// Stations stations publish a reading each every PublishInterval.
	Stations        int
	PublishInterval time.Duration

	// Admin and Office are user:password of an admin and an office user;
	// OfficerPassword is the password of every officer account.
	Admin, Office   string
	OfficerPassword string

	// Timeout bounds every request and every PUBACK wait.
	Timeout time.Duration
	// Settle is how long to wait after the load for the last readings to
	// be stored before counting them.
	Settle time.Duration
	// Seed makes the browsing and the records reproducible.
	Seed int64

	// Out is the report file (the command writes it).
	Out string
	// Command is the command line, quoted in the report.
	Command string
	// ServerNote overrides the report's description of the server (a test
	// running the server in its own process says so).
	ServerNote string
}

// DefaultConfig is the moderate profile of `make load`; it gives the flags
// their defaults.
func DefaultConfig() Config {
	return Config{
		Bin: "bin/baoshui", StationsFile: "testdata/stations.json",
		Duration: 60 * time.Second,
		Officers: 50, PushInterval: time.Second, Batch: 5,
		Browsers: 20, BrowseInterval: 250 * time.Millisecond,
		Stations: 12, PublishInterval: time.Second,
		Admin: "admin:baoshui2020", Office: "office:baoshui2020", OfficerPassword: "baoshui2020",
		Timeout: 30 * time.Second, Settle: 15 * time.Second, Seed: 1,
		Out: "load-report.md",
	}
}

// Flags registers the knobs on fs, with c's values as defaults.
func (c *Config) Flags(fs *flag.FlagSet) {
	fs.StringVar(&c.URL, "url", c.URL, "server to load (http://host:port), or instances of one server sharing a store, comma-separated (requests go to each in turn); empty starts -bin on a fresh temporary store with the demo year")
	fs.StringVar(&c.MQTTAddr, "mqtt", c.MQTTAddr, "host:port of the server's MQTT broker (with -url; a started server's embedded broker otherwise)")
	fs.StringVar(&c.Bin, "bin", c.Bin, "baoshui binary to start without -url (built into a temporary directory when missing)")
	fs.StringVar(&c.StationsFile, "stations-file", c.StationsFile, "BAOSHUI_STATIONS_FILE of the started server (skipped when missing)")
	fs.BoolVar(&c.KeepData, "keep-data", c.KeepData, "keep the started server's temporary data directory")
	fs.DurationVar(&c.Duration, "duration", c.Duration, "how long the load runs")
	fs.IntVar(&c.Officers, "officers", c.Officers, "concurrent officers' phones pushing records")
	fs.DurationVar(&c.PushInterval, "push-interval", c.PushInterval, "time between two pushes of one phone")
	fs.IntVar(&c.Batch, "batch", c.Batch, "new records in each push (1 to 500)")
	fs.IntVar(&c.Browsers, "browsers", c.Browsers, "concurrent office users browsing the map, totals and records")
	fs.DurationVar(&c.BrowseInterval, "browse-interval", c.BrowseInterval, "time between two requests of one office user (0: each sends its next request as soon as the last is answered)")
	fs.IntVar(&c.Stations, "stations", c.Stations, "stations publishing readings over MQTT (more than are registered are registered)")
	fs.DurationVar(&c.PublishInterval, "publish-interval", c.PublishInterval, "time between two readings of one station")
	fs.StringVar(&c.Admin, "admin", c.Admin, "user:password of an admin (stations, credentials, the officers' list)")
	fs.StringVar(&c.Office, "office", c.Office, "user:password of the office user who browses")
	fs.StringVar(&c.OfficerPassword, "officer-password", c.OfficerPassword, "password of the officer accounts")
	fs.DurationVar(&c.Timeout, "timeout", c.Timeout, "limit of each request and each PUBACK wait")
	fs.DurationVar(&c.Settle, "settle", c.Settle, "how long to wait after the load for the readings to be stored")
	fs.Int64Var(&c.Seed, "seed", c.Seed, "seed of the random browsing and records")
	fs.StringVar(&c.Out, "out", c.Out, "report file (Markdown); empty prints only")
}

// check validates the configuration and names each bad value.
func (c *Config) check() error {
	var bad []string
	if c.Duration <= 0 {
		bad = append(bad, "-duration must be positive")
	}
	if c.Officers < 0 || c.Browsers < 0 || c.Stations < 0 {
		bad = append(bad, "-officers, -browsers and -stations must not be negative")
	}
	if c.Officers > 0 && (c.Batch < 1 || c.Batch > 500) {
		bad = append(bad, "-batch must be 1 to 500")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
		used bool
	}{{"-push-interval", c.PushInterval, c.Officers > 0}, {"-browse-interval", c.BrowseInterval, false},
		{"-publish-interval", c.PublishInterval, c.Stations > 0}, {"-timeout", c.Timeout, true}} {
		if d.v < 0 || d.used && d.v == 0 {
			bad = append(bad, d.name+" must be positive")
		}
	}
	if c.URL != "" && c.Stations > 0 && c.MQTTAddr == "" {
		bad = append(bad, "-mqtt is needed with -url when -stations > 0")
	}
	for _, up := range []struct{ name, v string }{{"-admin", c.Admin}, {"-office", c.Office}} {
		if u, p, ok := strings.Cut(up.v, ":"); !ok || u == "" || p == "" {
			bad = append(bad, up.name+" must be user:password")
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("configuration: %s", strings.Join(bad, "; "))
	}
	return nil
}
