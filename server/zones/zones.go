// Package zones keeps the zone layers the server classifies records against
// — protection zones, town areas and warden grid cells — as versioned GeoJSON
// in the store and as indexed geo.ZoneSets in memory. An admin replaces a
// layer with Put; every stored version stays readable. A store without
// layers is given the approximate demo geometry of geo/zonegen as version 1.
package zones

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"

	"github.com/baoshui/baoshui/geo"
	"github.com/baoshui/baoshui/geo/zonegen"
	"github.com/baoshui/baoshui/server/enforcement"
)

// Layers lists the layer names in a stable order.
var Layers = []string{string(geo.LayerProtection), string(geo.LayerTowns), string(geo.LayerGrid)}

// MaxLayerBytes is the largest GeoJSON document a layer may be.
const MaxLayerBytes = 16 << 20

// DemoAuthor is the CreatedBy of the layers a fresh store is given.
const DemoAuthor = "zonegen (approximate demo geometry, not official)"

// Version is one stored version of a layer.
type Version struct {
	Layer     string    `json:"layer"`
	Version   int64     `json:"version"`
	GeoJSON   []byte    `json:"-"`
	SHA256    string    `json:"sha256"`
	Features  int       `json:"features"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// Store is what the registry needs of the storage adapter.
type Store interface {
	InsertZoneVersion(ctx context.Context, v Version) error
	ZoneVersions(ctx context.Context) ([]Version, error)
	// GetZoneVersion loads one version; an error wrapping
	// enforcement.ErrNotFound when it is not stored.
	GetZoneVersion(ctx context.Context, layer string, version int64) (Version, error)
}

// Set is the layers in force at one moment. It is immutable.
type Set struct {
	// Generation grows by one with every new version of any layer; it is the
	// sum of the layers' versions, and what enforcement.Place.ZonesVersion
	// records.
	Generation int64
	layers     map[string]*geo.ZoneSet
	versions   map[string]Version
}

// Layer returns the indexed layer and its version.
func (s *Set) Layer(name string) (*geo.ZoneSet, Version, bool) {
	z, ok := s.layers[name]
	return z, s.versions[name], ok
}

// Classify returns the place of point p: in each layer the zone containing
// it, or the nearest with its distance in metres.
func (s *Set) Classify(p orb.Point) enforcement.Place {
	pl := enforcement.Place{ZonesVersion: s.Generation}
	pl.Zone, pl.ZoneDistanceM = nearest(s.layers[string(geo.LayerProtection)], p)
	pl.Town, pl.TownDistanceM = nearest(s.layers[string(geo.LayerTowns)], p)
	pl.Cell, pl.CellDistanceM = nearest(s.layers[string(geo.LayerGrid)], p)
	return pl
}

func nearest(z *geo.ZoneSet, p orb.Point) (string, float64) {
	if z == nil || z.Len() == 0 {
		return "", 0
	}
	m, d := z.Nearest(p)
	if d == 0 || math.IsInf(d, 0) || math.IsNaN(d) {
		return m.ID, 0
	}
	// A decimetre is as precise as a distance to a drawn boundary gets;
	// outside stays outside (never rounded to 0).
	return m.ID, math.Max(math.Round(d*10)/10, 0.1)
}

// Cells returns the ids of the grid cells the line passes through, sorted.
func (s *Set) Cells(ls orb.LineString) []string {
	grid := s.layers[string(geo.LayerGrid)]
	if grid == nil || len(ls) == 0 {
		return nil
	}
	idx := geo.Covered(ls, grid, 0)
	out := make([]string, 0, len(idx))
	for _, i := range idx {
		m, _ := grid.Feature(i)
		out = append(out, m.ID)
	}
	slices.Sort(out)
	return out
}

// Registry holds the current Set and writes new versions. It is safe for
// concurrent use.
type Registry struct {
	store Store
	now   func() time.Time
	cur   atomic.Pointer[Set]

	mu       sync.Mutex // serialises Put
	history  map[string][]Version
	watchers []func(*Set)
}

// Errors of Put, besides the *geo.ZoneError of a rejected layer.
var (
	// ErrUnknownLayer wraps enforcement.ErrNotFound: there is no such layer.
	ErrUnknownLayer = fmt.Errorf("%w: unknown zone layer", enforcement.ErrNotFound)
	// ErrTooLarge is a layer document over MaxLayerBytes.
	ErrTooLarge = errors.New("zone layer too large")
)

// Open reads the stored versions, keeps the newest of each layer and stores
// the demo layers as version 1 of any layer the store lacks.
func Open(ctx context.Context, st Store, now func() time.Time) (*Registry, error) {
	if now == nil {
		now = time.Now
	}
	r := &Registry{store: st, now: now, history: map[string][]Version{}}
	stored, err := st.ZoneVersions(ctx)
	if err != nil {
		return nil, fmt.Errorf("zones: open: %w", err)
	}
	for _, v := range stored {
		r.history[v.Layer] = append(r.history[v.Layer], v)
	}
	var demo map[string][]byte
	set := &Set{layers: map[string]*geo.ZoneSet{}, versions: map[string]Version{}}
	for _, name := range Layers {
		h := r.history[name]
		slices.SortFunc(h, func(a, b Version) int { return int(a.Version - b.Version) })
		if len(h) == 0 {
			if demo == nil {
				if demo, err = zonegen.Generate(); err != nil {
					return nil, fmt.Errorf("zones: open: demo layers: %w", err)
				}
			}
			v := newVersion(name, 1, demo[name+".geojson"], DemoAuthor, now())
			if err := st.InsertZoneVersion(ctx, v); err != nil && !errors.Is(err, enforcement.ErrExists) {
				return nil, fmt.Errorf("zones: open: %w", err)
			}
			h = []Version{v}
		}
		r.history[name] = h
		last := h[len(h)-1]
		z, err := geo.ParseLayer(geo.Layer(name), last.GeoJSON)
		if err != nil {
			return nil, fmt.Errorf("zones: open: stored %s version %d: %w", name, last.Version, err)
		}
		last.Features = z.Len()
		set.layers[name], set.versions[name] = z, last
		set.Generation += last.Version
	}
	r.cur.Store(set)
	return r, nil
}

func newVersion(layer string, version int64, data []byte, by string, at time.Time) Version {
	sum := sha256.Sum256(data)
	return Version{Layer: layer, Version: version, GeoJSON: data, SHA256: hex.EncodeToString(sum[:]), CreatedBy: by, CreatedAt: at.UTC()}
}

// Current returns the layers in force.
func (r *Registry) Current() *Set { return r.cur.Load() }

// Watch registers fn to be called, after each Put, with the new Set. Calls
// are made in order, one at a time, from the goroutine of Put.
func (r *Registry) Watch(fn func(*Set)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.watchers = append(r.watchers, fn)
}

// History returns the stored versions of a layer, oldest first (GeoJSON
// included; the slice is shared and must not be modified).
func (r *Registry) History(layer string) ([]Version, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, ok := r.history[layer]
	if !ok {
		return nil, fmt.Errorf("zones: history %q: %w", layer, ErrUnknownLayer)
	}
	return h, nil
}

// Put checks data as a new version of layer and, when it is valid, stores
// it and puts it in force. A rejected layer gives an error wrapping
// enforcement.ErrInvalid and a *geo.ZoneError that names every fault.
func (r *Registry) Put(ctx context.Context, layer string, data []byte, by string) (Version, error) {
	if !slices.Contains(Layers, layer) {
		return Version{}, fmt.Errorf("zones: put %q: %w", layer, ErrUnknownLayer)
	}
	if len(data) > MaxLayerBytes {
		return Version{}, fmt.Errorf("zones: put %s: %w: %d bytes, at most %d", layer, ErrTooLarge, len(data), MaxLayerBytes)
	}
	z, err := geo.ParseLayer(geo.Layer(layer), data)
	if err != nil {
		return Version{}, fmt.Errorf("zones: put %s: %w: %w", layer, enforcement.ErrInvalid, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.history[layer]
	v := newVersion(layer, h[len(h)-1].Version+1, data, by, r.now())
	v.Features = z.Len()
	if err := r.store.InsertZoneVersion(ctx, v); err != nil {
		if errors.Is(err, enforcement.ErrExists) {
			return Version{}, fmt.Errorf("zones: put %s: %w: version %d was stored by another server; send it again",
				layer, enforcement.ErrConflict, v.Version)
		}
		return Version{}, fmt.Errorf("zones: put %s: %w", layer, err)
	}
	r.history[layer] = append(h, v)
	r.install(layer, z, v)
	return v, nil
}

// install makes version v (parsed as z) the layer in force and tells the
// watchers; r.mu is held. The generation is the sum of the layers'
// versions, as Open computes it, so that instances agree on it.
func (r *Registry) install(layer string, z *geo.ZoneSet, v Version) {
	old := r.cur.Load()
	set := &Set{Generation: old.Generation + v.Version - old.versions[layer].Version, layers: map[string]*geo.ZoneSet{}, versions: map[string]Version{}}
	for k := range old.layers {
		set.layers[k], set.versions[k] = old.layers[k], old.versions[k]
	}
	set.layers[layer], set.versions[layer] = z, v
	r.cur.Store(set)
	for _, fn := range r.watchers {
		fn(set)
	}
}

// Follow makes version of layer, which another server instance stored, the
// one in force unless a newer one is; the versions between are read too,
// for History. It is the registry's records.DocFollower.
func (r *Registry) Follow(ctx context.Context, layer string, version int64) error {
	if !slices.Contains(Layers, layer) {
		return fmt.Errorf("zones: follow %q: %w", layer, ErrUnknownLayer)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.history[layer]
	last := h[len(h)-1].Version
	if version <= last {
		return nil
	}
	var got []Version
	for n := last + 1; n <= version; n++ {
		v, err := r.store.GetZoneVersion(ctx, layer, n)
		if err != nil {
			return fmt.Errorf("zones: follow %s: %w", layer, err)
		}
		got = append(got, v)
	}
	v := got[len(got)-1]
	z, err := geo.ParseLayer(geo.Layer(layer), v.GeoJSON)
	if err != nil {
		return fmt.Errorf("zones: follow %s version %d: %w", layer, version, err)
	}
	v.Features = z.Len()
	r.history[layer] = append(h, got...)
	r.install(layer, z, v)
	return nil
}
