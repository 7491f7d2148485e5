package records

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/baoshui/baoshui/server/enforcement"
)

// This file answers the map's queries — clustered incidents, per-cell
// counts, patrol effort and feature pages — from the heads in memory: one
// pass over the heads per request, no store access except for patrol
// tracks.

// MapFilter selects records for a map query. Zero fields select everything.
type MapFilter struct {
	// BBox is [W, S, E, N] in degrees; nil is the whole world.
	BBox *[4]float64
	// From and To bound observed_at in Unix ms, half-open; 0 = open.
	From, To int64
	// Kinds are the kinds wanted; empty means every kind but patrol.
	Kinds []enforcement.Kind
	// Zone, Town and Cell select records inside that protection zone, town
	// or grid cell (by id).
	Zone, Town, Cell string
	// Unit is a subtree root; Campaign a campaign id.
	Unit, Campaign string
	// VisibleUnit is the caller's object-level read check, which for reads
	// depends on the record's unit only (auth.Allow); nil allows all.
	VisibleUnit func(unit string) bool
}

// mapPt is a head as the map scans it: 40 bytes, so that a pass over a
// million records reads 40 MB rather than the heads' 150. The position is
// the stored float64, so that a box selects exactly what a query of the
// store would.
type mapPt struct {
	lon, lat   float64
	mx, my     uint32
	observedMs int64
	unit       uint32
	kindIx     uint8
	ok         bool // located and not void
}

func (h *head) pt() mapPt {
	return mapPt{lon: h.lon, lat: h.lat, mx: h.mx, my: h.my, observedMs: h.observedMs, unit: h.unit,
		kindIx: h.kindIx, ok: h.located && !h.voided}
}

// bucketBits is how many top bits of each Mercator coordinate name a bucket:
// 2^14 buckets across the world, about 1.9 km wide at the reservoir.
const bucketBits = 14

func bucketOf(mx, my uint32) uint32 {
	return (mx>>(32-bucketBits))<<bucketBits | my>>(32-bucketBits)
}

// each calls fn with the index of every head that may lie in f.BBox: the
// heads of the buckets the box meets when they are few, and otherwise all of
// them in order (a sequential pass beats hopping through most buckets). fn
// still has to check the filter. s.mu must be held.
func (s *Service) each(f *MapFilter, fn func(i int)) {
	if b := f.BBox; b != nil {
		// The slack covers the rounding of the projection at the edges.
		const slack = 1e-7
		x0, y1 := mercator(b[0]-slack, b[1]-slack)
		x1, y0 := mercator(b[2]+slack, b[3]+slack)
		const sh = 32 - bucketBits
		kx0, kx1, ky0, ky1 := x0>>sh, x1>>sh, y0>>sh, y1>>sh
		area := uint64(kx1-kx0+1) * uint64(ky1-ky0+1)
		if area <= uint64(len(s.buckets)) {
			n := 0
			for kx := kx0; kx <= kx1; kx++ {
				for ky := ky0; ky <= ky1; ky++ {
					n += len(s.buckets[kx<<bucketBits|ky])
				}
			}
			if n < len(s.pts)/4 {
				for kx := kx0; kx <= kx1; kx++ {
					for ky := ky0; ky <= ky1; ky++ {
						for _, i := range s.buckets[kx<<bucketBits|ky] {
							fn(int(i))
						}
					}
				}
				return
			}
		}
	}
	for i := range s.pts {
		fn(i)
	}
}

// scanner applies a MapFilter to heads, caching the per-unit decisions in
// slices indexed by interned id, so that a pass over a million heads stays a
// pass over numbers.
type scanner struct {
	s        *Service
	f        *MapFilter
	kinds    [8]bool
	zone     int64 // interned id wanted, -1 any, -2 none can match
	town     int64
	cell     int64
	campaign int64
	places   bool   // a zone, town, cell or campaign is asked for
	unitOK   []int8 // by interned unit id: 0 unknown, 1 yes, -1 no
}

