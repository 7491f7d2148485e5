package geo

// This file holds the zone layers of the reservoir: the protection zones, the
// shore towns and the warden grid, each loaded from a GeoJSON
// FeatureCollection of Polygon and MultiPolygon features. ParseLayer checks
// the geometry strictly (RFC 7946 winding, closed simple rings) and reports
// every fault it finds; the resulting ZoneSet answers point-in-zone queries
// through a uniform grid over the polygons' bounds, and each ring carries its
// edges bucketed into longitude bands so that the exact containment test only
// looks at the few edges a point can be affected by.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
)

// Layer names a kind of zone layer. Each layer has its own required feature
// properties; see the constants.
type Layer string

// The zone layers Baoshui knows.
const (
	// LayerProtection holds the drinking-water protection zones. Every
	// feature has the string property "level", one of "water", "first" and
	// "second" (see ProtectionLevel). The zones may nest: the water body lies
	// inside the first-level zone, which lies inside the second-level zone.
	// The optional string property "id" (or else the GeoJSON feature id)
	// names a feature; without either the level is its id, so a layer with
	// several features of one level must give them ids.
	LayerProtection Layer = "protection"
	// LayerTowns holds the administrative areas of the shore towns. Every
	// feature has the non-empty string properties "id", "name" (the Chinese
	// name) and "name_en" (the romanised name).
	LayerTowns Layer = "towns"
	// LayerGrid holds the warden cells. Every feature has the non-empty
	// string property "id", the cell's identifier such as "cell-r03c12".
	LayerGrid Layer = "grid"
)

// ProtectionLevel is the value of the "level" property of a feature of the
// protection layer.
type ProtectionLevel string

// The protection levels, from the most specific to the least.
const (
	// LevelWater is the water body itself.
	LevelWater ProtectionLevel = "water"
	// LevelFirst is the first-level protection zone (一级保护区).
	LevelFirst ProtectionLevel = "first"
	// LevelSecond is the second-level protection zone (二级保护区).
	LevelSecond ProtectionLevel = "second"
)

// rank orders protection levels from the most specific (0) to the least; it
// returns -1 for an unknown level.
func (l ProtectionLevel) rank() int {
	switch l {
	case LevelWater:
		return 0
	case LevelFirst:
		return 1
	case LevelSecond:
		return 2
	}
	return -1
}

// MaxRingPositions is the most positions a ring may have. The
// self-intersection check can take time quadratic in a ring's length on
// hostile shapes (a comb whose teeth all overlap in longitude), so the bound
// keeps one layer's check to a fraction of a second; a survey-grade shoreline
// of a whole reservoir needs a few thousand.
const MaxRingPositions = 20000

// MaxZoneProblems is the number of problems a ZoneError lists at most; the
// count of further problems is kept in ZoneError.Omitted.
const MaxZoneProblems = 100

// ErrUnknownLayer is wrapped by the error ParseLayer returns for a Layer it
// does not know.
var ErrUnknownLayer = errors.New("unknown zone layer")

// ErrInvalidZones is wrapped by every *ZoneError, so that callers can test
// for a rejected layer with errors.Is.
var ErrInvalidZones = errors.New("invalid zone layer")

// ZoneProblem is one fault ParseLayer found in a layer.
type ZoneProblem struct {
	// Feature is the index of the feature in the collection's "features"
	// array, or -1 for a fault of the collection as a whole.
	Feature int `json:"feature"`
	// ID is the feature's id when it could be read, and otherwise empty.
	ID string `json:"id,omitempty"`
	// Polygon is the index of the polygon within a MultiPolygon, or -1 for
	// a Polygon geometry or a fault that is not about the geometry.
	Polygon int `json:"polygon"`
	// Ring is the index of the ring within its polygon (0 is the exterior,
	// 1 and up are holes), or -1 for a fault that is not about one ring.
	Ring int `json:"ring"`
	// Fault says what is wrong, in lower case.
	Fault string `json:"fault"`
}

// String renders the problem as `feature 3 (id "cell-12"): ring 0: fault`,
// naming only the parts that apply.
func (p ZoneProblem) String() string {
	var b strings.Builder
	if p.Feature >= 0 {
		b.WriteString("feature ")
		b.WriteString(strconv.Itoa(p.Feature))
		if p.ID != "" {
			b.WriteString(" (id ")
			b.WriteString(strconv.Quote(p.ID))
			b.WriteString(")")
		}
		b.WriteString(": ")
	}
	if p.Polygon >= 0 {
		b.WriteString("polygon ")
		b.WriteString(strconv.Itoa(p.Polygon))
		b.WriteString(": ")
	}
	if p.Ring >= 0 {
		b.WriteString("ring ")
		b.WriteString(strconv.Itoa(p.Ring))
		b.WriteString(": ")
	}
	b.WriteString(p.Fault)
	return b.String()
}

