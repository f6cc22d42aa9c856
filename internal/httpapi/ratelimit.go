package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"greeter/internal/ratelimit"
)

// limits are the rate limits of SPEC §16.2 that this package enforces, each
// already multiplied by GREETER_RATE_LIMIT_SCALE.
type limits struct {
	failedAuth *ratelimit.Set // internal API: failed authentications per client IP
	perKey     *ratelimit.Set // internal API: uses per key
	perOrg     *ratelimit.Set // internal API: uses per organization key's organization
	accept     *ratelimit.Set // invite acceptances per client IP

	loginIP    *ratelimit.Set // login attempts per client IP
	loginEmail *ratelimit.Set // login attempts per email address
	loginOrg   *ratelimit.Set // login attempts per organization of the email

	user      *ratelimit.Set // dashboard API requests per signed-in user
	org       *ratelimit.Set // dashboard API requests per organization
	anonymous *ratelimit.Set // dashboard API requests per client IP without a session

	widgetIP   *ratelimit.Set // widget configuration requests per client IP
	iceIP      *ratelimit.Set // ICE server requests per client IP
	iceSession *ratelimit.Set // ICE server requests per session
}

func newLimits(scale float64) limits {
	set := func(n float64, window time.Duration) *ratelimit.Set {
		return ratelimit.NewSet(n, window, scale)
	}
	return limits{
		failedAuth: set(20, time.Minute),
		perKey:     set(60, time.Minute),
		perOrg:     set(120, time.Minute),
		accept:     set(10, time.Hour),

		loginIP:    set(5, 5*time.Minute),
		loginEmail: set(10, 15*time.Minute),
		loginOrg:   set(100, 5*time.Minute),

		user:      set(300, time.Minute),
		org:       set(3000, time.Minute),
		anonymous: set(60, time.Minute),

		widgetIP:   set(60, time.Minute),
		iceIP:      set(60, time.Minute),
		iceSession: set(30, time.Minute),
	}
}

// setRetryAfter sets Retry-After to d in whole seconds, at least 1.
func setRetryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(ratelimit.Seconds(d)))
}

// clientIP is the address of the direct peer (see ratelimit.ClientIP for
// what is missing behind a proxy).
func clientIP(r *http.Request) string {
	return ratelimit.ClientIP(r)
}
