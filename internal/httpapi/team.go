package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"greeter/internal/auth"
	"greeter/internal/calls"
	"greeter/internal/ids"
	"greeter/internal/store"
)

// Limits of an agent profile (SPEC §3.1).
const (
	maxDisplayName = 60
	minMaxViewers  = 1
	maxMaxViewers  = 1000
)

type teamResponse struct {
	Members []memberJSON `json:"members"`
	Invites []inviteJSON `json:"invites"`
}

// memberJSON is a team member as the admin console shows it.
type memberJSON struct {
	ID        ids.UserID     `json:"id"`
	Email     string         `json:"email"`
	FullName  string         `json:"fullName"`
	Role      string         `json:"role"`
	Active    bool           `json:"active"`
	CreatedAt string         `json:"createdAt"`
	Agent     *teamAgentJSON `json:"agent"` // null without an active agent profile
}

type teamAgentJSON struct {
	ID          ids.AgentID      `json:"id"`
	DisplayName string           `json:"displayName"`
	MaxViewers  int              `json:"maxViewers"`
	Status      string           `json:"status"` // live presence, "offline" when not connected
	Pools       []membershipJSON `json:"pools"`
}

type membershipJSON struct {
	ID   ids.PoolID `json:"id"`
	Name string     `json:"name"`
	Tier int        `json:"tier"`
}

// agentProfileJSON is the answer of the agent profile endpoints.
type agentProfileJSON struct {
	ID          ids.AgentID `json:"id"`
	UserID      ids.UserID  `json:"userId"`
	DisplayName string      `json:"displayName"`
	MaxViewers  int         `json:"maxViewers"`
	Active      bool        `json:"active"`
}

// team handles GET /api/team: every member with their agent profile and live
// status, and the open invitations.
func (a *API) team(w http.ResponseWriter, r *http.Request, u store.User) {
	members, err := a.store.ListTeam(r.Context(), u.OrgID)
	if err != nil {
		a.failed(w, r, err)
		return
	}
	invites, err := a.store.ListInvites(r.Context(), u.OrgID)
	if err != nil {
		a.failed(w, r, err)
		return
	}
	statuses, err := a.hub.AgentStatuses(r.Context(), u.OrgID)
	if err != nil {
		a.failed(w, r, err)
		return
	}

	resp := teamResponse{Members: []memberJSON{}, Invites: []inviteJSON{}}
	for _, m := range members {
		resp.Members = append(resp.Members, toMemberJSON(m, statuses))
	}
	for _, inv := range invites {
		resp.Invites = append(resp.Invites, a.toInviteJSON(inv))
	}
	WriteJSON(w, http.StatusOK, resp)
}

func toMemberJSON(m store.TeamMember, statuses map[ids.AgentID]string) memberJSON {
	out := memberJSON{
		ID:        m.User.ID,
		Email:     m.User.Email,
		FullName:  m.User.FullName,
		Role:      m.User.Role,
		Active:    m.User.Active,
		CreatedAt: *timestamp(&m.User.CreatedAt),
	}
	if m.Agent == nil || !m.Agent.Active {
		return out
	}

	status, ok := statuses[m.Agent.ID]
	if !ok {
		status = calls.StatusOffline
	}
	out.Agent = &teamAgentJSON{
		ID:          m.Agent.ID,
		DisplayName: m.Agent.DisplayName,
		MaxViewers:  m.Agent.MaxViewers,
		Status:      status,
		Pools:       []membershipJSON{},
	}
	for _, p := range m.Pools {
		out.Agent.Pools = append(out.Agent.Pools,
			membershipJSON{ID: p.PoolID, Name: p.PoolName, Tier: p.PriorityRank})
	}
	return out
}

func toAgentProfileJSON(p store.AgentProfile) agentProfileJSON {
	return agentProfileJSON{
		ID:          p.ID,
		UserID:      p.UserID,
		DisplayName: p.DisplayName,
		MaxViewers:  p.MaxViewers,
		Active:      p.Active,
	}
}

