package geo

import (
	"errors"
	"math"
	"math/rand"
	"testing"

	"github.com/paulmach/orb"
)

// roundTripTol is the agreement, in degrees, every inverse must reach.
const roundTripTol = 1e-9

// maxDiff returns the larger of the longitude and latitude differences.
func maxDiff(a, b orb.Point) float64 {
	return math.Max(math.Abs(a[0]-b[0]), math.Abs(a[1]-b[1]))
}

// sameBits reports whether a and b are bit-for-bit identical (NaN included).
func sameBits(a, b orb.Point) bool {
	return math.Float64bits(a[0]) == math.Float64bits(b[0]) && math.Float64bits(a[1]) == math.Float64bits(b[1])
}

func TestForwardVectors(t *testing.T) {
	cases := []struct {
		name string
		f    func(orb.Point) orb.Point
		in   orb.Point
		want orb.Point
		tol  float64
	}{
		{
			// The test vector of the eviltransform reference implementation.
			name: "wgs84 to gcj02, eviltransform vector",
			f:    WGS84ToGCJ02,
			in:   orb.Point{116.377817, 39.911954},
			want: orb.Point{116.38404722455657, 39.91334545536069},
			tol:  1e-9,
		},
		{
			// bd_encrypt(39.915, 116.404); coordtransform's README publishes
			// [116.41036949371029, 39.92133699351022].
			name: "gcj02 to bd09, bd_encrypt vector",
			f:    GCJ02ToBD09,
			in:   orb.Point{116.404, 39.915},
			want: orb.Point{116.41036949371029, 39.92133699351022},
			tol:  1e-9,
		},
		{
			// Beijing railway station, given to five decimals.
			name: "gcj02 to bd09, Beijing railway station",
			f:    GCJ02ToBD09,
			in:   orb.Point{116.42703, 39.90245},
			want: orb.Point{116.43351, 39.90851},
			tol:  1e-5,
		},
		{
			name: "gcj02 to wgs84 inverts the eviltransform vector",
			f:    GCJ02ToWGS84,
			in:   orb.Point{116.38404722455657, 39.91334545536069},
			want: orb.Point{116.377817, 39.911954},
			tol:  1e-9,
		},
		{
			name: "bd09 to gcj02 inverts the bd_encrypt vector",
			f:    BD09ToGCJ02,
			in:   orb.Point{116.41036949371029, 39.92133699351022},
			want: orb.Point{116.404, 39.915},
			tol:  1e-9,
		},
		{
			name: "wgs84 to bd09 composes the two",
			f:    WGS84ToBD09,
			in:   orb.Point{116.377817, 39.911954},
			want: GCJ02ToBD09(orb.Point{116.38404722455657, 39.91334545536069}),
			tol:  1e-9,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.f(tc.in)
			if d := maxDiff(got, tc.want); !(d <= tc.tol) {
				t.Errorf("got %.15f, want %.15f (off by %g, tolerance %g)", got, tc.want, d, tc.tol)
			}
		})
	}
}

func TestOutsideChinaUnchanged(t *testing.T) {
	cases := []struct {
		name string
		p    orb.Point
	}{
		{"London", orb.Point{-0.1276, 51.5072}},
		{"New York", orb.Point{-74.006, 40.7128}},
		{"Tokyo", orb.Point{139.6917, 35.6895}},
		{"Singapore, south of the box", orb.Point{103.8198, 0.5}},
		{"Moscow", orb.Point{37.6173, 55.7558}},
		{"north of the box", orb.Point{116.4, 56.5}},
		{"west of the box", orb.Point{71.5, 40}},
		{"origin", orb.Point{0, 0}},
		{"south pole", orb.Point{0, -90}},
		{"north pole", orb.Point{180, 90}},
		{"antimeridian", orb.Point{-180, 10}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := WGS84ToGCJ02(tc.p); got != tc.p {
				t.Errorf("WGS84ToGCJ02(%v) = %v, want it unchanged", tc.p, got)
			}
			if got := GCJ02ToWGS84(tc.p); got != tc.p {
				t.Errorf("GCJ02ToWGS84(%v) = %v, want it unchanged", tc.p, got)
			}
			// BD-09 offsets everywhere, but its chain must still round-trip.
			if got := BD09ToWGS84(WGS84ToBD09(tc.p)); !(maxDiff(got, tc.p) < roundTripTol) {
				t.Errorf("BD09ToWGS84(WGS84ToBD09(%v)) = %v", tc.p, got)
			}
		})
	}
}

