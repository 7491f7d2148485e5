// Package observe reads what a running server shows of itself from outside:
// the Prometheus text of its /metrics and its process memory. The
// benchmarks, the load generator and the multi-process tests use it.
package observe

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// ParseMetrics reads Prometheus text into series (the name with its
// labels, e.g. `baoshui_cases{state="filed"}`) → value. Comments, blank
// lines and lines without a number are skipped.
func ParseMetrics(r io.Reader) (map[string]float64, error) {
	m := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			m[line[:i]] = v
		}
	}
	return m, sc.Err()
}

// Metrics scrapes base + "/metrics" with c (http.DefaultClient when nil).
func Metrics(c *http.Client, base string) (map[string]float64, error) {
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Get(base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: status %d", resp.StatusCode)
	}
	return ParseMetrics(resp.Body)
}

// Memory returns the resident and the peak resident memory (VmRSS, VmHWM)
// of process pid in bytes, or zeros when /proc does not tell.
func Memory(pid int) (rss, hwm int64) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = n << 10
		case "VmHWM:":
			hwm = n << 10
		}
	}
	return rss, hwm
}
