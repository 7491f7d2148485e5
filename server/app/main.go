package app

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/baoshui/baoshui/server/audit"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/records"
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"serve":             {"start the server (the default)", serve},
		"report":            {"print a year's enforcement totals: report --year 2020 [--unit ID] [--campaign NAME]", report},
		"verify-audit":      {"verify the audit chain in the store", verifyAudit},
		"config":            {"list every BAOSHUI_* setting with its flag and default", printConfig},
		"simulate-stations": {"publish simulated water-quality readings as the stations' devices: simulate-stations -broker URL -credentials FILE", simulateStations},
		"help":              {"list the commands", help},
	}
}

// Main runs the baoshui command line and returns the exit code.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	name := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "baoshui: unknown command %q\n\n", name)
		help(ctx, nil, getenv, stderr, stderr)
		return 2
	}
	return cmd.run(ctx, args, getenv, stdout, stderr)
}

func help(_ context.Context, _ []string, _ func(string) string, stdout, _ io.Writer) int {
	fmt.Fprintln(stdout, "Usage: baoshui [command] [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(stdout, "  %-18s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(stdout, "\nserve, report and verify-audit take the settings of `baoshui config` as flags.")
	return 0
}

func printConfig(_ context.Context, _ []string, _ func(string) string, stdout, _ io.Writer) int {
	fmt.Fprintln(stdout, "| variable | flag | default | meaning |\n|---|---|---|---|")
	fmt.Fprint(stdout, ConfigHelp())
	return 0
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := LoadConfig("baoshui serve", args, getenv)
	if err != nil {
		fmt.Fprintln(stderr, "baoshui:", err)
		return 2
	}
	log := NewLogger(cfg, stderr)
	a, err := Start(ctx, cfg, log)
	if err != nil {
		log.Error("start failed", "err", err)
		fmt.Fprintln(stderr, "baoshui:", err)
		return 1
	}
	if a.DemoInfo != "" {
		fmt.Fprint(stdout, a.DemoInfo)
	}
	fmt.Fprintf(stdout, "Baoshui is serving on %s (store: %s). Ctrl-C stops it.\n", a.URL(), a.Store.Engine())
	code := 0
	select {
	case <-ctx.Done():
	case err := <-a.Served():
		log.Error("http server stopped", "err", err)
		code = 1
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := a.Close(sctx); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	log.Info("stopped cleanly")
	return code
}

// openOffline opens the store and the record service without serving HTTP.
func openOffline(ctx context.Context, cfg Config, stderr io.Writer) (*App, error) {
	log := NewLogger(Config{LogLevel: "warn", LogFormat: cfg.LogFormat}, stderr)
	a := &App{Config: cfg, Log: log}
	var err error
	if a.Store, err = OpenStore(ctx, cfg, log); err != nil {
		return nil, err
	}
	units, err := a.Store.Units(ctx)
	if err != nil {
		a.Close(ctx)
		return nil, err
	}
	tree := enforcement.NewUnitTree()
	for _, u := range units {
		tree.Put(u)
	}
	snap := ""
	if cfg.MongoURI == "" && cfg.FerretPostgresURL == "" {
		snap = filepath.Join(cfg.DataDir, "read-models.snapshot")
	}
	if a.Records, err = records.Open(ctx, a.Store, tree, records.Options{Logger: log, SnapshotPath: snap}); err != nil {
		a.Close(ctx)
		return nil, err
	}
	return a, nil
}

func report(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	var year int
	var unit, campaign string
	cfgArgs := []string{}
	for i := 0; i < len(args); i++ {
		a := strings.TrimLeft(args[i], "-")
		key, val, hasVal := strings.Cut(a, "=")
		if (key == "year" || key == "unit" || key == "campaign") && !hasVal && i+1 < len(args) {
			val, i = args[i+1], i+1
		}
		switch key {
		case "year":
			if _, err := fmt.Sscanf(val, "%d", &year); err != nil {
				fmt.Fprintln(stderr, "baoshui report: --year wants a year such as 2020")
				return 2
			}
		case "unit":
			unit = val
		case "campaign":
			campaign = val
		default:
			cfgArgs = append(cfgArgs, args[i])
		}
	}
	if year < 2000 || year > 2100 {
		fmt.Fprintln(stderr, "baoshui report: --year YYYY is required")
		return 2
	}
	cfg, err := LoadConfig("baoshui report", cfgArgs, getenv)
	if err != nil {
		fmt.Fprintln(stderr, "baoshui:", err)
		return 2
	}
	a, err := openOffline(ctx, cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "baoshui report:", err)
		return 1
	}
	defer a.Close(context.Background())
	rep := a.Records.Totals(records.TotalsQuery{From: enforcement.DayFromDate(year, time.January, 1),
		To: enforcement.DayFromDate(year+1, time.January, 1), Unit: unit, Campaign: campaign})
	WriteReport(stdout, year, rep)
	return 0
}

// WriteReport prints a year's totals as a table with Chinese and English labels.
func WriteReport(w io.Writer, year int, rep records.TotalsReport) {
	t := rep.Totals
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%d 年保水执法统计 / Enforcement totals %d (Asia/Shanghai, %s – %s)\n", year, year, rep.From, rep.To)
	yuan := func(fen int64) string { return fmt.Sprintf("%s.%02d", group(fen/100), fen%100) }
	rows := [][3]string{
		{"清退钓鱼、游泳、游人", "persons cleared", group(t.PersonsCleared) + " 人"},
		{"  其中 钓鱼", "  of whom fishing", group(t.ByActivity[enforcement.ActivityFishing])},
		{"  其中 游泳", "  of whom swimming", group(t.ByActivity[enforcement.ActivitySwimming])},
		{"  其中 游人", "  of whom visiting", group(t.ByActivity[enforcement.ActivityVisiting])},
		{"  其中 其他", "  of whom other", group(t.ByActivity[enforcement.ActivityOther])},
		{"制止放牧", "grazing stopped", group(t.GrazingStopped) + " 起"},
		{"清出车辆", "vehicles cleared", group(t.VehiclesCleared) + " 辆"},
		{"罚没物品", "items confiscated", group(t.ItemsConfiscated) + " 件"},
		{"罚没物品价值", "value of confiscated items", yuan(t.ConfiscatedValueFen) + " 元"},
		{"立案", "cases filed", group(t.CasesFiled) + " 起"},
		{"罚款", "fines", yuan(t.FinesFen) + " 元"},
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r[0], r[1], r[2])
	}
	tw.Flush()
	if len(rep.ByMonth) == 0 {
		return
	}
	fmt.Fprintln(w, "\n按月 / By month")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "月份 month\t清退 persons\t放牧 grazing\t车辆 vehicles\t物品 items\t价值 value (元)\t立案 cases\t罚款 fines (元)\t")
	months := make([]string, 0, len(rep.ByMonth))
	for m := range rep.ByMonth {
		months = append(months, m)
	}
	sort.Strings(months)
	for _, m := range months {
		x := rep.ByMonth[m]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", m, group(x.PersonsCleared), group(x.GrazingStopped),
			group(x.VehiclesCleared), group(x.ItemsConfiscated), yuan(x.ConfiscatedValueFen), group(x.CasesFiled), yuan(x.FinesFen))
	}
	tw.Flush()
}

// group formats n with thousands separators.
func group(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

func verifyAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := LoadConfig("baoshui verify-audit", args, getenv)
	if err != nil {
		fmt.Fprintln(stderr, "baoshui:", err)
		return 2
	}
	log := NewLogger(Config{LogLevel: "warn", LogFormat: "text"}, stderr)
	s, err := OpenStore(ctx, cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "baoshui verify-audit:", err)
		return 1
	}
	defer s.Close(context.Background())
	v := audit.NewVerifier()
	err = s.ScanAudit(ctx, v.Add)
	if err != nil {
		fmt.Fprintf(stdout, "audit chain BROKEN after %d valid entries: %v\n", v.Count(), err)
		return 1
	}
	fmt.Fprintf(stdout, "audit chain OK: %d entries\n", v.Count())
	return 0
}
