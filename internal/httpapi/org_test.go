package httpapi

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"greeter/internal/calls"
	"greeter/internal/ids"
	"greeter/internal/protocol"
	"greeter/internal/store"
)

// orgRow loads tn's organization's settings straight from the store.
func (e *testEnv) orgRow(tn tenant) orgJSON {
	e.t.Helper()
	o, err := e.store.OrgByID(context.Background(), tn.org.ID)
	e.must(err)
	return toOrgJSON(o)
}

func TestOrgSettingsReadAndUpdate(t *testing.T) {
	env := newTestEnv(t)
	admin := env.signIn(env.a.admin)

	got := env.do(request{method: "GET", path: "/api/org", token: admin})
	assertOrgJSON(t, got, env.a.org.ID, "A", "UTC", 15, 120)
	if got.json["status"] != store.OrgActive {
		t.Errorf("status = %v, want active", got.json["status"])
	}

	got = env.do(request{method: "PATCH", path: "/api/org", token: admin, body: `{
		"name": "  Acme Bikes  ", "timezone": "Europe/Berlin",
		"rnaSeconds": 30, "maxCallMinutes": 45, "unknownField": true}`})
	assertOrgJSON(t, got, env.a.org.ID, "Acme Bikes", "Europe/Berlin", 30, 45)

	// A partial edit leaves the other fields as they are.
	got = env.do(request{method: "PATCH", path: "/api/org", token: admin,
		body: `{"rnaSeconds": 60}`})
	assertOrgJSON(t, got, env.a.org.ID, "Acme Bikes", "Europe/Berlin", 60, 45)

	o := env.orgRow(env.a)
	if o.Name != "Acme Bikes" || o.Timezone != "Europe/Berlin" || o.RNASeconds != 60 ||
		o.MaxCallMinutes != 45 || o.Status != store.OrgActive {
		t.Errorf("stored = %+v", o)
	}

	// Every member may read the settings, agents and non-agents alike.
	for _, u := range []store.User{env.a.agentUser, env.a.plainUser} {
		got := env.do(request{method: "GET", path: "/api/org", token: env.signIn(u)})
		assertOrgJSON(t, got, env.a.org.ID, "Acme Bikes", "Europe/Berlin", 60, 45)
	}
}

func TestUpdateOrgRefusesBadInput(t *testing.T) {
	env := newTestEnv(t)
	admin := env.signIn(env.a.admin)
	before := env.orgRow(env.a)

	tests := []struct {
		name, body, message string
	}{
		{"no field", `{}`, "name, timezone, rnaSeconds or maxCallMinutes is required"},
		{"not an object", `[1]`, "Request body must be a JSON object"},
		{"not JSON", `{"rnaSeconds":`, "Request body is not valid JSON"},
		{"rnaSeconds 9", `{"rnaSeconds":9}`, "rnaSeconds must be between 10 and 60"},
		{"rnaSeconds 61", `{"rnaSeconds":61}`, "rnaSeconds must be between 10 and 60"},
		{"rnaSeconds text", `{"rnaSeconds":"20"}`, "rnaSeconds must be an integer"},
		{"rnaSeconds fraction", `{"rnaSeconds":20.5}`, "rnaSeconds must be an integer"},
		{"maxCallMinutes 29", `{"maxCallMinutes":29}`,
			"maxCallMinutes must be between 30 and 240"},
		{"maxCallMinutes 241", `{"maxCallMinutes":241}`,
			"maxCallMinutes must be between 30 and 240"},
		{"maxCallMinutes bool", `{"maxCallMinutes":true}`, "maxCallMinutes must be an integer"},
		{"empty name", `{"name":""}`, "name must be 1 to 100 characters, without control characters"},
		{"blank name", `{"name":"   "}`, "name must be 1 to 100 characters, without control characters"},
		{"long name", `{"name":"` + strings.Repeat("é", 101) + `"}`,
			"name must be 1 to 100 characters, without control characters"},
		{"name number", `{"name":42}`, "name must be a string"},
		{"unknown zone", `{"timezone":"Mars/Olympus_Mons"}`,
			"timezone must be an IANA time zone name, such as Europe/Berlin"},
		{"Local zone", `{"timezone":"Local"}`,
			"timezone must be an IANA time zone name, such as Europe/Berlin"},
		{"empty zone", `{"timezone":""}`,
			"timezone must be an IANA time zone name, such as Europe/Berlin"},
		{"zone path", `{"timezone":"../../etc/passwd"}`,
			"timezone must be an IANA time zone name, such as Europe/Berlin"},
		{"zone array", `{"timezone":["UTC"]}`, "timezone must be a string"},
		// All or nothing: valid fields beside an invalid one change nothing.
		{"valid and invalid", `{"name":"New name","timezone":"Asia/Tokyo","rnaSeconds":20,
			"maxCallMinutes":500}`, "maxCallMinutes must be between 30 and 240"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := env.do(request{method: "PATCH", path: "/api/org", token: admin, body: tt.body})
			assertBodyError(t, got, http.StatusBadRequest, CodeBadRequest, tt.message)
			if after := env.orgRow(env.a); after != before {
				t.Errorf("a refused edit changed the row:\n%+v\n%+v", before, after)
			}
		})
	}
}

