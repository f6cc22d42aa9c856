package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"greeter/internal/routing"
	"greeter/internal/store"
)

const pricingRule = `{"name":"Pricing","priority":10,"conditions":[` +
	`{"type":"path","match":"starts_with","value":"/pricing"}]}`

// poolsOf is what GET /api/pools shows an admin of tn.
func (e *testEnv) poolsOf(tn tenant) []byte {
	e.t.Helper()
	got := e.do(request{method: "GET", path: "/api/pools", token: e.signIn(tn.admin)})
	if got.status != http.StatusOK {
		e.t.Fatalf("GET /api/pools: %d %s", got.status, got.body)
	}
	return got.body
}

// routingSetup gives tn a pool "Sales" with its agent at tier 2 and an active
// rule "Pricing".
type routingSetup struct {
	pool store.Pool
	rule store.Rule
}

func (e *testEnv) setUpRouting(tn tenant) routingSetup {
	e.t.Helper()
	ctx := context.Background()
	pool, err := e.store.CreatePool(ctx, store.NewPool{OrgID: tn.org.ID, Name: "Sales"})
	e.must(err)
	_, err = e.store.SetPoolMember(ctx, tn.org.ID, pool.ID, tn.agent.ID, 2)
	e.must(err)
	rule, err := e.store.CreateRule(ctx, store.NewRule{OrgID: tn.org.ID, PoolID: pool.ID,
		Name: "Pricing", Priority: 10, Active: true, Conditions: []routing.Condition{
			{Type: routing.TypePath, Match: routing.MatchStartsWith, Value: "/pricing"}}})
	e.must(err)
	return routingSetup{pool: pool, rule: rule}
}

// assertBodyError checks an error answer and its exact message.
func assertBodyError(t *testing.T, got response, status int, code, message string) {
	t.Helper()
	wantError(t, got, status, code)
	if message != "" && got.json["error"] != message {
		t.Errorf("error = %q, want %q", got.json["error"], message)
	}
}

