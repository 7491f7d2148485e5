package main

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

// Report is the outcome of one load run.
type Report struct {
	Config Config
	// Date is when the run began (UTC).
	Date time.Time
	// The machine and the generator's runtime.
	GOMAXPROCS, NumCPU int
	GoVersion          string
	MemTotal           int64
	LoadAvg            string // at the start

	// URL and MQTTAddr are the server under load; Own describes it when
	// this command started it.
	URL, MQTTAddr string
	Own           *OwnServer

	Setup              time.Duration
	Phones             int
	OfficerAccounts    int
	StationIDs         []string
	StationsRegistered int

	Elapsed     time.Duration
	Interrupted bool
	Endpoints   []EndpointResult
	Resources   Resources
	// GeneratorCPU is the CPU time this process used during the load.
	GeneratorCPU time.Duration
	Sync         SyncResult
	MQTT         MQTTResult
}

// OwnServer is the server this command started.
type OwnServer struct {
	Bin           string
	Built         bool
	Env           []string
	Startup       time.Duration
	Warnings      int
	FirstWarnings []string
}

// RecordsMatch reports whether the current year's incidents and totals
// grew by exactly what the pushes applied.
func (r *Report) RecordsMatch() bool {
	s := r.Sync
	return s.IncidentsAfter-s.IncidentsBefore == s.Applied+s.Duplicates && s.TotalsDelta.equal(s.ExpectedTotals)
}

// ReadingsMatch reports whether the server stored the readings that were
// acknowledged: exactly those when every publish was acknowledged, and
// between the acknowledged and the sent ones otherwise.
func (r *Report) ReadingsMatch() bool {
	m := r.MQTT
	if m.Failed == 0 {
		return m.StoredDelta == m.Acked
	}
	return m.StoredDelta >= m.Acked && m.StoredDelta <= m.Sent
}

// ChecksPass reports whether every stored-count check passed.
func (r *Report) ChecksPass() bool { return r.RecordsMatch() && r.ReadingsMatch() }

// Endpoint returns the result of the named endpoint.
func (r *Report) Endpoint(name string) (EndpointResult, bool) {
	for _, e := range r.Endpoints {
		if e.Name == name {
			return e, true
		}
	}
	return EndpointResult{}, false
}

func verdict(ok bool) string {
	if ok {
		return "**match**"
	}
	return "**MISMATCH**"
}