// ZoneError is the error ParseLayer returns for a layer it rejects. It lists
// every problem found, up to MaxZoneProblems, so that an API can answer 422
// naming each of them. It wraps ErrInvalidZones.
type ZoneError struct {
	// Layer is the layer that was being parsed.
	Layer Layer
	// Problems are the faults found, in the order of the features.
	Problems []ZoneProblem
	// Omitted counts the further problems found beyond MaxZoneProblems.
	Omitted int
}

// Error joins the problems as `geo.ParseLayer: <problem>; <problem>`.
func (e *ZoneError) Error() string {
	var b strings.Builder
	b.WriteString("geo.ParseLayer: ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	if len(e.Problems) == 0 {
		fmt.Fprintf(&b, "layer %q is invalid", string(e.Layer))
	}
	if e.Omitted > 0 {
		fmt.Fprintf(&b, " (and %d more problems)", e.Omitted)
	}
	return b.String()
}

// Unwrap returns ErrInvalidZones.
func (e *ZoneError) Unwrap() error { return ErrInvalidZones }

// add records a problem, counting it in Omitted beyond the cap.
func (e *ZoneError) add(p ZoneProblem) {
	if len(e.Problems) >= MaxZoneProblems {
		e.Omitted++
		return
	}
	e.Problems = append(e.Problems, p)
}

// Match describes the zone a point was found in.
type Match struct {
	// Layer is the layer of the zone.
	Layer Layer
	// Index is the index of the feature in the collection's "features".
	Index int
	// ID is the feature's id: the "id" property, or for the protection
	// layer the GeoJSON feature id or else the level.
	ID string
	// Level is the protection level; it is empty outside LayerProtection.
	Level ProtectionLevel
	// Name and NameEN are the town's names; they are empty outside
	// LayerTowns.
	Name, NameEN string
	// Properties are all the feature's properties. The map is shared by
	// every Match of the feature and must not be modified.
	Properties map[string]any
}

// ZoneSet is a validated zone layer with a spatial index. It is immutable
// and safe for concurrent use.
type ZoneSet struct {
	layer    Layer
	features []zoneFeature
	parts    []zonePart // sorted by (rank, feature, polygon)
	bound    orb.Bound
	index    zoneGrid
}

// zoneFeature is one parsed feature.
type zoneFeature struct {
	match Match
	rank  int
	geom  orb.Geometry // orb.Polygon or orb.MultiPolygon
}

// zonePart is one polygon of a feature, with its rings prepared for the
// banded containment test.
type zonePart struct {
	feature int
	rank    int
	bound   orb.Bound
	rings   []zoneRing
}

// zoneSeg is one edge of a ring.
type zoneSeg struct{ a, b orb.Point }

// zoneRing holds a ring's edges bucketed by longitude band: the edges whose
// longitude range meets band i are segs[start[i]:start[i+1]].
type zoneRing struct {
	ring  orb.Ring
	bound orb.Bound
	minX  float64
	scale float64
	bands int
	start []int32
	segs  []zoneSeg
}

// Layer returns the layer of z.
func (z *ZoneSet) Layer() Layer { return z.layer }

// Len returns the number of features in z.
func (z *ZoneSet) Len() int { return len(z.features) }

// Bound returns the bounding box of all the features of z.
func (z *ZoneSet) Bound() orb.Bound { return z.bound }

// Feature returns the description and the geometry (an orb.Polygon or an
// orb.MultiPolygon) of feature i, for 0 <= i < Len(). The geometry is shared
// and must not be modified.
func (z *ZoneSet) Feature(i int) (Match, orb.Geometry) {
	f := &z.features[i]
	return f.match, f.geom
}

// Locate returns the zone containing p, and false when no zone does. Points
// on a zone's boundary are inside it, as in planar.PolygonContains, and a
// point in a hole is outside. When several zones contain p, Locate returns
// the most specific: in LayerProtection water before first before second, and
// among zones of one level (and in the other layers, whose zones should not
// overlap) the one that comes first in the collection. The result is always
// the one a scan of every feature with planar.PolygonContains or
// planar.MultiPolygonContains would give under that rule.
func (z *ZoneSet) Locate(p orb.Point) (Match, bool) {
	i := z.locate(p)
	if i < 0 {
		return Match{}, false
	}
	return z.features[i].match, true
}