func TestInsideChinaOffset(t *testing.T) {
	// Inside the box the offset is real: hundreds of metres, not zero.
	p := orb.Point{116.95, 40.52} // Miyun reservoir
	g := WGS84ToGCJ02(p)
	if d := maxDiff(g, p); d < 1e-4 || d > 0.02 {
		t.Errorf("GCJ-02 offset at %v is %g degrees, want between 1e-4 and 0.02", p, d)
	}
}

// randomPoints returns n pseudo-random points, reproducibly, in the box.
func randomPoints(seed int64, n int, minLon, maxLon, minLat, maxLat float64) []orb.Point {
	r := rand.New(rand.NewSource(seed))
	pts := make([]orb.Point, n)
	for i := range pts {
		pts[i] = orb.Point{
			minLon + r.Float64()*(maxLon-minLon),
			minLat + r.Float64()*(maxLat-minLat),
		}
	}
	return pts
}

func TestRoundTrip(t *testing.T) {
	areas := []struct {
		name                           string
		minLon, maxLon, minLat, maxLat float64
		n                              int
	}{
		{"Miyun", 116.7, 117.2, 40.3, 40.7, 20000},
		{"China box", chinaMinLon, chinaMaxLon, chinaMinLat, chinaMaxLat, 50000},
		{"near the box edge", chinaMinLon, chinaMinLon + 0.05, chinaMinLat, chinaMaxLat, 5000},
		{"whole earth", -180, 180, -90, 90, 20000},
	}
	chains := []struct {
		name    string
		forward func(orb.Point) orb.Point
		inverse func(orb.Point) orb.Point
		// boxed chains round-trip only inside the China box.
		boxed bool
	}{
		{"gcj02", WGS84ToGCJ02, GCJ02ToWGS84, true},
		{"bd09 from gcj02", GCJ02ToBD09, BD09ToGCJ02, false},
		{"bd09 from wgs84", WGS84ToBD09, BD09ToWGS84, true},
	}
	for i, area := range areas {
		pts := randomPoints(int64(1000+i), area.n, area.minLon, area.maxLon, area.minLat, area.maxLat)
		for _, c := range chains {
			t.Run(area.name+"/"+c.name, func(t *testing.T) {
				worst, failed := 0.0, 0
				for _, p := range pts {
					if c.boxed && !inChina(p) && nearChina(p, gcjMargin) {
						continue // the documented strip around the box edge
					}
					got := c.inverse(c.forward(p))
					d := maxDiff(got, p)
					worst = math.Max(worst, d)
					if !(d < roundTripTol) {
						failed++
						if failed <= 5 {
							t.Errorf("inverse(forward(%.12f)) = %.12f, off by %g", p, got, d)
						}
					}
				}
				if failed > 0 {
					t.Errorf("%d of %d points failed to round-trip", failed, len(pts))
				}
				t.Logf("worst round-trip error %g degrees", worst)
			})
		}
	}
}

func TestInverseIsExact(t *testing.T) {
	// Starting from GCJ-02 / BD-09 input, the forward transform of the
	// result must reproduce the input (what a caller converting map clicks
	// relies on).
	pts := randomPoints(7, 5000, 100, 130, 20, 50)
	for _, g := range pts {
		if d := maxDiff(WGS84ToGCJ02(GCJ02ToWGS84(g)), g); !(d < roundTripTol) {
			t.Fatalf("WGS84ToGCJ02(GCJ02ToWGS84(%v)) off by %g", g, d)
		}
		if d := maxDiff(GCJ02ToBD09(BD09ToGCJ02(g)), g); !(d < roundTripTol) {
			t.Fatalf("GCJ02ToBD09(BD09ToGCJ02(%v)) off by %g", g, d)
		}
	}
}

