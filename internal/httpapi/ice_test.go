package httpapi

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"greeter/internal/calls"
	"greeter/internal/ids"
	"greeter/internal/protocol"
)

func TestICEConfigBuild(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)

	tests := []struct {
		name string
		cfg  ICEConfig
		want string
	}{
		{"nothing configured", ICEConfig{}, `{"iceServers":[],"ttl":7200}`},
		{"STUN only", ICEConfig{STUNURLs: []string{"stun:a:3478", "stun:b:3478"}},
			`{"iceServers":[{"urls":["stun:a:3478","stun:b:3478"]}],"ttl":7200}`},
		{"TURN without a secret is left out",
			ICEConfig{TURNURLs: []string{"turn:t:3478"}, TTL: time.Minute},
			`{"iceServers":[],"ttl":60}`},
		{"TURN with a secret",
			ICEConfig{TURNURLs: []string{"turn:t:3478"}, TURNSecret: "k", TTL: time.Minute},
			`{"iceServers":[{"urls":["turn:t:3478"],"username":"1700000060:call_1",` +
				`"credential":"` + hmacB64("k", "1700000060:call_1") + `"}],"ttl":60}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.cfg.Build("call_1", now))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func hmacB64(secret, msg string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestICEServersNeedAnAgentSession(t *testing.T) {
	env := newTestEnv(t)

	tests := []struct {
		name  string
		token string
	}{
		{"no session", ""},
		{"unknown token", "not-a-session"},
		{"user without agent profile", env.signIn(env.a.plainUser)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := env.do(request{method: "GET", path: "/api/ice-servers", token: tt.token})
			wantError(t, got, http.StatusUnauthorized, CodeUnauthorized)
		})
	}
}

func TestICEServersTURNCredential(t *testing.T) {
	env := newTestEnv(t)
	before := time.Now()

	got := env.do(request{method: "GET", path: "/api/ice-servers",
		token: env.signIn(env.a.agentUser)})
	if got.status != http.StatusOK {
		t.Fatalf("%d %s", got.status, got.body)
	}

	var cfg IceConfig
	if err := json.Unmarshal(got.body, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.TTL != 3600 || len(cfg.ICEServers) != 2 {
		t.Fatalf("config = %s", got.body)
	}
	if stun := cfg.ICEServers[0]; stun.URLs[0] != env.ice.STUNURLs[0] || stun.Username != "" {
		t.Errorf("STUN entry = %+v", stun)
	}

	turn := cfg.ICEServers[1]
	expiry, subject, ok := strings.Cut(turn.Username, ":")
	if !ok || subject != string(env.a.agentUser.ID) {
		t.Fatalf("username = %q, want <expiry>:<user id>", turn.Username)
	}
	unix, err := strconv.ParseInt(expiry, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := before.Add(time.Hour).Unix(), time.Now().Add(time.Hour).Unix()
	if unix < lo || unix > hi {
		t.Errorf("expiry %d not within [%d, %d]", unix, lo, hi)
	}
	if turn.Credential != hmacB64(env.ice.TURNSecret, turn.Username) {
		t.Errorf("credential %q is not base64(HMAC-SHA1(secret, username))", turn.Credential)
	}
	if strings.Contains(string(got.body), env.ice.TURNSecret) {
		t.Error("the answer contains the TURN secret")
	}
}

func TestICEServersWithACallToken(t *testing.T) {
	env := newLiveEnv(t, liveOptions{})
	env.t = t
	l := env.callAgent(env.a, env.a.agent)
	token, _ := l.visitor.events(protocol.EventCallAccepted)[0]["reconnectToken"].(string)
	agentToken, _ := l.agent.events(protocol.EventCallStarted)[0]["reconnectToken"].(string)

	for _, tok := range []string{token, agentToken} {
		got := env.rawRequest(http.MethodGet, "/api/ice-servers", "",
			map[string]string{"X-Call-Token": tok})
		if got.status != http.StatusOK || got.json["iceServers"] == nil {
			t.Fatalf("with a live call token: %d %s", got.status, got.body)
		}
	}
	for _, tok := range []string{"not-a-token", strings.Repeat("A", 43), token + "x"} {
		got := env.rawRequest(http.MethodGet, "/api/ice-servers", "",
			map[string]string{"X-Call-Token": tok})
		if got.status != http.StatusUnauthorized || got.json["code"] != CodeUnauthorized {
			t.Fatalf("token %q: %d %s", tok, got.status, got.body)
		}
	}

	// Once the call ends its tokens open nothing.
	callID, _ := l.agent.events(protocol.EventCallStarted)[0]["callId"].(string)
	env.submit(l.org, calls.CallEnd{Peer: l.agent, Ack: 50, CallID: ids.CallID(callID)})
	got := env.rawRequest(http.MethodGet, "/api/ice-servers", "",
		map[string]string{"X-Call-Token": token})
	if got.status != http.StatusUnauthorized {
		t.Fatalf("an ended call's token: %d %s", got.status, got.body)
	}
	env.leave(l)
}
