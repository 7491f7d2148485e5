// Package geo is the pure geometry of Baoshui, built on github.com/paulmach/orb.
//
// It imports only the standard library and orb. Every orb.Point in this
// package is [longitude, latitude] in decimal degrees, as in GeoJSON.
//
// This file holds the coordinate reference systems met in China: WGS-84 (what
// GPS receivers report and what Baoshui stores), GCJ-02 (the obfuscated datum
// that Chinese map providers such as AMap and Tencent display) and BD-09
// (Baidu's further offset of GCJ-02).
package geo

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/paulmach/orb"
)

// CRS names a geographic coordinate reference system by its lower-case name.
// The zero value is not a valid CRS; ParseCRS maps the empty string to WGS84.
type CRS string

// The coordinate reference systems Baoshui accepts on input.
const (
	// WGS84 is the World Geodetic System 1984, the datum of GPS and of
	// GeoJSON (RFC 7946). Baoshui stores every location in WGS84.
	WGS84 CRS = "wgs84"
	// GCJ02 is the Chinese "Mars coordinate" datum used by AMap, Tencent
	// and other Chinese map providers.
	GCJ02 CRS = "gcj02"
	// BD09 is Baidu's offset of GCJ02.
	BD09 CRS = "bd09"
)

// ErrUnknownCRS is wrapped by the errors ParseCRS and ToWGS84 return for a
// coordinate reference system this package does not know.
var ErrUnknownCRS = errors.New("unknown coordinate reference system")

// ErrInvalidCoordinate is wrapped by the errors ValidLonLat (and so ToWGS84)
// returns for a point that is not a finite longitude/latitude in range.
var ErrInvalidCoordinate = errors.New("invalid coordinate")

// ParseCRS returns the CRS named by s. Matching ignores case and surrounding
// white space, and accepts the hyphenated spellings "wgs-84", "gcj-02" and
// "bd-09". The empty string means WGS84, the default of GeoJSON. Any other
// name yields an error that wraps ErrUnknownCRS.
func ParseCRS(s string) (CRS, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "wgs84", "wgs-84":
		return WGS84, nil
	case "gcj02", "gcj-02":
		return GCJ02, nil
	case "bd09", "bd-09":
		return BD09, nil
	}
	return "", fmt.Errorf("geo.ParseCRS: %w %q (want %s, %s or %s)", ErrUnknownCRS, s, WGS84, GCJ02, BD09)
}

// ValidLonLat reports whether p is a usable WGS-84-style position: both
// coordinates finite, the longitude p[0] within [-180, 180] and the latitude
// p[1] within [-90, 90]. It returns nil for a valid point and otherwise an
// error that names the offending coordinate and wraps ErrInvalidCoordinate.
func ValidLonLat(p orb.Point) error {
	lon, lat := p[0], p[1]
	switch {
	case math.IsNaN(lon) || math.IsInf(lon, 0):
		return fmt.Errorf("geo.ValidLonLat: %w: longitude %v is not a finite number", ErrInvalidCoordinate, lon)
	case math.IsNaN(lat) || math.IsInf(lat, 0):
		return fmt.Errorf("geo.ValidLonLat: %w: latitude %v is not a finite number", ErrInvalidCoordinate, lat)
	case lon < -180 || lon > 180:
		return fmt.Errorf("geo.ValidLonLat: %w: longitude %v is outside [-180, 180]", ErrInvalidCoordinate, lon)
	case lat < -90 || lat > 90:
		return fmt.Errorf("geo.ValidLonLat: %w: latitude %v is outside [-90, 90]", ErrInvalidCoordinate, lat)
	}
	return nil
}

// ToWGS84 converts p, given in the coordinate reference system from, to
// WGS-84. It first checks p with ValidLonLat and returns that error for an
// invalid point; it returns an error wrapping ErrUnknownCRS when from is
// not WGS84, GCJ02 or BD09 (the zero CRS is not accepted: use ParseCRS to
// default an empty name). The result is not re-checked: a BD-09 point on the
// antimeridian may convert to a longitude a few thousandths of a degree
// beyond ±180.
func ToWGS84(p orb.Point, from CRS) (orb.Point, error) {
	if err := ValidLonLat(p); err != nil {
		return orb.Point{}, fmt.Errorf("geo.ToWGS84: %w", err)
	}
	switch from {
	case WGS84:
		return p, nil
	case GCJ02:
		return GCJ02ToWGS84(p), nil
	case BD09:
		return BD09ToWGS84(p), nil
	}
	return orb.Point{}, fmt.Errorf("geo.ToWGS84: %w %q", ErrUnknownCRS, string(from))
}

