package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"greeter/internal/auth"
	"greeter/internal/ids"
	"greeter/internal/store"
)

const testPassword = "correct horse battery"

// cheapHash hashes a password the way auth.HashPassword does, but at bcrypt's
// minimum cost: a cost-12 hash takes seconds under the race detector.
// auth.CheckPassword accepts any cost.
func cheapHash(t *testing.T, pw string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(pw))
	h, err := bcrypt.GenerateFromPassword(
		[]byte(base64.StdEncoding.EncodeToString(sum[:])), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// tenant is an organization with an admin who takes calls, an agent, a user
// who does not take calls, and a site.
type tenant struct {
	org        store.Org
	admin      store.User
	adminAgent store.AgentProfile
	agentUser  store.User
	agent      store.AgentProfile
	plainUser  store.User
	site       store.Site
}

type testEnv struct {
	t     *testing.T
	store *store.Store
	srv   *httptest.Server
	ice   ICEConfig
	a, b  tenant
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	return newScaledTestEnv(t, 1)
}

// newScaledTestEnv is newTestEnv with every rate limit multiplied by scale,
// for tests that make more requests from loopback than a limit allows.
func newScaledTestEnv(t *testing.T, scale float64) *testEnv {
	t.Helper()
	ctx := context.Background()

	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "greeter.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}

	env := &testEnv{t: t, store: st}
	hash := cheapHash(t, testPassword)
	env.a = env.newTenant("A", "a.test", hash, []string{"https://shop.a.test", "https://*.a.dev"})
	env.b = env.newTenant("B", "b.test", hash, []string{"https://b.test"})

	env.ice = ICEConfig{
		STUNURLs:   []string{"stun:stun.example.test:3478"},
		TURNURLs:   []string{"turn:turn.example.test:3478?transport=udp"},
		TURNSecret: "s3cret",
		TTL:        time.Hour,
	}
	api := New(Deps{
		Store:     st,
		Sessions:  auth.NewSessions(st, time.Now, false),
		ICE:       env.ice,
		PublicURL: "https://greeter.example.test",

		RateLimitScale: scale,
	})
	mux := http.NewServeMux()
	api.Register(mux)
	env.srv = httptest.NewServer(mux)
	t.Cleanup(env.srv.Close)
	return env
}

func (e *testEnv) newTenant(name, domain, hash string, origins []string) tenant {
	e.t.Helper()
	ctx := context.Background()
	var tn tenant
	var err error

	tn.org, tn.admin, err = e.store.CreateOrg(ctx, store.NewOrg{
		Name: name, AdminEmail: "admin@" + domain, AdminFullName: "Admin " + name,
		AdminPasswordHash: hash,
	})
	e.must(err)
	tn.adminAgent, err = e.store.CreateAgentProfile(ctx, store.NewAgentProfile{
		OrgID: tn.org.ID, UserID: tn.admin.ID, DisplayName: "Admin " + name,
	})
	e.must(err)

	tn.agentUser, err = e.store.CreateUser(ctx, store.NewUser{
		OrgID: tn.org.ID, Email: "agent@" + domain, FullName: "Agent " + name,
		Role: store.RoleAgent, PasswordHash: hash,
	})
	e.must(err)
	tn.agent, err = e.store.CreateAgentProfile(ctx, store.NewAgentProfile{
		OrgID: tn.org.ID, UserID: tn.agentUser.ID, DisplayName: "Agent " + name,
	})
	e.must(err)

	tn.plainUser, err = e.store.CreateUser(ctx, store.NewUser{
		OrgID: tn.org.ID, Email: "plain@" + domain, FullName: "Plain " + name,
		Role: store.RoleAgent, PasswordHash: hash,
	})
	e.must(err)

	tn.site, err = e.store.CreateSite(ctx, store.NewSite{
		OrgID: tn.org.ID, Name: "Site " + name, AllowedOrigins: origins,
	})
	e.must(err)
	return tn
}

func (e *testEnv) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

// signIn opens a session for u without going through bcrypt.
func (e *testEnv) signIn(u store.User) string {
	e.t.Helper()
	token, hash := auth.NewToken()
	now := time.Now()
	e.must(e.store.CreateSession(context.Background(), store.Session{
		IDHash: hash, UserID: u.ID, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(auth.SessionLifetime),
	}))
	return token
}

// request describes one call to the test server.
type request struct {
	method, path string
	body         string
	token        string
	header       map[string]string
}

// response is what came back, with the body decoded when it is JSON.
type response struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
	resp   *http.Response
}