func TestPoolLifecycle(t *testing.T) {
	env := newTestEnv(t)
	admin := env.signIn(env.a.admin)
	all, err := env.store.CatchAllPool(context.Background(), env.a.org.ID)
	env.must(err)

	// A new organization has the catch-all pool, with every agent at tier 1.
	var list struct{ Pools []poolJSON }
	env.must(json.Unmarshal(env.poolsOf(env.a), &list))
	if len(list.Pools) != 1 || list.Pools[0].ID != all.ID || !list.Pools[0].IsCatchAll ||
		len(list.Pools[0].Members) != 2 || len(list.Pools[0].Rules) != 0 {
		t.Fatalf("pools = %+v", list.Pools)
	}

	created := env.do(request{method: "POST", path: "/api/pools", token: admin,
		body: `{"name":" Sales ","description":"Buyers","overflowToCatchAll":true}`})
	if created.status != http.StatusCreated || created.json["name"] != "Sales" ||
		created.json["overflowToCatchAll"] != true || created.json["isCatchAll"] != false {
		t.Fatalf("create: %d %s", created.status, created.body)
	}
	poolID, _ := created.json["id"].(string)

	dup := env.do(request{method: "POST", path: "/api/pools", token: admin,
		body: `{"name":"SALES"}`})
	assertBody(t, dup, http.StatusConflict,
		`{"error":"A pool with this name already exists","code":"CONFLICT"}`)

	member := env.do(request{method: "PUT", token: admin,
		path: "/api/pools/" + poolID + "/members/" + string(env.a.agent.ID),
		body: `{"priorityRank":2}`})
	assertJSON(t, "member", member.body, map[string]any{"poolId": poolID,
		"agentId": string(env.a.agent.ID), "priorityRank": 2,
		"videos": map[string]any{"wave": nil, "intro": nil, "loop": nil}})
	// Without a body the agent goes to tier 1.
	me := env.do(request{method: "PUT", token: admin,
		path: "/api/pools/" + poolID + "/members/" + string(env.a.adminAgent.ID)})
	if me.status != http.StatusOK || me.json["priorityRank"] != float64(1) {
		t.Errorf("member without a body: %d %s", me.status, me.body)
	}

	rule := env.do(request{method: "POST", path: "/api/pools/" + poolID + "/rules",
		token: admin, body: `{"name":"Pricing","priority":10,"conditions":[` +
			`{"type":"path","match":"starts_with","value":" /pricing "},` +
			`{"type":"query_param","match":"does_not_contain","value":"x","param":"ref"}]}`})
	if rule.status != http.StatusCreated || rule.json["active"] != true ||
		rule.json["poolId"] != poolID {
		t.Fatalf("rule: %d %s", rule.status, rule.body)
	}
	ruleID, _ := rule.json["id"].(string)
	assertJSON(t, "conditions", mustMarshal(t, rule.json["conditions"]), []map[string]any{
		{"type": "path", "match": "starts_with", "value": "/pricing"},
		{"type": "query_param", "match": "does_not_contain", "value": "x", "param": "ref"},
	})

	renamed := env.do(request{method: "PATCH", path: "/api/pools/" + poolID, token: admin,
		body: `{"name":"Buyers","overflowToCatchAll":false}`})
	var p poolJSON
	env.must(json.Unmarshal(renamed.body, &p))
	if renamed.status != http.StatusOK || p.Name != "Buyers" || p.Description != "Buyers" ||
		p.OverflowToCatchAll || len(p.Members) != 2 || len(p.Rules) != 1 ||
		p.Members[0].AgentID != env.a.adminAgent.ID || p.Members[1].PriorityRank != 2 {
		t.Errorf("rename: %d %s", renamed.status, renamed.body)
	}

	off := env.do(request{method: "PATCH", path: "/api/rules/" + ruleID, token: admin,
		body: `{"active":false,"priority":-3}`})
	if off.status != http.StatusOK || off.json["active"] != false ||
		off.json["priority"] != float64(-3) || off.json["name"] != "Pricing" {
		t.Errorf("update rule: %d %s", off.status, off.body)
	}

	env.must(json.Unmarshal(env.poolsOf(env.a), &list))
	if len(list.Pools) != 2 || list.Pools[1].ID != p.ID || len(list.Pools[1].Rules) != 1 ||
		list.Pools[1].Rules[0].Active {
		t.Errorf("pools = %+v", list.Pools)
	}

	for _, path := range []string{"/api/rules/" + ruleID,
		"/api/pools/" + poolID + "/members/" + string(env.a.agent.ID),
		"/api/pools/" + poolID} {
		got := env.do(request{method: "DELETE", path: path, token: admin})
		assertBody(t, got, http.StatusOK, `{"success":true}`)
		again := env.do(request{method: "DELETE", path: path, token: admin})
		wantError(t, again, http.StatusNotFound, CodeNotFound)
	}
	env.must(json.Unmarshal(env.poolsOf(env.a), &list))
	if len(list.Pools) != 1 || !list.Pools[0].IsCatchAll {
		t.Errorf("after deleting, pools = %+v", list.Pools)
	}
}

func TestDeletePoolTakesItsRulesAndMembers(t *testing.T) {
	env := newTestEnv(t)
	setup := env.setUpRouting(env.a)

	got := env.do(request{method: "DELETE", path: "/api/pools/" + string(setup.pool.ID),
		token: env.signIn(env.a.admin)})
	assertBody(t, got, http.StatusOK, `{"success":true}`)

	ctx := context.Background()
	rules, err := env.store.ListRules(ctx, env.a.org.ID)
	env.must(err)
	members, err := env.store.ListPoolMembers(ctx, env.a.org.ID)
	env.must(err)
	if len(rules) != 0 {
		t.Errorf("rules = %+v", rules)
	}
	for _, m := range members {
		if m.PoolID == setup.pool.ID {
			t.Errorf("membership %+v remains", m)
		}
	}
}

