package geo

// This file compares ClusterIndex with Mapbox's supercluster, the JavaScript
// library it follows, on the same million points in the same run. It needs
// node and the pinned npm packages of testdata/npm (`make npm`, or
// `npm ci --prefix testdata/npm`), and runs only when asked:
//
//	BAOSHUI_COMPARE_SUPERCLUSTER=1 go test ./geo -run TestClusterVersusSupercluster -v -timeout 20m
//
// The table it logs is what BENCHMARKS.md cites.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"
	"unsafe"

	"github.com/paulmach/orb"
)

// The comparison data set: scN points over the Miyun Reservoir area, scHotspotShare
// of them scattered around scHotspots centres with a normal spread of
// scHotspotSigma metres, the rest uniform.
const (
	scN            = 1_000_000
	scSeed         = 2020_07_01
	scHotspots     = 40
	scHotspotShare = 0.7
	scHotspotSigma = 500.0   // metres
	scStreetHalf   = 750.0   // metres: the street query is a 1.5 km box
	scReps         = 20      // runs of each query; the median is reported
	scMetresPerDeg = 111_195 // metres per degree of latitude (mean Earth radius)

	// scTolerance is the allowed relative difference of the item counts
	// where Go and supercluster visit the points in the same order.
	scTolerance = 0.05
	// scOrderTolerance is the allowed relative difference where they do
	// not: the greedy clustering depends on the visiting order.
	scOrderTolerance = 0.20
)

// scArea is the area the comparison points are drawn from.
var scArea = orb.Bound{Min: orb.Point{116.80, 40.45}, Max: orb.Point{117.11, 40.63}}

// scPoints returns n deterministic points inside scArea (see the constants)
// and the hotspot centres.
func scPoints(n int, seed uint64) (pts, hotspots []orb.Point) {
	rng := rand.New(rand.NewPCG(seed, seed^0x243f6a8885a308d3))
	uniform := func() orb.Point {
		return orb.Point{
			scArea.Min[0] + rng.Float64()*(scArea.Max[0]-scArea.Min[0]),
			scArea.Min[1] + rng.Float64()*(scArea.Max[1]-scArea.Min[1]),
		}
	}
	hotspots = make([]orb.Point, scHotspots)
	for i := range hotspots {
		hotspots[i] = uniform()
	}
	pts = make([]orb.Point, n)
	for i := range pts {
		if rng.Float64() >= scHotspotShare {
			pts[i] = uniform()
			continue
		}
		h := hotspots[rng.IntN(len(hotspots))]
		dLat := scHotspotSigma / scMetresPerDeg
		dLon := dLat / math.Cos(h[1]*math.Pi/180)
		for { // redraw the few that fall outside the area
			p := orb.Point{h[0] + rng.NormFloat64()*dLon, h[1] + rng.NormFloat64()*dLat}
			if p[0] > scArea.Min[0] && p[0] < scArea.Max[0] && p[1] > scArea.Min[1] && p[1] < scArea.Max[1] {
				pts[i] = p
				break
			}
		}
	}
	return pts, hotspots
}

// scBoxAround returns the box of half-size half metres centred on c.
func scBoxAround(c orb.Point, half float64) orb.Bound {
	dLat := half / scMetresPerDeg
	dLon := dLat / math.Cos(c[1]*math.Pi/180)
	return orb.Bound{Min: orb.Point{c[0] - dLon, c[1] - dLat}, Max: orb.Point{c[0] + dLon, c[1] + dLat}}
}

// scNPMDir returns testdata/npm of the repository (found by walking up from
// the working directory to go.mod) and the node binary; why says what is
// missing when node or the installed supercluster package is not there, and
// is empty when both are.
func scNPMDir(t *testing.T) (dir, node, why string) {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := wd
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			t.Fatalf("no go.mod above %s", wd)
		}
		root = parent
	}
	dir = filepath.Join(root, "testdata", "npm")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "supercluster", "package.json")); err != nil {
		return dir, "", "testdata/npm/node_modules/supercluster is missing: run `make npm` (npm ci --prefix testdata/npm)"
	}
	node, err = exec.LookPath("node")
	if err != nil {
		return dir, "", "node is not on PATH: install Node.js (v18 or later) and run `make npm`"
	}
	return dir, node, ""
}

