package monitoring_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/baoshui/baoshui/sensors/ingest"
	"github.com/baoshui/baoshui/server/monitoring"
	"github.com/baoshui/baoshui/server/store"
	"github.com/baoshui/baoshui/server/store/storetest"
)

// openBench opens a service on a fresh store of the first engine, a day
// after t0, the log shared or not; it is closed at the end of the
// benchmark.
func openBench(b *testing.B, shared bool) (*store.Store, *monitoring.Service) {
	s := storetest.Engines(b)[0].OpenShared(b, 1)[0]
	clk := &clock{t: t0.Add(24 * time.Hour)}
	svc, err := monitoring.Open(context.Background(), s, monitoring.Options{Now: clk.Now, TickInterval: time.Hour,
		Logger: slog.New(slog.DiscardHandler), Shared: shared, FollowInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(svc.Close)
	return s, svc
}

// BenchmarkIngestBatch stores and applies batches of readings of 100
// stations as the ingest does (StoreReadings, then Apply), alone and with
// the shared monitoring log, side by side on the embedded store:
//
//	go test -run '^$' -bench BenchmarkIngestBatch -benchtime 20x ./server/monitoring
//
// readings/s is the figure to compare; the shared log adds one insert per
// batch and the event's encoding.
func BenchmarkIngestBatch(b *testing.B) {
	for _, size := range []int{20, 500} {
		for _, shared := range []bool{false, true} {
			b.Run(fmt.Sprintf("batch=%d/shared=%v", size, shared), func(b *testing.B) {
				ctx := context.Background()
				_, svc := openBench(b, shared)
				all := stations(b)
				for _, st := range all {
					if _, err := svc.PutStation(ctx, "admin", st, true); err != nil {
						b.Fatal(err)
					}
				}
				batches := make([][]ingest.Reading, b.N)
				for i := range batches {
					for k := 0; k < size; k++ {
						n := i*size + k
						st := all[n%len(all)]
						batches[i] = append(batches[i], reading(st, t0.Add(time.Duration(n/len(all))*time.Second), 0.02))
					}
				}
				b.ResetTimer()
				for _, rs := range batches {
					if err := deliver(ctx, svc, rs); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "readings/s")
			})
		}
	}
}

// BenchmarkCheckpoint writes a checkpoint of 20,000 stations, each with
// an exceedance alert open, in parts of at most 4 MiB (the default) and as
// one document (as before the parts), and reports its size and parts.
func BenchmarkCheckpoint(b *testing.B) {
	const n = 20_000
	ctx := context.Background()
	s, svc := openBench(b, true)
	tmpl := stations(b)[0]
	var batch []ingest.Reading
	for i := range n {
		st := tmpl
		st.ID, st.Name = fmt.Sprintf("ck-%05d", i), fmt.Sprintf("点 %d", i)
		if _, err := svc.PutStation(ctx, "admin", st, true); err != nil {
			b.Fatal(err)
		}
		batch = append(batch, reading(st, t0, 0.3))
		if len(batch) == ingest.MaxBatchSize {
			if err := deliver(ctx, svc, batch); err != nil {
				b.Fatal(err)
			}
			batch = nil
		}
	}
	if open := len(svc.Alerts(monitoring.AlertFilter{})); open != n {
		b.Fatalf("%d alerts, want %d", open, n)
	}
	next := int64(1_000_000) // each checkpoint under a number of its own
	for _, c := range []struct {
		name  string
		bytes int
	}{{"parts of 4 MiB", 4 << 20}, {"one document", 1 << 40}} {
		b.Run(c.name, func(b *testing.B) {
			monitoring.SetCheckpointPartBytes(b, c.bytes)
			var failed error
			b.ResetTimer()
			for range b.N {
				next++
				if err := svc.WriteCheckpoint(ctx, next); err != nil {
					failed = err
				}
			}
			b.StopTimer()
			if failed != nil {
				b.Logf("%s: %v", c.name, failed)
				b.ReportMetric(0, "stored")
				return
			}
			head, err := s.GetMonitoringCheckpoint(ctx, next)
			if err != nil {
				b.Fatal(err)
			}
			size, parts := len(head), 1
			for ; ; parts++ {
				p, err := s.GetMonitoringCheckpointPart(ctx, next, parts)
				if err != nil {
					break
				}
				size += len(p)
			}
			b.ReportMetric(1, "stored")
			b.ReportMetric(float64(size)/(1<<20), "MiB")
			b.ReportMetric(float64(parts), "parts")
		})
	}
}
