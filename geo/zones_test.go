package geo

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// zoneSquare is a counter-clockwise unit square near Miyun, as GeoJSON.
const zoneSquare = `[[116.9,40.5],[117.0,40.5],[117.0,40.6],[116.9,40.6],[116.9,40.5]]`

// zoneFeat returns a GeoJSON feature with the given properties object and
// Polygon coordinates.
func zoneFeat(props, coords string) string {
	return `{"type":"Feature","properties":` + props + `,"geometry":{"type":"Polygon","coordinates":` + coords + `}}`
}

// zoneFC wraps features in a FeatureCollection.
func zoneFC(features ...string) []byte {
	return []byte(`{"type":"FeatureCollection","features":[` + strings.Join(features, ",") + `]}`)
}

func TestParseLayerValidation(t *testing.T) {
	cell := func(id string) string { return fmt.Sprintf(`{"id":%q}`, id) }
	tests := []struct {
		name  string
		layer Layer
		data  []byte
		want  []string // substrings of the error, one per expected problem
	}{
		{"open ring", LayerGrid,
			zoneFC(zoneFeat(cell("c1"), `[[[116.9,40.5],[117.0,40.5],[117.0,40.6],[116.9,40.6]]]`)),
			[]string{`feature 0 (id "c1"): ring 0: ring is not closed`}},
		{"3-point ring", LayerGrid,
			zoneFC(zoneFeat(cell("c1"), `[[[116.9,40.5],[117.0,40.5],[116.9,40.5]]]`)),
			[]string{`feature 0 (id "c1"): ring 0: ring has 3 positions, need at least 4`}},
		{"bowtie self-intersection", LayerGrid,
			zoneFC(zoneFeat(cell("c1"), `[[[116.9,40.5],[117.0,40.6],[117.0,40.5],[116.9,40.6],[116.9,40.5]]]`)),
			[]string{`feature 0 (id "c1"): ring 0: self-intersection between segments 0 and 2`}},
		{"spike folding back", LayerGrid,
			zoneFC(zoneFeat(cell("c1"), `[[[116.9,40.5],[117.0,40.5],[117.0,40.6],[117.0,40.55],[116.9,40.6],[116.9,40.5]]]`)),
			[]string{`ring 0: self-intersection between segments 1 and 2`}},
		{"vertex touching another edge", LayerGrid,
			zoneFC(zoneFeat(cell("c1"), `[[[116.9,40.5],[117.0,40.5],[117.0,40.6],[116.95,40.5],[116.9,40.6],[116.9,40.5]]]`)),
			[]string{`ring 0: self-intersection between segments 0 and 2`}},
		{"clockwise exterior", LayerGrid,
			zoneFC(zoneFeat(cell("c1"), `[[[116.9,40.5],[116.9,40.6],[117.0,40.6],[117.0,40.5],[116.9,40.5]]]`)),
			[]string{`feature 0 (id "c1"): ring 0: exterior ring is clockwise, RFC 7946 wants counter-clockwise`}},
		{"counter-clockwise hole", LayerGrid,
			zoneFC(zoneFeat(cell("c1"), `[`+zoneSquare+`,[[116.92,40.52],[116.98,40.52],[116.98,40.58],[116.92,40.52]]]`)),
			[]string{`feature 0 (id "c1"): ring 1: hole is counter-clockwise, RFC 7946 wants clockwise`}},
		{"lon 200", LayerGrid,
			zoneFC(zoneFeat(cell("c1"), `[[[200,40.5],[117.0,40.5],[117.0,40.6],[200,40.5]]]`)),
			[]string{`ring 0: position 0: longitude 200 is outside [-180, 180]`}},
		{"lat 91", LayerGrid,
			zoneFC(zoneFeat(cell("c1"), `[[[116.9,40.5],[117.0,91],[117.0,40.6],[116.9,40.5]]]`)),
			[]string{`ring 0: position 1: latitude 91 is outside [-90, 90]`}},
		{"repeated position", LayerGrid,
			zoneFC(zoneFeat(cell("c1"), `[[[116.9,40.5],[117.0,40.5],[117.0,40.5],[117.0,40.6],[116.9,40.5]]]`)),
			[]string{`ring 0: position 2 repeats position 1`}},
		{"duplicate id", LayerGrid,
			zoneFC(zoneFeat(cell("cell-1"), `[`+zoneSquare+`]`), zoneFeat(cell("cell-1"), `[`+zoneSquare+`]`)),
			[]string{`feature 1 (id "cell-1"): duplicate id: feature 0 has the same id`}},
		{"missing property", LayerTowns,
			zoneFC(zoneFeat(`{"id":"t1","name":"溪翁庄镇"}`, `[`+zoneSquare+`]`)),
			[]string{`feature 0 (id "t1"): missing property "name_en"`}},
		{"empty property", LayerGrid,
			zoneFC(zoneFeat(`{"id":""}`, `[`+zoneSquare+`]`)),
			[]string{`feature 0: property "id" is "", want a non-empty string`}},
		{"bad level", LayerProtection,
			zoneFC(zoneFeat(`{"level":"third"}`, `[`+zoneSquare+`]`)),
			[]string{`feature 0 (id "third"): property "level" is "third", want "water", "first" or "second"`}},
		{"missing level", LayerProtection,
			zoneFC(zoneFeat(`{"id":"z"}`, `[`+zoneSquare+`]`)),
			[]string{`feature 0 (id "z"): missing property "level"`}},
		{"not a FeatureCollection", LayerGrid,
			[]byte(zoneFeat(cell("c1"), `[`+zoneSquare+`]`)),
			[]string{`geo.ParseLayer: type is "Feature", want "FeatureCollection"`}},
		{"not JSON", LayerGrid, []byte(`{"type":`), []string{`geo.ParseLayer: not a GeoJSON object`}},
		{"no features", LayerGrid, zoneFC(), []string{`the collection has no features`}},
		{"point geometry", LayerGrid,
			zoneFC(`{"type":"Feature","properties":{"id":"p"},"geometry":{"type":"Point","coordinates":[117,40.5]}}`),
			[]string{`feature 0 (id "p"): geometry type is "Point", want "Polygon" or "MultiPolygon"`}},
		{"null geometry", LayerGrid,
			zoneFC(`{"type":"Feature","properties":{"id":"p"},"geometry":null}`),
			[]string{`feature 0 (id "p"): missing geometry`}},
		{"multipolygon names the polygon", LayerGrid,
			zoneFC(`{"type":"Feature","properties":{"id":"m"},"geometry":{"type":"MultiPolygon","coordinates":[[` + zoneSquare + `],[[[116.9,40.5],[116.9,40.6],[117.0,40.6],[117.0,40.5],[116.9,40.5]]]]}}`),
			[]string{`feature 0 (id "m"): polygon 1: ring 0: exterior ring is clockwise`}},
		{"every problem collected", LayerTowns,
			zoneFC(
				zoneFeat(`{"id":"a","name":"甲","name_en":"A"}`, `[`+zoneSquare+`]`),
				zoneFeat(`{"id":"b","name_en":"B"}`, `[[[116.9,40.5],[116.9,40.6],[117.0,40.6],[117.0,40.5],[116.9,40.5]]]`),
				zoneFeat(`{"id":"a","name":"乙","name_en":"A2"}`, `[`+zoneSquare+`]`),
			),
			[]string{
				`feature 1 (id "b"): missing property "name"`,
				`feature 1 (id "b"): ring 0: exterior ring is clockwise`,
				`feature 2 (id "a"): duplicate id: feature 0 has the same id`,
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			z, err := ParseLayer(tc.layer, tc.data)
			if err == nil {
				t.Fatalf("ParseLayer accepted the layer (%d features)", z.Len())
			}
			var ze *ZoneError
			if !errors.As(err, &ze) {
				t.Fatalf("error %v (%T) is not a *ZoneError", err, err)
			}
			if !errors.Is(err, ErrInvalidZones) {
				t.Errorf("error does not wrap ErrInvalidZones")
			}
			if !strings.HasPrefix(err.Error(), "geo.ParseLayer: ") {
				t.Errorf("error %q does not start with the function name", err)
			}
			if len(ze.Problems) != len(tc.want) {
				t.Errorf("got %d problems, want %d: %v", len(ze.Problems), len(tc.want), err)
			}
			for i, want := range tc.want {
				if i < len(ze.Problems) && !strings.Contains("geo.ParseLayer: "+ze.Problems[i].String(), want) {
					t.Errorf("problem %d is %q, want it to contain %q", i, ze.Problems[i], want)
				}
			}
		})
	}
}

