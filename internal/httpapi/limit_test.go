package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"greeter/internal/ratelimit"
)

// limitEnv serves the API in process, so that each request can come from a
// client address of the test's choosing, under the API's fake clock.
type limitEnv struct {
	*liveEnv
	mux *http.ServeMux
}

func newLimitEnv(t *testing.T) *limitEnv {
	t.Helper()
	env := newLiveEnv(t, liveOptions{})
	mux := http.NewServeMux()
	env.api.Register(mux)
	return &limitEnv{liveEnv: env, mux: mux}
}

// from sends req as the client at ip.
func (e *limitEnv) from(ip string, req request) response {
	e.t.Helper()
	r := httptest.NewRequest(req.method, req.path, strings.NewReader(req.body))
	r.RemoteAddr = ip + ":40000"
	if req.token != "" {
		r.AddCookie(&http.Cookie{Name: "greeter_session", Value: req.token})
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, r)

	out := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	_ = json.Unmarshal(out.body, &out.json)
	return out
}

func wantTooMany(t *testing.T, got response, retryAfter string) {
	t.Helper()
	wantError(t, got, http.StatusTooManyRequests, CodeRateLimited)
	if ra := got.header.Get("Retry-After"); ra != retryAfter {
		t.Errorf("Retry-After = %q, want %q", ra, retryAfter)
	}
}

func loginAs(email string) request {
	return request{method: "POST", path: "/api/auth/login",
		body: `{"email":"` + email + `","password":"wrong password"}`}
}

