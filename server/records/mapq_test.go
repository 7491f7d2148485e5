package records_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baoshui/baoshui/geo/zonegen"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/records"
	"github.com/baoshui/baoshui/server/store"
	"github.com/baoshui/baoshui/server/store/storetest"
	"github.com/baoshui/baoshui/server/zones"
)

// mapFixture is a service with zones and random records, and the records as
// stored, for brute-force comparison.
type mapFixture struct {
	svc   *records.Service
	reg   *zones.Registry
	st    *store.Store
	recs  map[string]enforcement.Record // current revision by id, read back from the store
	units []string
}

func randomRecord(rng *rand.Rand, i int, units []string) string {
	kinds := []string{"expulsion", "grazing", "vehicle", "confiscation", "case", "patrol"}
	kind := kinds[rng.IntN(len(kinds))]
	lon := 116.95 + (rng.Float64()-0.5)*0.4
	lat := 40.53 + (rng.Float64()-0.5)*0.24
	at := time.Date(2020, time.Month(1+rng.IntN(12)), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), 0, 0, enforcement.Shanghai)
	unit := units[rng.IntN(len(units))]
	officers := []string{"o1", "o2", "o3"}[:1+rng.IntN(3)]
	head := fmt.Sprintf(`"id":"r%04d","kind":%q,"observed_at":%q,"unit":%q,"officers":["%s"]`, i, kind,
		at.Format(time.RFC3339), unit, strings.Join(officers, `","`))
	loc := fmt.Sprintf(`"location":{"type":"Point","coordinates":[%.6f,%.6f]}`, lon, lat)
	switch kind {
	case "expulsion":
		return fmt.Sprintf(`{%s,%s,"persons":%d,"activity":"fishing"}`, head, loc, 1+rng.IntN(5))
	case "grazing":
		return fmt.Sprintf(`{%s,%s,"animals":%d}`, head, loc, 1+rng.IntN(30))
	case "vehicle":
		return fmt.Sprintf(`{%s,%s,"vehicles":%d}`, head, loc, 1+rng.IntN(3))
	case "confiscation":
		return fmt.Sprintf(`{%s,%s,"items":[{"name":"net","quantity":%d,"unit_value_fen":5000}]}`, head, loc, 1+rng.IntN(4))
	case "case":
		return fmt.Sprintf(`{%s,%s,"case_no":"c%d","violation":"fishing","fine_fen":%d,"status":"decided","filed_at":%q,"decided_at":%q}`,
			head, loc, i, 10000*(1+rng.IntN(5)), at.Format(time.RFC3339), at.Add(48*time.Hour).Format(time.RFC3339))
	}
	// A patrol: a walk of 30 fixes a minute apart, located at its start.
	var coords, times []string
	for k := 0; k < 30; k++ {
		coords = append(coords, fmt.Sprintf("[%.6f,%.6f]", lon, lat))
		times = append(times, fmt.Sprintf("%q", at.Add(time.Duration(k)*time.Minute).Format(time.RFC3339)))
		lon += (rng.Float64() - 0.5) * 0.004
		lat += (rng.Float64() - 0.5) * 0.003
	}
	end := at.Add(29 * time.Minute)
	return fmt.Sprintf(`{%s,%s,"started_at":%q,"ended_at":%q,"track":{"type":"LineString","coordinates":[%s]},"track_times":[%s]}`,
		head, loc, at.Format(time.RFC3339), end.Format(time.RFC3339), strings.Join(coords, ","), strings.Join(times, ","))
}