func (e *testEnv) do(req request) response {
	e.t.Helper()
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(req.body)
	}

	r, err := http.NewRequest(req.method, e.srv.URL+req.path, body)
	e.must(err)
	if req.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if req.token != "" {
		r.AddCookie(&http.Cookie{Name: auth.CookieName, Value: req.token})
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}

	resp, err := e.srv.Client().Do(r)
	e.must(err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	e.must(err)

	out := response{status: resp.StatusCode, header: resp.Header, body: raw, resp: resp}
	_ = json.Unmarshal(raw, &out.json) // non-JSON answers keep json nil
	return out
}

// wantError checks an error answer's status and code.
func wantError(t *testing.T, got response, status int, code string) {
	t.Helper()
	if got.status != status || got.json["code"] != code {
		t.Errorf("got %d %s, want %d with code %s", got.status, got.body, status, code)
	}
	if msg, _ := got.json["error"].(string); msg == "" {
		t.Errorf("error answer without a message: %s", got.body)
	}
	if ct := got.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
}

func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == auth.CookieName {
			return c
		}
	}
	return nil
}

func TestLoginMeLogout(t *testing.T) {
	env := newTestEnv(t)

	login := env.do(request{method: "POST", path: "/api/auth/login",
		body: `{"email":"Admin@A.test","password":"` + testPassword + `","remember":true}`})
	if login.status != http.StatusOK {
		t.Fatalf("login: %d %s", login.status, login.body)
	}
	cookie := sessionCookie(login.resp)
	if cookie == nil || cookie.Value == "" || !cookie.HttpOnly ||
		cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie = %+v", cookie)
	}
	if bytes.Contains(login.body, []byte(env.a.admin.PasswordHash)) {
		t.Error("the answer contains the password hash")
	}

	want := map[string]any{
		"user": map[string]any{
			"id": string(env.a.admin.ID), "email": "admin@a.test", "fullName": "Admin A",
			"role": "admin", "orgId": string(env.a.org.ID),
		},
		"agent": map[string]any{"id": string(env.a.adminAgent.ID), "displayName": "Admin A"},
	}
	assertJSON(t, "login", login.body, want)

	me := env.do(request{method: "GET", path: "/api/me", token: cookie.Value})
	if me.status != http.StatusOK {
		t.Fatalf("me: %d %s", me.status, me.body)
	}
	assertJSON(t, "me", me.body, want)

	logout := env.do(request{method: "POST", path: "/api/auth/logout", token: cookie.Value})
	if logout.status != http.StatusOK || logout.json["success"] != true {
		t.Fatalf("logout: %d %s", logout.status, logout.body)
	}
	if c := sessionCookie(logout.resp); c == nil || c.MaxAge >= 0 {
		t.Errorf("logout did not clear the cookie: %+v", c)
	}

	after := env.do(request{method: "GET", path: "/api/me", token: cookie.Value})
	wantError(t, after, http.StatusUnauthorized, CodeUnauthorized)
	if after.json["error"] != "Not signed in" {
		t.Errorf("error = %v", after.json["error"])
	}
}

func TestMeWithoutAgentProfileHasNullAgent(t *testing.T) {
	env := newTestEnv(t)

	me := env.do(request{method: "GET", path: "/api/me", token: env.signIn(env.a.plainUser)})
	if me.status != http.StatusOK {
		t.Fatalf("me: %d %s", me.status, me.body)
	}
	if agent, ok := me.json["agent"]; !ok || agent != nil {
		t.Errorf("agent = %v, want null", agent)
	}
}