// locate returns the index of the feature Locate reports, or -1.
func (z *ZoneSet) locate(p orb.Point) int {
	for _, pi := range z.index.cell(p) {
		part := &z.parts[pi]
		if part.contains(p) {
			return part.feature
		}
	}
	return -1
}

// Nearest returns the zone nearest to p and the distance to it in metres. For
// a point inside a zone it returns what Locate returns and distance 0. For a
// point outside every zone the distance is the shortest distance from p to a
// ring edge, measured on the local equirectangular projection centred on p
// (accurate to well under a percent over the tens of kilometres of a
// reservoir). Nearest is slower than Locate. It returns +Inf for a point that
// is not finite.
func (z *ZoneSet) Nearest(p orb.Point) (Match, float64) {
	if m, ok := z.Locate(p); ok {
		return m, 0
	}
	if math.IsNaN(p[0]) || math.IsNaN(p[1]) || math.IsInf(p[0], 0) || math.IsInf(p[1], 0) {
		return Match{}, math.Inf(1)
	}
	const metresPerDegree = zoneEarthRadius * math.Pi / 180
	kx := math.Cos(p[1]*math.Pi/180) * metresPerDegree
	ky := metresPerDegree
	type cand struct {
		lower float64
		part  int
	}
	cands := make([]cand, len(z.parts))
	for i := range z.parts {
		b := z.parts[i].bound
		dx := math.Max(0, math.Max(b.Min[0]-p[0], p[0]-b.Max[0])) * kx
		dy := math.Max(0, math.Max(b.Min[1]-p[1], p[1]-b.Max[1])) * ky
		cands[i] = cand{math.Hypot(dx, dy), i}
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].lower != cands[j].lower {
			return cands[i].lower < cands[j].lower
		}
		return cands[i].part < cands[j].part
	})
	best, bestFeature := math.Inf(1), -1
	for _, c := range cands {
		if c.lower > best {
			break
		}
		part := &z.parts[c.part]
		for _, r := range part.rings {
			for k := 0; k+1 < len(r.ring); k++ {
				ax, ay := (r.ring[k][0]-p[0])*kx, (r.ring[k][1]-p[1])*ky
				bx, by := (r.ring[k+1][0]-p[0])*kx, (r.ring[k+1][1]-p[1])*ky
				d := zoneOriginSegDist(ax, ay, bx, by)
				if d < best || (d == best && zoneBefore(part.rank, part.feature, z.features[bestFeature].rank, bestFeature)) {
					best, bestFeature = d, part.feature
				}
			}
		}
	}
	if bestFeature < 0 {
		return Match{}, math.Inf(1)
	}
	return z.features[bestFeature].match, best
}

// zoneEarthRadius is the mean radius of the Earth (IUGG).
const zoneEarthRadius = 6371008.8

// zoneBefore reports whether feature f1 of rank r1 is preferred over feature
// f2 of rank r2.
func zoneBefore(r1, f1, r2, f2 int) bool {
	if r1 != r2 {
		return r1 < r2
	}
	return f1 < f2
}

// zoneOriginSegDist returns the distance from the origin to the segment
// (ax, ay)–(bx, by).
func zoneOriginSegDist(ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	l2 := dx*dx + dy*dy
	t := 0.0
	if l2 > 0 {
		t = -(ax*dx + ay*dy) / l2
		t = math.Max(0, math.Min(1, t))
	}
	return math.Hypot(ax+t*dx, ay+t*dy)
}

// contains reports whether p is in the polygon, boundary included, with the
// semantics of planar.PolygonContains.
func (part *zonePart) contains(p orb.Point) bool {
	if !part.rings[0].contains(p) {
		return false
	}
	for i := 1; i < len(part.rings); i++ {
		if part.rings[i].contains(p) {
			return false
		}
	}
	return true
}

