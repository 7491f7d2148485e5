package geo

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/paulmach/orb"
)

// world is a bounding box holding every position.
var world = orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}

// miyun is the area the random test points are drawn from.
var miyun = orb.Bound{Min: orb.Point{116.7, 40.4}, Max: orb.Point{117.2, 40.7}}

var clusterKinds = []string{"fire", "flood", "landslide", "rescue", ""}

// randomClusterPoints returns n points drawn uniformly from b with a seeded
// generator; point i has ID i and one of clusterKinds.
func randomClusterPoints(n int, b orb.Bound, seed uint64) []ClusterPoint {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pts := make([]ClusterPoint, n)
	for i := range pts {
		pts[i] = ClusterPoint{
			Point: orb.Point{
				b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]),
				b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1]),
			},
			Kind: clusterKinds[rng.IntN(len(clusterKinds))],
			ID:   i,
		}
	}
	return pts
}

func TestClusterMercatorRoundTrip(t *testing.T) {
	tests := []struct {
		name         string
		lon, lat     float64
		wantLon      float64
		wantLat      float64
		wantX, wantY float64 // NaN: not checked
	}{
		{name: "origin", lon: 0, lat: 0, wantLon: 0, wantLat: 0, wantX: 0.5, wantY: 0.5},
		{name: "Miyun", lon: 116.84, lat: 40.37, wantLon: 116.84, wantLat: 40.37, wantX: math.NaN(), wantY: math.NaN()},
		{name: "south-west", lon: -73.98, lat: -33.45, wantLon: -73.98, wantLat: -33.45, wantX: math.NaN(), wantY: math.NaN()},
		{name: "west edge", lon: -180, lat: 10, wantLon: -180, wantLat: 10, wantX: 0, wantY: math.NaN()},
		{name: "east edge", lon: 180, lat: -10, wantLon: 180, wantLat: -10, wantX: 1, wantY: math.NaN()},
		{name: "north limit", lon: 5, lat: 85.0511287798, wantLon: 5, wantLat: 85.0511287798, wantX: math.NaN(), wantY: 0},
		{name: "north pole clamps", lon: 5, lat: 90, wantLon: 5, wantLat: 85.0511287798, wantX: math.NaN(), wantY: 0},
		{name: "south pole clamps", lon: 5, lat: -90, wantLon: 5, wantLat: -85.0511287798, wantX: math.NaN(), wantY: 1},
		{name: "longitude clamps", lon: 200, lat: 0, wantLon: 180, wantLat: 0, wantX: 1, wantY: 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, y := mercatorX(tt.lon), mercatorY(tt.lat)
			if !math.IsNaN(tt.wantX) && math.Abs(x-tt.wantX) > 1e-12 {
				t.Errorf("mercatorX(%v) = %v, want %v", tt.lon, x, tt.wantX)
			}
			if !math.IsNaN(tt.wantY) && math.Abs(y-tt.wantY) > 1e-9 {
				t.Errorf("mercatorY(%v) = %v, want %v", tt.lat, y, tt.wantY)
			}
			if x < 0 || x > 1 || y < 0 || y > 1 {
				t.Errorf("projection (%v, %v) outside the unit square", x, y)
			}
			if lon, lat := mercatorLon(x), mercatorLat(y); math.Abs(lon-tt.wantLon) > 1e-9 || math.Abs(lat-tt.wantLat) > 1e-9 {
				t.Errorf("round trip of (%v, %v) = (%v, %v), want (%v, %v)", tt.lon, tt.lat, lon, lat, tt.wantLon, tt.wantLat)
			}
		})
	}
}

func TestClusterOptionsDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   ClusterOptions
		want ClusterOptions
	}{
		{name: "zero value", in: ClusterOptions{}, want: ClusterOptions{Radius: 40, Extent: 512, MinZoom: 0, MaxZoom: 16, MinPoints: 2}},
		{name: "explicit", in: ClusterOptions{Radius: 60, Extent: 256, MinZoom: 3, MaxZoom: 12, MinPoints: 5}, want: ClusterOptions{Radius: 60, Extent: 256, MinZoom: 3, MaxZoom: 12, MinPoints: 5}},
		{name: "out of range", in: ClusterOptions{Radius: math.NaN(), Extent: -1, MinZoom: -4, MaxZoom: 99, MinPoints: 1}, want: ClusterOptions{Radius: 40, Extent: 512, MinZoom: 0, MaxZoom: 30, MinPoints: 2}},
		{name: "min above max", in: ClusterOptions{MinZoom: 20, MaxZoom: 10}, want: ClusterOptions{Radius: 40, Extent: 512, MinZoom: 10, MaxZoom: 10, MinPoints: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NewClusterIndex(nil, tt.in).Options(); got != tt.want {
				t.Errorf("Options() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// clusterSum returns the total Count of cs and the totals per kind.
func clusterSum(cs []Cluster) (int, map[string]int) {
	total, kinds := 0, map[string]int{}
	for _, c := range cs {
		total += c.Count
		for k, n := range c.Kinds {
			kinds[k] += n
		}
	}
	return total, kinds
}

func TestClusterLevels(t *testing.T) {
	tests := []struct {
		name     string
		points   []ClusterPoint
		opt      ClusterOptions
		maxAtTop int // most items expected at MinZoom over the world
	}{
		{name: "Miyun 2000", points: randomClusterPoints(2000, miyun, 1), maxAtTop: 3},
		{name: "world 3000", points: randomClusterPoints(3000, world, 2), maxAtTop: 150},
		{name: "Miyun min points 50", points: randomClusterPoints(1000, miyun, 3), opt: ClusterOptions{MinPoints: 50, MaxZoom: 14}, maxAtTop: 3},
		{name: "min zoom 5", points: randomClusterPoints(1000, miyun, 4), opt: ClusterOptions{MinZoom: 5, MaxZoom: 10}, maxAtTop: 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := NewClusterIndex(tt.points, tt.opt)
			opt := ix.Options()
			wantKinds := map[string]int{}
			for _, p := range tt.points {
				wantKinds[p.Kind]++
			}

			// Above MaxZoom every point stands alone.
			for _, z := range []int{opt.MaxZoom + 1, opt.MaxZoom + 5} {
				leaves := ix.Clusters(world, z)
				if len(leaves) != len(tt.points) {
					t.Fatalf("zoom %d: %d items, want %d single points", z, len(leaves), len(tt.points))
				}
				seen := make([]bool, len(tt.points))
				for _, c := range leaves {
					if c.Count != 1 || c.ID != -1 || c.PointID < 0 || c.PointID >= len(tt.points) || seen[c.PointID] {
						t.Fatalf("zoom %d: bad single point %+v", z, c)
					}
					seen[c.PointID] = true
					p := tt.points[c.PointID]
					if c.Kinds[p.Kind] != 1 || len(c.Kinds) != 1 {
						t.Errorf("zoom %d: point %d has Kinds %v, want {%q: 1}", z, c.PointID, c.Kinds, p.Kind)
					}
					// Web Mercator clamps latitudes to ±85.05113°.
					wantLat := min(max(p.Point[1], -85.0511287798), 85.0511287798)
					if math.Abs(c.Center[0]-p.Point[0]) > 1e-9 || math.Abs(c.Center[1]-wantLat) > 1e-9 {
						t.Errorf("zoom %d: point %d at %v, want %v", z, c.PointID, c.Center, p.Point)
					}
				}
			}

			// At the top every point is counted, in few items.
			for _, z := range []int{opt.MinZoom, opt.MinZoom - 1} {
				top := ix.Clusters(world, z)
				if len(top) == 0 || len(top) > tt.maxAtTop {
					t.Errorf("zoom %d: %d items, want 1..%d", z, len(top), tt.maxAtTop)
				}
				total, kinds := clusterSum(top)
				if total != len(tt.points) {
					t.Errorf("zoom %d: counts sum to %d, want %d", z, total, len(tt.points))
				}
				if !mapsEqual(kinds, wantKinds) {
					t.Errorf("zoom %d: kinds sum to %v, want %v", z, kinds, wantKinds)
				}
				for _, c := range top {
					if c.Count < 2 {
						continue
					}
					if c.Count < opt.MinPoints {
						t.Errorf("zoom %d: cluster of %d points, below MinPoints %d", z, c.Count, opt.MinPoints)
					}
				}
			}
		})
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// metresEast returns p moved d metres east along its parallel.
func metresEast(p orb.Point, d float64) orb.Point {
	const earthCircumference = 2 * math.Pi * 6378137
	return orb.Point{p[0] + d/(earthCircumference*math.Cos(p[1]*math.Pi/180))*360, p[1]}
}

func TestClusterPairs(t *testing.T) {
	miyunTown := orb.Point{116.84, 40.37}
	tests := []struct {
		name       string
		a, b       orb.Point
		opt        ClusterOptions
		lastMerged int // highest zoom the pair is one cluster at; -1: never
	}{
		// At latitude 40.37 one metre is 3.27e-8 of the Mercator width and
		// the radius at zoom z is 40/512/2^z: 3.73e-8 at 21, 1.86e-8 at 22.
		{name: "1 m apart, max zoom 19", a: miyunTown, b: metresEast(miyunTown, 1), opt: ClusterOptions{MaxZoom: 19}, lastMerged: 19},
		{name: "1 m apart, max zoom 24", a: miyunTown, b: metresEast(miyunTown, 1), opt: ClusterOptions{MaxZoom: 24}, lastMerged: 21},
		{name: "1 m apart, radius 80", a: miyunTown, b: metresEast(miyunTown, 1), opt: ClusterOptions{Radius: 80, MaxZoom: 24}, lastMerged: 22},
		{name: "1 m apart, min points 3", a: miyunTown, b: metresEast(miyunTown, 1), opt: ClusterOptions{MinPoints: 3, MaxZoom: 20}, lastMerged: -1},
		{name: "Beijing and Sao Paulo", a: orb.Point{116.4, 39.9}, b: orb.Point{-46.6, -23.5}, opt: ClusterOptions{MaxZoom: 20}, lastMerged: -1},
		{name: "antipodes on the equator", a: orb.Point{-90, 0}, b: orb.Point{90, 0}, lastMerged: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := NewClusterIndex([]ClusterPoint{{Point: tt.a, Kind: "fire", ID: 7}, {Point: tt.b, Kind: "flood", ID: 9}}, tt.opt)
			opt := ix.Options()
			topID := -1
			for z := opt.MinZoom; z <= opt.MaxZoom+1; z++ {
				cs := ix.Clusters(world, z)
				if merged := z <= tt.lastMerged; merged {
					if len(cs) != 1 || cs[0].Count != 2 || cs[0].ID < 0 || cs[0].PointID != -1 {
						t.Fatalf("zoom %d: got %+v, want one cluster of 2", z, cs)
					}
					if want := map[string]int{"fire": 1, "flood": 1}; !mapsEqual(cs[0].Kinds, want) {
						t.Errorf("zoom %d: Kinds %v, want %v", z, cs[0].Kinds, want)
					}
					if leaves := ix.Leaves(cs[0].ID); !slices.Equal(slices.Sorted(slices.Values(leaves)), []int{7, 9}) {
						t.Errorf("zoom %d: Leaves = %v, want [7 9]", z, leaves)
					}
					if z == opt.MinZoom {
						topID = cs[0].ID
					}
				} else {
					ids := make([]int, 0, 2)
					for _, c := range cs {
						if c.Count != 1 || c.ID != -1 {
							t.Fatalf("zoom %d: got %+v, want two single points", z, cs)
						}
						ids = append(ids, c.PointID)
					}
					if slices.Sort(ids); !slices.Equal(ids, []int{7, 9}) {
						t.Fatalf("zoom %d: point IDs %v, want [7 9]", z, ids)
					}
				}
			}
			if topID >= 0 {
				if got := ix.ExpansionZoom(topID); got != tt.lastMerged+1 {
					t.Errorf("ExpansionZoom = %d, want %d", got, tt.lastMerged+1)
				}
			}
		})
	}
}

func TestClusterBadInput(t *testing.T) {
	pts := []ClusterPoint{
		{Point: orb.Point{116.8, 40.5}, ID: 0},
		{Point: orb.Point{math.NaN(), 40.5}, ID: 1},
		{Point: orb.Point{116.8, math.Inf(1)}, ID: 2},
		{Point: orb.Point{116.8000001, 40.5}, ID: 3},
	}
	ix := NewClusterIndex(pts, ClusterOptions{})
	if ix.Len() != 2 {
		t.Errorf("Len() = %d, want 2", ix.Len())
	}
	tests := []struct {
		name string
		id   int
	}{
		{name: "negative", id: -1},
		{name: "zoom above max", id: 0<<clusterZoomBits | 17},
		{name: "index past the level", id: 1000<<clusterZoomBits | 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ix.Leaves(tt.id); got != nil {
				t.Errorf("Leaves(%d) = %v, want nil", tt.id, got)
			}
			if got := ix.ExpansionZoom(tt.id); got != -1 {
				t.Errorf("ExpansionZoom(%d) = %d, want -1", tt.id, got)
			}
		})
	}
	if got := NewClusterIndex(nil, ClusterOptions{}).Clusters(world, 3); got != nil {
		t.Errorf("Clusters of an empty index = %v, want nil", got)
	}
}

func TestClusterProperties(t *testing.T) {
	const n = 5000
	pts := randomClusterPoints(n, miyun, 42)
	ix := NewClusterIndex(pts, ClusterOptions{})
	opt := ix.Options()
	subs := []struct {
		name string
		b    orb.Bound
	}{
		{name: "south-west quarter", b: orb.Bound{Min: orb.Point{116.7, 40.4}, Max: orb.Point{116.95, 40.55}}},
		{name: "thin strip", b: orb.Bound{Min: orb.Point{116.9, 40.4}, Max: orb.Point{116.91, 40.7}}},
		{name: "outside", b: orb.Bound{Min: orb.Point{10, 10}, Max: orb.Point{11, 11}}},
	}
	const eps = 1e-9
	for z := opt.MinZoom; z <= opt.MaxZoom+1; z++ {
		all := ix.Clusters(world, z)
		total, _ := clusterSum(all)
		if total != n {
			t.Fatalf("zoom %d: counts sum to %d, want %d", z, total, n)
		}
		seen := make([]int, n)
		for _, c := range all {
			var members []int
			if c.ID < 0 {
				members = []int{c.PointID}
			} else {
				members = ix.Leaves(c.ID)
			}
			if len(members) != c.Count {
				t.Fatalf("zoom %d: cluster %d has %d leaves, Count %d", z, c.ID, len(members), c.Count)
			}
			var mb orb.Bound
			kinds := map[string]int{}
			for i, m := range members {
				seen[m]++
				kinds[pts[m].Kind]++
				if i == 0 {
					mb = pts[m].Point.Bound()
				} else {
					mb = mb.Extend(pts[m].Point)
				}
			}
			// The count-weighted mean of the clusters merged at each level is
			// the plain mean of all the leaves, in projected space.
			var mx, my float64
			for _, m := range members {
				mx += mercatorX(pts[m].Point[0])
				my += mercatorY(pts[m].Point[1])
			}
			if want := (orb.Point{mercatorLon(mx / float64(c.Count)), mercatorLat(my / float64(c.Count))}); math.Abs(c.Center[0]-want[0]) > eps || math.Abs(c.Center[1]-want[1]) > eps {
				t.Fatalf("zoom %d: cluster %d centre %v, want the leaves' mean %v", z, c.ID, c.Center, want)
			}
			if !mapsEqual(kinds, c.Kinds) {
				t.Fatalf("zoom %d: cluster %d has Kinds %v, its leaves %v", z, c.ID, c.Kinds, kinds)
			}
			if c.Center[0] < mb.Min[0]-eps || c.Center[0] > mb.Max[0]+eps || c.Center[1] < mb.Min[1]-eps || c.Center[1] > mb.Max[1]+eps {
				t.Fatalf("zoom %d: cluster %d centre %v outside its members' box %v", z, c.ID, c.Center, mb)
			}
			if c.ID >= 0 {
				if e := ix.ExpansionZoom(c.ID); e <= z || e > opt.MaxZoom+1 {
					t.Fatalf("zoom %d: cluster %d expands at zoom %d", z, c.ID, e)
				}
			}
		}
		for i, s := range seen {
			if s != 1 {
				t.Fatalf("zoom %d: point %d is in %d items, want 1", z, i, s)
			}
		}
		for _, sub := range subs {
			got := ix.Clusters(sub.b, z)
			for _, c := range got {
				if !sub.b.Contains(c.Center) {
					t.Errorf("zoom %d, %s: centre %v outside %v", z, sub.name, c.Center, sub.b)
				}
			}
			want := 0
			for _, c := range all {
				if sub.b.Contains(c.Center) {
					want++
				}
			}
			if len(got) != want {
				t.Errorf("zoom %d, %s: %d items, want the %d of the world query inside it", z, sub.name, len(got), want)
			}
		}
	}
}

func BenchmarkNewClusterIndex1M(b *testing.B) {
	if testing.Short() {
		b.Skip("1M points: skipped in short mode")
	}
	pts := randomClusterPoints(1_000_000, miyun, 7)
	b.ReportAllocs()
	var ix *ClusterIndex
	for b.Loop() {
		ix = NewClusterIndex(pts, ClusterOptions{})
	}
	items, bytes := ix.footprint()
	b.ReportMetric(float64(items), "items")
	b.ReportMetric(float64(bytes)/1e6, "retained-MB")
}

// footprint returns the number of items over all levels of ix and the bytes
// its slices hold.
func (ix *ClusterIndex) footprint() (items, bytes int) {
	bytes = 8*cap(ix.pointID) + 4*cap(ix.kind)
	for _, l := range ix.levels {
		items += l.len()
		bytes += 8*cap(l.xy) + 4*(cap(l.num)+cap(l.ref)+cap(l.childOff)+cap(l.child)+cap(l.kindOff)+cap(l.kindID)+cap(l.kindNum))
	}
	return items, bytes
}

func BenchmarkClusters(b *testing.B) {
	ix := NewClusterIndex(randomClusterPoints(100_000, miyun, 8), ClusterOptions{})
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(ix.Clusters(miyun, 10))
	}
	b.ReportMetric(float64(n), "clusters")
}

func TestClusterKDTree(t *testing.T) {
	tests := []struct {
		name string
		n    int
		dup  bool // many identical points
	}{
		{name: "empty", n: 0},
		{name: "one", n: 1},
		{name: "one bucket", n: clusterNodeSize + 1},
		{name: "thousand", n: 1000},
		{name: "duplicates", n: 5000, dup: true},
		{name: "large", n: 100_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tt.n), 5))
			orig := make([]float64, 2*tt.n)
			for i := range orig {
				orig[i] = rng.Float64()
				if tt.dup {
					orig[i] = float64(rng.IntN(8)) / 8
				}
			}
			xy := slices.Clone(orig)
			perm := clusterKDSort(xy)
			for i, j := range perm {
				if xy[2*i] != orig[2*j] || xy[2*i+1] != orig[2*j+1] {
					t.Fatalf("item %d is not old item %d", i, j)
				}
			}
			for q := 0; q < 200; q++ {
				qx, qy, r := rng.Float64(), rng.Float64(), rng.Float64()*0.2
				x0, y0 := rng.Float64(), rng.Float64()
				x1, y1 := x0+rng.Float64()*0.3, y0+rng.Float64()*0.3
				if tt.dup {
					// Query edges on the grid of the points, to test ties.
					x0, y0 = float64(rng.IntN(8))/8, float64(rng.IntN(8))/8
					x1, y1 = x0+float64(rng.IntN(3))/8, y0+float64(rng.IntN(3))/8
					qx, qy, r = x0, y0, float64(rng.IntN(3))/8
				}
				var wantWithin, wantRange []int32
				for i := range int32(tt.n) {
					x, y := xy[2*i], xy[2*i+1]
					if (x-qx)*(x-qx)+(y-qy)*(y-qy) <= r*r {
						wantWithin = append(wantWithin, i)
					}
					if x >= x0 && x <= x1 && y >= y0 && y <= y1 {
						wantRange = append(wantRange, i)
					}
				}
				gotWithin, _ := clusterWithin(xy, qx, qy, r, nil, nil)
				var gotRange []int32
				clusterRange(xy, x0, y0, x1, y1, nil, func(i int32) { gotRange = append(gotRange, i) })
				slices.Sort(gotWithin)
				slices.Sort(gotRange)
				if !slices.Equal(gotWithin, wantWithin) {
					t.Fatalf("within(%v, %v, %v): %d items, want %d", qx, qy, r, len(gotWithin), len(wantWithin))
				}
				if !slices.Equal(gotRange, wantRange) {
					t.Fatalf("range(%v, %v, %v, %v): %d items, want %d", x0, y0, x1, y1, len(gotRange), len(wantRange))
				}
			}
		})
	}
}