func TestCatchAllPoolRefusals(t *testing.T) {
	env := newTestEnv(t)
	admin := env.signIn(env.a.admin)
	all, err := env.store.CatchAllPool(context.Background(), env.a.org.ID)
	env.must(err)
	before := env.poolsOf(env.a)

	del := env.do(request{method: "DELETE", path: "/api/pools/" + string(all.ID), token: admin})
	assertBody(t, del, http.StatusConflict,
		`{"error":"The catch-all pool cannot be deleted","code":"CONFLICT"}`)

	rule := env.do(request{method: "POST", path: "/api/pools/" + string(all.ID) + "/rules",
		token: admin, body: pricingRule})
	assertBodyError(t, rule, http.StatusBadRequest, CodeBadRequest, "The catch-all pool "+
		"receives every visitor no other rule matches; it cannot have rules.")

	overflow := env.do(request{method: "PATCH", path: "/api/pools/" + string(all.ID),
		token: admin, body: `{"overflowToCatchAll":true}`})
	assertBodyError(t, overflow, http.StatusBadRequest, CodeBadRequest,
		"overflowToCatchAll cannot be turned on for the catch-all pool itself")

	if after := env.poolsOf(env.a); !bytes.Equal(before, after) {
		t.Errorf("a refusal changed the pools:\n%s\n%s", before, after)
	}

	renamed := env.do(request{method: "PATCH", path: "/api/pools/" + string(all.ID),
		token: admin, body: `{"name":"Everyone"}`})
	if renamed.status != http.StatusOK || renamed.json["name"] != "Everyone" ||
		renamed.json["isCatchAll"] != true {
		t.Errorf("rename the catch-all: %d %s", renamed.status, renamed.body)
	}
}

func TestSetPoolMemberNeedsAnActiveAgentOfTheOrg(t *testing.T) {
	env := newTestEnv(t)
	admin := env.signIn(env.a.admin)
	setup := env.setUpRouting(env.a)
	env.must(env.store.RemoveAgentProfile(context.Background(), env.a.org.ID, env.a.agent.ID,
		env.a.admin.ID, time.Now()))

	for _, agent := range []string{string(env.a.agent.ID), "unknown", string(env.b.agent.ID)} {
		got := env.do(request{method: "PUT", token: admin, body: `{"priorityRank":1}`,
			path: "/api/pools/" + string(setup.pool.ID) + "/members/" + agent})
		assertBody(t, got, http.StatusNotFound, `{"error":"Agent not found","code":"NOT_FOUND"}`)
	}
}

func TestRoutingTest(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	admin := env.signIn(env.a.admin)
	setup := env.setUpRouting(env.a)
	all, err := env.store.CatchAllPool(ctx, env.a.org.ID)
	env.must(err)
	ads, err := env.store.CreatePool(ctx, store.NewPool{OrgID: env.a.org.ID, Name: "Ads"})
	env.must(err)
	google, err := env.store.CreateRule(ctx, store.NewRule{OrgID: env.a.org.ID, PoolID: ads.ID,
		Name: "Google ads", Priority: 20, Active: true, Conditions: []routing.Condition{
			{Type: routing.TypeDomain, Match: routing.MatchIsExactly, Value: "shop.a.test"},
			{Type: routing.TypeQueryParam, Match: routing.MatchIsExactly, Value: "google",
				Param: "utm_source"}}})
	env.must(err)
	_, err = env.store.CreateRule(ctx, store.NewRule{OrgID: env.a.org.ID, PoolID: ads.ID,
		Name: "Off", Priority: 1000, Active: false, Conditions: []routing.Condition{
			{Type: routing.TypePath, Match: routing.MatchContains, Value: "/"}}})
	env.must(err)

	matched := func(p store.Pool, r store.Rule) map[string]any {
		return map[string]any{"poolId": string(p.ID), "poolName": p.Name,
			"ruleId": string(r.ID), "ruleName": r.Name}
	}
	catchAll := map[string]any{"poolId": string(all.ID), "poolName": "All",
		"ruleId": nil, "ruleName": nil}
	tests := []struct {
		url  string
		want map[string]any
	}{
		{"https://shop.a.test/pricing/team", matched(setup.pool, setup.rule)},
		{"https://SHOP.a.test:8443/Pricing?UTM_SOURCE=Google", matched(ads, google)},
		{"https://www.shop.a.test/pricing?utm_source=google", matched(setup.pool, setup.rule)},
		{"https://shop.a.test/", catchAll},
		{"https://shop.a.test/%70ricing", matched(setup.pool, setup.rule)},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got := env.do(request{method: "GET", token: admin,
				path: "/api/routing/test?url=" + url.QueryEscape(tt.url)})
			if got.status != http.StatusOK {
				t.Fatalf("%d %s", got.status, got.body)
			}
			assertJSON(t, tt.url, got.body, tt.want)
		})
	}
}