// newZoneRing buckets the edges of r by longitude band. The edges considered
// are those planar.RingContains considers: (r[0], r[n-1]) and every
// (r[i], r[i+1]).
func newZoneRing(r orb.Ring) zoneRing {
	zr := zoneRing{ring: r, bound: r.Bound()}
	segs := make([]zoneSeg, 0, len(r))
	segs = append(segs, zoneSeg{r[0], r[len(r)-1]})
	for i := 0; i+1 < len(r); i++ {
		segs = append(segs, zoneSeg{r[i], r[i+1]})
	}
	// About one band per two edges, but no more than keeps the bucketed
	// edges under about 9 per edge: an edge is copied into every band its
	// longitude range meets, which for a comb of long teeth would otherwise
	// grow quadratically.
	zr.bands = max(1, min(len(segs)/2, 4096))
	zr.minX = zr.bound.Min[0]
	if w := zr.bound.Max[0] - zr.bound.Min[0]; w > 0 {
		span := 0.0 // the edges' summed longitude ranges, in ring widths
		for _, s := range segs {
			span += math.Abs(s.a[0]-s.b[0]) / w
		}
		if span*float64(zr.bands) > 8*float64(len(segs)) {
			zr.bands = max(1, int(8*float64(len(segs))/span))
		}
		zr.scale = float64(zr.bands) / w
	}
	counts := make([]int32, zr.bands+1)
	for _, s := range segs {
		lo, hi := zr.band(math.Min(s.a[0], s.b[0])), zr.band(math.Max(s.a[0], s.b[0]))
		for b := lo; b <= hi; b++ {
			counts[b+1]++
		}
	}
	for b := 1; b <= zr.bands; b++ {
		counts[b] += counts[b-1]
	}
	zr.start = counts
	zr.segs = make([]zoneSeg, counts[zr.bands])
	fill := append([]int32(nil), counts[:zr.bands]...)
	for _, s := range segs {
		lo, hi := zr.band(math.Min(s.a[0], s.b[0])), zr.band(math.Max(s.a[0], s.b[0]))
		for b := lo; b <= hi; b++ {
			zr.segs[fill[b]] = s
			fill[b]++
		}
	}
	return zr
}

// band returns the longitude band of x, clamped to the ring's bands. It is
// monotone in x, so an edge spanning [x0, x1] is in every band a point with
// x0 <= x <= x1 falls in.
func (zr *zoneRing) band(x float64) int {
	f := (x - zr.minX) * zr.scale
	if !(f > 0) {
		return 0
	}
	if f >= float64(zr.bands-1) {
		return zr.bands - 1
	}
	return int(f)
}

// contains reports whether p is inside the ring or on its boundary, with
// exactly the result of planar.RingContains: that test lets an edge count
// only when p's longitude is within the edge's longitude range, so looking
// only at the edges of p's band changes nothing.
func (zr *zoneRing) contains(p orb.Point) bool {
	if p[1] < zr.bound.Min[1] || zr.bound.Max[1] < p[1] || p[0] < zr.bound.Min[0] || zr.bound.Max[0] < p[0] {
		return false
	}
	b := zr.band(p[0])
	c := false
	for _, s := range zr.segs[zr.start[b]:zr.start[b+1]] {
		inter, on := zoneRayIntersect(p, s.a, s.b)
		if on {
			return true
		}
		if inter {
			c = !c
		}
	}
	return c
}

// zoneRayIntersect is the edge test of planar.RingContains (orb v0.14.0),
// copied so that the banded test gives bit-for-bit the same answers.
func zoneRayIntersect(p, s, e orb.Point) (intersects, on bool) {
	if s[0] > e[0] {
		s, e = e, s
	}
	switch p[0] {
	case s[0]:
		if p[1] == s[1] {
			return false, true
		} else if s[0] == e[0] {
			if s[1] > e[1] && s[1] >= p[1] && p[1] >= e[1] {
				return false, true
			}
			if e[1] > s[1] && e[1] >= p[1] && p[1] >= s[1] {
				return false, true
			}
		}
		p[0] = math.Nextafter(p[0], math.Inf(1))
	case e[0]:
		if p[1] == e[1] {
			return false, true
		}
		p[0] = math.Nextafter(p[0], math.Inf(1))
	}
	if p[0] < s[0] || p[0] > e[0] {
		return false, false
	}
	if s[1] > e[1] {
		if p[1] > s[1] {
			return false, false
		} else if p[1] < e[1] {
			return true, false
		}
	} else {
		if p[1] > e[1] {
			return false, false
		} else if p[1] < s[1] {
			return true, false
		}
	}
	rs := (p[1] - s[1]) / (p[0] - s[0])
	ds := (e[1] - s[1]) / (e[0] - s[0])
	if rs == ds {
		return false, true
	}
	return rs <= ds, false
}

// zoneGrid is a uniform grid over the layer's bounding box; cell (i, j)
// lists, in preference order, the parts whose bounds meet it.
type zoneGrid struct {
	bound  orb.Bound
	nx, ny int
	sx, sy float64
	start  []int32
	items  []int32
}