// newScanner must be called with s.mu held (it reads the interner).
func (s *Service) newScanner(f *MapFilter) *scanner {
	sc := &scanner{s: s, f: f, unitOK: make([]int8, len(s.names.strs))}
	if len(f.Kinds) == 0 {
		for i, k := range enforcement.Kinds {
			sc.kinds[i] = k != enforcement.KindPatrol
		}
	}
	for _, k := range f.Kinds {
		sc.kinds[kindIndex(k)] = true
	}
	lookup := func(v string) int64 {
		if v == "" {
			return -1
		}
		if i, ok := s.names.idx[v]; ok {
			return int64(i)
		}
		return -2
	}
	sc.zone, sc.town, sc.cell, sc.campaign = lookup(f.Zone), lookup(f.Town), lookup(f.Cell), lookup(f.Campaign)
	sc.places = sc.zone != -1 || sc.town != -1 || sc.cell != -1 || sc.campaign != -1
	return sc
}

// match reports whether head i passes the filter. It reads the map point
// and looks at the head itself only for the zone, town, cell and campaign.
func (sc *scanner) match(i int) bool {
	f := sc.f
	p := &sc.s.pts[i]
	if !p.ok || !sc.kinds[p.kindIx] {
		return false
	}
	if (f.From != 0 && p.observedMs < f.From) || (f.To != 0 && p.observedMs >= f.To) {
		return false
	}
	if b := f.BBox; b != nil {
		lon, lat := p.lon, p.lat
		if lon < b[0] || lat < b[1] || lon > b[2] || lat > b[3] {
			return false
		}
	}
	if sc.places && !sc.matchPlace(&sc.s.all[i]) {
		return false
	}
	if f.Unit == "" && f.VisibleUnit == nil {
		return true
	}
	ok := sc.unitOK[p.unit]
	if ok == 0 {
		unit := sc.s.names.str(p.unit)
		ok = -1
		if (f.Unit == "" || sc.s.units.Within(unit, f.Unit)) && (f.VisibleUnit == nil || f.VisibleUnit(unit)) {
			ok = 1
		}
		sc.unitOK[p.unit] = ok
	}
	return ok == 1
}

func (sc *scanner) matchPlace(h *head) bool {
	return !((sc.zone != -1 && !idMatch(sc.zone, h.zone, h.inside&insideZone != 0)) ||
		(sc.town != -1 && !idMatch(sc.town, h.town, h.inside&insideTown != 0)) ||
		(sc.cell != -1 && !idMatch(sc.cell, h.cell, h.inside&insideCell != 0)) ||
		(sc.campaign != -1 && !idMatch(sc.campaign, h.campaign, true)))
}

func idMatch(want int64, got uint32, inside bool) bool {
	switch want {
	case -1:
		return true
	case -2:
		return false
	}
	return inside && int64(got) == want
}

// Incident is what the map shows of one record without reading it.
type Incident struct {
	ID         string           `json:"id"`
	Rev        int64            `json:"rev"`
	Kind       enforcement.Kind `json:"kind"`
	ObservedAt time.Time        `json:"observed_at"`
	Lon        float64          `json:"-"`
	Lat        float64          `json:"-"`
	Unit       string           `json:"unit"`
	Officers   []string         `json:"officers,omitempty"`
	CreatedBy  string           `json:"created_by"`
	Campaign   string           `json:"campaign,omitempty"`
	Zone       string           `json:"zone,omitempty"`
	Town       string           `json:"town,omitempty"`
	Cell       string           `json:"cell,omitempty"`
	Persons    int64            `json:"persons,omitempty"`
	Activity   string           `json:"activity,omitempty"`
	Animals    int64            `json:"animals,omitempty"`
	Vehicles   int64            `json:"vehicles,omitempty"`
	Items      int64            `json:"items,omitempty"`
	ValueFen   int64            `json:"value_fen,omitempty"`
	FineFen    int64            `json:"fine_fen,omitempty"`
}

