package httpapi

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limits are the rate limits of SPEC §16.2 that this package enforces, each
// already multiplied by GREETER_RATE_LIMIT_SCALE.
type limits struct {
	failedAuth *limiterSet // internal API: failed authentications per client IP
	perKey     *limiterSet // internal API: uses per key
	perOrg     *limiterSet // internal API: uses per organization key's organization
	accept     *limiterSet // invite acceptances per client IP
}

func newLimits(scale float64) limits {
	if scale <= 0 {
		scale = 1
	}
	return limits{
		failedAuth: newLimiterSet(20, time.Minute, scale),
		perKey:     newLimiterSet(60, time.Minute, scale),
		perOrg:     newLimiterSet(120, time.Minute, scale),
		accept:     newLimiterSet(10, time.Hour, scale),
	}
}

// limiterSet holds one token bucket per key (a client IP, an API key),
// made on first use and forgotten once it has been idle long enough to be
// full again, which is when a fresh bucket behaves the same.
type limiterSet struct {
	limit rate.Limit
	burst int
	idle  time.Duration

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	used time.Time
}

// newLimiterSet allows n×scale events per window for each key, in bursts of
// up to that many.
func newLimiterSet(n float64, window time.Duration, scale float64) *limiterSet {
	per := n * scale
	burst := max(1, int(math.Ceil(per)))
	limit := rate.Limit(per / window.Seconds())
	return &limiterSet{
		limit:   limit,
		burst:   burst,
		idle:    time.Duration(float64(burst) / float64(limit) * float64(time.Second)),
		buckets: make(map[string]*bucket),
	}
}

// take spends one event of key. When none is left it spends nothing and
// returns how long until one is.
func (s *limiterSet) take(key string, now time.Time) (bool, time.Duration) {
	r := s.bucket(key, now).ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// exhausted reports, without spending anything, whether key has no event
// left, and how long until it has one.
func (s *limiterSet) exhausted(key string, now time.Time) (bool, time.Duration) {
	s.mu.Lock()
	b := s.buckets[key]
	s.mu.Unlock()
	if b == nil {
		return false, 0
	}

	tokens := b.lim.TokensAt(now)
	if tokens >= 1 {
		return false, 0
	}
	return true, time.Duration((1 - tokens) / float64(s.limit) * float64(time.Second))
}

// spend records one event of key, if any is left.
func (s *limiterSet) spend(key string, now time.Time) {
	s.bucket(key, now).AllowN(now, 1)
}

func (s *limiterSet) bucket(key string, now time.Time) *rate.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)

	b := s.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(s.limit, s.burst)}
		s.buckets[key] = b
	}
	b.used = now
	return b.lim
}

// sweep forgets the buckets that have refilled, at most once per idle span.
func (s *limiterSet) sweep(now time.Time) {
	if now.Sub(s.swept) < s.idle {
		return
	}
	s.swept = now
	for k, b := range s.buckets {
		if now.Sub(b.used) >= s.idle {
			delete(s.buckets, k)
		}
	}
}

// setRetryAfter sets Retry-After to d in whole seconds, at least 1.
func setRetryAfter(w http.ResponseWriter, d time.Duration) {
	secs := max(1, int(math.Ceil(d.Seconds())))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
}

// clientIP is the address of the direct peer.
//
// TODO: trust X-Forwarded-For from GREETER_TRUSTED_PROXIES (SPEC §14.7) once
// that setting exists; behind a proxy every client shares its address.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