type roleRequest struct {
	Role *string `json:"role"`
}

// setUserRole handles PATCH /api/users/{id} {role}.
func (a *API) setUserRole(w http.ResponseWriter, r *http.Request, u store.User) {
	var req roleRequest
	if !a.decode(w, r, &req) {
		return
	}

	if req.Role == nil || (*req.Role != store.RoleAdmin && *req.Role != store.RoleAgent) {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, `role must be "admin" or "agent"`)
		return
	}

	target := ids.UserID(r.PathValue("id"))
	changed, err := a.store.SetUserRole(r.Context(), u.OrgID, target, *req.Role, a.now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		WriteError(w, http.StatusNotFound, CodeNotFound, "User not found")
		return
	case errors.Is(err, store.ErrAlreadyRemoved):
		WriteError(w, http.StatusConflict, CodeAlreadyRemoved, "User already removed")
		return
	case writeStoreConflict(w, err):
		return
	case err != nil:
		a.failed(w, r, err)
		return
	}

	a.log.InfoContext(r.Context(), "user role changed", slog.String("org_id", string(u.OrgID)),
		slog.String("user_id", string(target)), slog.String("role", changed.Role),
		slog.String("by_user_id", string(u.ID)))
	member := store.TeamMember{User: changed}
	profile, err := a.store.AgentProfileByUserID(r.Context(), target)
	switch {
	case err == nil:
		member.Agent = &profile
	case !errors.Is(err, store.ErrNotFound):
		a.failed(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, toMemberJSON(member, nil))
}

// removeUser handles DELETE /api/users/{id}: the member is deactivated with
// their agent profile in one transaction, then leaves live state (SPEC §11.1).
func (a *API) removeUser(w http.ResponseWriter, r *http.Request, u store.User) {
	target := ids.UserID(r.PathValue("id"))

	agent, err := a.store.RemoveUser(r.Context(), u.OrgID, target, u.ID, a.now())
	if !a.writeRemovalError(w, r, err) {
		return
	}

	if agent != "" {
		a.removeLive(r, u, agent)
	}
	if target == u.ID {
		auth.ClearSessionCookie(w, a.secure) // removing yourself signs you out
	}
	a.log.InfoContext(r.Context(), "team member removed", slog.String("org_id", string(u.OrgID)),
		slog.String("user_id", string(target)), slog.String("by_user_id", string(u.ID)))
	success(w)
}

// removeAgent handles DELETE /api/agents/{id}: the profile is removed (and
// with it a user whose role is agent) in one transaction, then the agent
// leaves live state (SPEC §11.1).
func (a *API) removeAgent(w http.ResponseWriter, r *http.Request, u store.User) {
	agent := ids.AgentID(r.PathValue("id"))

	err := a.store.RemoveAgentProfile(r.Context(), u.OrgID, agent, u.ID, a.now())
	if !a.writeRemovalError(w, r, err) {
		return
	}

	a.removeLive(r, u, agent)
	a.log.InfoContext(r.Context(), "agent profile removed", slog.String("org_id", string(u.OrgID)),
		slog.String("agent_id", string(agent)), slog.String("by_user_id", string(u.ID)))
	success(w)
}

// writeRemovalError answers a failed removal transaction with the bodies of
// SPEC §11.1, and reports whether the removal went through instead.
func (a *API) writeRemovalError(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, store.ErrNotFound):
		WriteError(w, http.StatusNotFound, CodeNotFound, "Agent not found")
	case errors.Is(err, store.ErrAlreadyRemoved):
		WriteError(w, http.StatusConflict, CodeAlreadyRemoved, "Agent already removed")
	case errors.Is(err, store.ErrLastAdmin):
		WriteError(w, http.StatusConflict, CodeLastAdmin,
			"The organization's last active admin cannot be removed")
	default:
		a.failed(w, r, err)
	}
	return false
}

