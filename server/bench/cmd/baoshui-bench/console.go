package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/baoshui/baoshui/server/app"
	"github.com/baoshui/baoshui/server/console"
	"github.com/baoshui/baoshui/server/demo"
	"github.com/baoshui/baoshui/server/enforcement"
)

var (
	consoleRuns      = flag.Int("console-runs", 20, "first map renders measured per store for -only console")
	consoleIncidents = flag.Int("console-incidents", 0, "-only console: also measure with a store of the demo year plus this many cloned incidents (kept in -dir for later runs)")
)

// benchConsole measures the time from navigation to the first map render
// of the console in headless Chromium (the mark baoshui:map-rendered on the
// browser's performance timeline), with the 2020 demo year and, when
// dir/startup holds the store of -only startup, with that store (1,000,000
// records), and with -console-incidents N with a store of N more incidents
// (cloned from the demo year's, patrols left out); and the bundle's size.
// It needs `make console` first.
func benchConsole(dir string) {
	con, err := console.New(console.Options{})
	must(err)
	if !con.Built() {
		must(fmt.Errorf("this binary embeds the console's placeholder: run make console first"))
	}
	web := filepath.Join("server", "console", "web")
	var size struct {
		Files     int   `json:"files"`
		Bytes     int64 `json:"bytes"`
		GzipBytes int64 `json:"gzip_bytes"`
	}
	b, err := os.ReadFile(filepath.Join("server", "console", "dist", "app", "size.json"))
	must(err)
	must(json.Unmarshal(b, &size))
	fmt.Printf("## The console's first map render in headless Chromium (goal: under 2 s; bundle under 500 KB gzipped)\n\n")
	fmt.Printf("Bundle: %d files, %.1f KiB, **%.1f KiB gzipped** (goal 500 KB).\n\n", size.Files, float64(size.Bytes)/1024, float64(size.GzipBytes)/1024)
	type consoleStore struct {
		name, dir string
		demo      bool
	}
	stores := []consoleStore{{"2020 demo year", filepath.Join(dir, "console-demo"), true}}
	if _, err := os.Stat(filepath.Join(dir, "startup")); err == nil {
		stores = append(stores, consoleStore{"store of §1 (-only startup)", filepath.Join(dir, "startup"), false})
	}
	if n := *consoleIncidents; n > 0 {
		d := filepath.Join(dir, fmt.Sprintf("console-%d-incidents", n))
		// The marker file says the fill completed; a fill cut short starts over.
		if _, err := os.Stat(filepath.Join(d, "filled")); err != nil {
			must(os.RemoveAll(d))
			cloned, took := fillClones(d, demo.Generate(demo.Seed), n, func(r enforcement.Record) bool { return r.Kind != enforcement.KindPatrol })
			must(os.WriteFile(filepath.Join(d, "filled"), nil, 0o644))
			fmt.Printf("(store with %d more incidents bulk-loaded in %s; its first start builds the read models from a scan)\n\n", cloned, took.Round(time.Second))
		}
		stores = append(stores, consoleStore{fmt.Sprintf("demo year + %d incidents", n), d, false})
	}
	fmt.Printf("| store | incidents stored | incidents in the first view | first render p50 | p95 | max | runs | server start |\n|---|---|---|---|---|---|---|---|\n")
	for _, s := range stores {
		ctx := context.Background()
		t0 := time.Now()
		a, err := app.Start(ctx, config(s.dir, "127.0.0.1:0", s.demo), quiet())
		must(err)
		started := time.Since(t0)
		stored := incidentsStored(a.URL())
		art, err := os.MkdirTemp("", "baoshui-console-bench-")
		must(err)
		cmd := exec.Command("node", "e2e/run.mjs")
		cmd.Dir = web
		cmd.Env = append(os.Environ(), "BAOSHUI_URL="+a.URL(), "BAOSHUI_ARTIFACTS="+art,
			"BAOSHUI_PASSWORD="+demo.Password, fmt.Sprintf("BAOSHUI_E2E_BENCH=%d", *consoleRuns))
		cmd.Stderr = os.Stderr
		_, err = cmd.Output()
		must(err)
		var res struct {
			Bench struct {
				InView int `json:"incidents_in_view"`
				First  struct {
					P50, P95, Max float64
				} `json:"first_render_ms"`
				Runs int `json:"runs"`
			} `json:"bench"`
		}
		b, err := os.ReadFile(filepath.Join(art, "results.json"))
		must(err)
		must(json.Unmarshal(b, &res))
		fmt.Printf("| %s | %d | %d | %.0f ms | %.0f ms | %.0f ms | %d | %s |\n", s.name, stored, res.Bench.InView,
			res.Bench.First.P50, res.Bench.First.P95, res.Bench.First.Max, res.Bench.Runs, started.Round(100*time.Millisecond))
		must(a.Close(ctx))
		os.RemoveAll(art)
	}
	fmt.Println()
}

// incidentsStored asks the map for every incident at zoom 2: its
// numberMatched counts them all.
func incidentsStored(base string) int {
	body := strings.NewReader(fmt.Sprintf(`{"username":"office","password":%q}`, demo.Password))
	resp, err := http.Post(base+"/api/v1/auth/login", "application/json", body)
	must(err)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	must(json.NewDecoder(resp.Body).Decode(&tok))
	resp.Body.Close()
	req, _ := http.NewRequest("GET", base+"/api/v1/map/incidents?zoom=2", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	must(err)
	defer resp.Body.Close()
	var fc struct {
		NumberMatched int `json:"numberMatched"`
	}
	must(json.NewDecoder(resp.Body).Decode(&fc))
	return fc.NumberMatched
}
