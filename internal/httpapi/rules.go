package httpapi

import (
	"errors"
	"log/slog"
	"net/http"

	"greeter/internal/ids"
	"greeter/internal/routing"
	"greeter/internal/store"
)

// maxRuleName is the longest name a routing rule may have (SPEC §3.1).
const maxRuleName = 80

// catchAllRulesMessage is the answer to a rule on the catch-all pool, as
// SPEC §14.2 words it.
const catchAllRulesMessage = "The catch-all pool receives every visitor no other rule " +
	"matches; it cannot have rules."

// ruleJSON is a routing rule as the admin console shows it.
type ruleJSON struct {
	ID         store.RuleID        `json:"id"`
	PoolID     ids.PoolID          `json:"poolId"`
	Name       string              `json:"name"`
	Conditions []routing.Condition `json:"conditions"`
	Priority   int                 `json:"priority"`
	Active     bool                `json:"active"`
	CreatedAt  string              `json:"createdAt"`
}

func toRuleJSON(r store.Rule) ruleJSON {
	return ruleJSON{
		ID:         r.ID,
		PoolID:     r.PoolID,
		Name:       r.Name,
		Conditions: r.Conditions,
		Priority:   r.Priority,
		Active:     r.Active,
		CreatedAt:  *timestamp(&r.CreatedAt),
	}
}

type ruleRequest struct {
	Name       *string             `json:"name"`
	Conditions []routing.Condition `json:"conditions"`
	Priority   *int                `json:"priority"`
	Active     *bool               `json:"active"`
}

// createRule handles POST /api/pools/{id}/rules {name, conditions,
// priority?, active?}. A new rule is active with priority 0 unless told
// otherwise.
func (a *API) createRule(w http.ResponseWriter, r *http.Request, u store.User) {
	var req ruleRequest
	if !a.decode(w, r, &req) {
		return
	}

	if req.Name == nil {
		writeRuleNameError(w)
		return
	}
	if req.Conditions == nil {
		req.Conditions = []routing.Condition{} // so that it is checked, and named
	}
	if !validRuleRequest(w, req) {
		return
	}

	n := store.NewRule{OrgID: u.OrgID, PoolID: ids.PoolID(r.PathValue("id")),
		Name: *req.Name, Conditions: req.Conditions, Active: true, CreatedAt: a.now()}
	if req.Priority != nil {
		n.Priority = *req.Priority
	}
	if req.Active != nil {
		n.Active = *req.Active
	}
	rule, err := a.store.CreateRule(r.Context(), n)
	switch {
	case errors.Is(err, store.ErrNotFound):
		WriteError(w, http.StatusNotFound, CodeNotFound, "Pool not found")
		return
	case errors.Is(err, store.ErrCatchAll):
		WriteError(w, http.StatusBadRequest, CodeBadRequest, catchAllRulesMessage)
		return
	case err != nil:
		a.failed(w, r, err)
		return
	}

	a.reconfigure(r, u.OrgID)
	a.log.InfoContext(r.Context(), "routing rule created", slog.String("org_id", string(u.OrgID)),
		slog.String("rule_id", string(rule.ID)), slog.String("pool_id", string(rule.PoolID)),
		slog.String("by_user_id", string(u.ID)))
	WriteJSON(w, http.StatusCreated, toRuleJSON(rule))
}

// updateRule handles PATCH /api/rules/{id} {name?, conditions?, priority?,
// active?}. Conditions, when given, replace all of the rule's conditions.
func (a *API) updateRule(w http.ResponseWriter, r *http.Request, u store.User) {
	var req ruleRequest
	if !a.decode(w, r, &req) {
		return
	}

	if req.Name == nil && req.Conditions == nil && req.Priority == nil && req.Active == nil {
		WriteError(w, http.StatusBadRequest, CodeBadRequest,
			"name, conditions, priority or active is required")
		return
	}
	if !validRuleRequest(w, req) {
		return
	}

	id := store.RuleID(r.PathValue("id"))
	rule, err := a.store.UpdateRule(r.Context(), u.OrgID, id, store.RuleChanges{
		Name: req.Name, Conditions: req.Conditions, Priority: req.Priority, Active: req.Active,
	})
	if errors.Is(err, store.ErrNotFound) {
		WriteError(w, http.StatusNotFound, CodeNotFound, "Rule not found")
		return
	}
	if err != nil {
		a.failed(w, r, err)
		return
	}
	a.reconfigure(r, u.OrgID)
	WriteJSON(w, http.StatusOK, toRuleJSON(rule))
}

// deleteRule handles DELETE /api/rules/{id}.
func (a *API) deleteRule(w http.ResponseWriter, r *http.Request, u store.User) {
	id := store.RuleID(r.PathValue("id"))

	err := a.store.DeleteRule(r.Context(), u.OrgID, id)
	if errors.Is(err, store.ErrNotFound) {
		WriteError(w, http.StatusNotFound, CodeNotFound, "Rule not found")
		return
	}
	if err != nil {
		a.failed(w, r, err)
		return
	}

	a.reconfigure(r, u.OrgID)
	a.log.InfoContext(r.Context(), "routing rule deleted", slog.String("org_id", string(u.OrgID)),
		slog.String("rule_id", string(id)), slog.String("by_user_id", string(u.ID)))
	success(w)
}

// validRuleRequest checks the fields a rule request has, and answers 400
// naming the first invalid one. Conditions are checked only when given.
func validRuleRequest(w http.ResponseWriter, req ruleRequest) bool {
	if req.Name != nil {
		if !validName(*req.Name, maxRuleName) {
			writeRuleNameError(w)
			return false
		}
	}

	// ValidateRule checks the priority and the conditions together; a
	// field the request leaves out is given a value that passes.
	check := routing.Rule{Conditions: req.Conditions}
	if req.Priority != nil {
		check.Priority = *req.Priority
	}
	if req.Conditions == nil {
		check.Conditions = []routing.Condition{{Type: routing.TypePath,
			Match: routing.MatchContains, Value: "/"}}
	}
	var invalid *routing.InvalidError
	if errors.As(routing.ValidateRule(check), &invalid) {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, invalid.Message())
		return false
	}
	return true
}

func writeRuleNameError(w http.ResponseWriter) {
	WriteError(w, http.StatusBadRequest, CodeBadRequest, nameRule("name", maxRuleName))
}
