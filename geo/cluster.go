package geo

// This file holds point clustering for the incident map, after Mapbox's
// supercluster: the points are projected to Web Mercator, scaled to the unit
// square [0, 1]², and for every zoom level from MaxZoom down to MinZoom the
// items of the level above are merged greedily into clusters whose centre is
// the count-weighted mean of their members. Each level is stored as flat
// slices laid out as a static KD-tree, so that both the clustering and the
// viewport queries are range searches without per-node allocations.

import (
	"math"
	"sync"

	"github.com/paulmach/orb"
)

// ClusterPoint is one input point of a ClusterIndex.
type ClusterPoint struct {
	// Point is the position as [longitude, latitude] in WGS-84 degrees.
	Point orb.Point
	// Kind is the category the point is counted under in Cluster.Kinds.
	Kind string
	// ID is the caller's identifier of the point, typically its index in
	// the caller's slice; the index reports it back as Cluster.PointID and
	// from Leaves.
	ID int
}

// ClusterOptions tunes a ClusterIndex. The zero value of every field selects
// its default, so ClusterOptions{} behaves as supercluster's defaults.
type ClusterOptions struct {
	// Radius is the cluster radius in pixels at the tile Extent. Zero, a
	// negative value or NaN selects 40.
	Radius float64
	// Extent is the tile extent in pixels the Radius is measured against.
	// Zero, a negative value or NaN selects 512.
	Extent float64
	// MinZoom is the lowest zoom level clusters are built for. Negative
	// values mean 0, and a MinZoom above MaxZoom is lowered to MaxZoom.
	MinZoom int
	// MaxZoom is the highest zoom level clusters are built for; at
	// MaxZoom+1 every point stands alone. Zero or a negative value selects
	// 16 (so a MaxZoom of 0 cannot be asked for); values above 30 mean 30.
	MaxZoom int
	// MinPoints is the least number of points a cluster may hold. Values
	// below 2 select 2.
	MinPoints int
}

// The defaults and limits of ClusterOptions.
const (
	defaultClusterRadius    = 40
	defaultClusterExtent    = 512
	defaultClusterMaxZoom   = 16
	maxClusterZoom          = 30 // so that a zoom fits the 5 low bits of a cluster ID
	defaultClusterMinPoints = 2
	clusterZoomBits         = 5
	clusterNodeSize         = 32 // leaf bucket size of the KD-trees
)

// normalized returns o with every default and limit applied.
func (o ClusterOptions) normalized() ClusterOptions {
	if !(o.Radius > 0) || math.IsInf(o.Radius, 0) {
		o.Radius = defaultClusterRadius
	}
	if !(o.Extent > 0) || math.IsInf(o.Extent, 0) {
		o.Extent = defaultClusterExtent
	}
	if o.MaxZoom <= 0 {
		o.MaxZoom = defaultClusterMaxZoom
	}
	if o.MaxZoom > maxClusterZoom {
		o.MaxZoom = maxClusterZoom
	}
	if o.MinZoom < 0 {
		o.MinZoom = 0
	}
	if o.MinZoom > o.MaxZoom {
		o.MinZoom = o.MaxZoom
	}
	if o.MinPoints < defaultClusterMinPoints {
		o.MinPoints = defaultClusterMinPoints
	}
	return o
}

// Cluster is one item of a ClusterIndex at a zoom level: either a cluster of
// two or more points or a single point.
type Cluster struct {
	// Center is [longitude, latitude]: the count-weighted mean of the
	// members in Web-Mercator space, projected back to degrees. For a
	// single point it is the point itself, up to rounding and with the
	// latitude clamped to ±85.05113°.
	Center orb.Point
	// Count is the number of input points the item stands for (1 for a
	// single point).
	Count int
	// Kinds counts the points of the item by ClusterPoint.Kind; the values
	// sum to Count.
	Kinds map[string]int
	// ID identifies a cluster for Leaves and ExpansionZoom; it is -1 for a
	// single point. IDs are valid only for the index that returned them.
	ID int
	// PointID is the caller's ClusterPoint.ID for a single point and -1 for
	// a cluster.
	PointID int
}