func newMapFixture(t *testing.T, st *store.Store, n int) *mapFixture {
	t.Helper()
	ctx := context.Background()
	reg, err := zones.Open(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := records.Open(ctx, st, tree(), records.Options{Now: func() time.Time { return now }, Zones: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	reg.Watch(func(*zones.Set) { svc.ZonesChanged() })
	fx := &mapFixture{svc: svc, reg: reg, st: st, recs: map[string]enforcement.Record{}, units: []string{"town-a", "town-b", "village-a1"}}
	rng := rand.New(rand.NewPCG(7, uint64(n)))
	me := records.Actor{Username: "office"}
	type job struct {
		r    enforcement.Record
		void bool
	}
	jobs := make(chan job)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				res, err := svc.Create(ctx, me, j.r)
				if err == nil && j.void {
					_, err = svc.Void(ctx, me, j.r.ID, res.Record.Rev, "entered twice")
				}
				if err != nil {
					select {
					case errs <- err:
					default: // one error is enough to fail
					}
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- job{r: decode(t, randomRecord(rng, i, fx.units)), void: rng.IntN(10) == 0}
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	fx.reload(t)
	return fx
}

// reload reads every record's current revision back from the store.
func (fx *mapFixture) reload(t *testing.T) {
	t.Helper()
	fx.recs = map[string]enforcement.Record{}
	err := fx.st.ScanHeads(context.Background(), func(r enforcement.Record) error {
		if old, ok := fx.recs[r.ID]; !ok || old.Rev < r.Rev {
			fx.recs[r.ID] = r
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// brute returns the ids of the stored records a map filter selects, by the
// definition: not void, of the kinds asked (incidents by default), the
// anchor in the box, inside the zone, town and cell asked.
func (fx *mapFixture) brute(f records.MapFilter) []string {
	var ids []string
	for id, r := range fx.recs {
		p, ok := r.Anchor()
		if r.Voided || !ok || r.Place == nil {
			continue
		}
		if len(f.Kinds) == 0 && r.Kind == enforcement.KindPatrol || len(f.Kinds) > 0 && !slices.Contains(f.Kinds, r.Kind) {
			continue
		}
		ms := r.ObservedAt.UnixMilli()
		if f.From != 0 && ms < f.From || f.To != 0 && ms >= f.To {
			continue
		}
		lon, lat := p[0], p[1]
		if b := f.BBox; b != nil && (lon < b[0] || lat < b[1] || lon > b[2] || lat > b[3]) {
			continue
		}
		pl := r.Place
		if f.Zone != "" && (pl.Zone != f.Zone || pl.ZoneDistanceM != 0) || f.Town != "" && (pl.Town != f.Town || pl.TownDistanceM != 0) ||
			f.Cell != "" && (pl.Cell != f.Cell || pl.CellDistanceM != 0) {
			continue
		}
		if f.Unit != "" && !tree().Within(r.Unit, f.Unit) {
			continue
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func randomFilter(rng *rand.Rand, fx *mapFixture) records.MapFilter {
	var f records.MapFilter
	if rng.IntN(4) > 0 {
		w, s := 116.75+rng.Float64()*0.4, 40.41+rng.Float64()*0.24
		size := 0.3
		if rng.IntN(2) == 0 {
			size = 0.03 // small boxes take the bucket path
		}
		b := [4]float64{w, s, w + rng.Float64()*size, s + rng.Float64()*size*0.7}
		f.BBox = &b
	}
	if rng.IntN(3) == 0 {
		from := time.Date(2020, time.Month(1+rng.IntN(12)), 1, 0, 0, 0, 0, enforcement.Shanghai)
		f.From, f.To = from.UnixMilli(), from.AddDate(0, 1+rng.IntN(4), 0).UnixMilli()
	}
	if rng.IntN(3) == 0 {
		f.Kinds = []enforcement.Kind{[]enforcement.Kind{"expulsion", "grazing", "vehicle", "confiscation", "case", "patrol"}[rng.IntN(6)]}
	}
	switch rng.IntN(6) {
	case 0:
		f.Zone = []string{"water", "first", "second"}[rng.IntN(3)]
	case 1:
		f.Town = []string{"town-gaoling", "town-taishitun", "town-shicheng", "town-nowhere"}[rng.IntN(4)]
	case 2:
		for _, r := range fx.recs {
			if r.Place != nil && r.Place.CellDistanceM == 0 && r.Place.Cell != "" {
				f.Cell = r.Place.Cell
				break
			}
		}
	}
	if rng.IntN(3) == 0 {
		f.Unit = []string{"town-a", "town-b", "miyun"}[rng.IntN(3)]
	}
	return f
}

func checkMapAgainstBrute(t *testing.T, fx *mapFixture, rng *rand.Rand, rounds int) {
	t.Helper()
	for round := 0; round < rounds; round++ {
		f := randomFilter(rng, fx)
		want := fx.brute(f)
		zoom := 6 + rng.IntN(15)
		ans := fx.svc.MapIncidents(f, zoom)
		if ans.Matched != len(want) {
			t.Fatalf("round %d %+v zoom %d: matched %d, brute force %d", round, f, zoom, ans.Matched, len(want))
		}
		sum := 0
		var singles []string
		for _, it := range ans.Items {
			sum += it.Count
			kinds := 0
			for _, n := range it.Kinds {
				kinds += n
			}
			if kinds != it.Count {
				t.Fatalf("round %d: kinds %v do not add up to %d", round, it.Kinds, it.Count)
			}
			if b := f.BBox; b != nil && (it.BBox[0] < b[0] || it.BBox[1] < b[1] || it.BBox[2] > b[2] || it.BBox[3] > b[3]) {
				t.Fatalf("round %d: item box %v outside the query box %v", round, it.BBox, *b)
			}
			if it.Incident != nil {
				singles = append(singles, it.Incident.ID)
			}
		}
		if sum != len(want) {
			t.Fatalf("round %d: counts add up to %d, brute force %d", round, sum, len(want))
		}
		for _, id := range singles {
			if _, ok := slices.BinarySearch(want, id); !ok {
				t.Fatalf("round %d: incident %s is not among the brute-force matches", round, id)
			}
		}
		if !ans.Clustered {
			slices.Sort(singles)
			if !slices.Equal(singles, want) {
				t.Fatalf("round %d zoom %d: unclustered answer %v, brute force %v", round, zoom, singles, want)
			}
		}
		// Paging the same filter yields exactly the brute-force set, once each.
		var got []string
		cursor := ""
		limit := 1 + rng.IntN(40)
		for {
			p, err := fx.svc.IncidentPage(f, cursor, limit)
			if err != nil {
				t.Fatal(err)
			}
			if p.Matched != len(want) {
				t.Fatalf("round %d: page says %d matched, brute force %d", round, p.Matched, len(want))
			}
			for _, in := range p.Incidents {
				got = append(got, in.ID)
			}
			if p.Next == "" {
				break
			}
			cursor = p.Next
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: pages %v, brute force %v", round, got, want)
		}
		// Heat: per-cell counts as the stored places say.
		cells, outside := fx.svc.Heat(f)
		wantCells := map[string]int{}
		wantOutside := 0
		for _, id := range want {
			pl := fx.recs[id].Place
			if pl.Cell != "" && pl.CellDistanceM == 0 {
				wantCells[pl.Cell]++
			} else {
				wantOutside++
			}
		}
		if outside != wantOutside || len(cells) != len(wantCells) {
			t.Fatalf("round %d: heat %d cells, %d outside; brute force %d cells, %d outside", round, len(cells), outside, len(wantCells), wantOutside)
		}
		for id, c := range cells {
			if c.Count != wantCells[id] {
				t.Fatalf("round %d: cell %s counts %d, brute force %d", round, id, c.Count, wantCells[id])
			}
		}
	}
}

func TestMapQueriesEqualBruteForce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		fx := newMapFixture(t, st, 400)
		placed := 0
		for _, r := range fx.recs {
			if r.Place != nil {
				placed++
				if r.Place.ZonesVersion != fx.reg.Current().Generation {
					t.Fatalf("record %s stored with zones %d, in force %d", r.ID, r.Place.ZonesVersion, fx.reg.Current().Generation)
				}
			}
		}
		if placed != len(fx.recs) {
			t.Fatalf("%d of %d records have a place", placed, len(fx.recs))
		}
		checkMapAgainstBrute(t, fx, rand.New(rand.NewPCG(1, 2)), 150)
	})
}

func TestPatrolEffortEqualsSumOfStoredEfforts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		fx := newMapFixture(t, st, 200)
		from, to := enforcement.DayFromDate(2020, 3, 1), enforcement.DayFromDate(2020, 10, 1)
		rep := fx.svc.PatrolEffort(records.EffortQuery{From: from, To: to, Unit: "town-a"})
		type sum struct {
			n     int
			dist  float64
			cells map[string]bool
		}
		want := map[string]*sum{}
		for _, r := range fx.recs {
			d := enforcement.DayOf(r.ObservedAt)
			if r.Kind != enforcement.KindPatrol || r.Voided || d < from || d >= to || !tree().Within(r.Unit, "town-a") {
				continue
			}
			if r.Effort == nil || r.Effort.DistanceM <= 0 {
				t.Fatalf("patrol %s stored without effort: %+v", r.ID, r.Effort)
			}
			s := want[r.Unit]
			if s == nil {
				s = &sum{cells: map[string]bool{}}
				want[r.Unit] = s
			}
			s.n++
			s.dist += r.Effort.DistanceM
			for _, c := range r.Place.Cells {
				s.cells[c] = true
			}
		}
		if len(rep.Teams) != len(want) || len(want) == 0 {
			t.Fatalf("teams %+v, want %d teams", rep.Teams, len(want))
		}
		for _, line := range rep.Teams {
			w := want[line.Unit]
			if w == nil || line.Patrols != w.n || math.Abs(line.DistanceKM-w.dist/1000) > 0.002 || line.CellsCovered != len(w.cells) {
				t.Errorf("team %s: %+v; want %d patrols, %.3f km, %d cells", line.Unit, line, w.n, w.dist/1000, len(w.cells))
			}
		}
		if len(rep.Officers) == 0 {
			t.Error("no officer lines")
		}
	})
}

func TestZonesChangeReclassifiesStoredRecords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		fx := newMapFixture(t, st, 80)
		ctx := context.Background()
		// The new grid: the demo grid with only its first half of cells.
		demo, err := zonegen.Generate()
		if err != nil {
			t.Fatal(err)
		}
		grid := string(demo["grid.geojson"])
		lines := strings.Split(grid, "\n")
		var kept []string
		for i, l := range lines {
			if strings.HasPrefix(l, `{"type":"Feature"`) && i%2 == 0 {
				continue
			}
			kept = append(kept, l)
		}
		half := strings.Join(kept, "\n")
		half = strings.ReplaceAll(half, "},\n]", "}\n]")
		v, err := fx.reg.Put(ctx, "grid", []byte(half), "admin")
		if err != nil {
			t.Fatalf("put the half grid: %v\n%.400s", err, half)
		}
		gen := fx.reg.Current().Generation
		if v.Version != 2 || gen != 4 {
			t.Fatalf("version %d generation %d, want 2 and 4", v.Version, gen)
		}
		deadline := time.Now().Add(2 * time.Minute)
		for {
			st := fx.svc.Reclassification()
			if st.State == "idle" && st.Generation == gen {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("reclassification did not finish: %+v", st)
			}
			time.Sleep(20 * time.Millisecond)
		}
		fx.reload(t)
		for _, r := range fx.recs {
			if r.Place != nil && r.Place.ZonesVersion != gen {
				t.Fatalf("record %s still stored with zones %d after the job, want %d", r.ID, r.Place.ZonesVersion, gen)
			}
		}
		checkMapAgainstBrute(t, fx, rand.New(rand.NewPCG(3, 4)), 60)
	})
}

// TestMapReadModelsSurviveRestart checks that the map's read models (places,
// summaries, efforts, buckets) come back the same from the snapshot and from
// a scan of the store.
func TestMapReadModelsSurviveRestart(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	reg, err := zones.Open(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "read-models.snapshot")
	open := func() *records.Service {
		svc, err := records.Open(ctx, st, tree(), records.Options{SnapshotPath: path, Zones: reg, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	svc := open()
	rng := rand.New(rand.NewPCG(5, 5))
	for i := 0; i < 120; i++ {
		if _, err := svc.Create(ctx, records.Actor{Username: "office"}, decode(t, randomRecord(rng, i, []string{"town-a", "town-b", "village-a1"}))); err != nil {
			t.Fatal(err)
		}
	}
	small := [4]float64{116.9, 40.48, 116.95, 40.52}
	answers := func(svc *records.Service) string {
		cells, outside := svc.Heat(records.MapFilter{})
		page, err := svc.IncidentPage(records.MapFilter{BBox: &small}, "", 500)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal([]any{svc.MapIncidents(records.MapFilter{}, 10), svc.MapIncidents(records.MapFilter{BBox: &small}, 18),
			svc.MapIncidents(records.MapFilter{Zone: "second", Unit: "town-a"}, 12), cells, outside, page,
			svc.PatrolEffort(records.EffortQuery{From: enforcement.DayFromDate(2020, 1, 1), To: enforcement.DayFromDate(2021, 1, 1)})})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	want := answers(svc)
	svc.Close()
	for _, from := range []string{"snapshot", "scan"} {
		if from == "scan" {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}
		svc := open()
		if svc.LoadedFrom != from {
			t.Fatalf("loaded from %s, want %s", svc.LoadedFrom, from)
		}
		if got := answers(svc); got != want {
			t.Errorf("map answers after a start from the %s differ:\n got %.600s\nwant %.600s", from, got, want)
		}
		svc.Close()
	}
}