func TestOrgRoutesRefuseOthers(t *testing.T) {
	env := newTestEnv(t)
	before := env.orgRow(env.a)
	body := `{"rnaSeconds":20}`
	crossSite := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.test"}

	tests := []struct {
		name   string
		req    request
		status int
		code   string
	}{
		{"agent edits", request{method: "PATCH", path: "/api/org", body: body,
			token: env.signIn(env.a.agentUser)}, http.StatusForbidden, CodeForbidden},
		{"plain user edits", request{method: "PATCH", path: "/api/org", body: body,
			token: env.signIn(env.a.plainUser)}, http.StatusForbidden, CodeForbidden},
		{"no session reads", request{method: "GET", path: "/api/org"},
			http.StatusUnauthorized, CodeUnauthorized},
		{"no session edits", request{method: "PATCH", path: "/api/org", body: body},
			http.StatusUnauthorized, CodeUnauthorized},
		{"bad session reads", request{method: "GET", path: "/api/org", token: "forged"},
			http.StatusUnauthorized, CodeUnauthorized},
		{"cross-origin admin edits", request{method: "PATCH", path: "/api/org", body: body,
			token: env.signIn(env.a.admin), header: crossSite}, http.StatusForbidden, CodeForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, env.do(tt.req), tt.status, tt.code)
			if after := env.orgRow(env.a); after != before {
				t.Errorf("a refused request changed the row: %+v", after)
			}
		})
	}
}

// There is no id in the path: an admin reaches only their own organization,
// and B's settings stay as they were whatever A does.
func TestOrgSettingsTenantWall(t *testing.T) {
	env := newTestEnv(t)
	adminA, adminB := env.signIn(env.a.admin), env.signIn(env.b.admin)
	beforeB := env.orgRow(env.b)

	got := env.do(request{method: "PATCH", path: "/api/org", token: adminA,
		body: `{"name":"Only A","timezone":"America/New_York","rnaSeconds":45,
			"maxCallMinutes":60,"id":"` + string(env.b.org.ID) + `"}`})
	assertOrgJSON(t, got, env.a.org.ID, "Only A", "America/New_York", 45, 60)

	if after := env.orgRow(env.b); after != beforeB {
		t.Errorf("A's edit changed B:\n%+v\n%+v", beforeB, after)
	}
	got = env.do(request{method: "GET", path: "/api/org", token: adminB})
	assertOrgJSON(t, got, env.b.org.ID, "B", "UTC", 15, 120)
	got = env.do(request{method: "GET", path: "/api/org", token: adminA})
	assertOrgJSON(t, got, env.a.org.ID, "Only A", "America/New_York", 45, 60)
}