// scQuery is one viewport query of the comparison.
type scQuery struct {
	name string
	zoom int
	bbox orb.Bound
	// exact: the bbox holds every point, so each side's point sum must
	// equal the number of points.
	exact bool
}

// scResult is what one side (Go or supercluster) reports for one query.
type scResult struct {
	ms, firstMS float64
	items       int // clusters and single points
	clusters    int // items of two or more points
	pointSum    int
}

// scBench is supercluster-bench.mjs's output.
type scBench struct {
	Points         int     `json:"points"`
	LoadMS         float64 `json:"load_ms"`
	HeapMB         float64 `json:"heap_mb"`
	ArrayBuffersMB float64 `json:"array_buffers_mb"`
	RetainedMB     float64 `json:"retained_mb"`
	FeaturesHeapMB float64 `json:"features_heap_mb"`
	GC             bool    `json:"gc"`
	Node           string  `json:"node"`
	Supercluster   string  `json:"supercluster"`
	Queries        []struct {
		Zoom         int        `json:"zoom"`
		BBox         [4]float64 `json:"bbox"`
		QueryMS      float64    `json:"query_ms"`
		QueryFirstMS float64    `json:"query_first_ms"`
		Clusters     int        `json:"clusters"`
		MultiPoint   int        `json:"multi_point_clusters"`
		PointSum     int        `json:"point_sum"`
	} `json:"queries"`
}

// results returns the per-query results of b.
func (b scBench) results() []scResult {
	out := make([]scResult, len(b.Queries))
	for i, q := range b.Queries {
		out[i] = scResult{ms: q.QueryMS, firstMS: q.QueryFirstMS, items: q.Clusters, clusters: q.MultiPoint, pointSum: q.PointSum}
	}
	return out
}

// scBBoxArg formats b as supercluster's W,S,E,N with every float64 exact.
func scBBoxArg(b orb.Bound) string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	return f(b.Min[0]) + "," + f(b.Min[1]) + "," + f(b.Max[0]) + "," + f(b.Max[1])
}

