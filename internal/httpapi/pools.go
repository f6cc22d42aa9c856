package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"

	"greeter/internal/ids"
	"greeter/internal/store"
)

// Limits of a pool (SPEC §3.1). The spec leaves the description open; 500
// characters is plenty for a line the admin console shows.
const (
	maxPoolName        = 80
	maxPoolDescription = 500
)

// poolJSON is a pool as the admin console shows it, with its members by tier
// and its rules in the order they are tried.
type poolJSON struct {
	ID                 ids.PoolID       `json:"id"`
	Name               string           `json:"name"`
	Description        string           `json:"description"`
	IsCatchAll         bool             `json:"isCatchAll"`
	OverflowToCatchAll bool             `json:"overflowToCatchAll"`
	CreatedAt          string           `json:"createdAt"`
	Members            []poolMemberJSON `json:"members"`
	Rules              []ruleJSON       `json:"rules"`
}

// registerPools adds the routes of pools, their members and rules, and the
// routing test. Every committed change reaches live routing before the
// answer (SPEC §7.6).
func (a *API) registerPools(mux *http.ServeMux) {
	admin := func(h UserHandler) http.Handler { return a.csrf.Handler(a.RequireAdmin(h)) }

	mux.Handle("GET /api/pools", a.RequireAdmin(a.listPools))
	mux.Handle("POST /api/pools", admin(a.createPool))
	mux.Handle("PATCH /api/pools/{id}", admin(a.updatePool))
	mux.Handle("DELETE /api/pools/{id}", admin(a.deletePool))

	mux.Handle("POST /api/pools/{id}/rules", admin(a.createRule))
	mux.Handle("PATCH /api/rules/{id}", admin(a.updateRule))
	mux.Handle("DELETE /api/rules/{id}", admin(a.deleteRule))

	mux.Handle("PUT /api/pools/{id}/members/{agentId}", admin(a.setPoolMember))
	mux.Handle("DELETE /api/pools/{id}/members/{agentId}", admin(a.removePoolMember))

	mux.Handle("GET /api/routing/test", a.RequireAdmin(a.testRouting))
}

// listPools handles GET /api/pools: every pool of the organization, the
// catch-all first, each with its members and rules.
func (a *API) listPools(w http.ResponseWriter, r *http.Request, u store.User) {
	pools, err := a.store.ListPools(r.Context(), u.OrgID)
	if err != nil {
		a.failed(w, r, err)
		return
	}
	members, err := a.store.ListPoolMembers(r.Context(), u.OrgID)
	if err != nil {
		a.failed(w, r, err)
		return
	}
	rules, err := a.store.ListRules(r.Context(), u.OrgID)
	if err != nil {
		a.failed(w, r, err)
		return
	}

	list := []poolJSON{}
	for _, p := range pools {
		list = append(list, toPoolJSON(p, members, rules))
	}
	WriteJSON(w, http.StatusOK, map[string]any{"pools": list})
}

// toPoolJSON returns p with those of members and rules that are its own.
func toPoolJSON(p store.Pool, members []store.PoolMember, rules []store.Rule) poolJSON {
	out := poolJSON{
		ID:                 p.ID,
		Name:               p.Name,
		Description:        p.Description,
		IsCatchAll:         p.IsCatchAll,
		OverflowToCatchAll: p.OverflowToCatchAll,
		CreatedAt:          *timestamp(&p.CreatedAt),
		Members:            []poolMemberJSON{},
		Rules:              []ruleJSON{},
	}
	for _, m := range members {
		if m.PoolID == p.ID {
			out.Members = append(out.Members, toPoolMemberJSON(m))
		}
	}
	for _, rl := range rules {
		if rl.PoolID == p.ID {
			out.Rules = append(out.Rules, toRuleJSON(rl))
		}
	}
	return out
}

type poolRequest struct {
	Name               *string `json:"name"`
	Description        *string `json:"description"`
	OverflowToCatchAll *bool   `json:"overflowToCatchAll"`
}

