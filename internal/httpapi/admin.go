package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"greeter/internal/ids"
	"greeter/internal/store"
)

// Error codes of the team, API-key and removal endpoints (SPEC §11.1, §15).
const (
	CodeConflict       = "CONFLICT"
	CodeAlreadyRemoved = "ALREADY_REMOVED"
	CodeLastAdmin      = "LAST_ADMIN"
	CodeRateLimited    = "RATE_LIMITED"
)

// liveTimeout bounds how long a handler waits for an organization loop to
// apply a removal or an API call end.
const liveTimeout = 10 * time.Second

// Hub is the part of the live state (calls.Hub) that admin actions and the
// internal API change.
type Hub interface {
	// RemoveAgent applies the live effects of a removal (SPEC §11.1 step 2).
	RemoveAgent(ctx context.Context, org ids.OrgID, agent ids.AgentID, endedBy string) error
	// EndAgentCall ends the agent's active call and reports whether it had one.
	EndAgentCall(ctx context.Context, org ids.OrgID, agent ids.AgentID,
		endedBy string) (bool, error)
	// AgentStatuses returns the presence of the organization's connected
	// agents; a missing agent is offline.
	AgentStatuses(ctx context.Context, org ids.OrgID) (map[ids.AgentID]string, error)
	// Reconfigure makes live routing see the organization's configuration
	// as the database now holds it (SPEC §7.6). Handlers call it after every
	// committed change to pools, rules, members, agent profiles or settings.
	Reconfigure(ctx context.Context, org ids.OrgID) error
	// LogoutAgent takes a signed-out agent offline at once (SPEC §6.2).
	LogoutAgent(ctx context.Context, org ids.OrgID, agent ids.AgentID) error
	// CallICE returns the IceConfig of the party holding token, a reconnect
	// token of an active call, and false for any other token.
	CallICE(ctx context.Context, token string) (any, bool, error)
}

// noHub is the Hub of an API built without live state.
type noHub struct{}

func (noHub) RemoveAgent(context.Context, ids.OrgID, ids.AgentID, string) error { return nil }

func (noHub) EndAgentCall(context.Context, ids.OrgID, ids.AgentID, string) (bool, error) {
	return false, nil
}

func (noHub) AgentStatuses(context.Context, ids.OrgID) (map[ids.AgentID]string, error) {
	return map[ids.AgentID]string{}, nil
}

func (noHub) Reconfigure(context.Context, ids.OrgID) error { return nil }

func (noHub) LogoutAgent(context.Context, ids.OrgID, ids.AgentID) error { return nil }

func (noHub) CallICE(context.Context, string) (any, bool, error) { return nil, false, nil }

// registerTeam adds the team, invitation and API-key routes.
func (a *API) registerTeam(mux *http.ServeMux) {
	admin := func(h UserHandler) http.Handler { return a.csrf.Handler(a.RequireAdmin(h)) }

	mux.Handle("GET /api/team", a.RequireAdmin(a.team))
	mux.Handle("PATCH /api/users/{id}", admin(a.setUserRole))
	mux.Handle("DELETE /api/users/{id}", admin(a.removeUser))
	mux.Handle("POST /api/agents", admin(a.addMeAsAgent))
	mux.Handle("PATCH /api/agents/{id}", admin(a.updateAgent))
	mux.Handle("DELETE /api/agents/{id}", admin(a.removeAgent))

	mux.Handle("GET /api/invites", a.RequireAdmin(a.listInvites))
	mux.Handle("POST /api/invites", admin(a.createInvite))
	mux.Handle("POST /api/invites/{id}/regenerate", admin(a.regenerateInvite))
	mux.Handle("DELETE /api/invites/{id}", admin(a.revokeInvite))
	mux.Handle("GET /api/invites/{token}", a.public(a.showInvite))
	mux.Handle("POST /api/invites/{token}/accept",
		a.csrf.Handler(http.HandlerFunc(a.acceptInvite)))

	mux.Handle("GET /api/api-keys", a.RequireAdmin(a.listAPIKeys))
	mux.Handle("POST /api/api-keys", admin(a.createAPIKey))
	mux.Handle("DELETE /api/api-keys/{id}", admin(a.revokeAPIKey))
}

// RequireAdmin runs h for a signed-in admin. It answers 401 without a
// session and 403 FORBIDDEN for anyone else.
func (a *API) RequireAdmin(h UserHandler) http.Handler {
	return a.RequireUser(func(w http.ResponseWriter, r *http.Request, u store.User) {
		if u.Role != store.RoleAdmin {
			WriteError(w, http.StatusForbidden, CodeForbidden, "Only admins can do this")
			return
		}
		h(w, r, u)
	})
}

// failed logs an unexpected failure by route, never by path (a path may
// hold an invitation token), and answers 500.
func (a *API) failed(w http.ResponseWriter, r *http.Request, err error) {
	a.log.ErrorContext(r.Context(), "request failed",
		slog.String("method", r.Method), slog.String("route", r.Pattern), slog.Any("err", err))
	WriteError(w, http.StatusInternalServerError, CodeInternal, "Something went wrong")
}

// liveContext is the context for applying a committed change to live state:
// it outlives a client that hangs up, so live state is never left halfway.
func liveContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), liveTimeout)
}

// reconfigure makes live routing see a committed change of org's
// configuration (SPEC §7.6). The change is durable by then, so a failure is
// logged rather than answered: the loop reloads the configuration with the
// next change or the next agent connection anyway.
func (a *API) reconfigure(r *http.Request, org ids.OrgID) {
	ctx, cancel := liveContext(r)
	defer cancel()

	if err := a.hub.Reconfigure(ctx, org); err != nil {
		a.log.ErrorContext(r.Context(), "unable to apply a configuration change to live routing",
			slog.String("org_id", string(org)), slog.Any("err", err))
	}
}

// publicBase returns the public URL without a trailing slash, or the
// request's own scheme and host when none is configured.
func (a *API) publicBase(r *http.Request) string {
	if a.publicURL != nil {
		u := url.URL{Scheme: a.publicURL.Scheme, Host: a.publicURL.Host,
			Path: strings.TrimSuffix(a.publicURL.Path, "/")}
		return u.String()
	}

	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// writeStoreConflict answers the conflicts the store reports for team
// changes, and reports whether err was one of them.
func writeStoreConflict(w http.ResponseWriter, err error) bool {
	switch {
	case errors.Is(err, store.ErrLastAdmin):
		WriteError(w, http.StatusConflict, CodeLastAdmin,
			"The organization must keep at least one active admin")
	case errors.Is(err, store.ErrEmailTaken):
		WriteError(w, http.StatusConflict, CodeConflict, "A user with this email already exists")
	case errors.Is(err, store.ErrInvitePending):
		WriteError(w, http.StatusConflict, CodeConflict,
			"An invite is already pending for this email")
	default:
		return false
	}
	return true
}

// success is the answer of an action that returns nothing else.
func success(w http.ResponseWriter) {
	WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
}
