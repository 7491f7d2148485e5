package records_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/baoshui/baoshui/geo"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/records"
	"github.com/baoshui/baoshui/server/store/storetest"
	"github.com/paulmach/orb"
)

// walk is n fixes every 5 s from start, heading north-east at about
// 1.4 m/s (a patrol on foot), starting at p.
func walk(p orb.Point, start time.Time, n int) []geo.Fix {
	fixes := make([]geo.Fix, n)
	for i := range fixes {
		d := float64(i) * 7 / 111_000 / math.Sqrt2
		fixes[i] = geo.Fix{Point: orb.Point{p[0] + d/math.Cos(p[1]*math.Pi/180), p[1] + d}, Time: start.Add(time.Duration(i) * 5 * time.Second)}
	}
	return fixes
}

const patrolBody = `{"id":"p1","kind":"patrol","observed_at":"2020-07-04T08:00:00+08:00","unit":"town-a","officers":["wang"],
	"started_at":"2020-07-04T08:00:00+08:00","ended_at":"2020-07-04T16:00:00+08:00",
	"location":{"type":"Point","coordinates":[116.95,40.52]}}`

func TestTrackChunks(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	snap := filepath.Join(t.TempDir(), "read-models.snapshot")
	openSvc := func() *records.Service {
		svc, err := records.Open(ctx, st, tree(), records.Options{Now: func() time.Time { return now }, SnapshotPath: snap})
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	svc := openSvc()
	me := records.Actor{Username: "wang"}
	if _, err := svc.Create(ctx, me, decode(t, patrolBody)); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Create(ctx, me, decode(t, expulsion("e1", "town-a", 2, "2020-07-04T09:00:00+08:00"))); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2020, 7, 4, 0, 0, 0, 0, time.UTC)
	// Eight hours at one fix per 5 s, in four chunks, sent out of order.
	day := walk(orb.Point{116.90, 40.50}, start, 5760)
	chunk := func(k int) []geo.Fix { return day[(k-1)*1440 : k*1440] }
	for _, k := range []int{2, 1, 4, 3} {
		created, err := svc.AppendTrackChunk(ctx, me, "p1", k, chunk(k))
		if err != nil || !created {
			t.Fatalf("chunk %d: created %v, %v", k, created, err)
		}
	}
	other := walk(orb.Point{116.80, 40.40}, start, 10)
	cases := []struct {
		name    string
		patrol  string
		seq     int
		fixes   []geo.Fix
		created bool
		err     error
	}{
		{"the same chunk again", "p1", 2, chunk(2), false, nil},
		{"other fixes under a stored seq", "p1", 2, other, false, enforcement.ErrConflict},
		{"an unknown patrol", "nope", 1, other, false, enforcement.ErrNotFound},
		{"a record that is not a patrol", "e1", 1, other, false, enforcement.ErrInvalid},
		{"chunk seq 0", "p1", 0, other, false, enforcement.ErrInvalid},
	}
	for _, c := range cases {
		created, err := svc.AppendTrackChunk(ctx, me, c.patrol, c.seq, c.fixes)
		if created != c.created || (c.err == nil) != (err == nil) || (c.err != nil && !errors.Is(err, c.err)) {
			t.Errorf("%s: created %v, %v; want %v, %v", c.name, created, err, c.created, c.err)
		}
	}
	ls, times, info, err := svc.Track(ctx, "p1")
	if err != nil || len(ls) != len(day) || len(times) != len(day) || len(info.Chunks) != 4 {
		t.Fatalf("track: %d points, %d times, chunks %v, %v", len(ls), len(times), info.Chunks, err)
	}
	for i := range day {
		if ls[i] != day[i].Point || times[i] != day[i].Time.UnixMilli() {
			t.Fatalf("point %d: %v at %d, want %v at %d", i, ls[i], times[i], day[i].Point, day[i].Time.UnixMilli())
		}
	}
	wantKM := geo.Length(orb.LineString(func() (l orb.LineString) {
		for _, f := range day {
			l = append(l, f.Point)
		}
		return l
	}())) / 1000
	effort := func(svc *records.Service) records.EffortLine {
		rep := svc.PatrolEffort(records.EffortQuery{From: enforcement.DayFromDate(2020, 7, 1), To: enforcement.DayFromDate(2020, 8, 1)})
		if len(rep.Teams) != 1 {
			t.Fatalf("effort teams: %+v", rep.Teams)
		}
		return rep.Teams[0]
	}
	got := effort(svc)
	// The chunks are measured one by one: the three joins between them
	// (7 m each) are not counted.
	if got.Patrols != 1 || math.Abs(got.DistanceKM-wantKM) > 0.03 || math.Abs(got.Hours-8) > 0.01 {
		t.Errorf("effort %+v, want 1 patrol, %.3f km, 8 h", got, wantKM)
	}
	svc.Close()
	svc = openSvc()
	if svc.LoadedFrom != "snapshot" || !reflect.DeepEqual(effort(svc), got) {
		t.Errorf("from the snapshot: %s %+v, want %+v", svc.LoadedFrom, effort(svc), got)
	}
	svc.Close()
	if err := os.Remove(snap); err != nil {
		t.Fatal(err)
	}
	svc = openSvc()
	defer svc.Close()
	if svc.LoadedFrom != "scan" || !reflect.DeepEqual(effort(svc), got) {
		t.Errorf("from a scan: %s %+v, want %+v", svc.LoadedFrom, effort(svc), got)
	}
	if _, _, info, err := svc.Track(ctx, "p1"); err != nil || len(info.Chunks) != 4 {
		t.Errorf("track after a scan: %v %v", info.Chunks, err)
	}
}
