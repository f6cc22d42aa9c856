package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"greeter/internal/calls"
	"greeter/internal/protocol"
)

const endCallPath = "/api/agent/end-call"

// endCallCase is one request to the end-call endpoint and what must follow.
type endCallCase struct {
	name   string
	method string            // POST when empty
	header map[string]string // sent with names exactly as written
	body   string
	// live says what the target agent (tenant A's agent) is doing: "" not
	// connected, "connected", "ringing" or "call".
	live   string
	status int
	want   string // the exact JSON body
	ends   bool   // the call ends, ended_by api
}

// TestEndCallContract runs one case per row of the SPEC §11.2 table, in its
// order, against a real server, store and hub.
func TestEndCallContract(t *testing.T) {
	env := newLiveEnv(t, liveOptions{platformKey: testPlatformKey})
	keyA, _ := env.orgKey(env.a)
	keyB, _ := env.orgKey(env.b)
	revoked, revokedRow := env.orgKey(env.a)
	env.must(env.store.RevokeAPIKey(context.Background(), env.a.org.ID, revokedRow.ID, time.Now()))
	wrongSecret := keyA[:len(keyA)-4] + "AAAA"
	unknownKeyID := "gk_ZZZZZZZZZZZZ" + keyA[len("gk_")+12:]

	agentA := string(env.a.agent.ID)
	orgA, orgB := string(env.a.org.ID), string(env.b.org.ID)
	body := `{"agentId":"` + agentA + `"}`
	withKey := func(k string) map[string]string {
		return map[string]string{"X-Internal-Api-Key": k}
	}
	platform := withKey(testPlatformKey)
	big := `{"agentId":"` + agentA + `","pad":"` + strings.Repeat("x", 16<<10) + `"}`

	const (
		ok           = `{"success":true}`
		unauthorized = `{"error":"Unauthorized"}`
		agentReq     = `{"error":"agentId is required"}`
		orgReq       = `{"error":"orgId must be a string"}`
	)
	cases := []endCallCase{
		// Row 1: method.
		{name: "1 GET", method: "GET", header: platform, live: "call",
			status: 405, want: `{"error":"Method not allowed"}`},
		{name: "1 PUT with a valid key", method: "PUT", header: platform, body: body, live: "call",
			status: 405, want: `{"error":"Method not allowed"}`},
		{name: "1 DELETE without a key", method: "DELETE", status: 405,
			want: `{"error":"Method not allowed"}`},
		// Row 4: authentication (rows 2, 3 and 5 need their own servers below).
		{name: "4 no header", body: body, live: "call", status: 401, want: unauthorized},
		{name: "4 empty header", header: withKey(""), body: body, live: "call",
			status: 401, want: unauthorized},
		{name: "4 spaces only", header: withKey("   "), body: body, live: "call",
			status: 401, want: unauthorized},
		{name: "4 wrong platform key", header: withKey(testPlatformKey + "x"), body: body,
			live: "call", status: 401, want: unauthorized},
		{name: "4 malformed key", header: withKey("gk_nope"), body: body, live: "call",
			status: 401, want: unauthorized},
		{name: "4 unknown key id", header: withKey(unknownKeyID), body: body, live: "call",
			status: 401, want: unauthorized},
		{name: "4 wrong secret", header: withKey(wrongSecret), body: body, live: "call",
			status: 401, want: unauthorized},
		{name: "4 revoked org key", header: withKey(revoked), body: body, live: "call",
			status: 401, want: unauthorized},
		{name: "4 before the size check", body: big, status: 401, want: unauthorized},
		{name: "4 before the body check", header: withKey("x"), body: `[]`,
			status: 401, want: unauthorized},
		// Row 6: size.
		{name: "6 body over 16 KiB", header: platform, body: big, live: "call",
			status: 413, want: `{"error":"Payload too large"}`},
		// Row 7: agentId.
		{name: "7 invalid JSON", header: platform, body: `{"agentId":`,
			status: 400, want: agentReq},
		{name: "7 empty body", header: platform, status: 400, want: agentReq},
		{name: "7 array", header: platform, body: `["` + agentA + `"]`,
			status: 400, want: agentReq},
		{name: "7 string", header: platform, body: `"` + agentA + `"`,
			status: 400, want: agentReq},
		{name: "7 null", header: platform, body: `null`, status: 400, want: agentReq},
		{name: "7 agentId missing", header: platform, body: `{"orgId":"` + orgA + `"}`,
			status: 400, want: agentReq},
		{name: "7 agentId empty", header: platform, body: `{"agentId":""}`,
			status: 400, want: agentReq},
		{name: "7 agentId blank", header: platform, body: `{"agentId":" \t "}`,
			status: 400, want: agentReq},
		{name: "7 agentId number", header: platform, body: `{"agentId":42}`,
			status: 400, want: agentReq},
		{name: "7 agentId null", header: platform, body: `{"agentId":null}`,
			status: 400, want: agentReq},
		{name: "7 agentId object", header: platform, body: `{"agentId":{"id":"x"}}`,
			status: 400, want: agentReq},
		{name: "7 before orgId", header: platform, body: `{"agentId":1,"orgId":1}`,
			status: 400, want: agentReq},
		// Row 8: orgId.
		{name: "8 orgId number", header: platform, body: `{"agentId":"` + agentA + `","orgId":7}`,
			live: "call", status: 400, want: orgReq},
		{name: "8 orgId empty", header: platform, body: `{"agentId":"` + agentA + `","orgId":""}`,
			live: "call", status: 400, want: orgReq},
		{name: "8 orgId null", header: platform,
			body: `{"agentId":"` + agentA + `","orgId":null}`, live: "call", status: 400,
			want: orgReq},
		{name: "8 orgId array", header: platform,
			body: `{"agentId":"` + agentA + `","orgId":["` + orgA + `"]}`, live: "call",
			status: 400, want: orgReq},
		// Row 9: out of reach, answered like a success.
		{name: "9 unknown agent", header: platform, body: `{"agentId":"nobody"}`,
			status: 200, want: ok},
		{name: "9 org key of another org", header: withKey(keyB), body: body, live: "call",
			status: 200, want: ok},
		{name: "9 platform key with another orgId", header: platform,
			body: `{"agentId":"` + agentA + `","orgId":"` + orgB + `"}`, live: "call",
			status: 200, want: ok},
		{name: "9 own org key with another orgId", header: withKey(keyA),
			body: `{"agentId":"` + agentA + `","orgId":"` + orgB + `"}`, live: "call",
			status: 200, want: ok},
		// Row 10: not in a call.
		{name: "10 agent offline", header: platform, body: body, status: 200, want: ok},
		{name: "10 agent live", header: platform, body: body, live: "connected",
			status: 200, want: ok},
		{name: "10 agent only rung", header: platform, body: body, live: "ringing",
			status: 200, want: ok},
		// Row 11: the call ends.
		{name: "11 platform key", header: platform, body: body, live: "call",
			status: 200, want: ok, ends: true},
		{name: "11 platform key with the orgId", header: platform,
			body: `{"agentId":"` + agentA + `","orgId":"` + orgA + `"}`, live: "call",
			status: 200, want: ok, ends: true},
		{name: "11 org key", header: withKey(keyA), body: body, live: "call",
			status: 200, want: ok, ends: true},
		{name: "11 org key with its own orgId", header: withKey(keyA),
			body: `{"agentId":"` + agentA + `","orgId":"` + orgA + `"}`, live: "call",
			status: 200, want: ok, ends: true},
		{name: "11 lower-case header name", header: map[string]string{
			"x-internal-api-key": testPlatformKey}, body: body, live: "call",
			status: 200, want: ok, ends: true},
		{name: "11 upper-case header name", header: map[string]string{
			"X-INTERNAL-API-KEY": keyA}, body: body, live: "call",
			status: 200, want: ok, ends: true},
		{name: "11 key with surrounding spaces", header: withKey("  " + keyA + " \t"),
			body: body, live: "call", status: 200, want: ok, ends: true},
		{name: "11 unknown fields ignored", header: platform,
			body: `{"agentId":" ` + agentA + ` ","reason":"hr"}`, live: "call",
			status: 200, want: ok, ends: true},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env.t = t
			env.runEndCallCase(tc)
		})
	}
}