// newZoneGrid indexes parts, which must be in preference order, over bound.
func newZoneGrid(bound orb.Bound, parts []zonePart) zoneGrid {
	g := zoneGrid{bound: bound, nx: 1, ny: 1}
	w, h := bound.Max[0]-bound.Min[0], bound.Max[1]-bound.Min[1]
	cells := 4 * float64(len(parts))
	if w > 0 && h > 0 {
		g.nx = int(math.Ceil(math.Sqrt(cells * w / h)))
		g.ny = int(math.Ceil(math.Sqrt(cells * h / w)))
	}
	g.nx, g.ny = max(1, min(g.nx, 1024)), max(1, min(g.ny, 1024))
	if w > 0 {
		g.sx = float64(g.nx) / w
	}
	if h > 0 {
		g.sy = float64(g.ny) / h
	}
	counts := make([]int32, g.nx*g.ny+1)
	each := func(b orb.Bound, f func(c int)) {
		x0, x1 := g.col(b.Min[0]), g.col(b.Max[0])
		y0, y1 := g.row(b.Min[1]), g.row(b.Max[1])
		for y := y0; y <= y1; y++ {
			for x := x0; x <= x1; x++ {
				f(y*g.nx + x)
			}
		}
	}
	for i := range parts {
		each(parts[i].bound, func(c int) { counts[c+1]++ })
	}
	for c := 1; c < len(counts); c++ {
		counts[c] += counts[c-1]
	}
	g.start = counts
	g.items = make([]int32, counts[len(counts)-1])
	fill := append([]int32(nil), counts[:len(counts)-1]...)
	for i := range parts {
		each(parts[i].bound, func(c int) {
			g.items[fill[c]] = int32(i)
			fill[c]++
		})
	}
	return g
}

// col and row return the (clamped) grid column and row of a coordinate; both
// are monotone, so a bound's cells include those of every point inside it.
func (g *zoneGrid) col(x float64) int { return zoneClamp((x-g.bound.Min[0])*g.sx, g.nx) }
func (g *zoneGrid) row(y float64) int { return zoneClamp((y-g.bound.Min[1])*g.sy, g.ny) }

func zoneClamp(f float64, n int) int {
	if !(f > 0) {
		return 0
	}
	if f >= float64(n-1) {
		return n - 1
	}
	return int(f)
}

// cell returns the parts that may contain p, in preference order.
func (g *zoneGrid) cell(p orb.Point) []int32 {
	if !g.bound.Contains(p) {
		return nil
	}
	c := g.row(p[1])*g.nx + g.col(p[0])
	return g.items[g.start[c]:g.start[c+1]]
}

// The JSON shapes ParseLayer decodes, loosely, so that it can name faults.
type (
	zoneRawCollection struct {
		Type     string            `json:"type"`
		Features []json.RawMessage `json:"features"`
		// RFC 7946 §7.1 forbids these members on a FeatureCollection; they
		// are read only to be refused.
		Properties  json.RawMessage `json:"properties"`
		Geometry    json.RawMessage `json:"geometry"`
		Coordinates json.RawMessage `json:"coordinates"`
	}
	zoneRawFeature struct {
		Type       string         `json:"type"`
		ID         any            `json:"id"`
		Properties map[string]any `json:"properties"`
		Geometry   *struct {
			Type        string          `json:"type"`
			Coordinates json.RawMessage `json:"coordinates"`
		} `json:"geometry"`
	}
)