func TestParseLayerErrorFormat(t *testing.T) {
	feats := make([]string, 4)
	for i := range feats {
		feats[i] = zoneFeat(fmt.Sprintf(`{"id":"cell-%d"}`, 9+i), `[`+zoneSquare+`]`)
	}
	// Feature 3: a figure of eight whose only crossing is of segments 4 and 9.
	feats[3] = zoneFeat(`{"id":"cell-12"}`, `[[
		[-2,-3],[-2.5,-2],[-2.2,-1.5],[-1.8,-1.2],[-1,-1],[1,1],[2,3],[0,4],
		[-2,3],[-1,1],[1,-1],[2,-3],[1,-4],[0,-4.5],[-1,-4],[-2,-3]]]`)
	_, err := ParseLayer(LayerGrid, zoneFC(feats...))
	want := `geo.ParseLayer: feature 3 (id "cell-12"): ring 0: self-intersection between segments 4 and 9`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant    %s", err, want)
	}
	var ze *ZoneError
	if !errors.As(err, &ze) || ze.Layer != LayerGrid || ze.Problems[0] != (ZoneProblem{Feature: 3, ID: "cell-12", Polygon: -1, Ring: 0, Fault: "self-intersection between segments 4 and 9"}) {
		t.Errorf("problems = %+v", ze)
	}
}