// The rough bounding box of China inside which GCJ-02 differs from WGS-84.
// It is the box every published implementation uses; it is not the border.
const (
	chinaMinLon = 72.004
	chinaMaxLon = 137.8347
	chinaMinLat = 0.8293
	chinaMaxLat = 55.8271
)

// inChina reports whether p lies inside the rough bounding box of China,
// edges included. A point with a NaN coordinate is not inside.
func inChina(p orb.Point) bool {
	return p[0] >= chinaMinLon && p[0] <= chinaMaxLon && p[1] >= chinaMinLat && p[1] <= chinaMaxLat
}

// nearChina reports whether p lies inside the China box widened by margin
// degrees on every side.
func nearChina(p orb.Point, margin float64) bool {
	return p[0] >= chinaMinLon-margin && p[0] <= chinaMaxLon+margin &&
		p[1] >= chinaMinLat-margin && p[1] <= chinaMaxLat+margin
}

// Parameters of the published GCJ-02 algorithm (Krasovsky 1940 ellipsoid).
const (
	krasovskyA  = 6378245.0
	krasovskyEE = 0.00669342162296594323
)

// gcjDelta returns the GCJ-02 offset (dLon, dLat), in degrees, at the WGS-84
// position (lon, lat), without any bounding-box test. It is the published
// "eviltransform" formula, kept in its published order of operations.
func gcjDelta(lon, lat float64) (dLon, dLat float64) {
	x, y := lon-105.0, lat-35.0
	xy := x * y
	absX := math.Sqrt(math.Abs(x))
	xPi := x * math.Pi
	yPi := y * math.Pi
	d := 20.0*math.Sin(6.0*xPi) + 20.0*math.Sin(2.0*xPi)

	dLat = d
	dLon = d
	dLat += 20.0*math.Sin(yPi) + 40.0*math.Sin(yPi/3.0)
	dLon += 20.0*math.Sin(xPi) + 40.0*math.Sin(xPi/3.0)
	dLat += 160.0*math.Sin(yPi/12.0) + 320*math.Sin(yPi/30.0)
	dLon += 150.0*math.Sin(xPi/12.0) + 300.0*math.Sin(xPi/30.0)
	dLat *= 2.0 / 3.0
	dLon *= 2.0 / 3.0
	dLat += -100.0 + 2.0*x + 3.0*y + 0.2*y*y + 0.1*xy + 0.2*absX
	dLon += 300.0 + x + 2.0*y + 0.1*x*x + 0.1*xy + 0.1*absX

	radLat := lat / 180.0 * math.Pi
	magic := math.Sin(radLat)
	magic = 1 - krasovskyEE*magic*magic
	sqrtMagic := math.Sqrt(magic)
	dLat = (dLat * 180.0) / ((krasovskyA * (1 - krasovskyEE)) / (magic * sqrtMagic) * math.Pi)
	dLon = (dLon * 180.0) / (krasovskyA / sqrtMagic * math.Cos(radLat) * math.Pi)
	return dLon, dLat
}

// gcjForward applies the GCJ-02 offset unconditionally.
func gcjForward(p orb.Point) orb.Point {
	dLon, dLat := gcjDelta(p[0], p[1])
	return orb.Point{p[0] + dLon, p[1] + dLat}
}

// WGS84ToGCJ02 converts a WGS-84 point to GCJ-02 with the published
// algorithm. A point outside China's rough bounding box (longitude
// 72.004–137.8347, latitude 0.8293–55.8271, edges included) is returned
// unchanged, as GCJ-02 equals WGS-84 there. A point with a NaN or infinite
// coordinate yields a meaningless result; check input with ValidLonLat.
func WGS84ToGCJ02(p orb.Point) orb.Point {
	if !inChina(p) {
		return p
	}
	return gcjForward(p)
}

// Iteration limits of the inverse transforms. Each step of the fixed-point
// iteration shrinks the error by a factor of about a hundred, so a handful
// of steps reach the tolerance; the limit only bounds pathological input.
const (
	inverseTol      = 1e-11 // degrees; about a micrometre
	inverseMaxSteps = 50
	// gcjMargin widens the China box when searching for a WGS-84 point
	// inside the box whose GCJ-02 image lies just outside it. The GCJ-02
	// offset is well under 0.1 degree everywhere in the box.
	gcjMargin = 0.1
	// edgeSnap is how far outside the box an iterated solution may land
	// and still count as inside: a few rounding errors of the iteration.
	edgeSnap = 1e-9
)