// ParseLayer parses data, a GeoJSON FeatureCollection (RFC 7946) of Polygon
// and MultiPolygon features in WGS-84, as a zone layer, and indexes it.
//
// Every ring must have at least 4 positions, be closed (first position equal
// to the last), have finite coordinates with longitudes in [-180, 180] and
// latitudes in [-90, 90], repeat no position consecutively, not intersect or
// touch itself, and enclose a non-zero area; exterior rings must be
// counter-clockwise and holes clockwise (the right-hand rule of RFC 7946,
// judged by the signed area). The collection itself must not have the
// members RFC 7946 §7.1 forbids it ("properties", "geometry",
// "coordinates"). Positions may carry an altitude, which is
// ignored. Every feature must have the properties its layer requires (see
// the Layer constants), and ids must be unique within the layer. ParseLayer
// does not check that holes lie inside their exterior ring, nor that the
// zones of a layer do not overlap.
//
// A layer that fails any check yields a *ZoneError, which wraps
// ErrInvalidZones and lists every problem found (up to MaxZoneProblems), each
// naming the feature by index and id, the ring and the fault. An unknown
// layer yields an error wrapping ErrUnknownLayer.
func ParseLayer(layer Layer, data []byte) (*ZoneSet, error) {
	switch layer {
	case LayerProtection, LayerTowns, LayerGrid:
	default:
		return nil, fmt.Errorf("geo.ParseLayer: %w %q (want %s, %s or %s)", ErrUnknownLayer, string(layer), LayerProtection, LayerTowns, LayerGrid)
	}
	zerr := &ZoneError{Layer: layer}
	whole := func(fault string) (*ZoneSet, error) {
		zerr.add(ZoneProblem{Feature: -1, Polygon: -1, Ring: -1, Fault: fault})
		return nil, zerr
	}
	var fc zoneRawCollection
	if err := json.Unmarshal(data, &fc); err != nil {
		return whole("not a GeoJSON object: " + err.Error())
	}
	if fc.Type != "FeatureCollection" {
		return whole(fmt.Sprintf("type is %q, want \"FeatureCollection\"", fc.Type))
	}
	if len(fc.Features) == 0 {
		return whole("the collection has no features")
	}
	for name, m := range map[string]json.RawMessage{"properties": fc.Properties, "geometry": fc.Geometry, "coordinates": fc.Coordinates} {
		if m != nil {
			return whole(fmt.Sprintf("a FeatureCollection must not have a %q member (RFC 7946 §7.1); use a foreign member such as \"metadata\"", name))
		}
	}

	z := &ZoneSet{layer: layer, bound: orb.Bound{Min: orb.Point{math.Inf(1), math.Inf(1)}, Max: orb.Point{math.Inf(-1), math.Inf(-1)}}}
	seen := make(map[string]int, len(fc.Features))
	for fi, raw := range fc.Features {
		f, ok := parseZoneFeature(layer, fi, raw, zerr)
		if !ok {
			continue
		}
		if f.match.ID != "" {
			if prev, dup := seen[f.match.ID]; dup {
				zerr.add(ZoneProblem{Feature: fi, ID: f.match.ID, Polygon: -1, Ring: -1,
					Fault: fmt.Sprintf("duplicate id: feature %d has the same id", prev)})
				continue
			}
			seen[f.match.ID] = fi
		}
		z.features = append(z.features, f)
	}
	if len(zerr.Problems) > 0 {
		return nil, zerr
	}

	for fi := range z.features {
		f := &z.features[fi]
		var polys []orb.Polygon
		switch g := f.geom.(type) {
		case orb.Polygon:
			polys = []orb.Polygon{g}
		case orb.MultiPolygon:
			polys = g
		}
		for _, poly := range polys {
			part := zonePart{feature: fi, rank: f.rank, bound: poly.Bound()}
			for _, r := range poly {
				part.rings = append(part.rings, newZoneRing(r))
			}
			z.bound = z.bound.Union(part.bound)
			z.parts = append(z.parts, part)
		}
	}
	sort.SliceStable(z.parts, func(i, j int) bool {
		a, b := &z.parts[i], &z.parts[j]
		return zoneBefore(a.rank, a.feature, b.rank, b.feature)
	})
	z.index = newZoneGrid(z.bound, z.parts)
	return z, nil
}