// incident must be called with s.mu held.
func (s *Service) incident(h *head) Incident {
	in := Incident{ID: h.id, Rev: h.rev, Kind: h.kind(), ObservedAt: time.UnixMilli(h.observedMs).UTC(),
		Lon: h.lon, Lat: h.lat, Unit: s.names.str(h.unit), CreatedBy: s.names.str(h.createdBy),
		Campaign: s.names.str(h.campaign), Persons: int64(h.persons), Animals: int64(h.animals),
		Vehicles: int64(h.vehicles), Items: int64(h.items), ValueFen: h.valueFen, FineFen: h.fineFen}
	if crew := s.crews.str(h.officers); crew != "" {
		in.Officers = strings.Split(crew, "\x00")
	}
	if h.inside&insideZone != 0 {
		in.Zone = s.names.str(h.zone)
	}
	if h.inside&insideTown != 0 {
		in.Town = s.names.str(h.town)
	}
	if h.inside&insideCell != 0 {
		in.Cell = s.names.str(h.cell)
	}
	if h.kindIx == kindIndex(enforcement.KindExpulsion) {
		in.Activity = string(enforcement.Activities[h.activity])
	}
	return in
}

// MapCluster is one item of a clustered map answer: a cluster of two or
// more incidents, or (Incident set) a single one.
type MapCluster struct {
	Lon, Lat float64
	Count    int
	Kinds    map[enforcement.Kind]int
	// BBox is the bounding box of the members, [W, S, E, N].
	BBox [4]float64
	// Key identifies the grid cell at this zoom: "z/x/y".
	Key      string
	Incident *Incident
}

// MapAnswer is the answer to MapIncidents.
type MapAnswer struct {
	Zoom      int
	Matched   int // incidents matching the filter in the box
	Clustered bool
	Items     []MapCluster
}

// Clustering parameters of MapIncidents.
const (
	// ClusterCellPixels is the side of the square grid cell, in screen
	// pixels of 256-pixel tiles, whose incidents merge into one cluster.
	ClusterCellPixels = 64
	// MaxClusterZoom is the highest zoom that is clustered; above it every
	// incident is its own feature, unless there are more than MaxFeatures.
	MaxClusterZoom = 16
	// MaxFeatures is the most single incidents an answer lists unclustered.
	MaxFeatures = 5000
)

