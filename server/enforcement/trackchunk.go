package enforcement

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/baoshui/baoshui/geo"
	"github.com/paulmach/orb"
)

// Limits of a track chunk.
const (
	// MaxChunkPoints is the most fixes one chunk may carry: at one fix per
	// 5 s, 2,000 fixes are 2 h 46 min of patrol.
	MaxChunkPoints = 2000
	// MaxChunkSeq bounds chunk numbers (a year of 5-minute chunks fits).
	MaxChunkSeq = 1_000_000
	// maxFixMs is 2100-01-01T00:00:00Z: later fix times are refused.
	maxFixMs = 4102444800000
)

// TrackChunk is a piece of a patrol's track pushed on its own, after the
// patrol record, and stored once under (PatrolID, Seq). Fixes are WGS-84.
type TrackChunk struct {
	PatrolID string
	Seq      int
	Fixes    []geo.Fix
	// BodySHA256 identifies the chunk's content, to tell a repeated
	// upload (the same chunk) from a conflicting one.
	BodySHA256 string
	ReceivedAt time.Time
	By         string
}

// DecodeTrackChunk parses the JSON body of a track chunk upload,
// {"points": [[lon, lat, unix_ms], …], "crs": "wgs84|gcj02|bd09"}, converts
// the points to WGS-84 and checks them. The error wraps ErrInvalid with a
// *ValidationError naming every bad point (at most 20).
func DecodeTrackChunk(body []byte) ([]geo.Fix, error) {
	var in struct {
		Points [][]float64 `json:"points"`
		CRS    string      `json:"crs"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	verr := &ValidationError{}
	if err := dec.Decode(&in); err != nil {
		verr.add("body", "want {\"points\": [[lon, lat, unix_ms], …], \"crs\": \"wgs84\"}: %v", err)
		return nil, fmt.Errorf("%w: %w", ErrInvalid, verr)
	}
	crs, err := geo.ParseCRS(in.CRS)
	if err != nil {
		verr.add("crs", "want wgs84, gcj02 or bd09")
	}
	switch {
	case len(in.Points) == 0:
		verr.add("points", "at least one point")
	case len(in.Points) > MaxChunkPoints:
		verr.add("points", "at most %d points per chunk", MaxChunkPoints)
	}
	if len(verr.Fields) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, verr)
	}
	fixes := make([]geo.Fix, 0, len(in.Points))
	var last float64
	for i, p := range in.Points {
		if len(verr.Fields) >= 20 {
			break
		}
		field := fmt.Sprintf("points[%d]", i)
		if len(p) != 3 {
			verr.add(field, "want [lon, lat, unix_ms]")
			continue
		}
		ms := p[2]
		if math.IsNaN(ms) || ms < 0 || ms > maxFixMs || ms != math.Trunc(ms) {
			verr.add(field, "the time must be whole unix milliseconds between 1970 and 2100")
			continue
		}
		if ms < last {
			verr.add(field, "times must not go back")
			continue
		}
		last = ms
		pt, err := geo.ToWGS84(orb.Point{p[0], p[1]}, crs)
		if err != nil {
			verr.add(field, "%v", err)
			continue
		}
		fixes = append(fixes, geo.Fix{Point: pt, Time: time.UnixMilli(int64(ms)).UTC()})
	}
	if len(verr.Fields) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, verr)
	}
	return fixes, nil
}

// FixesSHA256 is the content hash of fixes: two uploads of one chunk are
// the same when their fixes are.
func FixesSHA256(fixes []geo.Fix) string {
	h := sha256.New()
	var b [24]byte
	for _, f := range fixes {
		binary.BigEndian.PutUint64(b[0:], math.Float64bits(f.Point[0]))
		binary.BigEndian.PutUint64(b[8:], math.Float64bits(f.Point[1]))
		binary.BigEndian.PutUint64(b[16:], uint64(f.Time.UnixMilli()))
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}