// ClusterIndex is an immutable hierarchy of point clusters, one level per
// zoom from MinZoom to MaxZoom+1. Build it with NewClusterIndex. Its methods
// are safe for concurrent use.
//
// Memory is kept flat: every level holds, per item, its projected centre (two
// float64), its point count, a point reference, and offsets into two shared
// per-level slices: the item's children in the level above and, for clusters
// only, its non-zero kind counts as (kind, count) pairs of int32. Kind names
// are interned once per index, so a Cluster's Kinds map is built at query time
// from these pairs without walking the hierarchy.
type ClusterIndex struct {
	opt     ClusterOptions
	levels  []clusterLevel // levels[z-opt.MinZoom] is zoom z, up to MaxZoom+1
	pointID []int          // caller IDs, in leaf-level order
	kind    []int32        // interned kind of each point, in leaf-level order
	kinds   []string       // kind names by interned number
}

// clusterLevel is one zoom level, its items in KD-tree order (the median of
// every range [lo, hi] sits at (lo+hi)/2, splitting on x at even depths and on
// y at odd ones, down to buckets of clusterNodeSize items).
type clusterLevel struct {
	xy []float64 // projected centres, interleaved x, y
	// The remaining slices are nil at the leaf level (zoom MaxZoom+1), where
	// every item is the point with the same index.
	num      []int32 // points per item
	ref      []int32 // for a single point: its leaf-level index; else -1
	childOff []int32 // item i's children are child[childOff[i]:childOff[i+1]]
	child    []int32 // indices into the level above (zoom+1)
	kindOff  []int32 // item i's kind counts are at [kindOff[i]:kindOff[i+1]]
	kindID   []int32 // interned kind; empty for single points
	kindNum  []int32 // points of that kind
}

func (l *clusterLevel) len() int { return len(l.xy) / 2 }

func (l *clusterLevel) numAt(i int32) int32 {
	if l.num == nil {
		return 1
	}
	return l.num[i]
}

func (l *clusterLevel) refAt(i int32) int32 {
	if l.ref == nil {
		return i
	}
	return l.ref[i]
}

// NewClusterIndex builds the clusters of points for every zoom level of opt
// (see ClusterOptions for the defaults). Longitudes are clamped to
// [-180, 180] and latitudes to ±85.05113°, the limits of Web Mercator; points
// with a NaN or infinite coordinate are left out. The points slice is not
// retained. At each zoom z, with r = Radius/(Extent·2^z) in the unit square,
// the items of zoom z+1 are visited in index order and each one not yet taken
// gathers every untaken item within distance r; if they hold at least
// MinPoints points together they become one cluster at their weighted
// centroid, otherwise they are carried to zoom z unchanged. It panics if
// there are 2³¹ or more points.
func NewClusterIndex(points []ClusterPoint, opt ClusterOptions) *ClusterIndex {
	if int64(len(points)) >= math.MaxInt32 {
		panic("geo.NewClusterIndex: too many points")
	}
	opt = opt.normalized()
	ix := &ClusterIndex{opt: opt, levels: make([]clusterLevel, opt.MaxZoom+2-opt.MinZoom)}

	// The leaf level: every finite point, projected.
	xy := make([]float64, 0, 2*len(points))
	kindOf := make(map[string]int32)
	kind := make([]int32, 0, len(points))
	pointID := make([]int, 0, len(points))
	for _, p := range points {
		lon, lat := p.Point[0], p.Point[1]
		if math.IsNaN(lon) || math.IsNaN(lat) || math.IsInf(lon, 0) || math.IsInf(lat, 0) {
			continue
		}
		k, ok := kindOf[p.Kind]
		if !ok {
			k = int32(len(ix.kinds))
			kindOf[p.Kind] = k
			ix.kinds = append(ix.kinds, p.Kind)
		}
		xy = append(xy, mercatorX(lon), mercatorY(lat))
		kind = append(kind, k)
		pointID = append(pointID, p.ID)
	}
	perm := clusterKDSort(xy)
	ix.kind = make([]int32, len(perm))
	ix.pointID = make([]int, len(perm))
	for i, j := range perm {
		ix.kind[i] = kind[j]
		ix.pointID[i] = pointID[j]
	}
	ix.levels[len(ix.levels)-1] = clusterLevel{xy: xy}

	b := clusterBuilder{ix: ix, dense: make([]int32, len(ix.kinds))}
	for z := opt.MaxZoom; z >= opt.MinZoom; z-- {
		ix.levels[z-opt.MinZoom] = b.level(&ix.levels[z+1-opt.MinZoom], z)
	}
	return ix
}