func (e *liveEnv) runEndCallCase(tc endCallCase) {
	t := e.t
	var l *live
	switch tc.live {
	case "connected":
		l = e.connectAgent(e.a, e.a.agent)
	case "ringing":
		l = e.ringAgent(e.a, e.a.agent)
	case "call":
		l = e.callAgent(e.a, e.a.agent)
	}
	if l != nil {
		defer e.leave(l)
	}

	method := tc.method
	if method == "" {
		method = http.MethodPost
	}
	got := e.rawRequest(method, endCallPath, tc.body, tc.header)
	assertEndCallAnswer(t, got, tc.status, tc.want)
	if tc.status == http.StatusMethodNotAllowed && got.header.Get("Allow") != "POST" {
		t.Errorf("Allow = %q, want POST", got.header.Get("Allow"))
	}

	switch {
	case tc.ends:
		e.assertCallEnded(l, calls.EndedByAPI)
		s := e.status(l.org, e.a.agent.ID)
		if s != calls.StatusIdle && s != calls.StatusBroadcasting {
			t.Errorf("after the call the agent is %s, want live", s)
		}
		if l.agent.closeCode() != 0 {
			t.Errorf("the agent's connection was closed with %d", l.agent.closeCode())
		}
	case tc.live == "call":
		e.assertCallActive(l, e.a.agent.ID)
	case tc.live == "ringing":
		if n := len(l.agent.events(protocol.EventCallCancelled)); n != 0 {
			t.Errorf("the ring was withdrawn (%d call:cancelled)", n)
		}
	}
}

