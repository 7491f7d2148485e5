package api

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"
)

// WriteLimits bound the rate of writes (POST, PUT, PATCH, DELETE) per
// signed-in user and per client address, each a token bucket of Burst
// requests refilled at PerSecond; a PerSecond of 0 is no limit.
type WriteLimits struct {
	UserPerSecond   float64
	UserBurst       int
	ClientPerSecond float64
	ClientBurst     int
}

// maxBuckets bounds the buckets kept per kind; past it they start afresh
// (full), which only ever lets more through.
const maxBuckets = 50_000

// buckets are token buckets by key.
type buckets struct {
	mu    sync.Mutex
	limit rate.Limit
	burst int
	m     map[string]*rate.Limiter
}

func newBuckets(perSecond float64, burst int) *buckets {
	if perSecond <= 0 {
		return nil
	}
	return &buckets{limit: rate.Limit(perSecond), burst: max(burst, 1), m: map[string]*rate.Limiter{}}
}

// take takes a token for key at now; when there is none it says how long
// until there is.
func (b *buckets) take(key string, now time.Time) (time.Duration, bool) {
	if b == nil {
		return 0, true
	}
	b.mu.Lock()
	l := b.m[key]
	if l == nil {
		if len(b.m) >= maxBuckets {
			b.m = map[string]*rate.Limiter{}
		}
		l = rate.NewLimiter(b.limit, b.burst)
		b.m[key] = l
	}
	b.mu.Unlock()
	r := l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

// limitWrites refuses a write past the caller's or the address's rate with
// 429 /problems/rate-limited and Retry-After; reads are never limited.
func (s *server) limitWrites(c *gin.Context) {
	switch c.Request.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		c.Next()
		return
	}
	now := s.Now()
	wait, ok := s.userWrites.take(principal(c).Username, now)
	if ok {
		wait, ok = s.clientWrites.take(c.RemoteIP(), now)
	}
	if !ok {
		secs := int64(math.Ceil(wait.Seconds()))
		c.Header("Retry-After", strconv.FormatInt(secs, 10))
		abort(c, pRateLimited, fmt.Sprintf("too many writes; try again in %d s", secs))
		return
	}
	c.Next()
}