func TestParseLayerProblemCap(t *testing.T) {
	var feats []string
	for i := range MaxZoneProblems + 50 {
		feats = append(feats, zoneFeat(fmt.Sprintf(`{"id":"c%d"}`, i), `[[[116.9,40.5],[117.0,40.5],[116.9,40.5]]]`))
	}
	_, err := ParseLayer(LayerGrid, zoneFC(feats...))
	var ze *ZoneError
	if !errors.As(err, &ze) {
		t.Fatalf("error = %v, want a *ZoneError", err)
	}
	if len(ze.Problems) != MaxZoneProblems || ze.Omitted != 50 {
		t.Errorf("got %d problems and %d omitted, want %d and 50", len(ze.Problems), ze.Omitted, MaxZoneProblems)
	}
	if !strings.HasSuffix(err.Error(), "(and 50 more problems)") {
		t.Errorf("error does not count the omitted problems: ...%s", err.Error()[len(err.Error())-40:])
	}
}

func TestParseLayerUnknownLayer(t *testing.T) {
	_, err := ParseLayer("roads", zoneFC(zoneFeat(`{"id":"a"}`, `[`+zoneSquare+`]`)))
	if !errors.Is(err, ErrUnknownLayer) || !strings.HasPrefix(err.Error(), "geo.ParseLayer: ") {
		t.Errorf("error = %v, want geo.ParseLayer: ... wrapping ErrUnknownLayer", err)
	}
}

func TestParseLayerAccepts(t *testing.T) {
	hole := `[[116.92,40.52],[116.92,40.58],[116.98,40.58],[116.98,40.52],[116.92,40.52]]`
	data := zoneFC(
		zoneFeat(`{"level":"second"}`, `[`+zoneSquare+`]`),
		`{"type":"Feature","id":7,"properties":{"level":"first"},"geometry":{"type":"MultiPolygon","coordinates":[[`+zoneSquare+`,`+hole+`],[[[117.1,40.5,55],[117.2,40.5,55],[117.2,40.6,55],[117.1,40.5,55]]]]}}`,
		zoneFeat(`{"level":"water","id":"lake"}`, `[[[116.93,40.53],[116.97,40.53],[116.97,40.57],[116.93,40.57],[116.93,40.53]]]`),
	)
	z, err := ParseLayer(LayerProtection, data)
	if err != nil {
		t.Fatal(err)
	}
	if z.Len() != 3 || z.Layer() != LayerProtection {
		t.Fatalf("Len = %d, Layer = %q", z.Len(), z.Layer())
	}
	for _, tc := range []struct {
		p      orb.Point
		id     string
		level  ProtectionLevel
		inside bool
	}{
		{orb.Point{116.91, 40.51}, "7", LevelFirst, true},         // in the first polygon, outside its hole
		{orb.Point{116.925, 40.575}, "second", LevelSecond, true}, // in the hole of first, outside the water
		{orb.Point{116.95, 40.55}, "lake", LevelWater, true},      // in the water, inside first's hole
		{orb.Point{117.15, 40.51}, "7", LevelFirst, true},         // the second polygon of first
		{orb.Point{117.0, 40.6}, "7", LevelFirst, true},           // a shared corner: boundaries are inside
		{orb.Point{117.3, 40.55}, "", "", false},
	} {
		m, ok := z.Locate(tc.p)
		if ok != tc.inside || (ok && (m.ID != tc.id || m.Level != tc.level)) {
			t.Errorf("Locate(%v) = %+v, %v; want id %q level %q", tc.p, m, ok, tc.id, tc.level)
		}
	}
}

