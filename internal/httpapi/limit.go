package httpapi

import (
	"net/http"
	"time"

	"greeter/internal/auth"
	"greeter/internal/ratelimit"
	"greeter/internal/store"
)

// The dashboard API's rate limits (SPEC §16.2) run before each route's
// handler. A signed-in request spends from its user's and its organization's
// buckets inside RequireUser, right after the one session lookup; a request
// without a session spends from its client IP's bucket. Login, the widget's
// configuration and ICE servers have limits of their own on top.

// tooManyRequests answers 429 RATE_LIMITED with Retry-After.
func tooManyRequests(w http.ResponseWriter, retry time.Duration) {
	setRetryAfter(w, retry)
	WriteError(w, http.StatusTooManyRequests, CodeRateLimited, "Too many requests")
}

// allow spends one event from every check and answers 429 when any bucket is
// empty.
func (a *API) allow(w http.ResponseWriter, checks ...ratelimit.Check) bool {
	ok, retry := ratelimit.TakeAll(a.now(), checks...)
	if !ok {
		tooManyRequests(w, retry)
	}
	return ok
}

// allowUser applies the per-user and per-organization dashboard limits.
func (a *API) allowUser(w http.ResponseWriter, u store.User) bool {
	return a.allow(w,
		ratelimit.Check{Set: a.limits.user, Key: string(u.ID)},
		ratelimit.Check{Set: a.limits.org, Key: string(u.OrgID)})
}

// allowAnonymous applies the dashboard limit of a client without a session.
func (a *API) allowAnonymous(w http.ResponseWriter, r *http.Request) bool {
	return a.allow(w, ratelimit.Check{Set: a.limits.anonymous, Key: clientIP(r)})
}

// public runs h, a dashboard route that needs no session, under the limit
// of clients without one.
func (a *API) public(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.allowAnonymous(w, r) {
			h(w, r)
		}
	})
}

// perIP runs h under a limit per client IP.
func (a *API) perIP(set *ratelimit.Set, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.allow(w, ratelimit.Check{Set: set, Key: clientIP(r)}) {
			h(w, r)
		}
	})
}

// limitICE runs h under the ICE server limits: per client IP and per
// session. The session is keyed by its token's hash, never the token.
func (a *API) limitICE(h UserHandler) UserHandler {
	return func(w http.ResponseWriter, r *http.Request, u store.User) {
		if a.allow(w,
			ratelimit.Check{Set: a.limits.iceIP, Key: clientIP(r)},
			ratelimit.Check{Set: a.limits.iceSession,
				Key: auth.HashToken(auth.TokenFromRequest(r))}) {
			h(w, r, u)
		}
	}
}
