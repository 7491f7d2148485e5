package geo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// trackMiyun is a point on the Miyun Reservoir shore.
var trackMiyun = orb.Point{116.9, 40.5}

// trackT0 is the start time of the test patrols.
var trackT0 = time.Date(2025, 6, 1, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))

// trackMetresPerDegree is the length of one degree of a great circle.
const trackMetresPerDegree = trackEarthRadius * math.Pi / 180

// trackOffset returns p moved east and north by the given metres, using the
// local scale at p's latitude.
func trackOffset(p orb.Point, east, north float64) orb.Point {
	lat := p[1] + north/trackMetresPerDegree
	lon := p[0] + east/(trackMetresPerDegree*math.Cos(p[1]*math.Pi/180))
	return orb.Point{lon, lat}
}

// trackAt returns a fix at p, sec seconds after trackT0.
func trackAt(p orb.Point, sec int) Fix {
	return Fix{Point: p, Time: trackT0.Add(time.Duration(sec) * time.Second)}
}

// trackWalk returns n fixes walking north from trackMiyun, 15 m and 10 s
// apart (1.5 m/s).
func trackWalk(n int) Track {
	t := make(Track, n)
	for i := range t {
		t[i] = trackAt(trackOffset(trackMiyun, 0, 15*float64(i)), 10*i)
	}
	return t
}

// trackSameFixes reports whether a and b hold the same fixes in order.
func trackSameFixes(a, b Track) bool {
	return slices.EqualFunc(a, b, func(x, y Fix) bool { return x.Point == y.Point && x.Time.Equal(y.Time) })
}

// trackIdentical reports whether a and b hold bit-for-bit identical fixes,
// NaN coordinates included.
func trackIdentical(a, b Track) bool {
	return slices.EqualFunc(a, b, func(x, y Fix) bool {
		bits := math.Float64bits
		return bits(x.Point[0]) == bits(y.Point[0]) && bits(x.Point[1]) == bits(y.Point[1]) && x.Time.Equal(y.Time)
	})
}

func TestTrackDistance(t *testing.T) {
	beijing := orb.Point{116.4074, 39.9042}
	shanghai := orb.Point{121.4737, 31.2304}
	cases := []struct {
		name string
		a, b orb.Point
		want float64 // metres
		tol  float64 // metres
	}{
		{"same point", trackMiyun, trackMiyun, 0, 0},
		{"one degree of latitude", orb.Point{116.9, 40}, orb.Point{116.9, 41}, 111195.08, 0.01},
		{"one degree of longitude on the equator", orb.Point{0, 0}, orb.Point{1, 0}, 111195.08, 0.01},
		{"one degree of longitude at 60 N", orb.Point{10, 60}, orb.Point{11, 60}, 55597.5, 1}, // ≈ half, a bit more on the great circle
		{"Beijing to Shanghai", beijing, shanghai, 1067e3, 0.005 * 1067e3},
		{"across the antimeridian", orb.Point{179.5, 0}, orb.Point{-179.5, 0}, 111195.08, 0.01},
		{"antipodes", orb.Point{0, 0}, orb.Point{180, 0}, math.Pi * trackEarthRadius, 1e-6},
		{"pole to pole", orb.Point{0, -90}, orb.Point{0, 90}, math.Pi * trackEarthRadius, 1e-6},
		{"100 m north on the shore", trackMiyun, trackOffset(trackMiyun, 0, 100), 100, 1e-9},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, got := range []float64{Distance(c.a, c.b), Distance(c.b, c.a)} {
				if math.Abs(got-c.want) > c.tol {
					t.Errorf("Distance = %.3f m, want %.3f ± %g", got, c.want, c.tol)
				}
			}
		})
	}
	if d := Distance(orb.Point{math.NaN(), 40}, trackMiyun); !math.IsNaN(d) {
		t.Errorf("Distance with NaN = %v, want NaN", d)
	}
}