// zoneLoad parses a shipped layer.
func zoneLoad(tb testing.TB, layer Layer) *ZoneSet {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "zones", string(layer)+".geojson"))
	if err != nil {
		tb.Fatal(err)
	}
	z, err := ParseLayer(layer, data)
	if err != nil {
		tb.Fatalf("shipped %s layer: %v", layer, err)
	}
	return z
}

// zoneOffset returns the point dx metres east and dy metres north of p.
func zoneOffset(p orb.Point, dx, dy float64) orb.Point {
	const m = zoneEarthRadius * math.Pi / 180
	return orb.Point{p[0] + dx/(m*math.Cos(p[1]*math.Pi/180)), p[1] + dy/m}
}

// The centre of the generated reservoir, in the main basin.
var zoneCentre = orb.Point{116.95, 40.53}

func TestZoneShippedLayers(t *testing.T) {
	prot, towns, grid := zoneLoad(t, LayerProtection), zoneLoad(t, LayerTowns), zoneLoad(t, LayerGrid)
	if prot.Len() != 3 || towns.Len() != 7 || grid.Len() < 50 {
		t.Fatalf("features: protection %d, towns %d, grid %d", prot.Len(), towns.Len(), grid.Len())
	}
	b := prot.Bound()
	if b.Min[0] < 116.75 || b.Max[0] > 117.15 || b.Min[1] < 40.42 || b.Max[1] > 40.65 {
		t.Errorf("protection bound %v strays from Miyun", b)
	}
	// Every cell id looks like cell-rNNcNN.
	for i := range grid.Len() {
		m, _ := grid.Feature(i)
		var r, c int
		if n, err := fmt.Sscanf(m.ID, "cell-r%02dc%02d", &r, &c); n != 2 || err != nil || m.ID != fmt.Sprintf("cell-r%02dc%02d", r, c) {
			t.Errorf("cell id %q", m.ID)
		}
	}
}

func TestLocateProtection(t *testing.T) {
	prot := zoneLoad(t, LayerProtection)
	for _, tc := range []struct {
		name  string
		p     orb.Point
		level ProtectionLevel
	}{
		{"middle of the water", zoneCentre, LevelWater},
		{"Chao River arm", zoneOffset(zoneCentre, 7000, 4800), LevelWater},
		{"Bai River arm", zoneOffset(zoneCentre, -6500, 5000), LevelWater},
		{"island", zoneOffset(zoneCentre, 1500, -1500), LevelFirst},
		{"shoreline band", zoneOffset(zoneCentre, 0, -4350), LevelFirst},
		{"second-level ring", zoneOffset(zoneCentre, 0, -5500), LevelSecond},
		{"10 km beyond the water", zoneOffset(zoneCentre, 0, -14200), ""},
	} {
		m, ok := prot.Locate(tc.p)
		if ok != (tc.level != "") || m.Level != tc.level {
			t.Errorf("%s: Locate(%v) = %q, %v; want %q", tc.name, tc.p, m.Level, ok, tc.level)
		}
		if ok && (m.Layer != LayerProtection || m.ID != string(tc.level) || m.Properties["level"] != string(tc.level)) {
			t.Errorf("%s: match %+v", tc.name, m)
		}
	}
}

