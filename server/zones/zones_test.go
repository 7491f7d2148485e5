package zones_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/baoshui/baoshui/geo"
	"github.com/baoshui/baoshui/geo/zonegen"
	"github.com/baoshui/baoshui/server/enforcement"
	"github.com/baoshui/baoshui/server/store"
	"github.com/baoshui/baoshui/server/store/storetest"
	"github.com/baoshui/baoshui/server/zones"
)

var at = func() time.Time { return time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC) }

func TestRegistryVersionsLayers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		reg, err := zones.Open(ctx, st, at)
		if err != nil {
			t.Fatal(err)
		}
		set := reg.Current()
		if set.Generation != 3 {
			t.Fatalf("a fresh store: generation %d, want 3 (three layers at version 1)", set.Generation)
		}
		demo, _ := zonegen.Generate()
		for _, name := range zones.Layers {
			z, v, ok := set.Layer(name)
			if !ok || v.Version != 1 || v.CreatedBy != zones.DemoAuthor || !bytes.Equal(v.GeoJSON, demo[name+".geojson"]) || v.Features != z.Len() {
				t.Errorf("%s: %v version %+v", name, ok, v.Version)
			}
		}
		// The water body by the dam is water, in Xiwengzhuang's sector.
		p := set.Classify(orb.Point{116.90, 40.50})
		if p.ZonesVersion != 3 || p.Zone != "water" || p.ZoneDistanceM != 0 || p.Town == "" {
			t.Errorf("classify: %+v", p)
		}
		// Far away: the nearest of each, with a distance.
		far := set.Classify(orb.Point{116.0, 39.9})
		if far.Zone == "" || far.ZoneDistanceM < 50000 || far.CellDistanceM < far.ZoneDistanceM {
			t.Errorf("classify far away: %+v", far)
		}

		var seen []int64
		reg.Watch(func(s *zones.Set) { seen = append(seen, s.Generation) })
		_, err = reg.Put(ctx, "grid", []byte(`{"type":"FeatureCollection","features":[]}`), "admin")
		var zerr *geo.ZoneError
		if !errors.Is(err, enforcement.ErrInvalid) || !errors.As(err, &zerr) {
			t.Errorf("empty layer: %v, want ErrInvalid with a ZoneError", err)
		}
		if _, err := reg.Put(ctx, "roads", demo["grid.geojson"], "admin"); !errors.Is(err, enforcement.ErrNotFound) {
			t.Errorf("unknown layer: %v", err)
		}
		if _, err := reg.Put(ctx, "grid", make([]byte, zones.MaxLayerBytes+1), "admin"); !errors.Is(err, zones.ErrTooLarge) {
			t.Errorf("huge layer: %v", err)
		}
		towns := bytes.ReplaceAll(demo["towns.geojson"], []byte(`"id":"town-`), []byte(`"id":"area-`))
		v, err := reg.Put(ctx, "towns", towns, "admin")
		if err != nil || v.Version != 2 || v.Features != 7 {
			t.Fatalf("put towns: %+v %v", v, err)
		}
		if len(seen) != 1 || seen[0] != 4 || reg.Current().Generation != 4 {
			t.Errorf("watchers saw %v, generation %d; want [4]", seen, reg.Current().Generation)
		}
		// Reopened, the store gives the same layers in force and the history.
		again, err := zones.Open(ctx, st, at)
		if err != nil {
			t.Fatal(err)
		}
		if again.Current().Generation != 4 {
			t.Errorf("reopened: generation %d", again.Current().Generation)
		}
		h, err := again.History("towns")
		if err != nil || len(h) != 2 || !bytes.Equal(h[1].GeoJSON, towns) || h[1].CreatedBy != "admin" {
			t.Errorf("history: %v %d", err, len(h))
		}
		if tp := again.Current().Classify(orb.Point{116.90, 40.50}); len(tp.Town) < 5 || tp.Town[:5] != "area-" {
			t.Errorf("after the change: town %q", tp.Town)
		}
	})
}

// TestFollowAnotherInstance: two registries on one store, as two server
// instances; a layer one puts (twice) is in force in the other after
// Follow, with its history and the same generation; a stale put through
// the other is a conflict, not a lost version.
func TestFollowAnotherInstance(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	a, err := zones.Open(ctx, st, at)
	if err != nil {
		t.Fatal(err)
	}
	b, err := zones.Open(ctx, st, at)
	if err != nil {
		t.Fatal(err)
	}
	var seen []int64
	b.Watch(func(s *zones.Set) { seen = append(seen, s.Generation) })
	demo, _ := zonegen.Generate()
	towns := bytes.ReplaceAll(demo["towns.geojson"], []byte(`"id":"town-`), []byte(`"id":"area-`))
	for range 2 {
		if _, err := a.Put(ctx, "towns", towns, "admin"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Put(ctx, "towns", towns, "admin"); !errors.Is(err, enforcement.ErrConflict) {
		t.Errorf("b puts version 2, which a stored: %v; want a conflict", err)
	}
	if err := b.Follow(ctx, "towns", 3); err != nil {
		t.Fatal(err)
	}
	_, v, _ := b.Current().Layer("towns")
	if v.Version != 3 || b.Current().Generation != a.Current().Generation || len(seen) != 1 || seen[0] != 5 {
		t.Errorf("b after following: version %d, generation %d (a's %d), watchers saw %v", v.Version,
			b.Current().Generation, a.Current().Generation, seen)
	}
	if h, err := b.History("towns"); err != nil || len(h) != 3 {
		t.Errorf("b's history of towns: %d versions, %v; want 3", len(h), err)
	}
	if err := b.Follow(ctx, "towns", 2); err != nil || len(seen) != 1 {
		t.Errorf("following an older version: %v, watchers %v; want nothing done", err, seen)
	}
	if err := b.Follow(ctx, "towns", 9); !errors.Is(err, enforcement.ErrNotFound) {
		t.Errorf("following a version not stored: %v; want not found", err)
	}
}
