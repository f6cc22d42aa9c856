// Package ratelimit holds the keyed token buckets behind the rate limits of
// SPEC §16.2: one bucket per client IP, visitor, user, organization or key,
// made on first use and forgotten once idle. Callers pass the time, so tests
// move it instead of sleeping.
package ratelimit

import (
	"math"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Set holds one token bucket per key.
type Set struct {
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

// NewSet allows n×scale events per window for each key, in bursts of up to
// that many. A scale of 0 or less counts as 1.
func NewSet(n float64, window time.Duration, scale float64) *Set {
	if scale <= 0 {
		scale = 1
	}
	per := n * scale
	burst := max(1, int(math.Ceil(per)))
	limit := rate.Limit(per / window.Seconds())
	return &Set{
		limit:   limit,
		burst:   burst,
		idle:    time.Duration(float64(burst) / float64(limit) * float64(time.Second)),
		buckets: make(map[string]*bucket),
	}
}

// Take spends one event of key. When none is left it spends nothing and
// returns how long until one is.
func (s *Set) Take(key string, now time.Time) (bool, time.Duration) {
	return TakeAll(now, Check{s, key})
}

// Exhausted reports, without spending anything, whether key has no event
// left, and how long until it has one.
func (s *Set) Exhausted(key string, now time.Time) (bool, time.Duration) {
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

// Spend records one event of key, if any is left.
func (s *Set) Spend(key string, now time.Time) {
	s.bucket(key, now).AllowN(now, 1)
}

// Check is one bucket that an event spends from.
type Check struct {
	Set *Set
	Key string
}

// TakeAll spends one event from every check, or from none: when any bucket
// is empty, nothing is spent and the answer is the longest wait among the
// empty ones. A check with a nil Set or an empty key is skipped.
func TakeAll(now time.Time, checks ...Check) (bool, time.Duration) {
	reserved := make([]*rate.Reservation, 0, len(checks))
	var wait time.Duration
	for _, c := range checks {
		if c.Set == nil || c.Key == "" {
			continue
		}
		r := c.Set.bucket(c.Key, now).ReserveN(now, 1)
		reserved = append(reserved, r)
		if d := r.DelayFrom(now); d > wait {
			wait = d
		}
	}
	if wait == 0 {
		return true, 0
	}

	for _, r := range reserved {
		r.CancelAt(now)
	}
	return false, wait
}

func (s *Set) bucket(key string, now time.Time) *rate.Limiter {
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
func (s *Set) sweep(now time.Time) {
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

// Seconds is a wait in whole seconds, at least 1: what Retry-After and
// retryAfterSeconds carry.
func Seconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// ClientIP is the address of the direct peer of r, which every per-IP limit
// is keyed by.
//
// TODO: trust X-Forwarded-For from GREETER_TRUSTED_PROXIES (SPEC §14.7) once
// that setting exists; behind a proxy every client shares its address.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