func TestLocateTownsAndGrid(t *testing.T) {
	towns, grid := zoneLoad(t, LayerTowns), zoneLoad(t, LayerGrid)
	for _, tc := range []struct {
		deg    float64
		nameEN string
	}{
		{0, "Taishitun"}, {45, "Gaoling"}, {90, "Bulaotun"}, {135, "Fengjiayu"},
		{180, "Shicheng"}, {225, "Xiwengzhuang"}, {270, "Mujiayu"}, {300, "Mujiayu"}, {330, "Taishitun"},
	} {
		a := tc.deg * math.Pi / 180
		p := zoneOffset(zoneCentre, 8000*math.Cos(a), 8000*math.Sin(a))
		m, ok := towns.Locate(p)
		if !ok || m.NameEN != tc.nameEN || m.Name == "" || !strings.HasPrefix(m.ID, "town-") {
			t.Errorf("towns.Locate at %v° = %+v, %v; want %s", tc.deg, m, ok, tc.nameEN)
		}
	}
	if _, ok := grid.Locate(zoneCentre); ok {
		t.Errorf("grid.Locate found a warden cell in the middle of the water")
	}
	for i := range grid.Len() {
		want, g := grid.Feature(i)
		m, ok := grid.Locate(g.Bound().Center())
		if !ok || m.ID != want.ID || m.Index != i {
			t.Fatalf("grid.Locate(centre of %s) = %+v, %v", want.ID, m, ok)
		}
	}
}

func TestNearest(t *testing.T) {
	prot := zoneLoad(t, LayerProtection)
	if m, d := prot.Nearest(zoneCentre); m.Level != LevelWater || d != 0 {
		t.Errorf("Nearest(inside water) = %q, %v; want water, 0", m.Level, d)
	}
	p := zoneOffset(zoneCentre, 0, -17800) // about 11 km south of the second-level zone
	m, d := prot.Nearest(p)
	if m.Level != LevelSecond || d < 10800 || d > 11400 {
		t.Errorf("Nearest(%v) = %q, %.0f m; want second, about 11,100 m", p, m.Level, d)
	}
	// The nearest vertex of the zone, by haversine, is at least as far and
	// at most a chord's sag (vertices are ~60 m apart) plus 0.5 % farther.
	_, g := prot.Feature(m.Index)
	minV := math.Inf(1)
	for _, v := range g.(orb.Polygon)[0] {
		minV = math.Min(minV, zoneHaversine(p, v))
	}
	if d > minV*1.005 || d < minV-100 {
		t.Errorf("Nearest distance %.1f m, nearest vertex %.1f m", d, minV)
	}
	if _, d := prot.Nearest(orb.Point{math.NaN(), 40}); !math.IsInf(d, 1) {
		t.Errorf("Nearest(NaN) distance = %v, want +Inf", d)
	}
}

func zoneHaversine(a, b orb.Point) float64 {
	const r = math.Pi / 180
	dLat, dLon := (b[1]-a[1])*r, (b[0]-a[0])*r
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a[1]*r)*math.Cos(b[1]*r)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * zoneEarthRadius * math.Asin(math.Sqrt(h))
}

// zoneBrute is Locate by scanning every feature with planar.
func zoneBrute(z *ZoneSet, p orb.Point) int {
	best, bestRank := -1, 0
	for i := range z.Len() {
		m, g := z.Feature(i)
		var in bool
		switch g := g.(type) {
		case orb.Polygon:
			in = planar.PolygonContains(g, p)
		case orb.MultiPolygon:
			in = planar.MultiPolygonContains(g, p)
		}
		rank := max(m.Level.rank(), 0)
		if in && (best < 0 || rank < bestRank) {
			best, bestRank = i, rank
		}
	}
	return best
}

// zoneRandomPoints returns n seeded points in the bound of z widened by a
// tenth on every side.
func zoneRandomPoints(z *ZoneSet, seed uint64, n int) []orb.Point {
	rng := rand.New(rand.NewPCG(seed, 2020))
	b := z.Bound()
	w, h := b.Max[0]-b.Min[0], b.Max[1]-b.Min[1]
	pts := make([]orb.Point, 0, n)
	for range n {
		pts = append(pts, orb.Point{b.Min[0] - w/10 + rng.Float64()*w*1.2, b.Min[1] - h/10 + rng.Float64()*h*1.2})
	}
	return pts
}