func TestTrackLength(t *testing.T) {
	cases := []struct {
		name string
		ls   orb.LineString
		want float64 // metres
		tol  float64 // metres
	}{
		{"nil", nil, 0, 0},
		{"one point", orb.LineString{trackMiyun}, 0, 0},
		{"three steps north", orb.LineString{{116.9, 40.5}, {116.9, 40.51}, {116.9, 40.52}, {116.9, 40.53}}, 3 * 0.01 * trackMetresPerDegree, 1e-6},
		{"there and back", orb.LineString{{116.9, 40.5}, {116.9, 40.52}, {116.9, 40.5}}, 2 * 0.02 * trackMetresPerDegree, 1e-6},
		// The top side is 100 m of longitude at the bottom side's latitude,
		// so it is 1.3 mm short.
		{"100 m square", orb.LineString{
			trackMiyun,
			trackOffset(trackMiyun, 100, 0),
			trackOffset(trackOffset(trackMiyun, 100, 0), 0, 100),
			trackOffset(trackMiyun, 0, 100),
			trackMiyun,
		}, 400, 0.002},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Length(c.ls); math.Abs(got-c.want) > c.tol {
				t.Errorf("Length = %.6f m, want %.6f", got, c.want)
			}
		})
	}
}

func TestTrackClean(t *testing.T) {
	g := trackWalk(10)
	far := trackOffset(trackMiyun, 5000, 0) // 5 km east: a spike
	nan := math.NaN()
	miyunBox := &orb.Bound{Min: orb.Point{116.7, 40.3}, Max: orb.Point{117.2, 40.7}}
	at := func(p orb.Point, f Fix) Fix { return Fix{Point: p, Time: f.Time} }
	car := trackAt(trackOffset(g[1].Point, 0, 300), 20) // 300 m in 10 s after g[1]

	cases := []struct {
		name string
		in   Track
		opt  CleanOptions
		want Track
		rep  CleanReport
	}{
		{"nil", nil, CleanOptions{}, nil, CleanReport{}},
		{"all good", g, CleanOptions{}, g, CleanReport{Input: 10, Kept: 10}},
		{
			"unsorted",
			Track{g[3], g[0], g[2], g[1], g[4]}, CleanOptions{},
			g[:5], CleanReport{Input: 5, Kept: 5, Reordered: true},
		},
		{
			"duplicate timestamp keeps the first",
			Track{g[0], g[1], at(trackOffset(g[1].Point, 5, 0), g[1]), g[2]}, CleanOptions{},
			g[:3], CleanReport{Input: 4, Kept: 3, Duplicate: 1},
		},
		{
			"duplicates in unsorted input keep input order",
			Track{g[2], g[1], at(trackOffset(g[1].Point, 5, 0), g[1]), g[0]}, CleanOptions{},
			g[:3], CleanReport{Input: 4, Kept: 3, Duplicate: 1, Reordered: true},
		},
		{
			"invalid fix does not shadow a valid one at the same time",
			Track{g[0], at(orb.Point{nan, 40.5}, g[1]), g[1], g[2]}, CleanOptions{},
			g[:3], CleanReport{Input: 4, Kept: 3, Invalid: 1},
		},
		{
			"NaN, infinite and out of range",
			Track{
				g[0],
				at(orb.Point{nan, 40.5}, g[1]),
				at(orb.Point{116.9, nan}, g[2]),
				at(orb.Point{math.Inf(1), 40.5}, g[3]),
				at(orb.Point{181, 40.5}, g[4]),
				at(orb.Point{116.9, -90.5}, g[5]),
				g[6],
			}, CleanOptions{},
			Track{g[0], g[6]}, CleanReport{Input: 7, Kept: 2, Invalid: 5},
		},
		{
			"out of bounds",
			Track{g[0], at(orb.Point{116.4074, 39.9042}, g[1]), g[2], g[3]}, CleanOptions{Bounds: miyunBox},
			Track{g[0], g[2], g[3]}, CleanReport{Input: 4, Kept: 3, OutOfBounds: 1},
		},
		{
			"bounds edge is inside",
			Track{at(orb.Point{116.7, 40.3}, g[0])}, CleanOptions{Bounds: miyunBox},
			Track{at(orb.Point{116.7, 40.3}, g[0])}, CleanReport{Input: 1, Kept: 1},
		},
		{
			"nil bounds keeps a far fix",
			Track{at(orb.Point{116.4074, 39.9042}, g[0])}, CleanOptions{},
			Track{at(orb.Point{116.4074, 39.9042}, g[0])}, CleanReport{Input: 1, Kept: 1},
		},
		{
			"one-point spike 5 km away",
			Track{g[0], g[1], g[2], g[3], g[4], at(far, g[5]), g[6], g[7], g[8], g[9]}, CleanOptions{},
			Track{g[0], g[1], g[2], g[3], g[4], g[6], g[7], g[8], g[9]}, CleanReport{Input: 10, Kept: 9, Jump: 1},
		},
		{
			"two-point spike",
			Track{g[0], g[1], at(far, g[2]), at(far, g[3]), g[4], g[5]}, CleanOptions{},
			Track{g[0], g[1], g[4], g[5]}, CleanReport{Input: 6, Kept: 4, Jump: 2},
		},
		{
			"spike on the first fix",
			Track{at(far, g[0]), g[1], g[2], g[3]}, CleanOptions{},
			Track{g[1], g[2], g[3]}, CleanReport{Input: 4, Kept: 3, Jump: 1},
		},
		{
			"spike on the last fix",
			Track{g[0], g[1], at(far, g[2])}, CleanOptions{},
			Track{g[0], g[1]}, CleanReport{Input: 3, Kept: 2, Jump: 1},
		},
		{
			"two fixes that disagree keep the earlier",
			Track{g[0], at(far, g[1])}, CleanOptions{},
			Track{g[0]}, CleanReport{Input: 2, Kept: 1, Jump: 1},
		},
		{
			"resume far away after a long pause",
			Track{g[0], g[1], trackAt(trackOffset(g[1].Point, 2000, 0), 10+600)}, CleanOptions{},
			Track{g[0], g[1], trackAt(trackOffset(g[1].Point, 2000, 0), 10+600)}, CleanReport{Input: 3, Kept: 3},
		},
		{
			"default allows driving at 30 m/s",
			Track{g[0], g[1], car}, CleanOptions{},
			Track{g[0], g[1], car}, CleanReport{Input: 3, Kept: 3},
		},
		{
			"lower MaxSpeed rejects driving",
			Track{g[0], g[1], car}, CleanOptions{MaxSpeed: 10},
			Track{g[0], g[1]}, CleanReport{Input: 3, Kept: 2, Jump: 1},
		},
		{
			"everything wrong at once",
			Track{g[4], at(far, g[3]), g[0], at(orb.Point{nan, nan}, g[1]), g[2], at(orb.Point{116.4074, 39.9042}, g[1]), g[2]},
			CleanOptions{Bounds: miyunBox},
			Track{g[0], g[2], g[4]}, CleanReport{Input: 7, Kept: 3, Invalid: 1, OutOfBounds: 1, Duplicate: 1, Jump: 1, Reordered: true},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := slices.Clone(c.in)
			got, rep := Clean(c.in, c.opt)
			if !trackSameFixes(got, c.want) {
				t.Errorf("Clean kept\n%v\nwant\n%v", got, c.want)
			}
			if rep != c.rep {
				t.Errorf("report = %+v, want %+v", rep, c.rep)
			}
			if sum := rep.Kept + rep.Invalid + rep.Duplicate + rep.OutOfBounds + rep.Jump; sum != rep.Input {
				t.Errorf("report counts add to %d, Input = %d", sum, rep.Input)
			}
			if !trackIdentical(c.in, in) {
				t.Errorf("Clean modified its input")
			}
			if !slices.IsSortedFunc(got, trackByTime) {
				t.Errorf("Clean result is not in time order")
			}
		})
	}
}

