package main

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/baoshui/baoshui/server/internal/observe"
)

// sample is one scrape of the server's /metrics.
type sample struct {
	at         time.Time
	rss        float64 // process_resident_memory_bytes
	cpu        float64 // process_cpu_seconds_total
	goroutines float64 // go_goroutines
	heap       float64 // go_memstats_heap_inuse_bytes
	gomaxprocs float64 // go_sched_gomaxprocs_threads (0 when not exported)
	hwm        int64   // VmHWM of a server started here (0 otherwise)
}

// sampler scrapes the server's process figures.
type sampler struct {
	api     *apiClient
	pid     int // of a server started here, for VmHWM; 0 otherwise
	mu      sync.Mutex
	samples []sample
	failed  int
}

func newSampler(api *apiClient, pid int) *sampler { return &sampler{api: api, pid: pid} }

// sample scrapes once.
func (s *sampler) sample() error {
	m, err := s.api.metrics()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.failed++
		return err
	}
	x := sample{at: time.Now(), rss: m["process_resident_memory_bytes"], cpu: m["process_cpu_seconds_total"],
		goroutines: m["go_goroutines"], gomaxprocs: m["go_sched_gomaxprocs_threads"], heap: m["go_memstats_heap_inuse_bytes"]}
	if s.pid > 0 {
		_, x.hwm = observe.Memory(s.pid)
	}
	s.samples = append(s.samples, x)
	return nil
}

// every scrapes every d until the returned function is called.
func (s *sampler) every(d time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = s.sample()
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// Resources are the server's process figures over the load.
type Resources struct {
	Samples, Failed                 int
	RSSStart, RSSPeak, RSSEnd       float64 // bytes
	HWMStart, HWMEnd                int64   // VmHWM, bytes (a server started here)
	CPUSeconds                      float64
	Wall                            time.Duration // between the first and the last sample
	GoroutinesStart, GoroutinesPeak float64
	GoroutinesEnd                   float64
	ServerGOMAXPROCS                float64
	// Trend averages the samples of each tenth of the run (empty with
	// fewer than 20 samples): flat lines are what a soak run looks for.
	Trend []TrendPoint
}

// TrendPoint is the average of the samples of one tenth of the run.
type TrendPoint struct {
	From, To              time.Duration // since the first sample
	RSS, Heap, Goroutines float64
}

// AvgCores is the CPU time used per wall-clock second.
func (r Resources) AvgCores() float64 {
	if r.Wall <= 0 {
		return 0
	}
	return r.CPUSeconds / r.Wall.Seconds()
}

func (s *sampler) summary() Resources {
	s.mu.Lock()
	defer s.mu.Unlock()
	var r Resources
	r.Samples, r.Failed = len(s.samples), s.failed
	if len(s.samples) == 0 {
		return r
	}
	first, last := s.samples[0], s.samples[len(s.samples)-1]
	r.RSSStart, r.RSSEnd, r.HWMStart, r.HWMEnd = first.rss, last.rss, first.hwm, last.hwm
	r.CPUSeconds, r.Wall = last.cpu-first.cpu, last.at.Sub(first.at)
	r.GoroutinesStart, r.GoroutinesEnd, r.ServerGOMAXPROCS = first.goroutines, last.goroutines, last.gomaxprocs
	for _, x := range s.samples {
		r.RSSPeak = max(r.RSSPeak, x.rss)
		r.GoroutinesPeak = max(r.GoroutinesPeak, x.goroutines)
	}
	r.Trend = trend(s.samples, 10)
	return r
}

// trend averages samples over parts equal slices of their time span; it
// returns nil with fewer than 2 samples a part.
func trend(samples []sample, parts int) []TrendPoint {
	if len(samples) < 2*parts {
		return nil
	}
	t0 := samples[0].at
	span := samples[len(samples)-1].at.Sub(t0)
	out := make([]TrendPoint, parts)
	n := make([]int, parts)
	for i := range out {
		out[i].From, out[i].To = span*time.Duration(i)/time.Duration(parts), span*time.Duration(i+1)/time.Duration(parts)
	}
	for _, x := range samples {
		i := min(parts-1, int(int64(x.at.Sub(t0))*int64(parts)/max(int64(span), 1)))
		out[i].RSS += x.rss
		out[i].Heap += x.heap
		out[i].Goroutines += x.goroutines
		n[i]++
	}
	for i := range out {
		if n[i] > 0 {
			out[i].RSS /= float64(n[i])
			out[i].Heap /= float64(n[i])
			out[i].Goroutines /= float64(n[i])
		}
	}
	return out
}

// memTotal is the machine's memory in bytes (0 when unknown).
func memTotal() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n << 10
		}
	}
	return 0
}

// loadAvg is the first three fields of /proc/loadavg ("" when unknown).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// ownCPU is the CPU time (user and system) this process has used.
func ownCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