func TestLocateMatchesBruteForce(t *testing.T) {
	synthetic, err := ParseLayer(LayerProtection, zoneFC(
		zoneFeat(`{"level":"second","id":"s"}`, `[`+zoneSquare+`]`),
		`{"type":"Feature","properties":{"level":"first","id":"f"},"geometry":{"type":"MultiPolygon","coordinates":[[`+zoneSquare+`,[[116.92,40.52],[116.92,40.58],[116.98,40.58],[116.98,40.52],[116.92,40.52]]],[[[116.95,40.45],[117.05,40.45],[117.05,40.55],[116.95,40.45]]]]}}`,
		zoneFeat(`{"level":"water","id":"w"}`, `[[[116.93,40.53],[116.97,40.53],[116.97,40.57],[116.93,40.57],[116.93,40.53]]]`),
		zoneFeat(`{"level":"water","id":"w2"}`, `[[[116.96,40.54],[116.99,40.54],[116.99,40.59],[116.96,40.54]]]`),
	))
	if err != nil {
		t.Fatal(err)
	}
	layers := map[string]*ZoneSet{
		"protection": zoneLoad(t, LayerProtection),
		"towns":      zoneLoad(t, LayerTowns),
		"grid":       zoneLoad(t, LayerGrid),
		"synthetic":  synthetic,
	}
	for name, z := range layers {
		t.Run(name, func(t *testing.T) {
			pts := zoneRandomPoints(z, 1, 10000)
			// Boundary cases: every vertex and edge midpoint.
			for i := range z.Len() {
				_, g := z.Feature(i)
				var polys []orb.Polygon
				switch g := g.(type) {
				case orb.Polygon:
					polys = []orb.Polygon{g}
				case orb.MultiPolygon:
					polys = g
				}
				for _, poly := range polys {
					for _, r := range poly {
						for k := 0; k+1 < len(r); k++ {
							pts = append(pts, r[k], orb.Point{(r[k][0] + r[k+1][0]) / 2, (r[k][1] + r[k+1][1]) / 2})
						}
					}
				}
			}
			found := 0
			for _, p := range pts {
				want := zoneBrute(z, p)
				m, ok := z.Locate(p)
				got := -1
				if ok {
					got = m.Index
					found++
				}
				if got != want {
					t.Fatalf("Locate(%v) = feature %d, brute force %d", p, got, want)
				}
			}
			if found == 0 || found == len(pts) {
				t.Errorf("%d of %d points found: the test does not discriminate", found, len(pts))
			}
		})
	}
}

func TestNearestMatchesBruteForce(t *testing.T) {
	for _, layer := range []Layer{LayerGrid, LayerTowns, LayerProtection} {
		z := zoneLoad(t, layer)
		rng := rand.New(rand.NewPCG(7, 7))
		b := z.Bound()
		for range 300 {
			p := orb.Point{b.Min[0] - 0.1 + rng.Float64()*(b.Max[0]-b.Min[0]+0.2), b.Min[1] - 0.1 + rng.Float64()*(b.Max[1]-b.Min[1]+0.2)}
			if _, ok := z.Locate(p); ok {
				continue
			}
			_, d := z.Nearest(p)
			want := math.Inf(1)
			kx := math.Cos(p[1]*math.Pi/180) * zoneEarthRadius * math.Pi / 180
			ky := zoneEarthRadius * math.Pi / 180
			for _, part := range z.parts {
				for _, r := range part.rings {
					for k := 0; k+1 < len(r.ring); k++ {
						a, c := r.ring[k], r.ring[k+1]
						want = math.Min(want, zoneOriginSegDist((a[0]-p[0])*kx, (a[1]-p[1])*ky, (c[0]-p[0])*kx, (c[1]-p[1])*ky))
					}
				}
			}
			if math.Abs(d-want) > 1e-9*want {
				t.Fatalf("%s: Nearest(%v) = %v m, brute force %v m", layer, p, d, want)
			}
		}
	}
}

// zoneStarRing returns a closed counter-clockwise ring of n distinct
// positions, a wobbly circle about Miyun.
func zoneStarRing(n int) [][]float64 {
	r := make([][]float64, 0, n+1)
	for i := range n {
		a := 2 * math.Pi * float64(i) / float64(n)
		rad := 0.05 * (1 + 0.2*math.Sin(7*a))
		r = append(r, []float64{116.95 + rad*math.Cos(a), 40.53 + rad*math.Sin(a)})
	}
	return append(r, r[0])
}