// trackPatrol returns a walk north at 1.4 m/s, fixes every 10 s for 5
// minutes, a 10-minute stop with fixes every 30 s (jittering east by ±jitter
// metres), then another 5-minute walk; and its length without the jitter.
func trackPatrol(jitter float64) (Track, float64) {
	var t Track
	p := trackMiyun
	sec := 0
	t = append(t, trackAt(p, sec))
	walk := func() {
		for range 30 {
			p = trackOffset(p, 0, 14)
			sec += 10
			t = append(t, trackAt(p, sec))
		}
	}
	walk()
	for k := 1; k <= 20; k++ {
		sec += 30
		q := p
		if k < 20 && jitter != 0 {
			q = trackOffset(p, jitter*float64(2*(k%2)-1), 0)
		}
		t = append(t, trackAt(q, sec))
	}
	walk()
	return t, 60 * 14
}

func TestTrackMeasure(t *testing.T) {
	patrol, walked := trackPatrol(0)
	jittery, _ := trackPatrol(1.5) // 1.5 + 18×3 + 1.5 m at 0.1 m/s
	pair := Track{trackAt(trackMiyun, 0), trackAt(trackOffset(trackMiyun, 0, 10), 20)}
	pairSpeed := Distance(pair[0].Point, pair[1].Point) / 20
	cases := []struct {
		name      string
		t         Track
		stopSpeed float64
		want      Effort
	}{
		{"nil", nil, 0, Effort{}},
		{"one fix", Track{trackAt(trackMiyun, 0)}, 0, Effort{Fixes: 1}},
		{
			"walk with a 10-minute stop", patrol, 0,
			Effort{Distance: walked, Duration: 20 * time.Minute, Moving: 10 * time.Minute, Stopped: 10 * time.Minute, Fixes: 81},
		},
		{
			"stop with GPS jitter", jittery, DefaultStopSpeed,
			Effort{Distance: walked + 57, Duration: 20 * time.Minute, Moving: 10 * time.Minute, Stopped: 10 * time.Minute, Fixes: 81},
		},
		{
			"stop speed above walking pace", patrol, 2,
			Effort{Distance: walked, Duration: 20 * time.Minute, Stopped: 20 * time.Minute, Fixes: 81},
		},
		{
			"stop speed below jitter", jittery, 0.05,
			Effort{Distance: walked + 57, Duration: 20 * time.Minute, Moving: 20 * time.Minute, Fixes: 81},
		},
		{"speed equal to stop speed is moving", pair, pairSpeed, Effort{Distance: 10, Duration: 20 * time.Second, Moving: 20 * time.Second, Fixes: 2}},
		{
			"repeated time adds distance but no time",
			Track{trackAt(trackMiyun, 0), trackAt(trackOffset(trackMiyun, 0, 10), 0), trackAt(trackOffset(trackMiyun, 0, 24), 10)}, 0,
			Effort{Distance: 24, Duration: 10 * time.Second, Moving: 10 * time.Second, Fixes: 3},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Measure(c.t, c.stopSpeed)
			if math.Abs(got.Distance-c.want.Distance) > 1e-3 {
				t.Errorf("Distance = %.6f m, want %.6f", got.Distance, c.want.Distance)
			}
			got.Distance = c.want.Distance
			if got != c.want {
				t.Errorf("Measure = %+v, want %+v", got, c.want)
			}
		})
	}
}

