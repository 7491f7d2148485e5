package demo

import "math"

// shoreLonLat is a rough, hand-drawn outline of Miyun Reservoir (WGS-84,
// [lon, lat]), counter-clockwise from the main dam at the south-west corner.
// It is APPROXIMATE: good enough to put demo records on a plausible shore,
// never for legal or survey use. The Chao River arm reaches north-east
// (towards Gubeikou), the Bai River arm north-west.
var shoreLonLat = [][2]float64{
	{116.836, 40.482}, // 0: main dam — Xiwengzhuang
	{116.850, 40.472},
	{116.872, 40.465},
	{116.896, 40.461},
	{116.920, 40.462}, // 4: south shore — Mujiayu
	{116.944, 40.466},
	{116.968, 40.471},
	{116.992, 40.478},
	{117.015, 40.487},
	{117.036, 40.497},
	{117.054, 40.508},
	{117.066, 40.521},
	{117.071, 40.534}, // 12: east shore — Taishitun
	{117.067, 40.547},
	{117.061, 40.559},
	{117.068, 40.572}, // Chao River arm, east bank
	{117.077, 40.586},
	{117.085, 40.600},
	{117.089, 40.610}, // 18: head of the Chao River arm
	{117.080, 40.611},
	{117.071, 40.599}, // 20: Chao River arm, west bank — Gaoling
	{117.060, 40.586},
	{117.047, 40.575},
	{117.031, 40.567},
	{117.012, 40.569}, // north shore
	{116.992, 40.574},
	{116.972, 40.576}, // 26: north shore — Bulaotun
	{116.952, 40.573},
	{116.932, 40.567},
	{116.913, 40.569},
	{116.902, 40.581}, // Bai River arm, east bank
	{116.892, 40.595}, // 31: Bai River arm — Fengjiayu
	{116.880, 40.606},
	{116.871, 40.611}, // 33: head of the Bai River arm
	{116.861, 40.606},
	{116.863, 40.593}, // Bai River arm, west bank
	{116.866, 40.580},
	{116.860, 40.567},
	{116.848, 40.556},
	{116.836, 40.546}, // 39: west shore — Shicheng
	{116.826, 40.532},
	{116.821, 40.516},
	{116.823, 40.500},
	{116.828, 40.489},
}

// Local equirectangular projection around the reservoir: metres per degree
// at 40.53° N. Over 30 km the error is far below the roughness of the outline.
const (
	refLon       = 116.95
	refLat       = 40.53
	metresPerLat = 111045.0
	metresPerLon = 84745.0
)

func toXY(p [2]float64) (x, y float64) {
	return (p[0] - refLon) * metresPerLon, (p[1] - refLat) * metresPerLat
}

func toLonLat(x, y float64) [2]float64 {
	return [2]float64{round6(refLon + x/metresPerLon), round6(refLat + y/metresPerLat)}
}

func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// shoreline is the closed outline in local metres, walkable by arc length.
type shoreline struct {
	x, y      []float64
	cum       []float64 // cum[i] = arc length at vertex i; cum[n] = perimeter
	perimeter float64
	outward   float64 // +1 if the outward normal of edge (dx,dy) is (dy,-dx), else -1
}

func newShoreline(pts [][2]float64) *shoreline {
	s := &shoreline{}
	for _, p := range pts {
		x, y := toXY(p)
		s.x = append(s.x, x)
		s.y = append(s.y, y)
	}
	n := len(pts)
	s.cum = make([]float64, n+1)
	var area2 float64
	for i := 0; i < n; i++ {
		j := (i + 1) % n
		s.cum[i+1] = s.cum[i] + math.Hypot(s.x[j]-s.x[i], s.y[j]-s.y[i])
		area2 += s.x[i]*s.y[j] - s.x[j]*s.y[i]
	}
	s.perimeter = s.cum[n]
	s.outward = 1 // counter-clockwise: the interior lies left of each edge
	if area2 < 0 {
		s.outward = -1
	}
	return s
}

// vertexArc is the arc length of vertex i.
func (s *shoreline) vertexArc(i int) float64 { return s.cum[i] }

// at returns the point at arc length a (any real; taken modulo the
// perimeter) pushed off metres outward (negative: into the water), in
// local metres.
func (s *shoreline) at(a, off float64) (x, y float64) {
	a = math.Mod(a, s.perimeter)
	if a < 0 {
		a += s.perimeter
	}
	n := len(s.x)
	i := 0
	for i < n-1 && s.cum[i+1] <= a {
		i++
	}
	j := (i + 1) % n
	dx, dy := s.x[j]-s.x[i], s.y[j]-s.y[i]
	l := math.Hypot(dx, dy)
	f := (a - s.cum[i]) / l
	nx, ny := s.outward*dy/l, -s.outward*dx/l
	return s.x[i] + f*dx + off*nx, s.y[i] + f*dy + off*ny
}