// clusterBuilder holds the scratch space reused from level to level.
type clusterBuilder struct {
	ix      *ClusterIndex
	taken   []bool
	near    []int32
	stack   []int32
	dense   []int32 // kind counts of the cluster being built
	touched []int32 // kinds with a non-zero dense count
	// The level under construction, in creation order.
	xy                              []float64
	num, ref, childOff, child       []int32
	kindOff, kindID, kindNum, order []int32
}

// addKinds adds the kind counts of item i of level a to b.dense.
func (b *clusterBuilder) addKinds(a *clusterLevel, i int32) {
	if a.numAt(i) == 1 {
		b.addKind(b.ix.kind[a.refAt(i)], 1)
		return
	}
	for k := a.kindOff[i]; k < a.kindOff[i+1]; k++ {
		b.addKind(a.kindID[k], a.kindNum[k])
	}
}

func (b *clusterBuilder) addKind(k, n int32) {
	if b.dense[k] == 0 {
		b.touched = append(b.touched, k)
	}
	b.dense[k] += n
}

// copyItem carries item i of level a unchanged into the level being built.
func (b *clusterBuilder) copyItem(a *clusterLevel, i int32) {
	b.xy = append(b.xy, a.xy[2*i], a.xy[2*i+1])
	n := a.numAt(i)
	b.num = append(b.num, n)
	b.child = append(b.child, i)
	b.childOff = append(b.childOff, int32(len(b.child)))
	if n == 1 {
		b.ref = append(b.ref, a.refAt(i))
	} else {
		b.ref = append(b.ref, -1)
		b.kindID = append(b.kindID, a.kindID[a.kindOff[i]:a.kindOff[i+1]]...)
		b.kindNum = append(b.kindNum, a.kindNum[a.kindOff[i]:a.kindOff[i+1]]...)
	}
	b.kindOff = append(b.kindOff, int32(len(b.kindID)))
}

// level clusters level a (zoom z+1) into a new level for zoom z.
func (b *clusterBuilder) level(a *clusterLevel, z int) clusterLevel {
	opt := b.ix.opt
	r := opt.Radius / (opt.Extent * math.Exp2(float64(z)))
	minPoints := int64(opt.MinPoints)
	n := a.len()
	if cap(b.taken) < n {
		b.taken = make([]bool, n)
	}
	taken := b.taken[:n]
	clear(taken)
	b.xy, b.num, b.ref, b.child, b.kindID, b.kindNum = b.xy[:0], b.num[:0], b.ref[:0], b.child[:0], b.kindID[:0], b.kindNum[:0]
	b.childOff = append(b.childOff[:0], 0)
	b.kindOff = append(b.kindOff[:0], 0)

	for i := int32(0); int(i) < n; i++ {
		if taken[i] {
			continue
		}
		taken[i] = true
		x, y := a.xy[2*i], a.xy[2*i+1]
		b.near, b.stack = clusterWithin(a.xy, x, y, r, b.near[:0], b.stack[:0])
		own := int64(a.numAt(i))
		total := own
		for _, j := range b.near {
			if !taken[j] {
				total += int64(a.numAt(j))
			}
		}
		if total == own || total < minPoints {
			// Too few points to cluster: carry the item and its
			// untaken neighbours down unchanged.
			b.copyItem(a, i)
			for _, j := range b.near {
				if !taken[j] {
					taken[j] = true
					b.copyItem(a, j)
				}
			}
			continue
		}
		wx, wy := x*float64(own), y*float64(own)
		b.child = append(b.child, i)
		b.addKinds(a, i)
		for _, j := range b.near {
			if taken[j] {
				continue
			}
			taken[j] = true
			w := float64(a.numAt(j))
			wx += a.xy[2*j] * w
			wy += a.xy[2*j+1] * w
			b.child = append(b.child, j)
			b.addKinds(a, j)
		}
		b.xy = append(b.xy, wx/float64(total), wy/float64(total))
		b.num = append(b.num, int32(total))
		b.ref = append(b.ref, -1)
		b.childOff = append(b.childOff, int32(len(b.child)))
		for _, k := range b.touched {
			b.kindID = append(b.kindID, k)
			b.kindNum = append(b.kindNum, b.dense[k])
			b.dense[k] = 0
		}
		b.touched = b.touched[:0]
		b.kindOff = append(b.kindOff, int32(len(b.kindID)))
	}

	// Lay the new level out as a KD-tree, in exactly sized slices.
	m := len(b.num)
	l := clusterLevel{xy: make([]float64, 2*m)}
	copy(l.xy, b.xy)
	perm := clusterKDSort(l.xy)
	l.num = make([]int32, m)
	l.ref = make([]int32, m)
	l.childOff = make([]int32, m+1)
	l.child = make([]int32, len(b.child))
	l.kindOff = make([]int32, m+1)
	l.kindID = make([]int32, len(b.kindID))
	l.kindNum = make([]int32, len(b.kindNum))
	var nc, nk int32
	for i, j := range perm {
		l.num[i] = b.num[j]
		l.ref[i] = b.ref[j]
		nc += int32(copy(l.child[nc:], b.child[b.childOff[j]:b.childOff[j+1]]))
		l.childOff[i+1] = nc
		lo, hi := b.kindOff[j], b.kindOff[j+1]
		copy(l.kindID[nk:], b.kindID[lo:hi])
		nk += int32(copy(l.kindNum[nk:], b.kindNum[lo:hi]))
		l.kindOff[i+1] = nk
	}
	return l
}