func scMedian(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// scHeap returns the live heap after two forced collections.
func scHeap() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

// scMargin is how far, in the Web-Mercator unit square, a point can lie from
// the centre of the item that holds it at zoom: the item gathered its
// members within r of a seed at each zoom from MaxZoom down, and the
// weighted centre lies within r of the seed, so at most 2·r per level.
func scMargin(opt ClusterOptions, zoom int) float64 {
	m := 0.0
	for z := zoom; z <= opt.MaxZoom; z++ {
		m += 2 * opt.Radius / (opt.Extent * math.Exp2(float64(z)))
	}
	return m
}

// scCountIn returns the number of points whose projection lies in b grown
// by d on every side (shrunk when d < 0), in the unit square.
func scCountIn(pts []orb.Point, b orb.Bound, d float64) int {
	minX, maxX := mercatorX(b.Min[0])-d, mercatorX(b.Max[0])+d
	minY, maxY := mercatorY(b.Max[1])-d, mercatorY(b.Min[1])+d
	n := 0
	for _, p := range pts {
		x, y := mercatorX(p[0]), mercatorY(p[1])
		if x >= minX && x <= maxX && y >= minY && y <= maxY {
			n++
		}
	}
	return n
}

// TestClusterVersusSupercluster builds the clusters of one million points
// with NewClusterIndex and with supercluster (node) on the same data, checks
// that both give the same picture, and logs load time, retained memory and
// query times side by side.
//
// Both are the same greedy algorithm, but its result depends on the order the
// items of a level are visited in: supercluster visits them in input order
// (at MaxZoom) and creation order (below), NewClusterIndex in the KD-tree
// order of each level. supercluster therefore also runs a second time on the
// points in ClusterIndex's leaf order, where the two visit the MaxZoom level
// in the same order; at that zoom their item counts must agree within
// scTolerance. Elsewhere the orders differ and so may the counts, by up to
// scOrderTolerance.
func TestClusterVersusSupercluster(t *testing.T) {
	if os.Getenv("BAOSHUI_COMPARE_SUPERCLUSTER") != "1" {
		t.Skip("set BAOSHUI_COMPARE_SUPERCLUSTER=1 to compare with supercluster (needs node and `make npm`)")
	}
	dir, node, why := scNPMDir(t)
	if why != "" {
		if os.Getenv("BAOSHUI_REQUIRE_NODE") == "1" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	opt := ClusterOptions{}.normalized()

	pts, hotspots := scPoints(scN, scSeed)
	// The street query: a 1.5 km box around the hotspot nearest the middle.
	mid := scArea.Center()
	street := slices.MinFunc(hotspots, func(a, b orb.Point) int {
		return cmp.Compare(math.Hypot(a[0]-mid[0], a[1]-mid[1]), math.Hypot(b[0]-mid[0], b[1]-mid[1]))
	})
	queries := []scQuery{
		// Padded a little, so that no point on the edge of the area can
		// drop out by a rounding in the projection round trip.
		{name: "whole area", zoom: 10, bbox: scArea.Pad(1e-6), exact: true},
		{name: "street 1.5 km", zoom: opt.MaxZoom, bbox: scBoxAround(street, scStreetHalf)},
	}

	// Go. One kind for every point, as supercluster runs without
	// map/reduce: both sides do the same work.
	cps := make([]ClusterPoint, len(pts))
	for i, p := range pts {
		cps[i] = ClusterPoint{Point: p, ID: i}
	}
	// A build on one thread first (the KD-tree sort runs in parallel, node
	// does not), which also warms the code up.
	prev := runtime.GOMAXPROCS(1)
	t0 := time.Now()
	runtime.KeepAlive(NewClusterIndex(cps, ClusterOptions{}))
	goLoad1 := time.Since(t0)
	runtime.GOMAXPROCS(prev)

	m0 := scHeap()
	t0 = time.Now()
	ix := NewClusterIndex(cps, ClusterOptions{})
	goLoad := time.Since(t0)
	m1 := scHeap()
	runtime.KeepAlive(cps)
	goRetained := float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / 1e6
	goAllocated := float64(m1.TotalAlloc-m0.TotalAlloc) / 1e6
	_, goSlices := ix.footprint()
	goInput := float64(len(cps)) * float64(unsafe.Sizeof(ClusterPoint{})) / 1e6

	goRes := make([]scResult, len(queries))
	for qi, q := range queries {
		times := make([]float64, scReps)
		for r := range times {
			t0 := time.Now()
			cs := ix.Clusters(q.bbox, q.zoom)
			times[r] = scMS(time.Since(t0))
			if r == 0 {
				res := &goRes[qi]
				res.items = len(cs)
				for _, c := range cs {
					res.pointSum += c.Count
					if c.Count > 1 {
						res.clusters++
					}
				}
			}
		}
		goRes[qi].ms, goRes[qi].firstMS = scMedian(times), times[0]
	}
	// The points in the order ix visits them at MaxZoom (its leaf order).
	leafOrder := make([]orb.Point, ix.Len())
	for i, id := range ix.pointID {
		leafOrder[i] = pts[id]
	}
	runtime.KeepAlive(ix)

	// supercluster, on the same points, options and queries: in input
	// order, then in ix's leaf order.
	js := scRunNode(t, node, dir, scWritePoints(t, "points.bin", pts), opt, queries)
	jsLeaf := scRunNode(t, node, dir, scWritePoints(t, "points-leaf-order.bin", leafOrder), opt, queries)
	for _, b := range []scBench{js, jsLeaf} {
		if b.Points != len(pts) {
			t.Fatalf("supercluster-bench.mjs read %d points, want %d", b.Points, len(pts))
		}
	}
	jsRes, jsLeafRes := js.results(), jsLeaf.results()

	// All must give the same picture.
	for i, q := range queries {
		inside := scCountIn(pts, q.bbox, 0)
		sides := []struct {
			name string
			res  scResult
		}{{"Go", goRes[i]}, {"supercluster", jsRes[i]}, {"supercluster in Go's order", jsLeafRes[i]}}
		if q.exact && inside != len(pts) {
			t.Fatalf("%s: the bbox holds %d of the %d points; the data set is broken", q.name, inside, len(pts))
		}
		// Items are selected by their centre, so a point near the edge
		// counts on the side its item's centre falls: the sum lies
		// between the points well inside and those near. 1e-6 of the
		// unit square allows for supercluster's float32 coordinates.
		d := scMargin(opt, q.zoom) + 1e-6
		lo, hi := scCountIn(pts, q.bbox, -d), scCountIn(pts, q.bbox, d)
		if q.exact {
			lo, hi = inside, inside
		}
		for _, side := range sides {
			if side.res.pointSum < lo || side.res.pointSum > hi {
				t.Errorf("%s, zoom %d: %s point sum %d outside [%d, %d] (%d points inside the bbox)",
					q.name, q.zoom, side.name, side.res.pointSum, lo, hi, inside)
			}
			if side.res.items == 0 {
				t.Errorf("%s, zoom %d: %s returns no items", q.name, q.zoom, side.name)
			}
		}
		g := goRes[i].items
		for _, side := range sides[1:] {
			tol := scOrderTolerance
			if q.zoom == opt.MaxZoom && side.name == sides[2].name {
				tol = scTolerance // the same visiting order
			}
			if diff := math.Abs(float64(g - side.res.items)); diff > tol*float64(max(g, side.res.items)) {
				t.Errorf("%s, zoom %d: Go returns %d items, %s %d: more than %.0f%% apart",
					q.name, q.zoom, g, side.name, side.res.items, 100*tol)
			}
		}
	}

	// The table.
	var b strings.Builder
	fmt.Fprintf(&b, "\n%d points (%.0f%% around %d hotspots with σ %.0f m, the rest uniform) over lon %.2f–%.2f, lat %.2f–%.2f, seed %d\n",
		len(pts), 100*scHotspotShare, scHotspots, scHotspotSigma, scArea.Min[0], scArea.Max[0], scArea.Min[1], scArea.Max[1], scSeed)
	fmt.Fprintf(&b, "options: radius %g, extent %g, maxZoom %d, minPoints %d (supercluster's defaults); one kind per point, no map/reduce\n",
		opt.Radius, opt.Extent, opt.MaxZoom, opt.MinPoints)
	fmt.Fprintf(&b, "%s %s/%s, GOMAXPROCS %d, NumCPU %d; node %s, supercluster %s (gc exposed: %v)\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.NumCPU(), js.Node, js.Supercluster, js.GC)
	fmt.Fprintf(&b, "query times: median of %d runs, first (cold) run in brackets; MB = 10^6 bytes\n\n", scReps)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	ratio := func(g, s float64) string {
		if s == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f", g/s)
	}
	fmt.Fprintf(tw, "\tGo geo\tsupercluster\tGo / sc\tsc, Go's order\t\n")
	fmt.Fprintf(tw, "load (ms)\t%.0f\t%.0f\t%s\t%.0f\t\n", scMS(goLoad), js.LoadMS, ratio(scMS(goLoad), js.LoadMS), jsLeaf.LoadMS)
	fmt.Fprintf(tw, "load, Go on 1 thread (ms)\t%.0f\t%.0f\t%s\t\t\n", scMS(goLoad1), js.LoadMS, ratio(scMS(goLoad1), js.LoadMS))
	fmt.Fprintf(tw, "index retained (MB)\t%.1f\t%.1f\t%s\t%.1f\t\n", goRetained, js.RetainedMB, ratio(goRetained, js.RetainedMB), jsLeaf.RetainedMB)
	fmt.Fprintf(tw, "  V8 heap + ArrayBuffers (MB)\t\t%.1f + %.1f\t\t%.1f + %.1f\t\n", js.HeapMB, js.ArrayBuffersMB, jsLeaf.HeapMB, jsLeaf.ArrayBuffersMB)
	fmt.Fprintf(tw, "  Go index slices, footprint() (MB)\t%.1f\t\t\t\t\n", float64(goSlices)/1e6)
	fmt.Fprintf(tw, "allocated during load (MB)\t%.1f\t\t\t\t\n", goAllocated)
	fmt.Fprintf(tw, "input points in memory (MB)\t%.1f\t%.1f\t%s\t\t\n", goInput, js.FeaturesHeapMB, ratio(goInput, js.FeaturesHeapMB))
	for i, q := range queries {
		g, s, l := goRes[i], jsRes[i], jsLeafRes[i]
		fmt.Fprintf(tw, "%s, zoom %d: query (ms)\t%.3f (%.3f)\t%.3f (%.3f)\t%s\t%.3f (%.3f)\t\n",
			q.name, q.zoom, g.ms, g.firstMS, s.ms, s.firstMS, ratio(g.ms, s.ms), l.ms, l.firstMS)
		fmt.Fprintf(tw, "  items / of them clusters\t%d / %d\t%d / %d\t%s\t%d / %d\t\n",
			g.items, g.clusters, s.items, s.clusters, ratio(float64(g.items), float64(s.items)), l.items, l.clusters)
		fmt.Fprintf(tw, "  point sum (%d inside the bbox)\t%d\t%d\t\t%d\t\n", scCountIn(pts, q.bbox, 0), g.pointSum, s.pointSum, l.pointSum)
	}
	tw.Flush()
	b.WriteString("\n\"index retained\" is the live-heap growth over the build, after forced GCs (Go: MemStats.HeapAlloc; node:\n" +
		"process.memoryUsage() heapUsed + arrayBuffers, where supercluster keeps its KD-trees). \"input points\" is the\n" +
		"[]ClusterPoint for Go and, for node, the whole V8 heap in use before the load (mostly the GeoJSON features).\n" +
		"\"sc, Go's order\": supercluster given the points in ClusterIndex's leaf order, so that both visit zoom 16 alike.\n")
	t.Log(b.String())
}

// scMS returns d in milliseconds.
func scMS(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// scWritePoints writes pts to a temporary file as little-endian float64
// longitude, latitude pairs, the input of supercluster-bench.mjs, and returns
// its path.
func scWritePoints(t *testing.T, name string, pts []orb.Point) string {
	t.Helper()
	buf := make([]byte, 16*len(pts))
	for i, p := range pts {
		binary.LittleEndian.PutUint64(buf[16*i:], math.Float64bits(p[0]))
		binary.LittleEndian.PutUint64(buf[16*i+8:], math.Float64bits(p[1]))
	}
	file := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(file, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// scRunNode runs supercluster-bench.mjs on the points file with opt and the
// queries, and returns its report.
func scRunNode(t *testing.T, node, dir, file string, opt ClusterOptions, queries []scQuery) scBench {
	t.Helper()
	args := []string{"--expose-gc", "--max-old-space-size=8192", filepath.Join(dir, "supercluster-bench.mjs"), file,
		strconv.Itoa(queries[0].zoom), scBBoxArg(queries[0].bbox),
		strconv.FormatFloat(opt.Radius, 'g', -1, 64), strconv.FormatFloat(opt.Extent, 'g', -1, 64),
		strconv.Itoa(opt.MaxZoom), strconv.Itoa(opt.MinPoints), "--reps=" + strconv.Itoa(scReps)}
	for _, q := range queries[1:] {
		args = append(args, fmt.Sprintf("--query=%d@%s", q.zoom, scBBoxArg(q.bbox)))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node supercluster-bench.mjs: %v\nstderr:\n%s", err, stderr.String())
	}
	var js scBench
	if err := json.Unmarshal(stdout.Bytes(), &js); err != nil {
		t.Fatalf("supercluster-bench.mjs output: %v\n%s", err, stdout.String())
	}
	if len(js.Queries) != len(queries) {
		t.Fatalf("supercluster-bench.mjs ran %d queries, want %d", len(js.Queries), len(queries))
	}
	return js
}