// invert solves forward(w) == target for w by the fixed-point iteration
// w ← w − (forward(w) − target), which converges because forward is the
// identity plus an offset that varies slowly. It starts from start and
// returns the best w found and the largest coordinate difference between
// forward(w) and target. It stops once that difference is below inverseTol,
// stops improving, or after inverseMaxSteps steps, so it always terminates.
func invert(target, start orb.Point, forward func(orb.Point) orb.Point) (orb.Point, float64) {
	w := start
	best, bestErr := w, math.Inf(1)
	for range inverseMaxSteps {
		f := forward(w)
		ex, ey := f[0]-target[0], f[1]-target[1]
		e := math.Max(math.Abs(ex), math.Abs(ey))
		if !(e < bestErr) { // not improving, or NaN
			break
		}
		best, bestErr = w, e
		if e < inverseTol {
			break
		}
		w = orb.Point{w[0] - ex, w[1] - ey}
	}
	return best, bestErr
}

// GCJ02ToWGS84 converts a GCJ-02 point to WGS-84. It inverts WGS84ToGCJ02
// by iteration rather than by the usual one-step approximation (which is
// off by up to a few metres): the result w satisfies
// WGS84ToGCJ02(w) == p to within 1e-9 degrees whenever such a w exists.
//
// So for every WGS-84 point q inside China's bounding box,
// GCJ02ToWGS84(WGS84ToGCJ02(q)) is q to within 1e-9 degrees, and a point
// far outside the box is returned unchanged. The box edge makes the forward
// transform neither one-to-one nor onto in a strip a few hundredths of a
// degree wide around the edge (it lies outside China's territory). There a
// point outside the box that is also the image of a point inside it converts
// to the inside point, and a point inside the box that is the image of no
// point converts as if the box had no edge. NaN or infinite input yields a
// meaningless result, never a panic or an endless loop.
func GCJ02ToWGS84(p orb.Point) orb.Point {
	if !nearChina(p, gcjMargin) {
		return p
	}
	// Solve with the unconditional formula, then see whether the solution
	// is a true preimage under the boxed WGS84ToGCJ02.
	w, _ := invert(p, p, gcjForward)
	if nearChina(w, edgeSnap) {
		// A solution on the box edge may land a rounding error outside it;
		// pull it back so that WGS84ToGCJ02 applies the offset to it.
		w[0] = min(max(w[0], chinaMinLon), chinaMaxLon)
		w[1] = min(max(w[1], chinaMinLat), chinaMaxLat)
		return w
	}
	if !inChina(p) {
		return p // p maps to itself; no preimage inside the box.
	}
	return w // p has no preimage at all; w is the smooth continuation.
}

// xPi is π·3000/180, the constant of Baidu's BD-09 offset.
const xPi = math.Pi * 3000.0 / 180.0

// GCJ02ToBD09 converts a GCJ-02 point to BD-09 with Baidu's published
// formula (bd_encrypt). Unlike GCJ-02, the BD-09 offset is applied
// everywhere, not only inside China's bounding box.
func GCJ02ToBD09(p orb.Point) orb.Point {
	x, y := p[0], p[1]
	z := math.Sqrt(x*x+y*y) + 0.00002*math.Sin(y*xPi)
	theta := math.Atan2(y, x) + 0.000003*math.Cos(x*xPi)
	return orb.Point{z*math.Cos(theta) + 0.0065, z*math.Sin(theta) + 0.006}
}

// BD09ToGCJ02 converts a BD-09 point to GCJ-02. It starts from Baidu's
// published approximate inverse (bd_decrypt) and refines it by iteration,
// so that GCJ02ToBD09 of the result equals p to within 1e-9 degrees;
// GCJ02ToBD09 is one-to-one, so BD09ToGCJ02(GCJ02ToBD09(q)) is q to within
// 1e-9 degrees. NaN or infinite input yields a meaningless result, never a
// panic or an endless loop.
func BD09ToGCJ02(p orb.Point) orb.Point {
	x, y := p[0]-0.0065, p[1]-0.006
	z := math.Sqrt(x*x+y*y) - 0.00002*math.Sin(y*xPi)
	theta := math.Atan2(y, x) - 0.000003*math.Cos(x*xPi)
	start := orb.Point{z * math.Cos(theta), z * math.Sin(theta)}
	g, _ := invert(p, start, GCJ02ToBD09)
	return g
}

// WGS84ToBD09 converts a WGS-84 point to BD-09: WGS84ToGCJ02, then
// GCJ02ToBD09. Outside China's bounding box only the BD-09 offset applies.
func WGS84ToBD09(p orb.Point) orb.Point {
	return GCJ02ToBD09(WGS84ToGCJ02(p))
}

// BD09ToWGS84 converts a BD-09 point to WGS-84: BD09ToGCJ02, then
// GCJ02ToWGS84, with the precision and edge behaviour of those two.
func BD09ToWGS84(p orb.Point) orb.Point {
	return GCJ02ToWGS84(BD09ToGCJ02(p))
}