// A new ring time reaches a connected agent at once (agent:state) and the
// next ring, and a new maximum the next call, with no reconnect.
func TestCallSettingsReachTheNextRingAndCall(t *testing.T) {
	env := newLiveEnv(t, liveOptions{})
	admin := env.signIn(env.a.admin)
	l := env.connectAgent(env.a, env.a.agent)
	states := len(l.agent.events(protocol.EventAgentState))

	got := env.do(request{method: "PATCH", path: "/api/org", token: admin,
		body: `{"rnaSeconds":30,"maxCallMinutes":45}`})
	assertOrgJSON(t, got, env.a.org.ID, "A", "UTC", 30, 45)

	all := l.agent.events(protocol.EventAgentState)
	if len(all) != states+1 {
		t.Fatalf("agent:state sent %d times after the change, want once", len(all)-states)
	}
	settings, _ := all[len(all)-1]["settings"].(map[string]any)
	if settings["rnaSeconds"] != float64(30) || settings["maxCallMinutes"] != float64(45) {
		t.Errorf("agent:state settings = %v", settings)
	}

	l.visitor = &fakePeer{}
	env.submit(l.org, calls.VisitorJoin{Peer: l.visitor, Ack: 1, Visitor: "v-1",
		Site: env.a.site.ID, PageURL: "https://shop.a.test/", ConnectedAt: time.Now()})
	env.submit(l.org, calls.CallRequest{Peer: l.visitor, Ack: 2})
	rings := l.agent.events(protocol.EventCallIncoming)
	if len(rings) != 1 {
		t.Fatalf("the agent got %d rings, want 1", len(rings))
	}
	// The hub's clock stands still, so the whole ring time is left.
	if rings[0]["rnaSeconds"] != float64(30) || rings[0]["expiresInMs"] != float64(30000) {
		t.Errorf("call:incoming rnaSeconds %v, expiresInMs %v; want 30 and 30000",
			rings[0]["rnaSeconds"], rings[0]["expiresInMs"])
	}

	requestID, _ := rings[0]["requestId"].(string)
	env.submit(l.org, calls.CallAccept{Peer: l.agent, Ack: 3, RequestID: ids.RequestID(requestID)})
	started := l.agent.events(protocol.EventCallStarted)
	if len(started) != 1 || started[0]["maxDurationSeconds"] != float64(45*60) {
		t.Errorf("call:started = %v, want maxDurationSeconds 2700", started)
	}
}

// Lowering an agent's maximum viewers stops new viewers at once; raising it
// again lets the waiting visitor in (SPEC §7.3, §7.4).
func TestAgentCapacityChangeReachesLiveRouting(t *testing.T) {
	env := newLiveEnv(t, liveOptions{})
	admin := env.signIn(env.a.admin)
	l := env.connectAgent(env.a, env.a.agent) // connected with room for 25
	path := "/api/agents/" + string(env.a.agent.ID)

	got := env.do(request{method: "PATCH", path: path, token: admin, body: `{"maxViewers":1}`})
	if got.status != http.StatusOK || got.json["maxViewers"] != float64(1) {
		t.Fatalf("PATCH maxViewers: %d %s", got.status, got.body)
	}

	first, second := &fakePeer{}, &fakePeer{}
	for i, v := range []*fakePeer{first, second} {
		env.submit(l.org, calls.VisitorJoin{Peer: v, Ack: 1, Visitor: ids.VisitorID("v-" +
			string(rune('1'+i))), Site: env.a.site.ID, PageURL: "https://shop.a.test/",
			ConnectedAt: time.Now()})
	}
	if n := len(first.events(protocol.EventAgentAssigned)); n != 1 {
		t.Fatalf("the first visitor got %d agent:assigned, want 1", n)
	}
	if n := len(second.events(protocol.EventAgentAssigned)); n != 0 {
		t.Errorf("the second visitor was assigned to a full agent")
	}
	unavailable := second.events(protocol.EventAgentUnavail)
	if len(unavailable) != 1 || unavailable[0]["reason"] != "no_agents" {
		t.Errorf("second visitor's agent:unavailable = %v, want one with no_agents", unavailable)
	}

	got = env.do(request{method: "PATCH", path: path, token: admin, body: `{"maxViewers":2}`})
	if got.status != http.StatusOK {
		t.Fatalf("PATCH maxViewers: %d %s", got.status, got.body)
	}
	assigned := second.events(protocol.EventAgentAssigned)
	if len(assigned) != 1 {
		t.Fatalf("after raising the capacity the waiting visitor got %d agent:assigned",
			len(assigned))
	}
	if card, _ := assigned[0]["agent"].(map[string]any); card["id"] != string(env.a.agent.ID) {
		t.Errorf("assigned to %v, want %s", assigned[0]["agent"], env.a.agent.ID)
	}
}

func assertOrgJSON(t *testing.T, got response, id ids.OrgID, name, tz string, rna, maxMin int) {
	t.Helper()
	if got.status != http.StatusOK {
		t.Fatalf("got %d %s, want 200", got.status, got.body)
	}
	want := map[string]any{"id": string(id), "name": name, "timezone": tz,
		"rnaSeconds": float64(rna), "maxCallMinutes": float64(maxMin)}
	for k, v := range want {
		if got.json[k] != v {
			t.Errorf("%s = %v, want %v (%s)", k, got.json[k], v, got.body)
		}
	}
	if len(got.json) != 6 {
		t.Errorf("answer has %d fields, want 6: %s", len(got.json), got.body)
	}
}