// Options returns the options the index was built with, defaults applied.
func (ix *ClusterIndex) Options() ClusterOptions { return ix.opt }

// Len returns the number of points indexed: those given to NewClusterIndex
// less any with a non-finite coordinate.
func (ix *ClusterIndex) Len() int { return len(ix.pointID) }

// clampZoom limits zoom to the levels of ix, [MinZoom, MaxZoom+1].
func (ix *ClusterIndex) clampZoom(zoom int) int {
	return min(max(zoom, ix.opt.MinZoom), ix.opt.MaxZoom+1)
}

// Clusters returns the clusters and single points at zoom whose Center lies
// in bbox (edges included), in no particular order. The zoom is clamped to
// [MinZoom, MaxZoom+1]. bbox is [lon, lat] degrees with Min ≤ Max; a box
// crossing the antimeridian is not supported and matches nothing. The result
// is nil when nothing matches.
func (ix *ClusterIndex) Clusters(bbox orb.Bound, zoom int) []Cluster {
	zoom = ix.clampZoom(zoom)
	l := &ix.levels[zoom-ix.opt.MinZoom]
	// Search a slightly larger projected box, then test the centres as
	// returned, so that rounding in the projection cannot let a centre
	// outside bbox through.
	const eps = 1e-9
	minX, maxX := mercatorX(bbox.Min[0])-eps, mercatorX(bbox.Max[0])+eps
	minY, maxY := mercatorY(bbox.Max[1])-eps, mercatorY(bbox.Min[1])+eps
	var out []Cluster
	var stack [64]int32
	clusterRange(l.xy, minX, minY, maxX, maxY, stack[:0], func(i int32) {
		c := orb.Point{mercatorLon(l.xy[2*i]), mercatorLat(l.xy[2*i+1])}
		if c[0] < bbox.Min[0] || c[0] > bbox.Max[0] || c[1] < bbox.Min[1] || c[1] > bbox.Max[1] {
			return
		}
		out = append(out, ix.cluster(l, zoom, i, c))
	})
	return out
}

// cluster describes item i of level l at zoom, centred at c.
func (ix *ClusterIndex) cluster(l *clusterLevel, zoom int, i int32, c orb.Point) Cluster {
	if n := l.numAt(i); n > 1 {
		kinds := make(map[string]int, l.kindOff[i+1]-l.kindOff[i])
		for k := l.kindOff[i]; k < l.kindOff[i+1]; k++ {
			kinds[ix.kinds[l.kindID[k]]] = int(l.kindNum[k])
		}
		return Cluster{Center: c, Count: int(n), Kinds: kinds, ID: int(i)<<clusterZoomBits | zoom, PointID: -1}
	}
	p := l.refAt(i)
	return Cluster{Center: c, Count: 1, Kinds: map[string]int{ix.kinds[ix.kind[p]]: 1}, ID: -1, PointID: ix.pointID[p]}
}

// clusterByID decodes a cluster ID into its level, zoom and item index; ok is
// false if id names no cluster of ix.
func (ix *ClusterIndex) clusterByID(id int) (l *clusterLevel, zoom int, i int32, ok bool) {
	if id < 0 {
		return nil, 0, 0, false
	}
	zoom, idx := id&(1<<clusterZoomBits-1), id>>clusterZoomBits
	if zoom < ix.opt.MinZoom || zoom > ix.opt.MaxZoom {
		return nil, 0, 0, false
	}
	l = &ix.levels[zoom-ix.opt.MinZoom]
	if idx >= l.len() || l.num[idx] < 2 {
		return nil, 0, 0, false
	}
	return l, zoom, int32(idx), true
}