// removeLive applies a committed removal to live state. The removal is
// durable by then, so a failure here is logged rather than answered: the
// agent's connection is refused (4101) when it comes back anyway.
func (a *API) removeLive(r *http.Request, u store.User, agent ids.AgentID) {
	ctx, cancel := liveContext(r)
	defer cancel()

	if err := a.hub.RemoveAgent(ctx, u.OrgID, agent, calls.EndedByAdmin); err != nil {
		a.log.ErrorContext(r.Context(), "unable to remove an agent from live state",
			slog.String("org_id", string(u.OrgID)), slog.String("agent_id", string(agent)),
			slog.Any("err", err))
	}
}

type addAgentRequest struct {
	DisplayName *string `json:"displayName"`
}

// addMeAsAgent handles POST /api/agents: the signed-in admin gets an agent
// profile in the catch-all pool (or their removed one back). The body, with
// an optional displayName, may be omitted.
func (a *API) addMeAsAgent(w http.ResponseWriter, r *http.Request, u store.User) {
	var req addAgentRequest
	if r.ContentLength != 0 && !a.decode(w, r, &req) {
		return
	}

	name := ""
	if req.DisplayName != nil {
		name = strings.TrimSpace(*req.DisplayName)
		if !validDisplayName(name) {
			writeDisplayNameError(w)
			return
		}
	}

	p, err := a.store.AddAgentProfile(r.Context(), u.OrgID, u.ID, name, a.now())
	if errors.Is(err, store.ErrConflict) {
		WriteError(w, http.StatusConflict, CodeConflict, "You already have an agent profile")
		return
	}
	if err != nil {
		a.failed(w, r, err)
		return
	}

	a.reconfigure(r, u.OrgID)
	a.log.InfoContext(r.Context(), "admin added as agent", slog.String("org_id", string(u.OrgID)),
		slog.String("agent_id", string(p.ID)), slog.String("user_id", string(u.ID)))
	WriteJSON(w, http.StatusCreated, toAgentProfileJSON(p))
}

type updateAgentRequest struct {
	DisplayName *string `json:"displayName"`
	MaxViewers  *int    `json:"maxViewers"`
}

// updateAgent handles PATCH /api/agents/{id} {displayName?, maxViewers?}.
// Live routing sees the new name and capacity before the answer.
func (a *API) updateAgent(w http.ResponseWriter, r *http.Request, u store.User) {
	var req updateAgentRequest
	if !a.decode(w, r, &req) {
		return
	}

	if req.DisplayName == nil && req.MaxViewers == nil {
		WriteError(w, http.StatusBadRequest, CodeBadRequest,
			"displayName or maxViewers is required")
		return
	}
	if req.DisplayName != nil && !validDisplayName(strings.TrimSpace(*req.DisplayName)) {
		writeDisplayNameError(w)
		return
	}
	if req.MaxViewers != nil && !validMaxViewers(*req.MaxViewers) {
		WriteError(w, http.StatusBadRequest, CodeBadRequest,
			"maxViewers must be between 1 and 1000")
		return
	}

	agent := ids.AgentID(r.PathValue("id"))
	changes := store.AgentChanges{DisplayName: req.DisplayName, MaxViewers: req.MaxViewers}
	p, err := a.store.UpdateAgentProfile(r.Context(), u.OrgID, agent, changes)
	switch {
	case errors.Is(err, store.ErrNotFound):
		WriteError(w, http.StatusNotFound, CodeNotFound, "Agent not found")
		return
	case errors.Is(err, store.ErrAlreadyRemoved):
		WriteError(w, http.StatusConflict, CodeAlreadyRemoved, "Agent already removed")
		return
	case err != nil:
		a.failed(w, r, err)
		return
	}
	a.reconfigure(r, u.OrgID)
	WriteJSON(w, http.StatusOK, toAgentProfileJSON(p))
}

func validDisplayName(s string) bool { return validName(s, maxDisplayName) }

func validMaxViewers(n int) bool {
	return n >= minMaxViewers && n <= maxMaxViewers
}

func writeDisplayNameError(w http.ResponseWriter) {
	WriteError(w, http.StatusBadRequest, CodeBadRequest, nameRule("displayName", maxDisplayName))
}