func TestPoolRoutesRefuseBadInput(t *testing.T) {
	env := newTestEnv(t)
	admin := env.signIn(env.a.admin)
	setup := env.setUpRouting(env.a)
	pool := "/api/pools/" + string(setup.pool.ID)
	rule := "/api/rules/" + string(setup.rule.ID)
	member := pool + "/members/" + string(env.a.adminAgent.ID)
	big := `{"name":"` + strings.Repeat("x", MaxBodyBytes) + `"}`
	cond := func(c string) string { return `{"name":"r","conditions":[` + c + `]}` }
	eleven := strings.TrimSuffix(strings.Repeat(
		`{"type":"path","match":"contains","value":"a"},`, 11), ",")
	before := env.poolsOf(env.a)

	tests := []struct {
		method, path, body string
		status             int
		message            string
	}{
		{"POST", "/api/pools", `{}`, 400, "name must be 1 to 80 characters, without control characters"},
		{"POST", "/api/pools", `{"name":"   "}`, 400,
			"name must be 1 to 80 characters, without control characters"},
		{"POST", "/api/pools", `{"name":"` + strings.Repeat("é", 81) + `"}`, 400,
			"name must be 1 to 80 characters, without control characters"},
		{"POST", "/api/pools", `{"name":5}`, 400, "name must be a string"},
		{"POST", "/api/pools", `{"name":"x","description":"` + strings.Repeat("d", 501) + `"}`,
			400, "description must be at most 500 characters"},
		{"POST", "/api/pools", `{"name":"x","overflowToCatchAll":"yes"}`, 400,
			"overflowToCatchAll must be a boolean"},
		{"POST", "/api/pools", big, 413, ""},
		{"POST", "/api/pools", `name=x`, 400, "Request body must be a JSON object"},
		{"POST", "/api/pools", `[{"name":"x"}]`, 400, "Request body must be a JSON object"},
		{"POST", "/api/pools", `{"name":`, 400, "Request body is not valid JSON"},
		{"PATCH", pool, `{}`, 400, "name, description or overflowToCatchAll is required"},
		{"PATCH", pool, `{"name":""}`, 400, "name must be 1 to 80 characters, without control characters"},
		{"PATCH", pool, `{"description":7}`, 400, "description must be a string"},
		{"PATCH", pool, big, 413, ""},

		{"POST", pool + "/rules", `{"conditions":[]}`, 400,
			"name must be 1 to 80 characters, without control characters"},
		{"POST", pool + "/rules", `{"name":"r"}`, 400,
			"conditions must hold 1 to 10 conditions"},
		{"POST", pool + "/rules", cond(eleven), 400, "conditions must hold 1 to 10 conditions"},
		{"POST", pool + "/rules", cond(`{"type":"host","match":"contains","value":"a"}`), 400,
			"conditions[0].type must be one of domain, path, query_param"},
		{"POST", pool + "/rules", cond(`{"type":"path","match":"like","value":"a"}`), 400,
			"conditions[0].match must be one of is_exactly, contains, does_not_contain, " +
				"starts_with, ends_with"},
		{"POST", pool + "/rules", cond(`{"type":"path","match":"contains","value":" "}`), 400,
			"conditions[0].value must be 1 to 500 characters"},
		{"POST", pool + "/rules", cond(`{"type":"path","match":"contains","value":"a"},` +
			`{"type":"query_param","match":"contains","value":"a"}`), 400,
			"conditions[1].param must be 1 to 100 characters when type is query_param"},
		{"POST", pool + "/rules",
			cond(`{"type":"domain","match":"contains","value":"a","param":"p"}`), 400,
			"conditions[0].param is only allowed when type is query_param"},
		{"POST", pool + "/rules", `{"name":"r","priority":1001,"conditions":[` +
			`{"type":"path","match":"contains","value":"a"}]}`, 400,
			"priority must be between -1000 and 1000"},
		{"POST", pool + "/rules", `{"name":"r","priority":"high"}`, 400,
			"priority must be an integer"},
		{"POST", pool + "/rules", `{"name":"r","priority":1.5}`, 400,
			"priority must be an integer"},
		{"POST", pool + "/rules", `{"name":"r","conditions":"x"}`, 400,
			"conditions must be an array"},
		{"POST", pool + "/rules", `{"name":"r","active":1}`, 400, "active must be a boolean"},
		{"POST", pool + "/rules", cond(`{"type":1}`), 400, "conditions.type must be a string"},
		{"POST", pool + "/rules", big, 413, ""},
		{"PATCH", rule, `{}`, 400, "name, conditions, priority or active is required"},
		{"PATCH", rule, `{"conditions":[]}`, 400, "conditions must hold 1 to 10 conditions"},
		{"PATCH", rule, `{"priority":-1001}`, 400, "priority must be between -1000 and 1000"},
		{"PATCH", rule, `{"name":"` + strings.Repeat("n", 81) + `"}`, 400,
			"name must be 1 to 80 characters, without control characters"},
		{"PATCH", rule, big, 413, ""},

		{"PUT", member, `{"priorityRank":0}`, 400, "priorityRank must be between 1 and 99"},
		{"PUT", member, `{"priorityRank":100}`, 400, "priorityRank must be between 1 and 99"},
		{"PUT", member, `{"priorityRank":"1"}`, 400, "priorityRank must be an integer"},
		{"PUT", member, big, 413, ""},

		{"GET", "/api/routing/test", "", 400, "url is required"},
		{"GET", "/api/routing/test?url=shop.a.test%2Fpricing", "", 400,
			"url must be an absolute http or https URL of at most 2048 characters"},
		{"GET", "/api/routing/test?url=ftp%3A%2F%2Fshop.a.test%2F", "", 400,
			"url must be an absolute http or https URL of at most 2048 characters"},
		{"GET", "/api/routing/test?url=https%3A%2F%2Fa.test%2F" + strings.Repeat("a", 2048),
			"", 400, "url must be an absolute http or https URL of at most 2048 characters"},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s %s %.60s", tt.method, tt.path, tt.body)
		t.Run(name, func(t *testing.T) {
			env.t = t
			got := env.do(request{method: tt.method, path: tt.path, body: tt.body, token: admin})
			code := CodeBadRequest
			if tt.status == http.StatusRequestEntityTooLarge {
				code = CodePayloadTooLarge
			}
			assertBodyError(t, got, tt.status, code, tt.message)
		})
	}
	env.t = t

	if after := env.poolsOf(env.a); !bytes.Equal(before, after) {
		t.Errorf("bad input changed the pools:\n%s\n%s", before, after)
	}
}