// Leaves returns the caller IDs (ClusterPoint.ID) of every point in the
// cluster with the given ID, in no particular order, or nil if id is not a
// cluster ID returned by this index.
func (ix *ClusterIndex) Leaves(id int) []int {
	l, zoom, i, ok := ix.clusterByID(id)
	if !ok {
		return nil
	}
	out := make([]int, 0, l.num[i])
	type item struct {
		zoom int
		i    int32
	}
	stack := []item{{zoom, i}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		l := &ix.levels[it.zoom-ix.opt.MinZoom]
		if l.numAt(it.i) == 1 {
			out = append(out, ix.pointID[l.refAt(it.i)])
			continue
		}
		for _, c := range l.child[l.childOff[it.i]:l.childOff[it.i+1]] {
			stack = append(stack, item{it.zoom + 1, c})
		}
	}
	return out
}

// ExpansionZoom returns the lowest zoom at which the cluster with the given
// ID falls apart into two or more items, which is where a map should zoom to
// when the cluster is clicked. It returns -1 if id is not a cluster ID
// returned by this index.
func (ix *ClusterIndex) ExpansionZoom(id int) int {
	l, zoom, i, ok := ix.clusterByID(id)
	if !ok {
		return -1
	}
	for zoom <= ix.opt.MaxZoom {
		lo, hi := l.childOff[i], l.childOff[i+1]
		if hi-lo != 1 {
			return zoom + 1
		}
		i = l.child[lo]
		zoom++
		l = &ix.levels[zoom-ix.opt.MinZoom]
	}
	return zoom
}

// mercatorX projects a longitude in degrees, clamped to [-180, 180], to the
// Web-Mercator x coordinate in [0, 1], 0 at the antimeridian's west side.
func mercatorX(lon float64) float64 {
	return min(max(lon, -180), 180)/360 + 0.5
}

// mercatorY projects a latitude in degrees to the Web-Mercator y coordinate
// in [0, 1], 0 at the north edge (latitude 85.05113°) and 1 at the south
// edge; latitudes beyond the edges are clamped to them.
func mercatorY(lat float64) float64 {
	s := math.Sin(lat * math.Pi / 180)
	y := 0.5 - 0.25*math.Log((1+s)/(1-s))/math.Pi
	return min(max(y, 0), 1)
}

// mercatorLon is the inverse of mercatorX on [0, 1].
func mercatorLon(x float64) float64 { return (x - 0.5) * 360 }

// mercatorLat is the inverse of mercatorY on [0, 1].
func mercatorLat(y float64) float64 {
	return 360*math.Atan(math.Exp((180-y*360)*math.Pi/180))/math.Pi - 90
}

// clusterKDSort reorders the interleaved points xy into KD-tree order, as
// kdbush does, and returns perm with new index i holding old index perm[i].
// Large halves are sorted in parallel; they are disjoint ranges.
func clusterKDSort(xy []float64) []int32 {
	n := len(xy) / 2
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	var wg sync.WaitGroup
	clusterKDSortRange(perm, xy, 0, n-1, 0, &wg)
	wg.Wait()
	return perm
}

// clusterParallelMin is the smallest range clusterKDSortRange hands to a new
// goroutine.
const clusterParallelMin = 1 << 16

func clusterKDSortRange(ids []int32, xy []float64, left, right, axis int, wg *sync.WaitGroup) {
	for right-left > clusterNodeSize {
		m := (left + right) >> 1
		clusterSelect(ids, xy, m, left, right, axis)
		if m-left > clusterParallelMin {
			wg.Add(1)
			go func(l, r, a int) {
				defer wg.Done()
				clusterKDSortRange(ids, xy, l, r, a, wg)
			}(left, m-1, 1-axis)
		} else {
			clusterKDSortRange(ids, xy, left, m-1, 1-axis, wg)
		}
		left, axis = m+1, 1-axis
	}
}