func TestLoginRefusals(t *testing.T) {
	// Eleven attempts from one address pass the 5 per 5 minutes per IP.
	env := newScaledTestEnv(t, 3)
	big := `{"email":"admin@a.test","password":"` + strings.Repeat("x", MaxBodyBytes) + `"}`

	tests := []struct {
		name    string
		body    string
		header  map[string]string
		status  int
		code    string
		message string
	}{
		{"wrong password", `{"email":"admin@a.test","password":"wrong password"}`, nil,
			401, CodeAuthFailed, "Invalid email or password"},
		{"unknown fields ignored", `{"email":"admin@a.test","password":"nope","x":[1]}`, nil,
			401, CodeAuthFailed, "Invalid email or password"},
		{"body over 64 KiB", big, nil, 413, CodePayloadTooLarge, ""},
		{"not JSON", `email=admin@a.test`, nil, 400, CodeBadRequest, ""},
		{"broken JSON", `{"email":`, nil, 400, CodeBadRequest, ""},
		{"array", `[{"email":"admin@a.test"}]`, nil, 400, CodeBadRequest, ""},
		{"empty", ``, nil, 400, CodeBadRequest, ""},
		{"wrong type", `{"email":42,"password":"x"}`, nil, 400, CodeBadRequest,
			"email must be a string"},
		{"missing email", `{"password":"x"}`, nil, 400, CodeBadRequest, "email is required"},
		{"missing password", `{"email":"admin@a.test"}`, nil, 400, CodeBadRequest,
			"password is required"},
		{"cross-origin browser", `{"email":"admin@a.test","password":"` + testPassword + `"}`,
			map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.test"},
			403, CodeForbidden, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := env.do(request{method: "POST", path: "/api/auth/login", body: tt.body,
				header: tt.header})
			wantError(t, got, tt.status, tt.code)
			if tt.message != "" && got.json["error"] != tt.message {
				t.Errorf("error = %v, want %q", got.json["error"], tt.message)
			}
			if sessionCookie(got.resp) != nil {
				t.Error("a refused login set a cookie")
			}
		})
	}
}

func TestDeactivatedUserCannotLogIn(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	err := env.store.DeactivateUser(ctx, env.a.org.ID, env.a.agentUser.ID, env.a.admin.ID,
		time.Now())
	env.must(err)

	got := env.do(request{method: "POST", path: "/api/auth/login",
		body: `{"email":"agent@a.test","password":"` + testPassword + `"}`})
	wantError(t, got, http.StatusUnauthorized, CodeAuthFailed)
	if got.json["error"] != "Invalid email or password" {
		t.Errorf("error = %v", got.json["error"])
	}
}

// assertJSON compares a JSON body with the expected value.
func assertJSON(t *testing.T, what string, body []byte, want any) {
	t.Helper()
	var got any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("%s: %v in %s", what, err, body)
	}
	wantJSON, _ := json.Marshal(want)
	var norm any
	_ = json.Unmarshal(wantJSON, &norm)

	gotJSON, _ := json.Marshal(got)
	normJSON, _ := json.Marshal(norm)
	if !bytes.Equal(gotJSON, normJSON) {
		t.Errorf("%s:\n got %s\nwant %s", what, gotJSON, normJSON)
	}
}

// saveLogs stores n call logs of tn, rung with agent.
func (e *testEnv) saveLogs(tn tenant, agent ids.AgentID, prefix string, n int) {
	e.t.Helper()
	base := time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC)
	for i := range n {
		ring := base.Add(time.Duration(i) * time.Minute)
		e.must(e.store.SaveCallLog(context.Background(), store.CallLog{
			ID:            ids.CallLogID(prefix + "-" + string(rune('a'+i))),
			OrgID:         tn.org.ID,
			RequestID:     ids.NewRequestID(),
			SiteID:        tn.site.ID,
			PoolID:        "pool",
			AgentID:       agent,
			VisitorID:     "visitor",
			Status:        store.CallMissed,
			EndReason:     "ring_timeout",
			EndedBy:       store.EndedBySystem,
			PageURL:       "https://shop.a.test/",
			RingStartedAt: &ring,
			CreatedAt:     ring,
		}))
	}
}
