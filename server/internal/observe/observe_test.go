package observe

import (
	"os"
	"strings"
	"testing"
)

func TestParseMetrics(t *testing.T) {
	text := `# HELP baoshui_alerts_open Alerts open now.
# TYPE baoshui_alerts_open gauge
baoshui_alerts_open 3
baoshui_cases{state="filed"} 12
process_resident_memory_bytes 1.4336e+08

not a metric line
baoshui_bad NaNx
`
	m, err := ParseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{"baoshui_alerts_open": 3, `baoshui_cases{state="filed"}`: 12, "process_resident_memory_bytes": 1.4336e8} {
		if got, ok := m[name]; !ok || got != want {
			t.Errorf("%s = %v (%v), want %v", name, got, ok, want)
		}
	}
	if len(m) != 3 {
		t.Errorf("%d series, want 3: %v", len(m), m)
	}
}

func TestMemoryOfThisProcess(t *testing.T) {
	rss, hwm := Memory(os.Getpid())
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	if rss <= 0 || hwm < rss {
		t.Errorf("rss %d, hwm %d", rss, hwm)
	}
	if rss, hwm := Memory(-1); rss != 0 || hwm != 0 {
		t.Errorf("no such process: %d %d", rss, hwm)
	}
}