func TestPoolsTenantWall(t *testing.T) {
	env := newTestEnv(t)
	a := env.setUpRouting(env.a)
	b := env.setUpRouting(env.b)
	before := env.poolsOf(env.b)
	adminA := env.signIn(env.a.admin)
	poolB, ruleB := "/api/pools/"+string(b.pool.ID), "/api/rules/"+string(b.rule.ID)
	poolA := "/api/pools/" + string(a.pool.ID)

	tests := []struct {
		method, pathB, pathUnknown, body string
	}{
		{"PATCH", poolB, "/api/pools/unknown", `{"name":"Taken"}`},
		{"DELETE", poolB, "/api/pools/unknown", ""},
		{"POST", poolB + "/rules", "/api/pools/unknown/rules", pricingRule},
		{"PATCH", ruleB, "/api/rules/unknown", `{"active":false}`},
		{"DELETE", ruleB, "/api/rules/unknown", ""},
		{"PUT", poolB + "/members/" + string(env.a.agent.ID),
			"/api/pools/unknown/members/" + string(env.a.agent.ID), `{"priorityRank":1}`},
		{"PUT", poolA + "/members/" + string(env.b.agent.ID), poolA + "/members/unknown",
			`{"priorityRank":1}`},
		{"DELETE", poolB + "/members/" + string(env.b.agent.ID),
			"/api/pools/unknown/members/" + string(env.b.agent.ID), ""},
		{"DELETE", poolA + "/members/" + string(env.b.agent.ID), poolA + "/members/unknown",
			""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.pathUnknown, func(t *testing.T) {
			env.t = t
			foreign := env.do(request{method: tt.method, path: tt.pathB, body: tt.body,
				token: adminA})
			unknown := env.do(request{method: tt.method, path: tt.pathUnknown, body: tt.body,
				token: adminA})
			wantError(t, foreign, http.StatusNotFound, CodeNotFound)
			if !bytes.Equal(foreign.body, unknown.body) || foreign.status != unknown.status {
				t.Errorf("foreign id: %d %s; unknown id: %d %s",
					foreign.status, foreign.body, unknown.status, unknown.body)
			}
		})
	}
	env.t = t

	if after := env.poolsOf(env.b); !bytes.Equal(before, after) {
		t.Errorf("organization B changed:\n%s\n%s", before, after)
	}
	seen := env.poolsOf(env.a)
	for _, id := range []string{string(b.pool.ID), string(b.rule.ID), string(env.b.agent.ID),
		string(env.b.adminAgent.ID)} {
		if bytes.Contains(seen, []byte(id)) {
			t.Errorf("GET /api/pools of A shows %s of organization B", id)
		}
	}

	// B's rule sends /pricing to B's pool; A's own rule does the same for A.
	got := env.do(request{method: "GET", token: adminA,
		path: "/api/routing/test?url=" + url.QueryEscape("https://b.test/pricing")})
	if got.status != http.StatusOK || got.json["poolId"] != string(a.pool.ID) ||
		got.json["ruleId"] != string(a.rule.ID) {
		t.Errorf("routing test: %d %s", got.status, got.body)
	}
	env.must(env.store.DeleteRule(context.Background(), env.a.org.ID, a.rule.ID))
	got = env.do(request{method: "GET", token: adminA,
		path: "/api/routing/test?url=" + url.QueryEscape("https://b.test/pricing")})
	if got.status != http.StatusOK || got.json["ruleId"] != nil ||
		got.json["poolName"] != "All" || bytes.Contains(got.body, []byte(b.pool.ID)) {
		t.Errorf("routing test without A's rule: %d %s", got.status, got.body)
	}
}

