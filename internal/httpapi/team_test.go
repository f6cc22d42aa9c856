package httpapi

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"greeter/internal/auth"
	"greeter/internal/calls"
	"greeter/internal/protocol"
	"greeter/internal/store"
)

// snapshot is what an admin of tn sees of their organization, to show that
// nothing changed.
func (e *liveEnv) snapshot(tn tenant) []byte {
	e.t.Helper()
	token := e.signIn(tn.admin)
	var all []byte
	for _, path := range []string{"/api/team", "/api/invites", "/api/api-keys"} {
		got := e.do(request{method: "GET", path: path, token: token})
		if got.status != http.StatusOK {
			e.t.Fatalf("GET %s: %d %s", path, got.status, got.body)
		}
		all = append(all, got.body...)
	}
	return all
}

func (e *liveEnv) createInvite(tn tenant, email, role string) (string, store.Invite) {
	e.t.Helper()
	token, hash := auth.NewToken()
	now := e.now.Now()
	inv, err := e.store.CreateInvite(context.Background(), store.NewInvite{
		OrgID: tn.org.ID, Email: email, FullName: "Invited", Role: role, TokenHash: hash,
		InvitedBy: tn.admin.ID, CreatedAt: now, ExpiresAt: now.Add(auth.InviteLifetime),
	})
	e.must(err)
	return token, inv
}

func TestTenantWall(t *testing.T) {
	env := newLiveEnv(t, liveOptions{platformKey: testPlatformKey})
	_, inviteB := env.createInvite(env.b, "someone@b.test", store.RoleAgent)
	_, keyB := env.orgKey(env.b)
	before := env.snapshot(env.b)
	adminA := env.signIn(env.a.admin)

	tests := []struct {
		method, pathB, pathUnknown, body string
	}{
		{"PATCH", "/api/users/" + string(env.b.agentUser.ID), "/api/users/unknown",
			`{"role":"admin"}`},
		{"DELETE", "/api/users/" + string(env.b.agentUser.ID), "/api/users/unknown", ""},
		{"PATCH", "/api/agents/" + string(env.b.agent.ID), "/api/agents/unknown",
			`{"maxViewers":5}`},
		{"DELETE", "/api/agents/" + string(env.b.agent.ID), "/api/agents/unknown", ""},
		{"POST", "/api/invites/" + string(inviteB.ID) + "/regenerate",
			"/api/invites/unknown/regenerate", ""},
		{"DELETE", "/api/invites/" + string(inviteB.ID), "/api/invites/unknown", ""},
		{"DELETE", "/api/api-keys/" + string(keyB.ID), "/api/api-keys/unknown", ""},
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

	if after := env.snapshot(env.b); !bytes.Equal(before, after) {
		t.Errorf("organization B changed:\n%s\n%s", before, after)
	}
	for _, path := range []string{"/api/team", "/api/invites", "/api/api-keys"} {
		got := env.do(request{method: "GET", path: path, token: adminA})
		for _, id := range []string{string(env.b.agentUser.ID), string(env.b.agent.ID),
			string(inviteB.ID), string(keyB.ID), "b.test"} {
			if bytes.Contains(got.body, []byte(id)) {
				t.Errorf("GET %s shows %s of organization B", path, id)
			}
		}
	}
}

func TestAdminEndpointsRefuseOthers(t *testing.T) {
	env := newLiveEnv(t, liveOptions{})
	agent := env.signIn(env.a.agentUser)
	_, inv := env.createInvite(env.a, "x@a.test", store.RoleAgent)
	_, key := env.orgKey(env.a)
	before := env.snapshot(env.a)

	routes := []struct{ method, path, body string }{
		{"GET", "/api/team", ""},
		{"PATCH", "/api/users/" + string(env.a.agentUser.ID), `{"role":"admin"}`},
		{"DELETE", "/api/users/" + string(env.a.admin.ID), ""},
		{"POST", "/api/agents", ""},
		{"PATCH", "/api/agents/" + string(env.a.agent.ID), `{"maxViewers":5}`},
		{"DELETE", "/api/agents/" + string(env.a.adminAgent.ID), ""},
		{"GET", "/api/invites", ""},
		{"POST", "/api/invites", `{"email":"y@a.test","fullName":"Y","role":"admin"}`},
		{"POST", "/api/invites/" + string(inv.ID) + "/regenerate", ""},
		{"DELETE", "/api/invites/" + string(inv.ID), ""},
		{"GET", "/api/api-keys", ""},
		{"POST", "/api/api-keys", `{"name":"mine"}`},
		{"DELETE", "/api/api-keys/" + string(key.ID), ""},
	}
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			env.t = t
			got := env.do(request{method: rt.method, path: rt.path, body: rt.body, token: agent})
			wantError(t, got, http.StatusForbidden, CodeForbidden)

			anon := env.do(request{method: rt.method, path: rt.path, body: rt.body})
			wantError(t, anon, http.StatusUnauthorized, CodeUnauthorized)
		})
	}
	env.t = t
	if after := env.snapshot(env.a); !bytes.Equal(before, after) {
		t.Errorf("a refused request changed something:\n%s\n%s", before, after)
	}
}

