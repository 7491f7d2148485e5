package records

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/baoshui/baoshui/server/enforcement"
)

// benchService returns a service holding n synthetic heads over the
// reservoir (no store: MapIncidents reads only memory).
func benchService(n int) *Service {
	units := enforcement.NewUnitTree()
	units.Put(enforcement.Unit{ID: "miyun", Name: "密云", Tier: enforcement.TierDistrict})
	for i := 0; i < 7; i++ {
		units.Put(enforcement.Unit{ID: "town-" + strconv.Itoa(i), Name: "t", Tier: enforcement.TierTown, Parent: "miyun"})
	}
	s := &Service{units: units, heads: map[string]int32{}, efforts: map[int32]*patrolEffort{}}
	rng := rand.New(rand.NewPCG(1, 1))
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		r := enforcement.Record{ID: "r" + strconv.Itoa(i), Rev: 1, Kind: enforcement.Kinds[1+rng.IntN(5)],
			ObservedAt: t0.Add(time.Duration(rng.IntN(365*24)) * time.Hour), Unit: "town-" + strconv.Itoa(rng.IntN(7)),
			Officers: []string{"o" + strconv.Itoa(rng.IntN(40))},
			Location: &enforcement.Point{Type: "Point", Coordinates: enforcement.Position{116.80 + rng.Float64()*0.3, 40.45 + rng.Float64()*0.18}}}
		s.heads[r.ID] = int32(len(s.all))
		s.put(int32(len(s.all)), s.newHead(&r))
	}
	return s
}

// BenchmarkMapIncidents1M measures one map query over a million heads in one
// goroutine: the city box at zoom 10 and a street box at zoom 16.
func BenchmarkMapIncidents1M(b *testing.B) {
	s := benchService(1_000_000)
	vis := func(string) bool { return true }
	for _, q := range []struct {
		name string
		box  [4]float64
		zoom int
	}{{"city-z10", [4]float64{116.75, 40.40, 117.20, 40.70}, 10}, {"street-z16", [4]float64{116.9, 40.5, 116.918, 40.5135}, 16}} {
		b.Run(q.name, func(b *testing.B) {
			box := q.box
			for b.Loop() {
				ans := s.MapIncidents(MapFilter{BBox: &box, VisibleUnit: vis}, q.zoom)
				if ans.Matched == 0 {
					b.Fatal("nothing matched")
				}
			}
		})
	}
}