// clusterSelect is Floyd–Rivest selection: it rearranges items left..right so
// that item k is the one that belongs there in order of the axis coordinate,
// with no larger item before it and no smaller one after it.
func clusterSelect(ids []int32, xy []float64, k, left, right, axis int) {
	for right > left {
		if right-left > 600 {
			n := float64(right - left + 1)
			m := float64(k - left + 1)
			z := math.Log(n)
			s := 0.5 * math.Exp(2*z/3)
			sd := 0.5 * math.Sqrt(z*s*(n-s)/n)
			if m-n/2 < 0 {
				sd = -sd
			}
			newLeft := max(left, int(math.Floor(float64(k)-m*s/n+sd)))
			newRight := min(right, int(math.Floor(float64(k)+(n-m)*s/n+sd)))
			clusterSelect(ids, xy, k, newLeft, newRight, axis)
		}
		t := xy[2*k+axis]
		i, j := left, right
		clusterSwap(ids, xy, left, k)
		if xy[2*right+axis] > t {
			clusterSwap(ids, xy, left, right)
		}
		for i < j {
			clusterSwap(ids, xy, i, j)
			i++
			j--
			for xy[2*i+axis] < t {
				i++
			}
			for xy[2*j+axis] > t {
				j--
			}
		}
		if xy[2*left+axis] == t {
			clusterSwap(ids, xy, left, j)
		} else {
			j++
			clusterSwap(ids, xy, j, right)
		}
		if j <= k {
			left = j + 1
		}
		if k <= j {
			right = j - 1
		}
	}
}

func clusterSwap(ids []int32, xy []float64, i, j int) {
	ids[i], ids[j] = ids[j], ids[i]
	xy[2*i], xy[2*j] = xy[2*j], xy[2*i]
	xy[2*i+1], xy[2*j+1] = xy[2*j+1], xy[2*i+1]
}

// clusterRange calls f with the index of every item of the KD-ordered xy
// inside the box [minX, maxX]×[minY, maxY]. stack is scratch space.
func clusterRange(xy []float64, minX, minY, maxX, maxY float64, stack []int32, f func(int32)) {
	n := len(xy) / 2
	if n == 0 {
		return
	}
	stack = append(stack, 0, int32(n-1), 0)
	for len(stack) > 0 {
		left, right, axis := stack[len(stack)-3], stack[len(stack)-2], stack[len(stack)-1]
		stack = stack[:len(stack)-3]
		if right-left <= clusterNodeSize {
			for i := left; i <= right; i++ {
				x, y := xy[2*i], xy[2*i+1]
				if x >= minX && x <= maxX && y >= minY && y <= maxY {
					f(i)
				}
			}
			continue
		}
		m := (left + right) >> 1
		x, y := xy[2*m], xy[2*m+1]
		if x >= minX && x <= maxX && y >= minY && y <= maxY {
			f(m)
		}
		if (axis == 0 && minX <= x) || (axis == 1 && minY <= y) {
			stack = append(stack, left, m-1, 1-axis)
		}
		if (axis == 0 && maxX >= x) || (axis == 1 && maxY >= y) {
			stack = append(stack, m+1, right, 1-axis)
		}
	}
}

// clusterWithin appends to out the index of every item of the KD-ordered xy
// within distance r of (qx, qy), and returns out and the scratch stack.
func clusterWithin(xy []float64, qx, qy, r float64, out, stack []int32) ([]int32, []int32) {
	n := len(xy) / 2
	if n == 0 {
		return out, stack
	}
	r2 := r * r
	stack = append(stack, 0, int32(n-1), 0)
	for len(stack) > 0 {
		left, right, axis := stack[len(stack)-3], stack[len(stack)-2], stack[len(stack)-1]
		stack = stack[:len(stack)-3]
		if right-left <= clusterNodeSize {
			for i := left; i <= right; i++ {
				dx, dy := xy[2*i]-qx, xy[2*i+1]-qy
				if dx*dx+dy*dy <= r2 {
					out = append(out, i)
				}
			}
			continue
		}
		m := (left + right) >> 1
		x, y := xy[2*m], xy[2*m+1]
		if dx, dy := x-qx, y-qy; dx*dx+dy*dy <= r2 {
			out = append(out, m)
		}
		if (axis == 0 && qx-r <= x) || (axis == 1 && qy-r <= y) {
			stack = append(stack, left, m-1, 1-axis)
		}
		if (axis == 0 && qx+r >= x) || (axis == 1 && qy+r >= y) {
			stack = append(stack, m+1, right, 1-axis)
		}
	}
	return out, stack
}
