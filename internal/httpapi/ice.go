package httpapi

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"strconv"
	"time"

	"greeter/internal/auth"
	"greeter/internal/ratelimit"
	"greeter/internal/store"
)

// DefaultICETTL is how long TURN credentials stay valid when neither the
// configuration nor the organization says otherwise: the default maximum call
// duration.
const DefaultICETTL = 120 * time.Minute

// ICEConfig is the server's ICE configuration (SPEC §17.3): STUN servers, and
// TURN servers that accept time-limited credentials made with a shared secret.
type ICEConfig struct {
	STUNURLs   []string
	TURNURLs   []string
	TURNSecret string
	// TTL is how long TURN credentials stay valid. When zero, GET
	// /api/ice-servers uses the organization's maximum call duration.
	TTL time.Duration
}

// IceConfig is the ICE server list handed to a browser, as in
// RTCPeerConnection's configuration.
type IceConfig struct {
	ICEServers []ICEServer `json:"iceServers"`
	TTL        int         `json:"ttl"` // seconds the credentials stay valid
}

// ICEServer is one entry of IceConfig. URLs is always an array, which every
// browser accepts.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Build returns the ICE servers for one party: the STUN servers as they are,
// and the TURN servers with a credential for subject (a call or user id) that
// expires TTL after now. TURN servers are left out when there is no secret.
// An empty list is valid.
func (c ICEConfig) Build(subject string, now time.Time) IceConfig {
	ttl := c.TTL
	if ttl <= 0 {
		ttl = DefaultICETTL
	}

	cfg := IceConfig{ICEServers: []ICEServer{}, TTL: int(ttl / time.Second)}
	if len(c.STUNURLs) > 0 {
		cfg.ICEServers = append(cfg.ICEServers, ICEServer{URLs: c.STUNURLs})
	}
	if len(c.TURNURLs) > 0 && c.TURNSecret != "" {
		username := strconv.FormatInt(now.Add(ttl).Unix(), 10) + ":" + subject
		cfg.ICEServers = append(cfg.ICEServers, ICEServer{
			URLs:       c.TURNURLs,
			Username:   username,
			Credential: turnCredential(c.TURNSecret, username),
		})
	}
	return cfg
}

// turnCredential is the password a TURN server with the shared secret
// expects for username: base64 of HMAC-SHA1(secret, username).
func turnCredential(secret, username string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(username)) // a hash never fails to write
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// iceServers handles GET /api/ice-servers for a user who can take calls.
// callTokenHeader carries a reconnect token of an active call, which opens
// GET /api/ice-servers to a visitor (SPEC §15, Media).
const callTokenHeader = "X-Call-Token"

// iceServersRoute serves GET /api/ice-servers: with a call token for the
// party holding it, otherwise for the signed-in agent.
func (a *API) iceServersRoute() http.Handler {
	forAgent := a.RequireUser(a.limitICE(a.iceServers))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.Header.Get(callTokenHeader)
		if token == "" {
			forAgent.ServeHTTP(w, r)
			return
		}
		if !a.allow(w,
			ratelimit.Check{Set: a.limits.iceIP, Key: clientIP(r)},
			ratelimit.Check{Set: a.limits.iceSession, Key: auth.HashToken(token)}) {
			return
		}
		cfg, ok, err := a.hub.CallICE(r.Context(), token)
		switch {
		case err != nil:
			a.internalError(w, r, err)
		case !ok:
			WriteError(w, http.StatusUnauthorized, CodeUnauthorized,
				"That call token is not one of an active call")
		default:
			WriteJSON(w, http.StatusOK, cfg)
		}
	})
}

func (a *API) iceServers(w http.ResponseWriter, r *http.Request, u store.User) {
	_, ok, err := a.activeAgent(r.Context(), u)
	if err != nil {
		a.internalError(w, r, err)
		return
	}
	if !ok {
		WriteError(w, http.StatusUnauthorized, CodeUnauthorized, "Not signed in as an agent")
		return
	}

	cfg := a.ice
	if cfg.TTL <= 0 {
		org, err := a.store.OrgByID(r.Context(), u.OrgID)
		if err != nil {
			a.internalError(w, r, err)
			return
		}
		cfg.TTL = time.Duration(org.MaxCallMinutes) * time.Minute
	}
	WriteJSON(w, http.StatusOK, cfg.Build(string(u.ID), a.now()))
}