// MapIncidents answers the incident map: the incidents of f at zoom,
// merged per grid cell of ClusterCellPixels at zooms up to MaxClusterZoom
// (and above it when more than MaxFeatures match), single otherwise. A cell
// holding one incident answers with that incident. Counts always add up to
// Matched.
func (s *Service) MapIncidents(f MapFilter, zoom int) MapAnswer {
	type agg struct {
		n      int
		sx, sy float64 // sums of Web-Mercator x, y in [0, 2³²)
		bbox   [4]float64
		kinds  [8]int32
		first  int32
		key    uint64
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	sc := s.newScanner(&f)
	single := func(i int32) MapCluster {
		in := s.incident(&s.all[i])
		return MapCluster{Lon: in.Lon, Lat: in.Lat, Count: 1, Kinds: map[enforcement.Kind]int{in.Kind: 1},
			BBox: [4]float64{in.Lon, in.Lat, in.Lon, in.Lat}, Incident: &in}
	}
	ans := MapAnswer{Zoom: zoom}
	if zoom > MaxClusterZoom {
		var hits []int32
		s.each(&f, func(i int) {
			if sc.match(i) {
				hits = append(hits, int32(i))
			}
		})
		ans.Matched = len(hits)
		if len(hits) <= MaxFeatures {
			ans.Items = make([]MapCluster, 0, len(hits))
			for _, i := range hits {
				ans.Items = append(ans.Items, single(i))
			}
			return ans
		}
	}
	ans.Clustered = true
	// The world is 2^(zoom+2) cells of 64 pixels across: a cell is the top
	// zoom+2 bits of the 32-bit Mercator coordinates. Within the box's
	// range of cells a dense table finds a cell's aggregate; a box too
	// large for one falls back to a map.
	shift := uint(max(32-(zoom+2), 0))
	var cx0, cy0, nx, ny uint64
	if b := f.BBox; b != nil {
		x0, y1 := mercator(b[0], b[1])
		x1, y0 := mercator(b[2], b[3])
		cx0, cy0 = uint64(x0>>shift), uint64(y0>>shift)
		nx, ny = uint64(x1>>shift)-cx0+1, uint64(y1>>shift)-cy0+1
	} else {
		nx, ny = 1<<(32-shift), 1<<(32-shift)
	}
	var dense []int32
	var sparse map[uint64]int32
	if nx*ny <= 1<<18 {
		dense = make([]int32, nx*ny)
	} else {
		sparse = map[uint64]int32{}
	}
	cells := []agg{{}} // aggregate 0 is "none"
	matched := 0
	s.each(&f, func(i int) {
		if !sc.match(i) {
			return
		}
		matched++
		p := &s.pts[i]
		cx, cy := uint64(p.mx>>shift), uint64(p.my>>shift)
		var ci int32
		var slot *int32
		if dense != nil {
			// A point on the box's edge may round into the next cell.
			dx, dy := min(cx-min(cx, cx0), nx-1), min(cy-min(cy, cy0), ny-1)
			slot = &dense[dy*nx+dx]
			ci = *slot
		} else {
			ci = sparse[cx<<32|cy]
		}
		if ci == 0 {
			ci = int32(len(cells))
			cells = append(cells, agg{first: int32(i), key: cx<<32 | cy, bbox: [4]float64{p.lon, p.lat, p.lon, p.lat}})
			if slot != nil {
				*slot = ci
			} else {
				sparse[cx<<32|cy] = ci
			}
		}
		a := &cells[ci]
		a.n++
		a.sx += float64(p.mx)
		a.sy += float64(p.my)
		a.bbox = [4]float64{min(a.bbox[0], p.lon), min(a.bbox[1], p.lat), max(a.bbox[2], p.lon), max(a.bbox[3], p.lat)}
		a.kinds[p.kindIx]++
	})
	ans.Matched = matched
	ans.Items = make([]MapCluster, 0, len(cells)-1)
	for ci := 1; ci < len(cells); ci++ {
		a := &cells[ci]
		if a.n == 1 {
			ans.Items = append(ans.Items, single(a.first))
			continue
		}
		kinds := map[enforcement.Kind]int{}
		for ki, n := range a.kinds {
			if n > 0 {
				kinds[enforcement.Kinds[ki]] = int(n)
			}
		}
		lon, lat := unmercator(a.sx/float64(a.n), a.sy/float64(a.n))
		ans.Items = append(ans.Items, MapCluster{Lon: lon, Lat: lat, Count: a.n, Kinds: kinds,
			BBox: a.bbox, Key: clusterKey(zoom, a.key)})
	}
	// A stable order, north to south, so that equal queries give equal bytes.
	sort.Slice(ans.Items, func(i, j int) bool {
		a, b := &ans.Items[i], &ans.Items[j]
		if a.Lat != b.Lat {
			return a.Lat > b.Lat
		}
		if a.Lon != b.Lon {
			return a.Lon < b.Lon
		}
		return a.Key < b.Key
	})
	return ans
}

func clusterKey(zoom int, k uint64) string {
	return itoa(zoom) + "/" + itoa(int(k>>32)) + "/" + itoa(int(k&0xffffffff))
}

func itoa(v int) string {
	const digits = "0123456789"
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = digits[v%10]
		v /= 10
	}
	return string(b[i:])
}

// mercator projects lon, lat to Web Mercator as 32-bit fixed point over
// the world; latitudes are clamped to ±85.0511°.
func mercator(lon, lat float64) (uint32, uint32) {
	x := lon/360 + 0.5
	sin := math.Sin(lat * math.Pi / 180)
	y := 0.5 - 0.25*math.Log((1+sin)/(1-sin))/math.Pi
	const full = 1 << 32
	fix := func(v float64) uint32 { return uint32(min(max(v*full, 0), full-1)) }
	return fix(x), fix(min(max(y, 0), 1))
}

// unmercator is the inverse of mercator, for float coordinates.
func unmercator(mx, my float64) (lon, lat float64) {
	const full = 1 << 32
	x, y := mx/full, my/full
	y2 := (180 - y*360) * math.Pi / 180
	return (x - 0.5) * 360, 360*math.Atan(math.Exp(y2))/math.Pi - 90
}

// CellCount is the number of incidents in one grid cell.
type CellCount struct {
	Cell  string                   `json:"cell"`
	Count int                      `json:"count"`
	Kinds map[enforcement.Kind]int `json:"kinds"`
}