// trackCrossTrack returns the distance in metres on the sphere from p to the
// great-circle segment ab. It is independent of Simplify's projection.
func trackCrossTrack(p, a, b orb.Point) float64 {
	vec := func(q orb.Point) [3]float64 {
		lon, lat := q[0]*math.Pi/180, q[1]*math.Pi/180
		return [3]float64{math.Cos(lat) * math.Cos(lon), math.Cos(lat) * math.Sin(lon), math.Sin(lat)}
	}
	cross := func(u, v [3]float64) [3]float64 {
		return [3]float64{u[1]*v[2] - u[2]*v[1], u[2]*v[0] - u[0]*v[2], u[0]*v[1] - u[1]*v[0]}
	}
	dot := func(u, v [3]float64) float64 { return u[0]*v[0] + u[1]*v[1] + u[2]*v[2] }
	va, vb, vp := vec(a), vec(b), vec(p)
	n := cross(va, vb)
	nn := math.Sqrt(dot(n, n))
	end := math.Min(Distance(p, a), Distance(p, b))
	if nn < 1e-15 {
		return end
	}
	for i := range n {
		n[i] /= nn
	}
	s := dot(vp, n)
	c := [3]float64{vp[0] - s*n[0], vp[1] - s*n[1], vp[2] - s*n[2]}
	if dot(cross(va, c), n) >= 0 && dot(cross(c, vb), n) >= 0 {
		return trackEarthRadius * math.Abs(math.Asin(s))
	}
	return end
}