// parseZoneFeature decodes and checks feature fi, recording its problems in
// zerr; ok is false when it had any.
func parseZoneFeature(layer Layer, fi int, raw json.RawMessage, zerr *ZoneError) (f zoneFeature, ok bool) {
	before := len(zerr.Problems) + zerr.Omitted
	id := ""
	problem := func(poly, ring int, format string, args ...any) {
		zerr.add(ZoneProblem{Feature: fi, ID: id, Polygon: poly, Ring: ring, Fault: fmt.Sprintf(format, args...)})
	}
	var rf zoneRawFeature
	if err := json.Unmarshal(raw, &rf); err != nil {
		problem(-1, -1, "not a GeoJSON feature: %v", err)
		return f, false
	}
	props := rf.Properties
	str := func(key string) (string, bool) {
		s, isString := props[key].(string)
		return s, isString && s != ""
	}
	if s, has := str("id"); has {
		id = s
	} else if layer == LayerProtection {
		switch v := rf.ID.(type) {
		case string:
			id = v
		case float64:
			id = strconv.FormatFloat(v, 'f', -1, 64)
		}
	}
	if rf.Type != "Feature" {
		problem(-1, -1, "type is %q, want \"Feature\"", rf.Type)
	}

	m := Match{Layer: layer, Index: fi, Properties: props}
	rank := 0
	switch layer {
	case LayerProtection:
		level, _ := props["level"].(string)
		m.Level = ProtectionLevel(level)
		rank = m.Level.rank()
		if id == "" {
			id = level
		}
		if rank < 0 {
			if _, present := props["level"]; !present {
				problem(-1, -1, "missing property \"level\"")
			} else {
				problem(-1, -1, "property \"level\" is %s, want \"water\", \"first\" or \"second\"", zoneJSON(props["level"]))
			}
		}
	case LayerTowns:
		for _, key := range []string{"id", "name", "name_en"} {
			if _, has := str(key); !has {
				problem(-1, -1, "%s", zoneMissing(props, key))
			}
		}
		m.Name, _ = str("name")
		m.NameEN, _ = str("name_en")
	case LayerGrid:
		if _, has := str("id"); !has {
			problem(-1, -1, "%s", zoneMissing(props, "id"))
		}
	}
	m.ID = id

	if rf.Geometry == nil {
		problem(-1, -1, "missing geometry")
		return f, false
	}
	var geom orb.Geometry
	switch rf.Geometry.Type {
	case "Polygon":
		var coords [][][]float64
		if err := json.Unmarshal(rf.Geometry.Coordinates, &coords); err != nil {
			problem(-1, -1, "polygon coordinates are not an array of rings of positions")
			return f, false
		}
		poly, good := checkZonePolygon(coords, -1, problem)
		if !good {
			return f, false
		}
		geom = poly
	case "MultiPolygon":
		var coords [][][][]float64
		if err := json.Unmarshal(rf.Geometry.Coordinates, &coords); err != nil {
			problem(-1, -1, "multipolygon coordinates are not an array of polygons of rings of positions")
			return f, false
		}
		if len(coords) == 0 {
			problem(-1, -1, "multipolygon has no polygons")
			return f, false
		}
		mp := make(orb.MultiPolygon, 0, len(coords))
		good := true
		for pi, c := range coords {
			poly, g := checkZonePolygon(c, pi, problem)
			good = good && g
			mp = append(mp, poly)
		}
		if !good {
			return f, false
		}
		geom = mp
	default:
		problem(-1, -1, "geometry type is %q, want \"Polygon\" or \"MultiPolygon\"", rf.Geometry.Type)
		return f, false
	}
	if len(zerr.Problems)+zerr.Omitted > before {
		return f, false
	}
	return zoneFeature{match: m, rank: max(rank, 0), geom: geom}, true
}

// zoneMissing describes a required string property that is absent or not a
// non-empty string.
func zoneMissing(props map[string]any, key string) string {
	v, present := props[key]
	if !present {
		return fmt.Sprintf("missing property %q", key)
	}
	return fmt.Sprintf("property %q is %s, want a non-empty string", key, zoneJSON(v))
}

// zoneJSON renders a decoded JSON value for an error message.
func zoneJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// checkZonePolygon converts and checks one polygon's rings; poly is its index
// in a MultiPolygon or -1.
func checkZonePolygon(coords [][][]float64, poly int, problem func(poly, ring int, format string, args ...any)) (orb.Polygon, bool) {
	if len(coords) == 0 {
		problem(poly, -1, "polygon has no rings")
		return nil, false
	}
	out := make(orb.Polygon, len(coords))
	good := true
	for ri, rc := range coords {
		r, fault := checkZoneRing(rc, ri == 0)
		if fault != "" {
			problem(poly, ri, "%s", fault)
			good = false
		}
		out[ri] = r
	}
	return out, good
}

// checkZoneRing converts one ring and returns its first fault, or "".
func checkZoneRing(rc [][]float64, exterior bool) (orb.Ring, string) {
	if len(rc) < 4 {
		return nil, fmt.Sprintf("ring has %d positions, need at least 4", len(rc))
	}
	if len(rc) > MaxRingPositions {
		return nil, fmt.Sprintf("ring has %d positions, more than the %d allowed", len(rc), MaxRingPositions)
	}
	r := make(orb.Ring, len(rc))
	for i, pos := range rc {
		if len(pos) < 2 {
			return nil, fmt.Sprintf("position %d has %d coordinates, need 2", i, len(pos))
		}
		p := orb.Point{pos[0], pos[1]}
		switch {
		case p[0] < -180 || p[0] > 180:
			return nil, fmt.Sprintf("position %d: longitude %v is outside [-180, 180]", i, p[0])
		case p[1] < -90 || p[1] > 90:
			return nil, fmt.Sprintf("position %d: latitude %v is outside [-90, 90]", i, p[1])
		}
		r[i] = p
	}
	n := len(r)
	if r[0] != r[n-1] {
		return nil, fmt.Sprintf("ring is not closed: first position %v differs from last %v", r[0], r[n-1])
	}
	for i := 0; i+1 < n; i++ {
		if r[i] == r[i+1] {
			return nil, fmt.Sprintf("position %d repeats position %d", i+1, i)
		}
	}
	if a, b, found := zoneSelfIntersection(r); found {
		return nil, fmt.Sprintf("self-intersection between segments %d and %d", a, b)
	}
	area := zoneSignedArea(r)
	switch {
	case area == 0:
		return nil, "ring encloses no area"
	case exterior && area < 0:
		return nil, "exterior ring is clockwise, RFC 7946 wants counter-clockwise"
	case !exterior && area > 0:
		return nil, "hole is counter-clockwise, RFC 7946 wants clockwise"
	}
	return r, ""
}