// Heat counts the incidents of f per grid cell they lie in; incidents
// outside every cell are counted in Outside.
func (s *Service) Heat(f MapFilter) (cells map[string]*CellCount, outside int) {
	cells = map[string]*CellCount{}
	s.mu.RLock()
	defer s.mu.RUnlock()
	sc := s.newScanner(&f)
	s.each(&f, func(i int) {
		if !sc.match(i) {
			return
		}
		h := &s.all[i]
		if h.inside&insideCell == 0 {
			outside++
			return
		}
		id := s.names.str(h.cell)
		c := cells[id]
		if c == nil {
			c = &CellCount{Cell: id, Kinds: map[enforcement.Kind]int{}}
			cells[id] = c
		}
		c.Count++
		c.Kinds[h.kind()]++
	})
	return cells, outside
}

// EffortQuery selects the patrols of an effort report.
type EffortQuery struct {
	From, To enforcement.Day // half-open, Asia/Shanghai days of observed_at
	Unit     string
	// VisibleUnit is the caller's read check by unit; nil allows all.
	VisibleUnit func(unit string) bool
}

// EffortLine is the patrol effort of one team or one officer.
type EffortLine struct {
	Unit         string   `json:"unit,omitempty"`
	Officer      string   `json:"officer,omitempty"`
	Patrols      int      `json:"patrols"`
	DistanceKM   float64  `json:"distance_km"`
	Hours        float64  `json:"hours"`
	MovingHours  float64  `json:"moving_hours"`
	CellsCovered int      `json:"cells_covered"`
	Cells        []string `json:"cells"`
}

// EffortReport is the answer to PatrolEffort.
type EffortReport struct {
	From     string       `json:"from"`
	To       string       `json:"to"`
	Unit     string       `json:"unit,omitempty"`
	Teams    []EffortLine `json:"teams"`
	Officers []EffortLine `json:"officers"`
}

// PatrolEffort sums the patrols of q per team and per officer (an officer is
// credited with the whole of every patrol they were on): distance, hours
// (the span of the track), moving hours, and the distinct grid cells
// covered. Voided patrols and patrols without a track do not count.
func (s *Service) PatrolEffort(q EffortQuery) EffortReport {
	type acc struct {
		line  EffortLine
		dist  float64
		dur   float64
		move  float64
		cells map[uint32]bool
	}
	add := func(m map[string]*acc, key string, mk func() EffortLine, e *patrolEffort) {
		a := m[key]
		if a == nil {
			a = &acc{line: mk(), cells: map[uint32]bool{}}
			m[key] = a
		}
		a.line.Patrols++
		a.dist += float64(e.distanceM)
		a.dur += float64(e.durationS)
		a.move += float64(e.movingS)
		for _, c := range e.cells {
			a.cells[c] = true
		}
	}
	y, m, d := q.From.Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, enforcement.Shanghai).UnixMilli()
	y, m, d = q.To.Date()
	to := time.Date(y, m, d, 0, 0, 0, 0, enforcement.Shanghai).UnixMilli()
	f := MapFilter{From: from, To: to, Kinds: []enforcement.Kind{enforcement.KindPatrol}, Unit: q.Unit, VisibleUnit: q.VisibleUnit}
	teams, officers := map[string]*acc{}, map[string]*acc{}
	s.mu.RLock()
	sc := s.newScanner(&f)
	patrols := make([]int32, 0, len(s.efforts)+len(s.chunks))
	for i := range s.efforts {
		patrols = append(patrols, i)
	}
	for i := range s.chunks {
		if s.efforts[i] == nil {
			patrols = append(patrols, i)
		}
	}
	for _, i := range patrols {
		if !sc.match(int(i)) {
			continue
		}
		e := s.effortOf(i)
		h := &s.all[i]
		unit := s.names.str(h.unit)
		add(teams, unit, func() EffortLine { return EffortLine{Unit: unit} }, e)
		if crew := s.crews.str(h.officers); crew != "" {
			for _, o := range strings.Split(crew, "\x00") {
				add(officers, o, func() EffortLine { return EffortLine{Officer: o} }, e)
			}
		}
	}
	finish := func(m map[string]*acc) []EffortLine {
		out := make([]EffortLine, 0, len(m))
		for _, a := range m {
			l := a.line
			l.DistanceKM = math.Round(a.dist) / 1000
			l.Hours = math.Round(a.dur/36) / 100
			l.MovingHours = math.Round(a.move/36) / 100
			l.Cells = make([]string, 0, len(a.cells))
			for c := range a.cells {
				l.Cells = append(l.Cells, s.names.str(c))
			}
			slices.Sort(l.Cells)
			l.CellsCovered = len(l.Cells)
			out = append(out, l)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Unit+out[i].Officer < out[j].Unit+out[j].Officer })
		return out
	}
	rep := EffortReport{From: q.From.String(), To: q.To.String(), Unit: q.Unit, Teams: finish(teams), Officers: finish(officers)}
	s.mu.RUnlock()
	return rep
}

