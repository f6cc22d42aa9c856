package httpapi

import (
	"fmt"
	"net/http"

	"greeter/internal/ids"
	"greeter/internal/routing"
	"greeter/internal/store"
)

// routingTestJSON is the answer of the "Test a URL" box: the pool a page
// resolves to and the rule that sent it there, null for the catch-all.
type routingTestJSON struct {
	PoolID   ids.PoolID    `json:"poolId"`
	PoolName string        `json:"poolName"`
	RuleID   *store.RuleID `json:"ruleId"`
	RuleName *string       `json:"ruleName"`
}

// testRouting handles GET /api/routing/test?url=: which of the
// organization's rules and pools a page URL resolves to (SPEC §7.1).
func (a *API) testRouting(w http.ResponseWriter, r *http.Request, u store.User) {
	raw := r.URL.Query().Get("url")
	if raw == "" {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, "url is required")
		return
	}
	page, err := routing.ParsePage(raw)
	if err != nil {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, fmt.Sprintf(
			"url must be an absolute http or https URL of at most %d characters",
			routing.MaxURLLength))
		return
	}

	rules, err := a.store.ListRules(r.Context(), u.OrgID)
	if err != nil {
		a.failed(w, r, err)
		return
	}
	pools, err := a.store.ListPools(r.Context(), u.OrgID)
	if err != nil {
		a.failed(w, r, err)
		return
	}

	WriteJSON(w, http.StatusOK, resolvePage(page, rules, pools))
}

// resolvePage applies the rules to page, falling back to the catch-all
// pool.
func resolvePage(page routing.Page, rules []store.Rule, pools []store.Pool) routingTestJSON {
	candidates := make([]routing.Rule, len(rules))
	for i, rl := range rules {
		candidates[i] = rl.Routing()
	}
	ruleID, poolID, matched := routing.Resolve(page, candidates)

	var out routingTestJSON
	for _, p := range pools {
		if (matched && string(p.ID) == poolID) || (!matched && p.IsCatchAll) {
			out.PoolID, out.PoolName = p.ID, p.Name
		}
	}
	for _, rl := range rules {
		if matched && string(rl.ID) == ruleID {
			out.RuleID, out.RuleName = &rl.ID, &rl.Name
		}
	}
	return out
}