// zoneSignedArea returns twice the signed area of the closed ring r in
// degree², positive for a counter-clockwise ring.
func zoneSignedArea(r orb.Ring) float64 {
	s := 0.0
	o := r[0]
	for i := 1; i+1 < len(r); i++ {
		s += (r[i][0]-o[0])*(r[i+1][1]-o[1]) - (r[i+1][0]-o[0])*(r[i][1]-o[1])
	}
	return s
}

// zoneSelfIntersection finds two segments of the closed ring r (segment i
// joins r[i] and r[i+1]) that intersect other than at the vertex adjacent
// segments share, and returns their indices, the smaller first. It sweeps the
// segments in order of their least longitude and tests only pairs whose
// bounding boxes overlap, so a ring of n positions costs O(n log n) plus the
// number of such pairs. r must be closed and repeat no position
// consecutively.
func zoneSelfIntersection(r orb.Ring) (int, int, bool) {
	m := len(r) - 1
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	minX := func(i int) float64 { return math.Min(r[i][0], r[i+1][0]) }
	sort.Slice(order, func(a, b int) bool {
		xa, xb := minX(order[a]), minX(order[b])
		if xa != xb {
			return xa < xb
		}
		return order[a] < order[b]
	})
	bestA, bestB, found := 0, 0, false
	for oi, i := range order {
		p1, p2 := r[i], r[i+1]
		maxX := math.Max(p1[0], p2[0])
		lo1, hi1 := math.Min(p1[1], p2[1]), math.Max(p1[1], p2[1])
		for _, j := range order[oi+1:] {
			if minX(j) > maxX {
				break
			}
			p3, p4 := r[j], r[j+1]
			if math.Max(p3[1], p4[1]) < lo1 || math.Min(p3[1], p4[1]) > hi1 {
				continue
			}
			a, b := min(i, j), max(i, j)
			var hit bool
			switch {
			case b == a+1:
				hit = zoneFoldsBack(r[a], r[b], r[b+1])
			case a == 0 && b == m-1:
				hit = zoneFoldsBack(r[b], r[0], r[1])
			default:
				hit = zoneSegmentsIntersect(p1, p2, p3, p4)
			}
			if hit && (!found || a < bestA || (a == bestA && b < bestB)) {
				bestA, bestB, found = a, b, true
			}
		}
	}
	return bestA, bestB, found
}

// zoneOrient returns the cross product (b-a)×(c-a): positive when a, b, c
// turn counter-clockwise.
func zoneOrient(a, b, c orb.Point) float64 {
	return (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
}

// zoneFoldsBack reports whether the consecutive segments a–q and q–c overlap
// beyond their shared vertex q, that is, whether c doubles back along a–q.
func zoneFoldsBack(a, q, c orb.Point) bool {
	if zoneOrient(a, q, c) != 0 {
		return false
	}
	return (a[0]-q[0])*(c[0]-q[0])+(a[1]-q[1])*(c[1]-q[1]) > 0
}

// zoneSegmentsIntersect reports whether the closed segments p1–p2 and p3–p4
// share any point.
func zoneSegmentsIntersect(p1, p2, p3, p4 orb.Point) bool {
	d1 := zoneOrient(p3, p4, p1)
	d2 := zoneOrient(p3, p4, p2)
	d3 := zoneOrient(p1, p2, p3)
	d4 := zoneOrient(p1, p2, p4)
	if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
		return true
	}
	return (d1 == 0 && zoneOnSegment(p3, p4, p1)) ||
		(d2 == 0 && zoneOnSegment(p3, p4, p2)) ||
		(d3 == 0 && zoneOnSegment(p1, p2, p3)) ||
		(d4 == 0 && zoneOnSegment(p1, p2, p4))
}

// zoneOnSegment reports whether p, known to be collinear with a–b, lies
// within the segment's bounding box.
func zoneOnSegment(a, b, p orb.Point) bool {
	return math.Min(a[0], b[0]) <= p[0] && p[0] <= math.Max(a[0], b[0]) &&
		math.Min(a[1], b[1]) <= p[1] && p[1] <= math.Max(a[1], b[1])
}
