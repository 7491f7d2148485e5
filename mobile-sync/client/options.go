package client

import (
	"math/rand/v2"
	"net/http"
	"time"

	mobilesync "github.com/baoshui/baoshui/mobile-sync"
)

// Options configure a Client. Every field may be left zero.
type Options struct {
	// Server is the base URL of the Baoshui server, such as
	// "https://baoshui.example.cn". It is kept in the outbox, so a later
	// Open may leave it empty; a non-empty value replaces the kept one.
	Server string
	// DeviceID names this phone to the server. Left empty, the id kept in
	// the outbox is used, or one is generated ("fs-" and a ULID) and kept
	// on first Open. Open refuses an id that differs from the kept one:
	// the outbox's seqs belong to that device.
	DeviceID string
	// HTTPClient sends the requests; default a client with a two-minute
	// timeout per request.
	HTTPClient *http.Client
	// Now is the clock, for record ids, capture times and device_time;
	// default time.Now.
	Now func() time.Time
	// Backoff governs retries of network failures and 5xx answers.
	Backoff Backoff
	// BlobDir is where attached photos are copied until uploaded; default
	// the outbox path with ".blobs" appended.
	BlobDir string
	// PullLimit is the page size of a pull (1 to 1000); default 200.
	PullLimit int
}

// Backoff governs retries: a request that fails on the network or with a
// 5xx (or 429) answer is tried again after Initial, then twice as long each
// time up to Max, each wait drawn uniformly from its upper half (jitter), at
// most Attempts times in all. A Retry-After header is honoured up to Max.
// Retries stop early when the context is done.
type Backoff struct {
	Initial  time.Duration // default 500ms
	Max      time.Duration // default 30s
	Attempts int           // default 5; 1 means no retry
}

func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = 500 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 30 * time.Second
	}
	if b.Max < b.Initial {
		b.Max = b.Initial
	}
	if b.Attempts <= 0 {
		b.Attempts = 5
	}
	return b
}

// wait returns how long to wait before try number attempt+1 (attempt ≥ 1),
// given a server's Retry-After (0 = none).
func (b Backoff) wait(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, b.Max)
	}
	d := b.Initial
	for i := 1; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	// Jitter spreads the retries of many phones that lost the network at
	// the same moment.
	half := d / 2
	return half + rand.N(half+1)
}

// defaultLimits are PROTOCOL.md's limits, used until the server says
// otherwise and for any field it leaves out.
var defaultLimits = mobilesync.Limits{
	SchemaVersion:       mobilesync.SchemaVersion,
	MaxMutations:        mobilesync.MaxMutations,
	MaxPushBytes:        16 << 20,
	MaxBlobBytes:        32 << 20,
	BlobPartBytes:       1 << 20,
	MaxTrackChunkPoints: 2000,
	TombstoneRetentionS: 90 * 24 * 3600,
	ClockToleranceS:     int64(mobilesync.ClockTolerance / time.Second),
}

// completeLimits fills the fields l leaves zero from the defaults.
func completeLimits(l mobilesync.Limits) mobilesync.Limits {
	d := defaultLimits
	orDefault(&l.SchemaVersion, d.SchemaVersion)
	orDefault(&l.MaxMutations, d.MaxMutations)
	orDefault(&l.MaxPushBytes, d.MaxPushBytes)
	orDefault(&l.MaxBlobBytes, d.MaxBlobBytes)
	orDefault(&l.BlobPartBytes, d.BlobPartBytes)
	orDefault(&l.MaxTrackChunkPoints, d.MaxTrackChunkPoints)
	orDefault(&l.TombstoneRetentionS, d.TombstoneRetentionS)
	orDefault(&l.ClockToleranceS, d.ClockToleranceS)
	return l
}

// orDefault replaces a value the server did not give (zero or less) by def.
func orDefault[T int | int64](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}