func TestNonFiniteTerminates(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, p := range []orb.Point{{nan, 40}, {116, nan}, {inf, 40}, {116, -inf}, {inf, inf}, {1e300, 1e300}} {
		// Must return (no panic, no endless loop); the value is unspecified.
		_ = GCJ02ToWGS84(p)
		_ = BD09ToWGS84(p)
		_ = WGS84ToBD09(p)
	}
}

func TestParseCRS(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    CRS
		wantErr bool
	}{
		{"empty is wgs84", "", WGS84, false},
		{"wgs84", "wgs84", WGS84, false},
		{"upper case", "WGS84", WGS84, false},
		{"hyphenated", "WGS-84", WGS84, false},
		{"gcj02", "gcj02", GCJ02, false},
		{"mixed case gcj02", "GcJ02", GCJ02, false},
		{"hyphenated gcj02", "gcj-02", GCJ02, false},
		{"bd09", "bd09", BD09, false},
		{"spaces trimmed", " BD09 ", BD09, false},
		{"unknown", "epsg:3857", "", true},
		{"misspelt", "gcj2", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCRS(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrUnknownCRS) {
					t.Fatalf("ParseCRS(%q) error = %v, want one wrapping ErrUnknownCRS", tc.in, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseCRS(%q) = %q, %v; want %q, nil", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestToWGS84(t *testing.T) {
	wgs := orb.Point{116.377817, 39.911954}
	gcj := orb.Point{116.38404722455657, 39.91334545536069}
	bd := GCJ02ToBD09(gcj)
	cases := []struct {
		name    string
		p       orb.Point
		from    CRS
		want    orb.Point
		wantErr error
	}{
		{"wgs84 unchanged", wgs, WGS84, wgs, nil},
		{"from gcj02", gcj, GCJ02, wgs, nil},
		{"from bd09", bd, BD09, wgs, nil},
		{"zero crs refused", wgs, "", orb.Point{}, ErrUnknownCRS},
		{"unknown crs", wgs, "utm50n", orb.Point{}, ErrUnknownCRS},
		{"invalid point", orb.Point{200, 40}, GCJ02, orb.Point{}, ErrInvalidCoordinate},
		{"NaN point", orb.Point{math.NaN(), 40}, WGS84, orb.Point{}, ErrInvalidCoordinate},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ToWGS84(tc.p, tc.from)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("ToWGS84(%v, %q) error = %v, want one wrapping %v", tc.p, tc.from, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ToWGS84(%v, %q): %v", tc.p, tc.from, err)
			}
			if d := maxDiff(got, tc.want); !(d < roundTripTol) {
				t.Errorf("ToWGS84(%v, %q) = %.12f, want %.12f", tc.p, tc.from, got, tc.want)
			}
		})
	}
}

func TestValidLonLat(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	cases := []struct {
		name  string
		p     orb.Point
		valid bool
	}{
		{"Miyun", orb.Point{116.95, 40.52}, true},
		{"origin", orb.Point{0, 0}, true},
		{"corners", orb.Point{-180, -90}, true},
		{"other corner", orb.Point{180, 90}, true},
		{"NaN longitude", orb.Point{nan, 40}, false},
		{"NaN latitude", orb.Point{116, nan}, false},
		{"+Inf longitude", orb.Point{inf, 40}, false},
		{"-Inf longitude", orb.Point{-inf, 40}, false},
		{"+Inf latitude", orb.Point{116, inf}, false},
		{"-Inf latitude", orb.Point{116, -inf}, false},
		{"longitude above 180", orb.Point{180.000001, 40}, false},
		{"longitude below -180", orb.Point{-181, 40}, false},
		{"latitude above 90", orb.Point{116, 90.5}, false},
		{"latitude below -90", orb.Point{116, -91}, false},
		{"swapped lat/lon", orb.Point{40.52, 116.95}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidLonLat(tc.p)
			if tc.valid && err != nil {
				t.Fatalf("ValidLonLat(%v) = %v, want nil", tc.p, err)
			}
			if !tc.valid && !errors.Is(err, ErrInvalidCoordinate) {
				t.Fatalf("ValidLonLat(%v) = %v, want an error wrapping ErrInvalidCoordinate", tc.p, err)
			}
		})
	}
}