func TestZoneLargeRingValidatesQuickly(t *testing.T) {
	ring := zoneStarRing(2000)
	start := time.Now()
	if _, fault := checkZoneRing(ring, true); fault != "" {
		t.Fatalf("2,000-point ring rejected: %s", fault)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("validating a 2,000-point ring took %v", el)
	}
	// Swap two far-apart positions: the ring now crosses itself.
	ring[500], ring[1500] = ring[1500], ring[500]
	if _, fault := checkZoneRing(ring, true); !strings.HasPrefix(fault, "self-intersection between segments ") {
		t.Errorf("fault = %q, want a self-intersection", fault)
	}
}

func BenchmarkZoneValidate2000(b *testing.B) {
	ring := zoneStarRing(2000)
	for b.Loop() {
		if _, fault := checkZoneRing(ring, true); fault != "" {
			b.Fatal(fault)
		}
	}
}

func benchmarkLocate(b *testing.B, locate func(z *ZoneSet, p orb.Point) int) {
	for _, layer := range []Layer{LayerGrid, LayerProtection} {
		b.Run(string(layer), func(b *testing.B) {
			z := zoneLoad(b, layer)
			pts := zoneRandomPoints(z, 42, 1<<14)
			hits := 0
			i := 0
			for b.Loop() {
				if locate(z, pts[i&(len(pts)-1)]) >= 0 {
					hits++
				}
				i++
			}
			b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "points/s")
			if i > 1000 && hits == 0 {
				b.Fatal("no hits")
			}
		})
	}
}

func BenchmarkLocateIndexed(b *testing.B) {
	benchmarkLocate(b, func(z *ZoneSet, p orb.Point) int {
		m, ok := z.Locate(p)
		if !ok {
			return -1
		}
		return m.Index
	})
}

func BenchmarkLocateNaive(b *testing.B) { benchmarkLocate(b, zoneBrute) }

func TestZoneRingBandsStaySmall(t *testing.T) {
	// A comb of 1,000 long teeth: every tooth edge spans the whole width.
	var ring orb.Ring
	for i := range 1000 {
		y := float64(i) * 0.001
		ring = append(ring, orb.Point{0, y}, orb.Point{1, y}, orb.Point{1, y + 0.0005}, orb.Point{0.1, y + 0.0005})
	}
	ring = append(ring, orb.Point{0.1, 1}, orb.Point{-0.1, 1}, orb.Point{-0.1, 0}, orb.Point{0, 0})
	zr := newZoneRing(ring)
	if len(zr.segs) > 10*len(ring) {
		t.Errorf("%d bucketed edges for a ring of %d", len(zr.segs), len(ring))
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for range 2000 {
		p := orb.Point{rng.Float64()*1.4 - 0.2, rng.Float64()*1.2 - 0.1}
		if got, want := zr.contains(p), planar.RingContains(ring, p); got != want {
			t.Fatalf("contains(%v) = %v, planar %v", p, got, want)
		}
	}
}

func BenchmarkZoneNearest(b *testing.B) {
	z := zoneLoad(b, LayerGrid)
	pts := zoneRandomPoints(z, 9, 1<<10)
	i := 0
	for b.Loop() {
		z.Nearest(pts[i&(len(pts)-1)])
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "points/s")
}

func TestParseLayerRingTooLong(t *testing.T) {
	var b strings.Builder
	b.WriteString("[[")
	n := MaxRingPositions + 1
	for i := 0; i < n-1; i++ {
		a := 2 * math.Pi * float64(i) / float64(n-1)
		fmt.Fprintf(&b, "[%.9f,%.9f],", 116.9+0.01*math.Cos(a), 40.5+0.01*math.Sin(a))
	}
	b.WriteString("[116.91,40.5]]]")
	_, err := ParseLayer(LayerGrid, zoneFC(zoneFeat(`{"id":"c"}`, b.String())))
	if err == nil || !strings.Contains(err.Error(), "more than the 20000 allowed") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseLayerRefusesCollectionProperties(t *testing.T) {
	data := []byte(`{"type":"FeatureCollection","properties":{"name":"x"},"features":[` + zoneFeat(`{"id":"a"}`, `[`+zoneSquare+`]`) + `]}`)
	_, err := ParseLayer(LayerGrid, data)
	if err == nil || !strings.Contains(err.Error(), `must not have a "properties" member`) {
		t.Fatalf("err = %v", err)
	}
}