// createPool handles POST /api/pools {name, description?, overflowToCatchAll?}.
func (a *API) createPool(w http.ResponseWriter, r *http.Request, u store.User) {
	var req poolRequest
	if !a.decode(w, r, &req) {
		return
	}

	if req.Name == nil {
		writePoolNameError(w)
		return
	}
	if !validPoolRequest(w, req) {
		return
	}

	n := store.NewPool{OrgID: u.OrgID, Name: *req.Name, CreatedAt: a.now()}
	if req.Description != nil {
		n.Description = *req.Description
	}
	if req.OverflowToCatchAll != nil {
		n.OverflowToCatchAll = *req.OverflowToCatchAll
	}
	p, err := a.store.CreatePool(r.Context(), n)
	if !a.writePoolError(w, r, err) {
		return
	}

	a.reconfigure(r, u.OrgID)
	a.log.InfoContext(r.Context(), "pool created", slog.String("org_id", string(u.OrgID)),
		slog.String("pool_id", string(p.ID)), slog.String("by_user_id", string(u.ID)))
	WriteJSON(w, http.StatusCreated, toPoolJSON(p, nil, nil))
}

// updatePool handles PATCH /api/pools/{id} {name?, description?,
// overflowToCatchAll?}. The catch-all pool may be renamed and described.
func (a *API) updatePool(w http.ResponseWriter, r *http.Request, u store.User) {
	var req poolRequest
	if !a.decode(w, r, &req) {
		return
	}

	if req.Name == nil && req.Description == nil && req.OverflowToCatchAll == nil {
		WriteError(w, http.StatusBadRequest, CodeBadRequest,
			"name, description or overflowToCatchAll is required")
		return
	}
	if !validPoolRequest(w, req) {
		return
	}

	id := ids.PoolID(r.PathValue("id"))
	p, err := a.store.UpdatePool(r.Context(), u.OrgID, id, store.PoolChanges{
		Name: req.Name, Description: req.Description, OverflowToCatchAll: req.OverflowToCatchAll,
	})
	if errors.Is(err, store.ErrCatchAll) {
		WriteError(w, http.StatusBadRequest, CodeBadRequest,
			"overflowToCatchAll cannot be turned on for the catch-all pool itself")
		return
	}
	if !a.writePoolError(w, r, err) {
		return
	}

	a.reconfigure(r, u.OrgID)

	members, err := a.store.PoolMembers(r.Context(), u.OrgID, p.ID)
	if err != nil {
		a.failed(w, r, err)
		return
	}
	rules, err := a.store.ListRules(r.Context(), u.OrgID)
	if err != nil {
		a.failed(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, toPoolJSON(p, members, rules))
}

// deletePool handles DELETE /api/pools/{id}: the pool goes with its rules
// and memberships. The catch-all pool is permanent.
func (a *API) deletePool(w http.ResponseWriter, r *http.Request, u store.User) {
	id := ids.PoolID(r.PathValue("id"))

	err := a.store.DeletePool(r.Context(), u.OrgID, id)
	if errors.Is(err, store.ErrCatchAll) {
		WriteError(w, http.StatusConflict, CodeConflict, "The catch-all pool cannot be deleted")
		return
	}
	if !a.writePoolError(w, r, err) {
		return
	}

	a.reconfigure(r, u.OrgID)
	a.log.InfoContext(r.Context(), "pool deleted", slog.String("org_id", string(u.OrgID)),
		slog.String("pool_id", string(id)), slog.String("by_user_id", string(u.ID)))
	success(w)
}

// validPoolRequest checks the fields a pool request has, and answers 400
// naming the first invalid one.
func validPoolRequest(w http.ResponseWriter, req poolRequest) bool {
	if req.Name != nil {
		if !validName(*req.Name, maxPoolName) {
			writePoolNameError(w)
			return false
		}
	}
	if req.Description != nil &&
		utf8.RuneCountInString(strings.TrimSpace(*req.Description)) > maxPoolDescription {
		WriteError(w, http.StatusBadRequest, CodeBadRequest,
			"description must be at most 500 characters")
		return false
	}
	return true
}

func writePoolNameError(w http.ResponseWriter) {
	WriteError(w, http.StatusBadRequest, CodeBadRequest, nameRule("name", maxPoolName))
}

// writePoolError answers the store's refusals of a pool change, and reports
// whether the change went through instead.
func (a *API) writePoolError(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, store.ErrNotFound):
		WriteError(w, http.StatusNotFound, CodeNotFound, "Pool not found")
	case errors.Is(err, store.ErrConflict):
		WriteError(w, http.StatusConflict, CodeConflict, "A pool with this name already exists")
	default:
		a.failed(w, r, err)
	}
	return false
}
