package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"greeter/internal/ids"
	"greeter/internal/store"
)

// poolMemberJSON places an agent in a pool at a tier (1 Primary, 2 Standard,
// 3 Backup, up to 99), with the member's own greeting videos, null where the
// profile's play.
type poolMemberJSON struct {
	PoolID       ids.PoolID  `json:"poolId"`
	AgentID      ids.AgentID `json:"agentId"`
	PriorityRank int         `json:"priorityRank"`
	Videos       videosJSON  `json:"videos"`
}

// toPoolMemberJSON describes m. Its video URLs are paths on the dashboard's
// own origin (/media/…): the pool listings that use it have no request at
// hand to build the public origin from.
func toPoolMemberJSON(m store.PoolMember) poolMemberJSON {
	return poolMemberJSON{PoolID: m.PoolID, AgentID: m.AgentID, PriorityRank: m.PriorityRank,
		Videos: toVideosJSON("", m.Video)}
}

type poolMemberRequest struct {
	PriorityRank *int `json:"priorityRank"`
}

// setPoolMember handles PUT /api/pools/{id}/members/{agentId}
// {priorityRank?}: it adds an active agent of the organization to the pool,
// or moves it to another tier. The rank is 1 when the body or the field is
// left out.
func (a *API) setPoolMember(w http.ResponseWriter, r *http.Request, u store.User) {
	var req poolMemberRequest
	if r.ContentLength != 0 && !a.decode(w, r, &req) {
		return
	}

	rank := store.MinPriorityRank
	if req.PriorityRank != nil {
		rank = *req.PriorityRank
	}
	if rank < store.MinPriorityRank || rank > store.MaxPriorityRank {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf(
			"priorityRank must be between %d and %d", store.MinPriorityRank,
			store.MaxPriorityRank))
		return
	}

	pool, agent := ids.PoolID(r.PathValue("id")), ids.AgentID(r.PathValue("agentId"))
	m, err := a.store.SetPoolMember(r.Context(), u.OrgID, pool, agent, rank)
	switch {
	case errors.Is(err, store.ErrAgentNotFound):
		WriteError(w, http.StatusNotFound, CodeNotFound, "Agent not found")
		return
	case errors.Is(err, store.ErrNotFound):
		WriteError(w, http.StatusNotFound, CodeNotFound, "Pool not found")
		return
	case err != nil:
		a.failed(w, r, err)
		return
	}

	a.reconfigure(r, u.OrgID)
	a.log.InfoContext(r.Context(), "pool member set", slog.String("org_id", string(u.OrgID)),
		slog.String("pool_id", string(pool)), slog.String("agent_id", string(agent)),
		slog.Int("priority_rank", rank), slog.String("by_user_id", string(u.ID)))
	WriteJSON(w, http.StatusOK, toPoolMemberJSON(m))
}

// removePoolMember handles DELETE /api/pools/{id}/members/{agentId}.
func (a *API) removePoolMember(w http.ResponseWriter, r *http.Request, u store.User) {
	pool, agent := ids.PoolID(r.PathValue("id")), ids.AgentID(r.PathValue("agentId"))

	err := a.store.RemovePoolMember(r.Context(), u.OrgID, pool, agent)
	if errors.Is(err, store.ErrNotFound) {
		WriteError(w, http.StatusNotFound, CodeNotFound, "Pool member not found")
		return
	}
	if err != nil {
		a.failed(w, r, err)
		return
	}

	a.reconfigure(r, u.OrgID)
	a.log.InfoContext(r.Context(), "pool member removed", slog.String("org_id", string(u.OrgID)),
		slog.String("pool_id", string(pool)), slog.String("agent_id", string(agent)),
		slog.String("by_user_id", string(u.ID)))
	success(w)
}
