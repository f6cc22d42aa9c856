package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"greeter/internal/auth"
	"greeter/internal/ids"
	"greeter/internal/ratelimit"
	"greeter/internal/store"
)

// meResponse is the answer of login and GET /api/me.
type meResponse struct {
	User  userJSON   `json:"user"`
	Agent *agentJSON `json:"agent"` // null unless the user has an active agent profile
}

type userJSON struct {
	ID       ids.UserID `json:"id"`
	Email    string     `json:"email"`
	FullName string     `json:"fullName"`
	Role     string     `json:"role"`
	OrgID    ids.OrgID  `json:"orgId"`
}

type agentJSON struct {
	ID          ids.AgentID `json:"id"`
	DisplayName string      `json:"displayName"`
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// login handles POST /api/auth/login. Failed sign-ins count against the
// client IP's, the email's and, when the email is a user's, that
// organization's limits; once one is used up, every sign-in it covers is
// refused until it refills, a right password too. A sign-in that succeeds
// spends nothing, so people sharing an address are not locked out by
// signing in.
func (a *API) login(w http.ResponseWriter, r *http.Request) {
	ip := ratelimit.Check{Set: a.limits.loginIP, Key: clientIP(r)}
	if !a.loginAllowed(w, ip) {
		return
	}

	var req loginRequest
	if !a.decode(w, r, &req) {
		return
	}

	if strings.TrimSpace(req.Email) == "" {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, "email is required")
		return
	}
	if req.Password == "" {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, "password is required")
		return
	}
	checks, ok := a.loginChecksOf(w, r, req.Email)
	if !ok || !a.loginAllowed(w, checks...) {
		return
	}

	token, u, err := a.sessions.Login(r.Context(), req.Email, req.Password)
	if errors.Is(err, auth.ErrInvalidCredentials) {
		now := a.now()
		for _, c := range append(checks, ip) {
			if c.Key != "" {
				c.Set.Spend(c.Key, now)
			}
		}
		a.log.InfoContext(r.Context(), "login refused")
		WriteError(w, http.StatusUnauthorized, CodeAuthFailed, "Invalid email or password")
		return
	}
	if err != nil {
		a.internalError(w, r, err)
		return
	}

	me, err := a.describe(r.Context(), u)
	if err != nil {
		a.internalError(w, r, err)
		return
	}

	auth.SetSessionCookie(w, token, a.secure)
	a.log.InfoContext(r.Context(), "user signed in",
		slog.String("user_id", string(u.ID)), slog.String("org_id", string(u.OrgID)))
	WriteJSON(w, http.StatusOK, me)
}

// loginChecksOf returns the per-email and per-organization login limits of
// a sign-in as email; org is left out for an email nobody has.
func (a *API) loginChecksOf(w http.ResponseWriter, r *http.Request,
	email string) ([]ratelimit.Check, bool) {

	var org string
	u, err := a.store.UserByEmail(r.Context(), email)
	switch {
	case err == nil:
		org = string(u.OrgID)
	case !errors.Is(err, store.ErrNotFound):
		a.internalError(w, r, err)
		return nil, false
	}
	return []ratelimit.Check{
		{Set: a.limits.loginEmail, Key: strings.ToLower(strings.TrimSpace(email))},
		{Set: a.limits.loginOrg, Key: org},
	}, true
}

// loginAllowed answers 429 when any of checks has no failed sign-in left,
// saying how long to wait; it spends nothing.
func (a *API) loginAllowed(w http.ResponseWriter, checks ...ratelimit.Check) bool {
	now := a.now()
	var wait time.Duration
	for _, c := range checks {
		if c.Key == "" {
			continue
		}
		if over, d := c.Set.Exhausted(c.Key, now); over {
			wait = max(wait, d)
		}
	}
	if wait == 0 {
		return true
	}
	setRetryAfter(w, wait)
	WriteError(w, http.StatusTooManyRequests, CodeRateLimited, fmt.Sprintf(
		"Too many failed sign-ins. Please wait %d seconds and try again.", ratelimit.Seconds(wait)))
	return false
}

// logout handles POST /api/auth/logout. It succeeds without a session too.
// An agent who signs out is offline at once, without the disconnect grace.
func (a *API) logout(w http.ResponseWriter, r *http.Request) {
	token := auth.TokenFromRequest(r)
	u, err := a.sessions.Authenticate(r.Context(), token)
	signedIn := err == nil
	if err != nil && !errors.Is(err, auth.ErrNoSession) {
		a.internalError(w, r, err)
		return
	}
	if signedIn && !a.allowUser(w, u) {
		return
	}
	if !signedIn && !a.allowAnonymous(w, r) {
		return
	}
	if err := a.sessions.Logout(r.Context(), token); err != nil {
		a.internalError(w, r, err)
		return
	}

	if signedIn {
		a.logoutLive(r, u)
	}
	auth.ClearSessionCookie(w, a.secure)
	WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
}

// logoutLive takes the user's agent, if any, offline. The session is gone
// by then, so a failure is logged: the agent's connection is refused when it
// comes back, and its grace ends within seconds anyway.
func (a *API) logoutLive(r *http.Request, u store.User) {
	agent, ok, err := a.activeAgent(r.Context(), u)
	if err == nil && ok {
		ctx, cancel := liveContext(r)
		defer cancel()
		err = a.hub.LogoutAgent(ctx, u.OrgID, agent.ID)
	}
	if err != nil {
		a.log.ErrorContext(r.Context(), "unable to take a signed-out agent offline",
			slog.String("org_id", string(u.OrgID)), slog.String("user_id", string(u.ID)),
			slog.Any("err", err))
	}
}

// me handles GET /api/me.
func (a *API) me(w http.ResponseWriter, r *http.Request, u store.User) {
	me, err := a.describe(r.Context(), u)
	if err != nil {
		a.internalError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, me)
}

// describe returns the user and, when they can take calls, their agent card.
func (a *API) describe(ctx context.Context, u store.User) (meResponse, error) {
	me := meResponse{User: userJSON{
		ID: u.ID, Email: u.Email, FullName: u.FullName, Role: u.Role, OrgID: u.OrgID,
	}}

	agent, ok, err := a.activeAgent(ctx, u)
	if err != nil || !ok {
		return me, err
	}
	me.Agent = &agentJSON{ID: agent.ID, DisplayName: agent.DisplayName}
	return me, nil
}

// activeAgent returns the user's agent profile when it is active.
func (a *API) activeAgent(ctx context.Context, u store.User) (store.AgentProfile, bool, error) {
	agent, err := a.store.AgentProfileByUserID(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) {
		return store.AgentProfile{}, false, nil
	}
	if err != nil {
		return store.AgentProfile{}, false, err
	}
	if !agent.Active || agent.OrgID != u.OrgID {
		return store.AgentProfile{}, false, nil
	}
	return agent, true, nil
}