// trackRandomWalk returns a seeded random walk of n points from trackMiyun
// with steps of 5 to 30 m and a slowly drifting heading, like a shore patrol.
func trackRandomWalk(seed uint64, n int) orb.LineString {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ls := make(orb.LineString, n)
	p := trackMiyun
	heading := r.Float64() * 2 * math.Pi
	for i := range ls {
		ls[i] = p
		heading += r.NormFloat64() * 0.4
		step := 5 + 25*r.Float64()
		p = trackOffset(p, step*math.Sin(heading), step*math.Cos(heading))
	}
	return ls
}

// trackCheckSimplified fails t unless out is a subsequence of in with the
// same endpoints and every point of in lies within tol metres of the
// segment of out that replaces it. It returns the worst distance found.
func trackCheckSimplified(t *testing.T, in, out orb.LineString, tol float64) float64 {
	t.Helper()
	if len(in) == 0 {
		if len(out) != 0 {
			t.Fatalf("Simplify of an empty line = %v", out)
		}
		return 0
	}
	if out[0] != in[0] || out[len(out)-1] != in[len(in)-1] {
		t.Fatalf("endpoints %v, %v not kept: got %v, %v", in[0], in[len(in)-1], out[0], out[len(out)-1])
	}
	// Map each kept point to its index in in.
	idx := make([]int, len(out))
	j := 0
	for k, q := range out {
		for j < len(in) && in[j] != q {
			j++
		}
		if j == len(in) {
			t.Fatalf("result point %d %v is not a point of the input in order", k, q)
		}
		idx[k] = j
		j++
	}
	if idx[len(idx)-1] != len(in)-1 && len(out) > 1 {
		t.Fatalf("last kept point is input %d, want %d", idx[len(idx)-1], len(in)-1)
	}
	worst := 0.0
	for k := 1; k < len(idx); k++ {
		a, b := in[idx[k-1]], in[idx[k]]
		for i := idx[k-1] + 1; i < idx[k]; i++ {
			d := trackCrossTrack(in[i], a, b)
			worst = math.Max(worst, d)
			if d > tol {
				t.Fatalf("input point %d is %.4f m from its segment [%d, %d], tolerance %.4f", i, d, idx[k-1], idx[k], tol)
			}
		}
	}
	return worst
}

