// Package httpapi is Greeter's JSON API: sign-in, the current user, ICE
// servers, the widget's configuration, call logs, team management (invites,
// roles, agent profiles, removal), greeting video uploads, API keys and the
// internal end-call API. It has one handler per action; every error answer
// is {"error": "<message>", "code": "<CODE>"}, except the end-call
// endpoint's, whose bodies SPEC §11.2 fixes.
package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"greeter/internal/auth"
	"greeter/internal/media"
	"greeter/internal/store"
)

// Deps is what the API needs from the rest of the server.
type Deps struct {
	Store         *store.Store
	Sessions      *auth.Sessions
	Logger        *slog.Logger // discards when nil
	SecureCookies bool         // sets Secure on the session cookie
	ICE           ICEConfig
	// PublicURL is the server's public base URL (https://greeter.example.com),
	// from which the widget's WebSocket URL and invitation links are made.
	// When empty, the request's own host is used.
	PublicURL string
	// Hub applies removals and API call ends to live state. When nil, nothing
	// is live.
	Hub Hub
	// Production turns on the fail-closed checks (GREETER_ENV=production).
	Production bool
	// PlatformKey is INTERNAL_API_KEY, which reaches every organization. When
	// empty, only organization keys open the internal API.
	PlatformKey string
	// RateLimitScale multiplies every rate limit (GREETER_RATE_LIMIT_SCALE);
	// 0 means 1.
	RateLimitScale float64
	// HashPassword hashes a new password; auth.HashPassword when nil. Tests
	// make it cheap.
	HashPassword func(string) (string, error)
	// Media stores uploaded greeting videos. When nil, uploads answer 500.
	Media *media.Library
}

// API serves the JSON endpoints.
type API struct {
	store     *store.Store
	sessions  *auth.Sessions
	log       *slog.Logger
	secure    bool
	ice       ICEConfig
	publicURL *url.URL
	csrf      *http.CrossOriginProtection
	now       func() time.Time

	hub          Hub
	production   bool
	platformKey  string
	hashPassword func(string) (string, error)
	limits       limits

	media         *media.Library
	maxVideoBytes int64 // media.MaxVideoBytes; tests lower it
}

// UserHandler handles a request of a signed-in user.
type UserHandler func(w http.ResponseWriter, r *http.Request, u store.User)

type userKey struct{}

// New returns the API.
func New(d Deps) *API {
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	a := &API{
		store:    d.Store,
		sessions: d.Sessions,
		log:      log,
		secure:   d.SecureCookies,
		ice:      d.ICE,
		csrf:     http.NewCrossOriginProtection(),
		now:      time.Now,

		hub:          d.Hub,
		production:   d.Production,
		platformKey:  d.PlatformKey,
		hashPassword: d.HashPassword,
		limits:       newLimits(d.RateLimitScale),

		media:         d.Media,
		maxVideoBytes: media.MaxVideoBytes,
	}
	if a.hub == nil {
		a.hub = noHub{}
	}
	if a.hashPassword == nil {
		a.hashPassword = auth.HashPassword
	}
	a.csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		WriteError(w, http.StatusForbidden, CodeForbidden, "Cross-origin request refused")
	}))

	if d.PublicURL != "" {
		u, err := url.Parse(d.PublicURL)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			log.Warn("ignoring an invalid public URL; using request hosts instead",
				slog.String("public_url", d.PublicURL))
		} else {
			a.publicURL = u
		}
	}
	return a
}

// Register adds the API's routes to mux. State-changing routes refuse
// cross-origin browser requests.
func (a *API) Register(mux *http.ServeMux) {
	mux.Handle("POST /api/auth/login", a.csrf.Handler(http.HandlerFunc(a.login)))
	mux.Handle("POST /api/auth/logout", a.csrf.Handler(http.HandlerFunc(a.logout)))
	mux.Handle("GET /api/me", a.RequireUser(a.me))
	mux.Handle("GET /api/ice-servers", a.iceServersRoute())
	mux.Handle("GET /api/widget/config", a.perIP(a.limits.widgetIP, a.widgetConfig))
	mux.Handle("GET /api/calls", a.RequireUser(a.listCalls))
	a.registerTeam(mux)
	a.registerPools(mux)
	a.registerVideos(mux)
	a.registerOrg(mux)
	// Without a method, so that the handler answers other methods with the
	// body SPEC §11.2 fixes.
	mux.HandleFunc("/api/agent/end-call", a.endCall)
}

// RequireUser runs h for a request with a valid session, and answers 401
// UNAUTHORIZED otherwise. It applies the dashboard rate limits (429
// RATE_LIMITED): per user and organization with a session, per client IP
// without one. Inside h, CurrentUser returns the same user without another
// lookup.
func (a *API) RequireUser(h UserHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := a.sessions.Authenticate(r.Context(), auth.TokenFromRequest(r))
		if errors.Is(err, auth.ErrNoSession) {
			if a.allowAnonymous(w, r) {
				WriteError(w, http.StatusUnauthorized, CodeUnauthorized, "Not signed in")
			}
			return
		}
		if err != nil {
			a.internalError(w, r, err)
			return
		}
		if !a.allowUser(w, u) {
			return
		}

		r = r.WithContext(context.WithValue(r.Context(), userKey{}, u))
		h(w, r, u)
	})
}

// CurrentUser returns the signed-in user of a request, if any. A failure to
// reach the database counts as not signed in and is logged.
func (a *API) CurrentUser(r *http.Request) (store.User, bool) {
	if u, ok := r.Context().Value(userKey{}).(store.User); ok {
		return u, true
	}

	u, err := a.sessions.Authenticate(r.Context(), auth.TokenFromRequest(r))
	if err != nil {
		if !errors.Is(err, auth.ErrNoSession) {
			a.log.ErrorContext(r.Context(), "unable to authenticate a request",
				slog.String("path", r.URL.Path), slog.Any("err", err))
		}
		return store.User{}, false
	}
	return u, true
}

// internalError logs an unexpected failure and answers 500.
func (a *API) internalError(w http.ResponseWriter, r *http.Request, err error) {
	a.log.ErrorContext(r.Context(), "request failed",
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
	WriteError(w, http.StatusInternalServerError, CodeInternal, "Something went wrong")
}