func FuzzRoundTrip(f *testing.F) {
	f.Add(116.377817, 39.911954)
	f.Add(116.95, 40.52)
	f.Add(chinaMinLon, chinaMinLat)
	f.Add(chinaMaxLon, chinaMaxLat)
	f.Add(72.0045, 30.0)
	f.Add(-0.1276, 51.5072)
	f.Add(math.NaN(), math.Inf(1))
	f.Add(180.0, 90.0)
	f.Fuzz(func(t *testing.T, lon, lat float64) {
		// Arbitrary floats rarely land in China, so also fold them into
		// the box and check the round trip there.
		if q, ok := foldIntoBox(lon, lat); ok {
			if d := maxDiff(GCJ02ToWGS84(WGS84ToGCJ02(q)), q); !(d < roundTripTol) {
				t.Fatalf("gcj02 round trip of %v off by %g", q, d)
			}
			if d := maxDiff(BD09ToWGS84(WGS84ToBD09(q)), q); !(d < roundTripTol) {
				t.Fatalf("bd09 round trip of %v off by %g", q, d)
			}
		}

		p := orb.Point{lon, lat}
		g := WGS84ToGCJ02(p)
		w := GCJ02ToWGS84(g)
		bd := WGS84ToBD09(p)
		wb := BD09ToWGS84(bd)
		_, _ = ToWGS84(p, GCJ02)
		_, _ = ToWGS84(p, BD09)
		_ = ValidLonLat(p)
		if !inChina(p) {
			if !sameBits(g, p) {
				t.Fatalf("WGS84ToGCJ02(%v) = %v, want it unchanged outside the box", p, g)
			}
			return
		}
		if d := maxDiff(w, p); !(d < roundTripTol) {
			t.Fatalf("GCJ02ToWGS84(WGS84ToGCJ02(%v)) = %v, off by %g", p, w, d)
		}
		if d := maxDiff(wb, p); !(d < roundTripTol) {
			t.Fatalf("BD09ToWGS84(WGS84ToBD09(%v)) = %v, off by %g", p, wb, d)
		}
	})
}

// foldIntoBox maps finite lon, lat onto a point of the China box by their
// fractional parts; ok is false for non-finite input.
func foldIntoBox(lon, lat float64) (orb.Point, bool) {
	fx, fy := math.Abs(math.Mod(lon, 1)), math.Abs(math.Mod(lat, 1))
	if math.IsNaN(fx) || math.IsNaN(fy) {
		return orb.Point{}, false
	}
	return orb.Point{
		chinaMinLon + fx*(chinaMaxLon-chinaMinLon),
		chinaMinLat + fy*(chinaMaxLat-chinaMinLat),
	}, true
}

var sink orb.Point

func BenchmarkGCJ02ToWGS84(b *testing.B) {
	pts := randomPoints(42, 1024, 116.7, 117.2, 40.3, 40.7)
	for i := range pts {
		pts[i] = WGS84ToGCJ02(pts[i])
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		sink = GCJ02ToWGS84(pts[i%len(pts)])
		i++
	}
}

func BenchmarkWGS84ToGCJ02(b *testing.B) {
	pts := randomPoints(42, 1024, 116.7, 117.2, 40.3, 40.7)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		sink = WGS84ToGCJ02(pts[i%len(pts)])
		i++
	}
}