func TestPoolRoutesRefuseOthers(t *testing.T) {
	env := newTestEnv(t)
	setup := env.setUpRouting(env.a)
	agent := env.signIn(env.a.agentUser)
	pool := "/api/pools/" + string(setup.pool.ID)
	member := pool + "/members/" + string(env.a.agent.ID)
	before := env.poolsOf(env.a)

	routes := []struct{ method, path, body string }{
		{"GET", "/api/pools", ""},
		{"POST", "/api/pools", `{"name":"Mine"}`},
		{"PATCH", pool, `{"name":"Mine"}`},
		{"DELETE", pool, ""},
		{"POST", pool + "/rules", pricingRule},
		{"PATCH", "/api/rules/" + string(setup.rule.ID), `{"active":false}`},
		{"DELETE", "/api/rules/" + string(setup.rule.ID), ""},
		{"PUT", member, `{"priorityRank":1}`},
		{"DELETE", member, ""},
		{"GET", "/api/routing/test?url=https%3A%2F%2Fshop.a.test%2F", ""},
	}
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			env.t = t
			got := env.do(request{method: rt.method, path: rt.path, body: rt.body, token: agent})
			wantError(t, got, http.StatusForbidden, CodeForbidden)
			anon := env.do(request{method: rt.method, path: rt.path, body: rt.body})
			wantError(t, anon, http.StatusUnauthorized, CodeUnauthorized)

			if rt.method == "GET" {
				return
			}
			cross := env.do(request{method: rt.method, path: rt.path, body: rt.body,
				token: env.signIn(env.a.admin), header: map[string]string{
					"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.test"}})
			wantError(t, cross, http.StatusForbidden, CodeForbidden)
		})
	}
	env.t = t

	if after := env.poolsOf(env.a); !bytes.Equal(before, after) {
		t.Errorf("a refused request changed the pools:\n%s\n%s", before, after)
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