func TestStateChangingTeamRoutesRefuseCrossOrigin(t *testing.T) {
	env := newLiveEnv(t, liveOptions{})
	got := env.do(request{method: "DELETE", path: "/api/agents/" + string(env.a.agent.ID),
		token:  env.signIn(env.a.admin),
		header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.test"}})
	wantError(t, got, http.StatusForbidden, CodeForbidden)
	p, _ := env.store.AgentProfile(context.Background(), env.a.org.ID, env.a.agent.ID)
	if !p.Active {
		t.Error("a cross-origin request removed the agent")
	}
}

func TestRemoveAgentInACall(t *testing.T) {
	env := newLiveEnv(t, liveOptions{})
	ctx := context.Background()
	agentToken := env.signIn(env.a.agentUser)
	l := env.callAgent(env.a, env.a.agent)

	got := env.do(request{method: "DELETE", path: "/api/agents/" + string(env.a.agent.ID),
		token: env.signIn(env.a.admin)})
	if got.status != http.StatusOK || strings.TrimSpace(string(got.body)) != `{"success":true}` {
		t.Fatalf("remove: %d %s", got.status, got.body)
	}

	// Live effects (SPEC §11.1 step 2).
	env.assertCallEnded(l, calls.EndedByAdmin)
	if code := l.agent.closeCode(); code != protocol.CloseAgentRemoved {
		t.Errorf("agent connection closed with %d, want 4101", code)
	}
	if s := env.status(env.a.org.ID, env.a.agent.ID); s != calls.StatusOffline {
		t.Errorf("agent status = %s, want offline", s)
	}

	// Database effects (step 1).
	p, _ := env.store.AgentProfile(ctx, env.a.org.ID, env.a.agent.ID)
	if p.Active || p.DeactivatedBy != env.a.admin.ID {
		t.Errorf("profile = %+v", p)
	}
	me := env.do(request{method: "GET", path: "/api/me", token: agentToken})
	wantError(t, me, http.StatusUnauthorized, CodeUnauthorized)
	sessions := auth.NewSessions(env.store, time.Now, false)
	if _, _, err := sessions.Login(ctx, "agent@a.test", testPassword); !errors.Is(err,
		auth.ErrInvalidCredentials) {
		t.Errorf("login of a removed agent: err = %v", err)
	}

	again := env.do(request{method: "DELETE", path: "/api/agents/" + string(env.a.agent.ID),
		token: env.signIn(env.a.admin)})
	assertBody(t, again, http.StatusConflict,
		`{"error":"Agent already removed","code":"ALREADY_REMOVED"}`)
	unknown := env.do(request{method: "DELETE", path: "/api/agents/nope",
		token: env.signIn(env.a.admin)})
	assertBody(t, unknown, http.StatusNotFound, `{"error":"Agent not found","code":"NOT_FOUND"}`)
}

func TestRemoveMember(t *testing.T) {
	env := newLiveEnv(t, liveOptions{})
	ctx := context.Background()
	admin := env.signIn(env.a.admin)

	// The only admin cannot be removed or demoted.
	got := env.do(request{method: "DELETE", path: "/api/users/" + string(env.a.admin.ID),
		token: admin})
	wantError(t, got, http.StatusConflict, CodeLastAdmin)
	got = env.do(request{method: "PATCH", path: "/api/users/" + string(env.a.admin.ID),
		body: `{"role":"agent"}`, token: admin})
	wantError(t, got, http.StatusConflict, CodeLastAdmin)

	// A member who is live leaves live state with their profile.
	l := env.connectAgent(env.a, env.a.agent)
	got = env.do(request{method: "DELETE", path: "/api/users/" + string(env.a.agentUser.ID),
		token: admin})
	if got.status != http.StatusOK {
		t.Fatalf("remove member: %d %s", got.status, got.body)
	}
	if l.agent.closeCode() != protocol.CloseAgentRemoved {
		t.Errorf("agent connection closed with %d, want 4101", l.agent.closeCode())
	}
	u, _ := env.store.UserByID(ctx, env.a.agentUser.ID)
	p, _ := env.store.AgentProfile(ctx, env.a.org.ID, env.a.agent.ID)
	if u.Active || p.Active {
		t.Errorf("user active %v, profile active %v", u.Active, p.Active)
	}
	got = env.do(request{method: "DELETE", path: "/api/users/" + string(env.a.agentUser.ID),
		token: admin})
	assertBody(t, got, http.StatusConflict,
		`{"error":"Agent already removed","code":"ALREADY_REMOVED"}`)

	// With a second admin, an admin may remove themselves.
	got = env.do(request{method: "PATCH", path: "/api/users/" + string(env.a.plainUser.ID),
		body: `{"role":"admin"}`, token: admin})
	if got.status != http.StatusOK || got.json["role"] != "admin" {
		t.Fatalf("promote: %d %s", got.status, got.body)
	}
	got = env.do(request{method: "DELETE", path: "/api/users/" + string(env.a.admin.ID),
		token: admin})
	if got.status != http.StatusOK {
		t.Fatalf("remove yourself: %d %s", got.status, got.body)
	}
	if c := sessionCookie(got.resp); c == nil || c.MaxAge >= 0 {
		t.Errorf("removing yourself did not clear the cookie: %+v", c)
	}
	me := env.do(request{method: "GET", path: "/api/me", token: admin})
	wantError(t, me, http.StatusUnauthorized, CodeUnauthorized)
}

func TestRemoveOwnProfileKeepsAdminAccess(t *testing.T) {
	env := newLiveEnv(t, liveOptions{})
	admin := env.signIn(env.a.admin)

	got := env.do(request{method: "DELETE", path: "/api/agents/" + string(env.a.adminAgent.ID),
		token: admin})
	if got.status != http.StatusOK {
		t.Fatalf("remove own profile: %d %s", got.status, got.body)
	}
	me := env.do(request{method: "GET", path: "/api/me", token: admin})
	if me.status != http.StatusOK || me.json["agent"] != nil {
		t.Fatalf("me: %d %s", me.status, me.body)
	}

	// "Add me as agent" brings the profile back.
	got = env.do(request{method: "POST", path: "/api/agents", token: admin})
	if got.status != http.StatusCreated || got.json["id"] != string(env.a.adminAgent.ID) {
		t.Fatalf("add me: %d %s", got.status, got.body)
	}
	got = env.do(request{method: "POST", path: "/api/agents", body: `{"displayName":"Me"}`,
		token: admin})
	wantError(t, got, http.StatusConflict, CodeConflict)
}

// TestFailedRemovalChangesNothing makes the removal transaction fail at its
// last step and checks that neither the database nor live state changed.
func TestFailedRemovalChangesNothing(t *testing.T) {
	env := newLiveEnv(t, liveOptions{})
	ctx := context.Background()
	agentToken := env.signIn(env.a.agentUser)
	admin := env.signIn(env.a.admin)
	l := env.callAgent(env.a, env.a.agent)

	db, err := sql.Open("sqlite", env.dbPath)
	env.must(err)
	defer db.Close()
	_, err = db.ExecContext(ctx, `CREATE TRIGGER fail_revoke BEFORE UPDATE ON sessions
		WHEN NEW.revoked_at IS NOT NULL BEGIN SELECT RAISE(ABORT, 'injected failure'); END`)
	env.must(err)

	for _, path := range []string{"/api/agents/" + string(env.a.agent.ID),
		"/api/users/" + string(env.a.agentUser.ID)} {
		got := env.do(request{method: "DELETE", path: path, token: admin})
		wantError(t, got, http.StatusInternalServerError, CodeInternal)
	}

	env.assertCallActive(l, env.a.agent.ID)
	if l.agent.closeCode() != 0 {
		t.Errorf("agent connection closed with %d", l.agent.closeCode())
	}
	p, _ := env.store.AgentProfile(ctx, env.a.org.ID, env.a.agent.ID)
	u, _ := env.store.UserByID(ctx, env.a.agentUser.ID)
	if !p.Active || !u.Active {
		t.Errorf("profile active %v, user active %v", p.Active, u.Active)
	}
	if me := env.do(request{method: "GET", path: "/api/me", token: agentToken}); me.status != 200 {
		t.Errorf("the agent's session was revoked: %d", me.status)
	}

	_, err = db.ExecContext(ctx, `DROP TRIGGER fail_revoke`)
	env.must(err)
	got := env.do(request{method: "DELETE", path: "/api/agents/" + string(env.a.agent.ID),
		token: admin})
	if got.status != http.StatusOK {
		t.Fatalf("retry: %d %s", got.status, got.body)
	}
	env.assertCallEnded(l, calls.EndedByAdmin)
}

func TestTeamListing(t *testing.T) {
	env := newLiveEnv(t, liveOptions{})
	admin := env.signIn(env.a.admin)
	env.connectAgent(env.a, env.a.agent)
	env.createInvite(env.a, "new@a.test", store.RoleAgent)

	got := env.do(request{method: "GET", path: "/api/team", token: admin})
	if got.status != http.StatusOK {
		t.Fatalf("team: %d %s", got.status, got.body)
	}
	members, _ := got.json["members"].([]any)
	statuses := map[string]any{}
	for _, m := range members {
		m := m.(map[string]any)
		if agent, ok := m["agent"].(map[string]any); ok {
			statuses[m["email"].(string)] = agent["status"]
			if agent["maxViewers"] != float64(25) || len(agent["pools"].([]any)) != 1 {
				t.Errorf("agent of %s = %v", m["email"], agent)
			}
		}
	}
	if len(members) != 3 || len(statuses) != 2 || statuses["admin@a.test"] != "offline" ||
		statuses["agent@a.test"] != "idle" {
		t.Errorf("members = %s", got.body)
	}
	invites, _ := got.json["invites"].([]any)
	if len(invites) != 1 || invites[0].(map[string]any)["expiresAt"] == nil {
		t.Errorf("invites = %v", invites)
	}
	if bytes.Contains(got.body, []byte("password")) || bytes.Contains(got.body, []byte("$2a$")) {
		t.Error("the team listing shows password hashes")
	}
}

func TestUpdateAgent(t *testing.T) {
	env := newLiveEnv(t, liveOptions{})
	admin := env.signIn(env.a.admin)
	path := "/api/agents/" + string(env.a.agent.ID)

	tests := []struct {
		body    string
		status  int
		message string
	}{
		{`{"displayName":"  Agent Smith  ","maxViewers":40}`, 200, ""},
		{`{"maxViewers":1}`, 200, ""},
		{`{"maxViewers":1000}`, 200, ""},
		{`{}`, 400, "displayName or maxViewers is required"},
		{`{"displayName":""}`, 400, "displayName must be 1 to 60 characters, without control characters"},
		{`{"displayName":"` + strings.Repeat("x", 61) + `"}`, 400,
			"displayName must be 1 to 60 characters, without control characters"},
		{`{"maxViewers":0}`, 400, "maxViewers must be between 1 and 1000"},
		{`{"maxViewers":1001}`, 400, "maxViewers must be between 1 and 1000"},
		{`{"maxViewers":"ten"}`, 400, "maxViewers must be an integer"},
		{`{"maxViewers":2.5}`, 400, "maxViewers must be an integer"},
		{`{"displayName":7}`, 400, "displayName must be a string"},
		{`{"displayName":"Ava\u0000"}`, 400,
			"displayName must be 1 to 60 characters, without control characters"},
		{`{"displayName":"Ava\u202eevil"}`, 400,
			"displayName must be 1 to 60 characters, without control characters"},
		{`{"displayName":"Ava\nSmith"}`, 400,
			"displayName must be 1 to 60 characters, without control characters"},
		{`{"displayName":"Zoë 👩‍💻 أحمد"}`, 200, ""},
	}
	for _, tt := range tests {
		got := env.do(request{method: "PATCH", path: path, body: tt.body, token: admin})
		if got.status != tt.status || (tt.message != "" && got.json["error"] != tt.message) {
			t.Errorf("%s: got %d %s, want %d %q", tt.body, got.status, got.body, tt.status,
				tt.message)
		}
	}

	p, _ := env.store.AgentProfile(context.Background(), env.a.org.ID, env.a.agent.ID)
	if p.DisplayName != "Zoë 👩‍💻 أحمد" || p.MaxViewers != 1000 {
		t.Errorf("profile = %q, %d", p.DisplayName, p.MaxViewers)
	}
}

func TestInviteFlow(t *testing.T) {
	env := newLiveEnv(t, liveOptions{})
	admin := env.signIn(env.a.admin)

	created := env.do(request{method: "POST", path: "/api/invites", token: admin,
		body: `{"email":"New@A.test","fullName":"New Person","role":"agent"}`})
	if created.status != http.StatusCreated {
		t.Fatalf("create: %d %s", created.status, created.body)
	}
	oldToken := inviteToken(t, created)
	id := created.json["id"].(string)

	// Duplicates.
	for _, tt := range []struct{ email, message string }{
		{"new@a.test", "An invite is already pending for this email"},
		{"agent@a.test", "A user with this email already exists"},
		{"AGENT@b.test", "A user with this email already exists"},
	} {
		got := env.do(request{method: "POST", path: "/api/invites", token: admin,
			body: `{"email":"` + tt.email + `","fullName":"X","role":"admin"}`})
		wantError(t, got, http.StatusConflict, CodeConflict)
		if got.json["error"] != tt.message {
			t.Errorf("%s: error = %v", tt.email, got.json["error"])
		}
	}

	// The public page shows the invitation.
	show := env.do(request{method: "GET", path: "/api/invites/" + oldToken})
	assertJSON(t, "show", show.body, map[string]any{
		"orgName": "A", "email": "new@a.test", "fullName": "New Person", "role": "agent"})

	// Regenerating kills the old link.
	regen := env.do(request{method: "POST", path: "/api/invites/" + id + "/regenerate",
		token: admin})
	if regen.status != http.StatusOK {
		t.Fatalf("regenerate: %d %s", regen.status, regen.body)
	}
	token := inviteToken(t, regen)
	assertInviteGone(t, env, oldToken)

	// Bad input changes nothing.
	for _, body := range []string{
		`{"fullName":"New Person","password":"short"}`,
		`{"fullName":"","password":"long enough password"}`,
		`{"fullName":"New Person","password":7}`,
	} {
		got := env.do(request{method: "POST", path: "/api/invites/" + token + "/accept",
			body: body})
		wantError(t, got, http.StatusBadRequest, CodeBadRequest)
	}

	accepted := env.do(request{method: "POST", path: "/api/invites/" + token + "/accept",
		body: `{"fullName":"New P. Person","password":"a new long password"}`})
	if accepted.status != http.StatusCreated {
		t.Fatalf("accept: %d %s", accepted.status, accepted.body)
	}
	cookie := sessionCookie(accepted.resp)
	if cookie == nil {
		t.Fatal("accepting did not sign in")
	}
	me := env.do(request{method: "GET", path: "/api/me", token: cookie.Value})
	if me.status != http.StatusOK || me.json["agent"] == nil {
		t.Errorf("me after accepting: %d %s", me.status, me.body)
	}
	login := env.do(request{method: "POST", path: "/api/auth/login",
		body: `{"email":"new@a.test","password":"a new long password"}`})
	if login.status != http.StatusOK {
		t.Errorf("login after accepting: %d %s", login.status, login.body)
	}

	// Single use.
	assertInviteGone(t, env, token)
}

func TestRevokedAndExpiredInvites(t *testing.T) {
	env := newLiveEnv(t, liveOptions{})
	admin := env.signIn(env.a.admin)

	revoked, inv := env.createInvite(env.a, "gone@a.test", store.RoleAdmin)
	got := env.do(request{method: "DELETE", path: "/api/invites/" + string(inv.ID), token: admin})
	if got.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", got.status, got.body)
	}
	assertInviteGone(t, env, revoked)
	assertInviteGone(t, env, "not-a-token")

	expiring, _ := env.createInvite(env.a, "late@a.test", store.RoleAgent)
	if got := env.do(request{method: "GET", path: "/api/invites/" + expiring}); got.status != 200 {
		t.Fatalf("fresh invite: %d %s", got.status, got.body)
	}
	env.now.Advance(auth.InviteLifetime)
	assertInviteGone(t, env, expiring)

	list := env.do(request{method: "GET", path: "/api/invites", token: admin})
	invites, _ := list.json["invites"].([]any)
	if len(invites) != 1 || invites[0].(map[string]any)["expired"] != true {
		t.Errorf("invites = %s", list.body)
	}
}

func TestInviteValidation(t *testing.T) {
	env := newLiveEnv(t, liveOptions{})
	admin := env.signIn(env.a.admin)

	tests := []struct{ body, message string }{
		{`{"email":"not an email","fullName":"X","role":"agent"}`,
			"email must be a valid email address"},
		{`{"email":"Ann <ann@a.test>","fullName":"X","role":"agent"}`,
			"email must be a valid email address"},
		{`{"email":"ann@a.test","fullName":"  ","role":"agent"}`,
			"fullName must be 1 to 100 characters, without control characters"},
		{`{"email":"ann@a.test","fullName":"Ann","role":"owner"}`,
			`role must be "admin" or "agent"`},
		{`{"email":["ann@a.test"],"fullName":"Ann","role":"agent"}`, "email must be a string"},
	}
	for _, tt := range tests {
		got := env.do(request{method: "POST", path: "/api/invites", token: admin, body: tt.body})
		wantError(t, got, http.StatusBadRequest, CodeBadRequest)
		if got.json["error"] != tt.message {
			t.Errorf("%s: error = %v, want %q", tt.body, got.json["error"], tt.message)
		}
	}
}

func TestAPIKeyLifecycle(t *testing.T) {
	env := newLiveEnv(t, liveOptions{})
	admin := env.signIn(env.a.admin)
	l := env.callAgent(env.a, env.a.agent)

	created := env.do(request{method: "POST", path: "/api/api-keys", token: admin,
		body: `{"name":"HR system"}`})
	if created.status != http.StatusCreated {
		t.Fatalf("create: %d %s", created.status, created.body)
	}
	full, _ := created.json["key"].(string)
	keyID, _, ok := auth.ParseAPIKey(full)
	if !ok || created.json["prefix"] != "gk_"+keyID+"_…" {
		t.Fatalf("created = %s", created.body)
	}

	list := env.do(request{method: "GET", path: "/api/api-keys", token: admin})
	if bytes.Contains(list.body, []byte(full[len(full)-20:])) || !bytes.Contains(list.body,
		[]byte(`"gk_`+keyID+`_…"`)) || !bytes.Contains(list.body, []byte("Admin A")) {
		t.Errorf("list = %s", list.body)
	}

	body := `{"agentId":"` + string(env.a.agent.ID) + `"}`
	header := map[string]string{"X-Internal-Api-Key": full}
	used := env.rawRequest("POST", endCallPath, body, header)
	assertEndCallAnswer(t, used, 200, `{"success":true}`)
	env.assertCallEnded(l, calls.EndedByAPI)

	id := created.json["id"].(string)
	got := env.do(request{method: "DELETE", path: "/api/api-keys/" + id, token: admin})
	if got.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", got.status, got.body)
	}
	refused := env.rawRequest("POST", endCallPath, body, header)
	assertEndCallAnswer(t, refused, 401, `{"error":"Unauthorized"}`)
	again := env.do(request{method: "DELETE", path: "/api/api-keys/" + id, token: admin})
	wantError(t, again, http.StatusNotFound, CodeNotFound)

	// At most 20 active keys.
	for i := range store.MaxActiveAPIKeys {
		got := env.do(request{method: "POST", path: "/api/api-keys", token: admin,
			body: `{"name":"key"}`})
		if got.status != http.StatusCreated {
			t.Fatalf("key %d: %d %s", i+1, got.status, got.body)
		}
	}
	over := env.do(request{method: "POST", path: "/api/api-keys", token: admin,
		body: `{"name":"one too many"}`})
	wantError(t, over, http.StatusConflict, CodeConflict)
	blank := env.do(request{method: "POST", path: "/api/api-keys", token: admin,
		body: `{"name":"  "}`})
	wantError(t, blank, http.StatusBadRequest, CodeBadRequest)
}

func inviteToken(t *testing.T, got response) string {
	t.Helper()
	link, _ := got.json["inviteUrl"].(string)
	token, ok := strings.CutPrefix(link, "https://greeter.example.test/invite/")
	if !ok || len(token) != 43 {
		t.Fatalf("inviteUrl = %q", link)
	}
	return token
}

func assertInviteGone(t *testing.T, env *liveEnv, token string) {
	t.Helper()
	want := `{"error":"This invitation link is no longer valid.","code":"NOT_FOUND"}`
	show := env.do(request{method: "GET", path: "/api/invites/" + token})
	assertBody(t, show, http.StatusNotFound, want)
	accept := env.do(request{method: "POST", path: "/api/invites/" + token + "/accept",
		body: `{"fullName":"Late","password":"a long enough password"}`})
	assertBody(t, accept, http.StatusNotFound, want)
}

func assertBody(t *testing.T, got response, status int, want string) {
	t.Helper()
	if got.status != status || strings.TrimSpace(string(got.body)) != want {
		t.Errorf("got %d %s, want %d %s", got.status, got.body, status, want)
	}
}