func TestTrackSimplify(t *testing.T) {
	line := make(orb.LineString, 100)
	end := orb.Point{116.95, 40.53}
	for i := range line {
		f := float64(i) / float64(len(line)-1)
		line[i] = orb.Point{trackMiyun[0] + f*(end[0]-trackMiyun[0]), trackMiyun[1] + f*(end[1]-trackMiyun[1])}
	}
	zigzag := make(orb.LineString, 50)
	for i := range zigzag {
		zigzag[i] = trackOffset(trackMiyun, 20*float64(i), 2*float64(2*(i%2)-1))
	}
	zigzag[0] = trackMiyun
	zigzag[len(zigzag)-1] = trackOffset(trackMiyun, 20*float64(len(zigzag)-1), 0)
	// The same zig-zag heading north, so that the deviations are east-west
	// and a wrong longitude scale would show.
	zigzagNorth := make(orb.LineString, len(zigzag))
	for i := range zigzagNorth {
		zigzagNorth[i] = trackOffset(trackMiyun, 2*float64(2*(i%2)-1), 20*float64(i))
	}
	zigzagNorth[0] = trackMiyun
	zigzagNorth[len(zigzagNorth)-1] = trackOffset(trackMiyun, 0, 20*float64(len(zigzagNorth)-1))
	// A 100 m square loop with 9 points along each side, closed.
	var loop orb.LineString
	corners := [][2]float64{{0, 0}, {100, 0}, {100, 100}, {0, 100}, {0, 0}}
	for s := 0; s < 4; s++ {
		for k := 0; k < 10; k++ {
			f := float64(k) / 10
			e := corners[s][0] + f*(corners[s+1][0]-corners[s][0])
			n := corners[s][1] + f*(corners[s+1][1]-corners[s][1])
			loop = append(loop, trackOffset(trackMiyun, e, n))
		}
	}
	loop = append(loop, loop[0])

	cases := []struct {
		name    string
		in      orb.LineString
		tol     float64
		wantLen int // -1: do not check
	}{
		{"nil", nil, 5, 0},
		{"one point", orb.LineString{trackMiyun}, 5, 1},
		{"two points", orb.LineString{trackMiyun, end}, 5, 2},
		{"straight line collapses", line, 1, 2},
		{"zig-zag within tolerance collapses", zigzag, 2.5, 2},
		{"zig-zag above tolerance is kept", zigzag, 1.5, len(zigzag)},
		{"north zig-zag within tolerance collapses", zigzagNorth, 2.1, 2},
		{"north zig-zag above tolerance is kept", zigzagNorth, 1.9, len(zigzagNorth)},
		{"tolerance 0 keeps a zig-zag", zigzag, 0, len(zigzag)},
		{"negative tolerance acts as 0", zigzag, -1, len(zigzag)},
		{"closed loop keeps its corners", loop, 1, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := slices.Clone(c.in)
			got := Simplify(c.in, c.tol)
			if c.wantLen >= 0 && len(got) != c.wantLen {
				t.Errorf("Simplify kept %d points, want %d", len(got), c.wantLen)
			}
			trackCheckSimplified(t, c.in, got, math.Max(c.tol, 0)+1e-6)
			if !slices.Equal(c.in, in) {
				t.Errorf("Simplify modified its input")
			}
			if len(got) > 0 && len(c.in) > 0 && &got[0] == &c.in[0] {
				t.Errorf("Simplify result aliases its input")
			}
		})
	}
	if got := Simplify(loop, 1); !slices.Equal(got, orb.LineString{loop[0], loop[10], loop[20], loop[30], loop[40]}) {
		t.Errorf("Simplify(loop) = %v, want the corners", got)
	}
}

// TestTrackSimplifyProperty checks on seeded random walks that every input
// point lies within the tolerance of the simplified line, measured in metres
// on the sphere.
func TestTrackSimplifyProperty(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		ls := trackRandomWalk(seed, 2000)
		for _, tol := range []float64{0, 0.5, 2, 5, 20, 100} {
			got := Simplify(ls, tol)
			// The projection differs from the sphere by far less than this.
			eps := 1e-4*tol + 1e-6
			worst := trackCheckSimplified(t, ls, got, tol+eps)
			if tol >= 5 && len(got) >= len(ls)/2 {
				t.Errorf("seed %d tolerance %g: kept %d of %d points", seed, tol, len(got), len(ls))
			}
			if tol == 0 && len(got) != len(ls) {
				t.Errorf("seed %d tolerance 0: kept %d of %d points", seed, len(got), len(ls))
			}
			t.Logf("seed %d tolerance %g m: kept %d of %d, worst %.4f m", seed, tol, len(got), len(ls), worst)
		}
	}
}