func TestRateLimits(t *testing.T) {
	tests := []struct {
		name string
		// setup may lower a limit; it returns the request that spends it and
		// how many times it may be sent from the limited address.
		setup func(e *limitEnv) (req func(i int) (ip string, r request), n int)
		ok    int
		retry string // Retry-After once the limit is crossed
		// others are requests of other addresses, users or organizations
		// that still get ok.
		others func(e *limitEnv) []func() response
	}{
		{"login: 5 per 5 min per IP", func(e *limitEnv) (func(int) (string, request), int) {
			return func(int) (string, request) { return "10.0.0.1", loginAs("admin@a.test") }, 5
		}, 401, "60", func(e *limitEnv) []func() response {
			return []func() response{func() response { return e.from("10.0.0.2", loginAs("admin@a.test")) }}
		}},
		{"login: 10 per 15 min per email", func(e *limitEnv) (func(int) (string, request), int) {
			return func(i int) (string, request) {
				return fmt.Sprintf("10.0.1.%d", i+1), loginAs("Admin@A.test")
			}, 10
		}, 401, "90", func(e *limitEnv) []func() response {
			return []func() response{func() response { return e.from("10.0.1.99", loginAs("agent@a.test")) }}
		}},
		{"login: per organization", func(e *limitEnv) (func(int) (string, request), int) {
			e.api.limits.loginOrg = ratelimit.NewSet(3, 5*time.Minute, 1)
			emails := []string{"admin@a.test", "agent@a.test", "plain@a.test", "admin@a.test"}
			return func(i int) (string, request) {
				return fmt.Sprintf("10.0.2.%d", i+1), loginAs(emails[i])
			}, 3
		}, 401, "100", func(e *limitEnv) []func() response {
			return []func() response{func() response { return e.from("10.0.2.99", loginAs("admin@b.test")) }}
		}},
		{"dashboard: 300/min per user", func(e *limitEnv) (func(int) (string, request), int) {
			token := e.signIn(e.a.admin)
			return func(int) (string, request) {
				return "10.0.3.1", request{method: "GET", path: "/api/me", token: token}
			}, 300
		}, 200, "1", func(e *limitEnv) []func() response {
			agent := e.signIn(e.a.agentUser)
			return []func() response{func() response {
				return e.from("10.0.3.1", request{method: "GET", path: "/api/me", token: agent})
			}}
		}},
		{"dashboard: per organization", func(e *limitEnv) (func(int) (string, request), int) {
			e.api.limits.org = ratelimit.NewSet(2, time.Minute, 1)
			tokens := []string{e.signIn(e.a.admin), e.signIn(e.a.agentUser), e.signIn(e.a.plainUser)}
			return func(i int) (string, request) {
				return "10.0.4.1", request{method: "GET", path: "/api/me", token: tokens[i]}
			}, 2
		}, 200, "30", func(e *limitEnv) []func() response {
			b := e.signIn(e.b.admin)
			return []func() response{func() response {
				return e.from("10.0.4.1", request{method: "GET", path: "/api/me", token: b})
			}}
		}},
		{"dashboard: 60/min per IP without session", func(e *limitEnv) (func(int) (string, request), int) {
			return func(i int) (string, request) {
				if i%2 == 1 {
					return "10.0.5.1", request{method: "GET", path: "/api/invites/nope"}
				}
				return "10.0.5.1", request{method: "GET", path: "/api/team"}
			}, 60
		}, 0, "1", func(e *limitEnv) []func() response {
			token := e.signIn(e.a.admin)
			return []func() response{
				func() response { return e.from("10.0.5.2", request{method: "GET", path: "/api/me"}) },
				func() response {
					return e.from("10.0.5.1", request{method: "GET", path: "/api/me", token: token})
				},
			}
		}},
		{"widget config: 60/min per IP", func(e *limitEnv) (func(int) (string, request), int) {
			path := "/api/widget/config?siteKey=" + e.a.site.SiteKey
			return func(int) (string, request) { return "10.0.6.1", request{method: "GET", path: path} }, 60
		}, 200, "1", func(e *limitEnv) []func() response {
			path := "/api/widget/config?siteKey=" + e.a.site.SiteKey
			return []func() response{func() response {
				return e.from("10.0.6.2", request{method: "GET", path: path})
			}}
		}},
		{"ICE servers: 30/min per session", func(e *limitEnv) (func(int) (string, request), int) {
			token := e.signIn(e.a.agentUser)
			return func(int) (string, request) {
				return "10.0.7.1", request{method: "GET", path: "/api/ice-servers", token: token}
			}, 30
		}, 200, "2", func(e *limitEnv) []func() response {
			other := e.signIn(e.a.agentUser)
			return []func() response{func() response {
				return e.from("10.0.7.1", request{method: "GET", path: "/api/ice-servers", token: other})
			}}
		}},
		{"ICE servers: per IP", func(e *limitEnv) (func(int) (string, request), int) {
			e.api.limits.iceIP = ratelimit.NewSet(2, time.Minute, 1)
			tokens := []string{e.signIn(e.a.agentUser), e.signIn(e.a.admin), e.signIn(e.b.agentUser)}
			return func(i int) (string, request) {
				return "10.0.8.1", request{method: "GET", path: "/api/ice-servers", token: tokens[i]}
			}, 2
		}, 200, "30", func(e *limitEnv) []func() response {
			token := e.signIn(e.b.admin)
			return []func() response{func() response {
				return e.from("10.0.8.2", request{method: "GET", path: "/api/ice-servers", token: token})
			}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newLimitEnv(t)
			req, n := tt.setup(e)
			for i := range n {
				ip, r := req(i)
				if got := e.from(ip, r); got.status == http.StatusTooManyRequests ||
					tt.ok != 0 && got.status != tt.ok {
					t.Fatalf("request %d: %d %s", i+1, got.status, got.body)
				}
			}
			ip, r := req(n)
			wantTooMany(t, e.from(ip, r), tt.retry)

			for i, other := range tt.others(e) {
				if got := other(); got.status == http.StatusTooManyRequests {
					t.Errorf("other %d was limited too: %s", i+1, got.body)
				}
			}

			// Once the wait has passed, the limited client may try again.
			e.now.Advance(time.Hour)
			if got := e.from(ip, r); got.status == http.StatusTooManyRequests {
				t.Errorf("still limited later: %s", got.body)
			}
		})
	}
}

// TestEveryJSONBodyIsSizeLimited sends a body just over 64 KiB to every
// route that reads JSON: each answers 413 PAYLOAD_TOO_LARGE and changes
// nothing, and a client under the limit is unaffected.
func TestEveryJSONBodyIsSizeLimited(t *testing.T) {
	env := newScaledTestEnv(t, 10)
	admin := env.signIn(env.a.admin)
	big := `{"name":"` + strings.Repeat("x", MaxBodyBytes) + `"}`
	pool := env.do(request{method: "POST", path: "/api/pools", token: admin,
		body: `{"name":"Sales"}`}).json["id"]
	poolID, _ := pool.(string)
	rule := env.do(request{method: "POST", path: "/api/pools/" + poolID + "/rules", token: admin,
		body: `{"name":"R","conditions":[{"type":"path","match":"contains","value":"/"}]}`}).json["id"]
	ruleID, _ := rule.(string)

	routes := []struct{ method, path string }{
		{"POST", "/api/auth/login"},
		{"POST", "/api/pools"},
		{"PATCH", "/api/pools/" + poolID},
		{"POST", "/api/pools/" + poolID + "/rules"},
		{"PATCH", "/api/rules/" + ruleID},
		{"PUT", "/api/pools/" + poolID + "/members/" + string(env.a.agent.ID)},
		{"POST", "/api/agents"},
		{"PATCH", "/api/agents/" + string(env.a.agent.ID)},
		{"PATCH", "/api/users/" + string(env.a.agentUser.ID)},
		{"POST", "/api/invites"},
		{"POST", "/api/api-keys"},
		{"PATCH", "/api/org"},
	}
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			got := env.do(request{method: rt.method, path: rt.path, token: admin, body: big})
			wantError(t, got, http.StatusRequestEntityTooLarge, CodePayloadTooLarge)
		})
	}
	if got := env.do(request{method: "GET", path: "/api/me", token: admin}); got.status != 200 {
		t.Errorf("after the refusals: %d %s", got.status, got.body)
	}
}

// Signing in spends nothing: people behind one address sign in as often as
// they like. Failures do, and once they have used up the address's limit
// even the right password waits, told for how long.
func TestOnlyFailedSignInsCount(t *testing.T) {
	e := newLimitEnv(t)
	right := request{method: "POST", path: "/api/auth/login",
		body: `{"email":"admin@a.test","password":"` + testPassword + `"}`}
	for i := range 20 {
		if got := e.from("10.0.9.1", right); got.status != http.StatusOK {
			t.Fatalf("sign-in %d: %d %s", i+1, got.status, got.body)
		}
	}
	for i := range 5 {
		if got := e.from("10.0.9.1", loginAs("agent@a.test")); got.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s", i+1, got.status, got.body)
		}
	}
	got := e.from("10.0.9.1", right)
	wantTooMany(t, got, "60")
	if msg, _ := got.json["error"].(string); !strings.Contains(msg, "wait 60 seconds") {
		t.Errorf("message %q does not say how long to wait", msg)
	}
	if got := e.from("10.0.9.2", right); got.status != http.StatusOK {
		t.Errorf("another address was refused: %d %s", got.status, got.body)
	}
	e.now.Advance(time.Minute)
	if got := e.from("10.0.9.1", right); got.status != http.StatusOK {
		t.Errorf("a minute later: %d %s", got.status, got.body)
	}
}
