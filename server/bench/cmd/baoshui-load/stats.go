package main

import (
	"math"
	"slices"
	"sync"
	"time"
)

// maxMessages is how many distinct error messages an endpoint keeps.
const maxMessages = 5

// recorder collects the latency and the errors of every operation, per
// endpoint. It is safe for concurrent use.
type recorder struct {
	mu    sync.Mutex
	eps   map[string]*endpointStats
	order []string
}

type endpointStats struct {
	lat      []time.Duration
	errors   int
	messages []string       // the first distinct ones
	byMsg    map[string]int // how often each kept message occurred
}

func newRecorder(names ...string) *recorder {
	r := &recorder{eps: map[string]*endpointStats{}}
	for _, n := range names {
		r.get(n)
	}
	return r
}

func (r *recorder) get(name string) *endpointStats {
	e, ok := r.eps[name]
	if !ok {
		e = &endpointStats{byMsg: map[string]int{}}
		r.eps[name] = e
		r.order = append(r.order, name)
	}
	return e
}

// observe records one operation of endpoint name that took d; a non-empty
// failure makes it an error with that message.
func (r *recorder) observe(name string, d time.Duration, failure string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.get(name)
	e.lat = append(e.lat, d)
	if failure == "" {
		return
	}
	e.errors++
	if _, ok := e.byMsg[failure]; ok {
		e.byMsg[failure]++
	} else if len(e.messages) < maxMessages {
		e.messages = append(e.messages, failure)
		e.byMsg[failure] = 1
	}
}

// EndpointResult is the summary of one endpoint over a run.
type EndpointResult struct {
	Name      string
	Count     int
	Errors    int
	PerSecond float64
	P50       time.Duration
	P95       time.Duration
	P99       time.Duration
	Max       time.Duration
	Messages  []string // the first distinct error messages
	MsgCounts []int    // how often each occurred
}

// results summarises every endpoint over elapsed, in the order they were
// first named.
func (r *recorder) results(elapsed time.Duration) []EndpointResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]EndpointResult, 0, len(r.order))
	for _, n := range r.order {
		e := r.eps[n]
		lat := slices.Clone(e.lat)
		slices.Sort(lat)
		res := EndpointResult{Name: n, Count: len(lat), Errors: e.errors}
		if s := elapsed.Seconds(); s > 0 {
			res.PerSecond = float64(len(lat)) / s
		}
		if len(lat) > 0 {
			res.P50, res.P95, res.P99, res.Max = quantile(lat, 0.50), quantile(lat, 0.95), quantile(lat, 0.99), lat[len(lat)-1]
		}
		for _, m := range e.messages {
			res.Messages = append(res.Messages, m)
			res.MsgCounts = append(res.MsgCounts, e.byMsg[m])
		}
		out = append(out, res)
	}
	return out
}

// quantile is the q-quantile of sorted (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}