// FeaturePage is one page of features of a collection, newest first.
type FeaturePage struct {
	Incidents []Incident
	Patrols   []enforcement.Record
	Matched   int
	Next      string // cursor of the next page, "" at the end
}

// pageHits returns the matching heads after cursor, newest first, at most
// limit of them, the number matching in all, and the next cursor. It must be
// called with s.mu held.
func (s *Service) pageHits(sc *scanner, extra func(i int32, h *head) bool, cursor string, limit int) ([]int32, int, string, error) {
	var after *position
	if cursor != "" {
		p, err := decodeCursor(cursor)
		if err != nil {
			return nil, 0, "", ErrBadCursor
		}
		after = &p
	}
	var hits []int32
	matched := 0
	sortHits := func() {
		sort.Slice(hits, func(i, j int) bool {
			a, b := &s.all[hits[i]], &s.all[hits[j]]
			return position{a.observedMs, a.id}.before(position{b.observedMs, b.id})
		})
	}
	for i := range s.pts {
		if !sc.match(i) {
			continue
		}
		h := &s.all[i]
		if extra != nil && !extra(int32(i), h) {
			continue
		}
		matched++
		if after != nil && !after.before(position{h.observedMs, h.id}) {
			continue
		}
		hits = append(hits, int32(i))
		if len(hits) >= 2*limit+1024 {
			sortHits()
			hits = hits[:limit+1]
		}
	}
	sortHits()
	next := ""
	if len(hits) > limit {
		hits = hits[:limit]
		last := &s.all[hits[limit-1]]
		next = encodeCursor(position{last.observedMs, last.id})
	}
	return hits, matched, next, nil
}

// IncidentPage lists the incidents of f (its BBox applies to the location),
// newest first, from memory.
func (s *Service) IncidentPage(f MapFilter, cursor string, limit int) (FeaturePage, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	hits, matched, next, err := s.pageHits(s.newScanner(&f), nil, cursor, limit)
	if err != nil {
		return FeaturePage{}, fmt.Errorf("records: incidents: %w", err)
	}
	page := FeaturePage{Matched: matched, Next: next, Incidents: make([]Incident, len(hits))}
	for k, i := range hits {
		page.Incidents[k] = s.incident(&s.all[i])
	}
	return page, nil
}

// PatrolPage lists the patrols of f that have a track, newest first; f.BBox
// selects the tracks whose bounding box meets it. The page is read from the
// store by _id.
func (s *Service) PatrolPage(ctx context.Context, f MapFilter, cursor string, limit int) (FeaturePage, error) {
	bbox := f.BBox
	f.BBox = nil
	f.Kinds = []enforcement.Kind{enforcement.KindPatrol}
	s.mu.RLock()
	extra := func(i int32, h *head) bool {
		e := s.effortOf(i)
		if e == nil {
			return false
		}
		if bbox == nil {
			return true
		}
		b := bbox
		return float64(e.bound[0]) <= b[2] && float64(e.bound[2]) >= b[0] && float64(e.bound[1]) <= b[3] && float64(e.bound[3]) >= b[1]
	}
	hits, matched, next, err := s.pageHits(s.newScanner(&f), extra, cursor, limit)
	refs := make([]revRef, len(hits))
	for k, i := range hits {
		refs[k] = revRef{s.all[i].id, s.all[i].rev}
	}
	s.mu.RUnlock()
	if err != nil {
		return FeaturePage{}, fmt.Errorf("records: patrols: %w", err)
	}
	page := FeaturePage{Matched: matched, Next: next}
	if page.Patrols, err = s.fetch(ctx, refs); err != nil {
		return FeaturePage{}, fmt.Errorf("records: patrols: %w", err)
	}
	return page, nil
}