func assertEndCallAnswer(t *testing.T, got response, status int, want string) {
	t.Helper()
	if got.status != status || strings.TrimSpace(string(got.body)) != want {
		t.Errorf("got %d %s, want %d %s", got.status, got.body, status, want)
	}
	if ct := got.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestEndCallIsIdempotent(t *testing.T) {
	env := newLiveEnv(t, liveOptions{platformKey: testPlatformKey})
	l := env.callAgent(env.a, env.a.agent)
	header := map[string]string{"X-Internal-Api-Key": testPlatformKey}
	body := `{"agentId":"` + string(env.a.agent.ID) + `"}`

	for range 3 {
		got := env.rawRequest("POST", endCallPath, body, header)
		assertEndCallAnswer(t, got, 200, `{"success":true}`)
	}
	env.assertCallEnded(l, calls.EndedByAPI) // exactly one call:ended each
}

func TestEndCallProductionWithoutPlatformKeyIsMisconfigured(t *testing.T) {
	env := newLiveEnv(t, liveOptions{production: true})
	keyA, _ := env.orgKey(env.a)
	l := env.callAgent(env.a, env.a.agent)
	body := `{"agentId":"` + string(env.a.agent.ID) + `"}`
	want := `{"error":"Server misconfiguration"}`

	for _, key := range []string{keyA, "", testPlatformKey} {
		got := env.rawRequest("POST", endCallPath, body,
			map[string]string{"X-Internal-Api-Key": key})
		assertEndCallAnswer(t, got, 500, want)
	}
	env.assertCallActive(l, env.a.agent.ID)

	// The method is still checked first.
	got := env.rawRequest("GET", endCallPath, "", nil)
	assertEndCallAnswer(t, got, 405, `{"error":"Method not allowed"}`)
}

func TestEndCallWithoutPlatformKeyIsNeverOpen(t *testing.T) {
	env := newLiveEnv(t, liveOptions{})
	keyA, _ := env.orgKey(env.a)
	l := env.callAgent(env.a, env.a.agent)
	body := `{"agentId":"` + string(env.a.agent.ID) + `"}`

	for _, key := range []string{"", " ", "undefined", "null"} {
		got := env.rawRequest("POST", endCallPath, body,
			map[string]string{"X-Internal-Api-Key": key})
		assertEndCallAnswer(t, got, 401, `{"error":"Unauthorized"}`)
	}
	env.assertCallActive(l, env.a.agent.ID)

	// Organization keys still work in development.
	got := env.rawRequest("POST", endCallPath, body, map[string]string{"X-Internal-Api-Key": keyA})
	assertEndCallAnswer(t, got, 200, `{"success":true}`)
	env.assertCallEnded(l, calls.EndedByAPI)
}

func TestEndCallLimitsFailedAuthenticationsPerIP(t *testing.T) {
	env := newLiveEnv(t, liveOptions{platformKey: testPlatformKey})
	l := env.callAgent(env.a, env.a.agent)
	body := `{"agentId":"` + string(env.a.agent.ID) + `"}`
	bad := map[string]string{"X-Internal-Api-Key": "wrong"}

	for i := range 20 {
		got := env.rawRequest("POST", endCallPath, body, bad)
		if got.status != 401 {
			t.Fatalf("failure %d: %d %s", i+1, got.status, got.body)
		}
	}

	// Over the limit even a valid key is refused (row 3 comes before row 4).
	for _, header := range []map[string]string{bad,
		{"X-Internal-Api-Key": testPlatformKey}} {
		got := env.rawRequest("POST", endCallPath, body, header)
		assertEndCallAnswer(t, got, 429, `{"error":"Too many requests"}`)
		assertRetryAfter(t, got)
	}
	env.assertCallActive(l, env.a.agent.ID)

	// A minute later the IP may try again.
	env.now.Advance(time.Minute)
	got := env.rawRequest("POST", endCallPath, body, map[string]string{
		"X-Internal-Api-Key": testPlatformKey})
	assertEndCallAnswer(t, got, 200, `{"success":true}`)
}

func TestEndCallLimitsUsesPerKey(t *testing.T) {
	// At a scale of 0.05 a key may be used 3 times a minute.
	env := newLiveEnv(t, liveOptions{platformKey: testPlatformKey, scale: 0.05})
	keyA, _ := env.orgKey(env.a)
	body := `{"agentId":"nobody"}`

	for _, key := range []string{keyA, testPlatformKey} {
		header := map[string]string{"X-Internal-Api-Key": key}
		for i := range 3 {
			got := env.rawRequest("POST", endCallPath, body, header)
			if got.status != 200 {
				t.Fatalf("use %d: %d %s", i+1, got.status, got.body)
			}
		}
		got := env.rawRequest("POST", endCallPath, body, header)
		assertEndCallAnswer(t, got, 429, `{"error":"Too many requests"}`)
		assertRetryAfter(t, got)
	}

	// The limit runs before the body is looked at (row 5 before row 6).
	got := env.rawRequest("POST", endCallPath, strings.Repeat("x", 20<<10),
		map[string]string{"X-Internal-Api-Key": keyA})
	assertEndCallAnswer(t, got, 429, `{"error":"Too many requests"}`)
}

func TestEndCallRecordsKeyUse(t *testing.T) {
	env := newLiveEnv(t, liveOptions{platformKey: testPlatformKey})
	keyA, row := env.orgKey(env.a)

	got := env.rawRequest("POST", endCallPath, `{"agentId":"nobody"}`,
		map[string]string{"X-Internal-Api-Key": keyA})
	assertEndCallAnswer(t, got, 200, `{"success":true}`)

	k, err := env.store.APIKeyByKeyID(context.Background(), row.KeyID)
	if err != nil || k.LastUsedAt == nil {
		t.Errorf("last use not recorded: %+v, %v", k, err)
	}
}

func assertRetryAfter(t *testing.T, got response) {
	t.Helper()
	n, err := strconv.Atoi(got.header.Get("Retry-After"))
	if err != nil || n < 1 {
		t.Errorf("Retry-After = %q", got.header.Get("Retry-After"))
	}
}

// Compile-time check that the real hub is what the API expects.
var _ Hub = (*calls.Hub)(nil)