// trackBenchTrack returns a 10,000-point patrol with fixes every 5 s, a few
// duplicates and spikes, shuffled a little.
func trackBenchTrack() Track {
	ls := trackRandomWalk(42, 10000)
	t := make(Track, len(ls))
	for i, p := range ls {
		t[i] = trackAt(p, 5*i)
	}
	for i := 100; i < len(t); i += 500 {
		t[i].Point = trackOffset(t[i].Point, 5000, 0)
		t[i+1].Time = t[i].Time
		t[i+2], t[i+3] = t[i+3], t[i+2]
	}
	return t
}

func BenchmarkClean(b *testing.B) {
	t := trackBenchTrack()
	b.ReportAllocs()
	for b.Loop() {
		Clean(t, CleanOptions{})
	}
}

func BenchmarkSimplify(b *testing.B) {
	ls := trackBenchTrack().LineString()
	b.ReportAllocs()
	for b.Loop() {
		Simplify(ls, 5)
	}
}

func TestCovered(t *testing.T) {
	// Four unit-ish cells in a row, 0.01° wide, ids a..d, west to east.
	var feats []string
	for i, id := range []string{"a", "b", "c", "d"} {
		x0, x1 := 116.90+0.01*float64(i), 116.91+0.01*float64(i)
		feats = append(feats, zoneFeat(`{"id":"`+id+`"}`,
			fmt.Sprintf(`[[[%g,40.5],[%g,40.5],[%g,40.51],[%g,40.51],[%g,40.5]]]`, x0, x1, x1, x0, x0)))
	}
	z, err := ParseLayer(LayerGrid, zoneFC(feats...))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ls   orb.LineString
		step float64
		want []int
	}{
		{"empty", nil, 0, []int{}},
		{"one point", orb.LineString{{116.915, 40.505}}, 0, []int{1}},
		{"outside", orb.LineString{{116.0, 40.0}, {116.1, 40.1}}, 0, []int{}},
		{"across three cells", orb.LineString{{116.905, 40.505}, {116.925, 40.505}}, 0, []int{0, 1, 2}},
		{"out and back again, no repeats", orb.LineString{{116.935, 40.505}, {116.905, 40.505}, {116.935, 40.505}}, 0, []int{0, 1, 2, 3}},
		{"vertices in a and c only", orb.LineString{{116.909, 40.505}, {116.921, 40.505}}, 0, []int{0, 1, 2}},
		{"coarse step skips a thin crossing", orb.LineString{{116.909, 40.505}, {116.921, 40.505}}, 5000, []int{0, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Covered(tc.ls, z, tc.step)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Covered = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCoveredShippedGrid(t *testing.T) {
	grid := zoneLoad(t, LayerGrid)
	// Every vertex of a track along the shore lies in some cell it reports,
	// and the cells reported are each hit by a dense resampling.
	rng := rand.New(rand.NewPCG(4, 4))
	for n := 0; n < 50; n++ {
		_, g := grid.Feature(rng.IntN(grid.Len()))
		c := g.Bound().Center()
		ls := orb.LineString{c}
		for k := 0; k < 20; k++ {
			ls = append(ls, trackOffset(ls[len(ls)-1], rng.NormFloat64()*300, rng.NormFloat64()*300))
		}
		got := Covered(ls, grid, 0)
		for _, p := range ls {
			if i := grid.locate(p); i >= 0 && !slices.Contains(got, i) {
				t.Fatalf("vertex %v in cell %d not reported in %v", p, i, got)
			}
		}
		fine := Covered(ls, grid, 1)
		for _, i := range got {
			if !slices.Contains(fine, i) {
				t.Fatalf("cell %d reported at 10 m but not at 1 m", i)
			}
		}
	}
}
