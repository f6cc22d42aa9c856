package httpapi

import (
	"net/http"
	"testing"
)

func TestListCallsStaysWithinTheCallersRows(t *testing.T) {
	env := newTestEnv(t)
	env.saveLogs(env.a, env.a.adminAgent.ID, "a-admin", 3)
	env.saveLogs(env.a, env.a.agent.ID, "a-agent", 2)
	env.saveLogs(env.a, "", "a-nobody", 1)
	env.saveLogs(env.b, env.b.agent.ID, "b-agent", 4)

	tests := []struct {
		name    string
		token   string
		total   int
		agentIn map[string]bool // agentId values allowed in the answer ("" = null)
	}{
		{"admin of A sees all of A", env.signIn(env.a.admin), 6, map[string]bool{
			string(env.a.adminAgent.ID): true, string(env.a.agent.ID): true, "": true,
		}},
		{"admin of B sees only B", env.signIn(env.b.admin), 4, map[string]bool{
			string(env.b.agent.ID): true,
		}},
		{"agent of A sees own rows", env.signIn(env.a.agentUser), 2, map[string]bool{
			string(env.a.agent.ID): true,
		}},
		{"user without profile sees nothing", env.signIn(env.a.plainUser), 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := env.do(request{method: "GET", path: "/api/calls", token: tt.token})
			if got.status != http.StatusOK {
				t.Fatalf("%d %s", got.status, got.body)
			}
			if got.json["total"] != float64(tt.total) || got.json["page"] != float64(1) ||
				got.json["pageSize"] != float64(50) {
				t.Errorf("paging = %v %v %v", got.json["total"], got.json["page"],
					got.json["pageSize"])
			}

			items, _ := got.json["items"].([]any)
			if items == nil || len(items) != tt.total {
				t.Fatalf("items = %s", got.body)
			}
			for _, it := range items {
				row := it.(map[string]any)
				agent, _ := row["agentId"].(string)
				if !tt.agentIn[agent] {
					t.Errorf("row %v of agent %q is not the caller's to see", row["id"], agent)
				}
			}
		})
	}
}

func TestListCallsRowShape(t *testing.T) {
	env := newTestEnv(t)
	env.saveLogs(env.a, "", "only", 1)

	got := env.do(request{method: "GET", path: "/api/calls", token: env.signIn(env.a.admin)})
	if got.status != http.StatusOK {
		t.Fatalf("%d %s", got.status, got.body)
	}
	row := got.json["items"].([]any)[0].(map[string]any)

	checks := map[string]any{
		"id": "only-a", "status": "missed", "agentId": nil, "endReason": "ring_timeout",
		"endedBy": "system", "answeredAt": nil, "durationSeconds": nil,
		"ringStartedAt": "2025-05-01T10:00:00.000Z", "createdAt": "2025-05-01T10:00:00.000Z",
		"siteId": string(env.a.site.ID), "pageUrl": "https://shop.a.test/",
	}
	for k, want := range checks {
		if v, ok := row[k]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", k, v, ok, want)
		}
	}
}

func TestListCallsRefusals(t *testing.T) {
	env := newTestEnv(t)

	wantError(t, env.do(request{method: "GET", path: "/api/calls"}),
		http.StatusUnauthorized, CodeUnauthorized)
	wantError(t, env.do(request{method: "GET", path: "/api/calls?page=0",
		token: env.signIn(env.a.admin)}), http.StatusBadRequest, CodeBadRequest)
}

func TestListCallsNamesTheAgentEvenAfterRemoval(t *testing.T) {
	env := newTestEnv(t)
	env.saveLogs(env.a, env.a.agent.ID, "named", 2)
	env.saveLogs(env.a, "", "nobody", 1)
	admin := env.signIn(env.a.admin)
	removed := env.do(request{method: "DELETE", path: "/api/agents/" + string(env.a.agent.ID),
		token: admin})
	if removed.status != http.StatusOK {
		t.Fatalf("removing the agent: %d %s", removed.status, removed.body)
	}

	got := env.do(request{method: "GET", path: "/api/calls", token: admin})
	if got.status != http.StatusOK {
		t.Fatalf("%d %s", got.status, got.body)
	}
	for _, it := range got.json["items"].([]any) {
		row := it.(map[string]any)
		want := any("Agent A")
		if row["agentId"] == nil {
			want = nil
		}
		if row["agentName"] != want {
			t.Errorf("row %v: agentName = %v, want %v", row["id"], row["agentName"], want)
		}
	}
}