// Markdown renders the report.
func (r *Report) Markdown() string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	c := r.Config
	p("# Baoshui load report\n\n")
	p("%s, %s of load: %d officers' phones, %d office users, %d stations publishing.", r.Date.Format(time.RFC3339),
		r.Elapsed.Round(100*time.Millisecond), r.Phones, c.Browsers, len(r.StationIDs))
	if r.Interrupted {
		p(" **Interrupted before the end.**")
	}
	p("\n\n")
	if c.Command != "" {
		p("```sh\n%s\n```\n\n", c.Command)
	}

	p("## Endpoints\n\n")
	p("| endpoint | count | errors | per s | p50 | p95 | p99 | max |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, e := range r.Endpoints {
		p("| `%s` | %d | %d | %.1f | %s | %s | %s | %s |\n", e.Name, e.Count, e.Errors, e.PerSecond,
			fmtDur(e.P50), fmtDur(e.P95), fmtDur(e.P99), fmtDur(e.Max))
	}
	p("\n*per s*: operations per second of the %s load (errors included). Latency is from sending the request to the whole answer; for `MQTT publish` from PUBLISH to PUBACK at QoS 1, which the embedded broker sends once the reading is stored. Errors are non-2xx answers, transport failures and timeouts (%s), pushes with a rejected or conflicting mutation, and publishes without PUBACK.\n\n",
		r.Elapsed.Round(100*time.Millisecond), c.Timeout)
	var errs []string
	for _, e := range r.Endpoints {
		for i, m := range e.Messages {
			errs = append(errs, fmt.Sprintf("- `%s` ×%d: %s", e.Name, e.MsgCounts[i], m))
		}
	}
	if len(errs) > 0 {
		p("Errors (the first %d distinct messages per endpoint):\n\n%s\n\n", maxMessages, strings.Join(errs, "\n"))
	} else {
		p("No errors.\n\n")
	}

	p("## Stored-count checks\n\n")
	p("| check | the load | the server | result |\n|---|---|---|---|\n")
	s := r.Sync
	if r.Phones > 0 {
		p("| records: incidents of %d (`GET /map/incidents` numberMatched) | %d applied + %d duplicate | %d → %d (+%d) | %s |\n",
			s.Year, s.Applied, s.Duplicates, s.IncidentsBefore, s.IncidentsAfter, s.IncidentsAfter-s.IncidentsBefore,
			verdict(s.IncidentsAfter-s.IncidentsBefore == s.Applied+s.Duplicates))
		p("| totals of %d (`GET /reports/totals`) | %s | %s | %s |\n", s.Year, s.ExpectedTotals, s.TotalsDelta,
			verdict(s.TotalsDelta.equal(s.ExpectedTotals)))
	}
	m := r.MQTT
	if len(r.StationIDs) > 0 {
		p("| readings (`baoshui_readings_stored_total`) | %d acknowledged (%d sent, %d without PUBACK) | +%d | %s |\n",
			m.Acked, m.Sent, m.Failed, m.StoredDelta, verdict(r.ReadingsMatch()))
	}
	p("\n")
	if r.Phones > 0 {
		p("Sync: %d pushes (%d answered 200, %d re-sent after a failure) of %d new records each; %d mutations answered: %d applied, %d duplicate, %d rejected, %d conflict — %.1f records applied per second.\n\n",
			s.Pushes, s.PushesOK, s.Retried, c.Batch, s.Mutations, s.Applied, s.Duplicates, s.Rejected, s.Conflict,
			float64(s.Applied)/r.Elapsed.Seconds())
	}

	p("## Server resources\n\n")
	res := r.Resources
	if r.Own != nil {
		p("From the server's `/metrics`, scraped every second (%d samples, %d failed). The server is one process: the HTTP API, the embedded FerretDB store (SQLite) and the embedded MQTT broker.", res.Samples, res.Failed)
	} else if c.ServerNote != "" {
		p("From `/metrics`, scraped every second (%d samples, %d failed). %s", res.Samples, res.Failed, c.ServerNote)
	} else if n := strings.Count(r.URL, ",") + 1; n > 1 {
		p("From the `/metrics` of the %d instances at %s, scraped every second (%d samples, %d failed); every figure below, GOMAXPROCS too, is their sum.", n, r.URL, res.Samples, res.Failed)
	} else {
		p("From the server's `/metrics` at %s, scraped every second (%d samples, %d failed); with the embedded store and broker they are the same process.", r.URL, res.Samples, res.Failed)
	}
	p("\n\n| figure | start | peak | end |\n|---|---:|---:|---:|\n")
	p("| resident memory (`process_resident_memory_bytes`) | %s | %s | %s |\n", mb(res.RSSStart), mb(res.RSSPeak), mb(res.RSSEnd))
	if res.HWMEnd > 0 {
		p("| peak resident memory since start (VmHWM) | %s | | %s |\n", mb(float64(res.HWMStart)), mb(float64(res.HWMEnd)))
	}
	p("| goroutines (`go_goroutines`) | %.0f | %.0f | %.0f |\n", res.GoroutinesStart, res.GoroutinesPeak, res.GoroutinesEnd)
	if len(res.Trend) > 0 {
		p("\nOver the run, the averages of each tenth (flat lines mean no leak):\n\n| from | to | resident memory | heap in use (`go_memstats_heap_inuse_bytes`) | goroutines |\n|---|---|---:|---:|---:|\n")
		for _, x := range res.Trend {
			p("| %s | %s | %s | %s | %.0f |\n", x.From.Round(time.Second), x.To.Round(time.Second), mb(x.RSS), mb(x.Heap), x.Goroutines)
		}
	}
	p("\nCPU (`process_cpu_seconds_total`): %.1f s over %s, **%.2f cores** on average", res.CPUSeconds, res.Wall.Round(100*time.Millisecond), res.AvgCores())
	if res.ServerGOMAXPROCS > 0 {
		p(" (the server's GOMAXPROCS %.0f)", res.ServerGOMAXPROCS)
	}
	p(". The load generator runs on the same machine and takes its share of the cores")
	if r.GeneratorCPU > 0 && r.Own != nil {
		p(": %.1f s of CPU, %.2f cores", r.GeneratorCPU.Seconds(), r.GeneratorCPU.Seconds()/r.Elapsed.Seconds())
	}
	p(".\n\n")
	if r.Own != nil {
		p("Server log: %d lines at warn or error level", r.Own.Warnings)
		if len(r.Own.FirstWarnings) > 0 {
			p("; the first:\n")
			for _, w := range r.Own.FirstWarnings {
				p("\n    %s", w)
			}
			p("\n")
		} else {
			p(".\n")
		}
		p("\n")
	}

	p("## Configuration\n\n")
	p("| knob | value |\n|---|---|\n")
	p("| `-duration` | %s |\n", c.Duration)
	p("| `-officers` × `-batch` every `-push-interval` | %d × %d every %s (%d phones of %d officer accounts; target %.0f records/s) |\n",
		c.Officers, c.Batch, c.PushInterval, r.Phones, r.OfficerAccounts, rate(c.Officers*c.Batch, c.PushInterval))
	p("| `-browsers` every `-browse-interval` | %d every %s (target %.0f requests/s: 35%% incidents, 20%% heat, 20%% totals, 25%% records) |\n",
		c.Browsers, c.BrowseInterval, rate(c.Browsers, c.BrowseInterval))
	p("| `-stations` every `-publish-interval` | %d every %s (target %.0f readings/s; %d registered by the load) |\n",
		len(r.StationIDs), c.PublishInterval, rate(len(r.StationIDs), c.PublishInterval), r.StationsRegistered)
	p("| `-timeout`, `-seed` | %s, %d |\n", c.Timeout, c.Seed)
	if r.Own != nil {
		built := ""
		if r.Own.Built {
			built = " (built by the load generator)"
		}
		p("| server | started here: `%s serve`%s, ready after %s (demo year loaded), with `%s` |\n", r.Own.Bin, built,
			r.Own.Startup.Round(100*time.Millisecond), strings.Join(r.Own.Env, " "))
		p("| write rate limit | none (`BAOSHUI_WRITE_RATE=0`) |\n")
	} else {
		p("| server | %s, MQTT %s (its own configuration; a write rate limit answers 429, counted as errors) |\n", r.URL, r.MQTTAddr)
	}
	p("| set-up | %s (sign-ins, devices, stations, credentials, MQTT connections), not measured |\n", r.Setup.Round(100*time.Millisecond))
	p("\n## Machine\n\n")
	p("%s/%s, %d CPUs, GOMAXPROCS %d (load generator), %s memory, %s; load average at the start %s.\n",
		runtime.GOOS, runtime.GOARCH, r.NumCPU, r.GOMAXPROCS, mb(float64(r.MemTotal)), r.GoVersion, r.LoadAvg)
	return b.String()
}

func rate(n int, every time.Duration) float64 {
	if every <= 0 {
		return 0
	}
	return float64(n) / every.Seconds()
}

// mb formats bytes in MB (10⁶), or GiB beyond 10 GB.
func mb(b float64) string {
	if b >= 10e9 {
		return fmt.Sprintf("%.1f GiB", b/(1<<30))
	}
	return fmt.Sprintf("%.0f MB", b/1e6)
}

// fmtDur formats a latency in milliseconds (seconds from 1 s).
func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "–"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}
