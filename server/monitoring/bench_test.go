package monitoring_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/baoshui/baoshui/sensors/ingest"
	"github.com/baoshui/baoshui/server/monitoring"
	"github.com/baoshui/baoshui/server/store/storetest"
)

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
				s := storetest.Engines(b)[0].OpenShared(b, 1)[0]
				clk := &clock{t: t0.Add(24 * time.Hour)}
				svc, err := monitoring.Open(ctx, s, monitoring.Options{Now: clk.Now, TickInterval: time.Hour,
					Logger: slog.New(slog.DiscardHandler), Shared: shared, FollowInterval: time.Hour})
				if err != nil {
					b.Fatal(err)
				}
				defer svc.Close()
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
