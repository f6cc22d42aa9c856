package httpapi

import (
	"net/http"
	"testing"

	"greeter/internal/calls"
	"greeter/internal/protocol"
)

// An agent who signs out is offline at once, and its viewers move on
// without waiting for the disconnect grace (SPEC §6.2). Another
// organization's agent is untouched.
func TestSigningOutTakesTheAgentOffline(t *testing.T) {
	e := newLiveEnv(t, liveOptions{})
	mine := e.connectAgent(e.a, e.a.agent)
	theirs := e.connectAgent(e.b, e.b.agent)
	visitor := e.joinVisitor(e.a, "/")

	got := e.do(request{method: "POST", path: "/api/auth/logout", token: e.signIn(e.a.agentUser)})
	if got.status != http.StatusOK {
		t.Fatalf("logout: %d %s", got.status, got.body)
	}
	if s := e.status(e.a.org.ID, e.a.agent.ID); s != calls.StatusOffline {
		t.Errorf("status after signing out = %s", s)
	}
	if mine.agent.closeCode() != protocol.CloseUnauthorized {
		t.Errorf("workbench closed with %d", mine.agent.closeCode())
	}
	if u := visitor.events(protocol.EventAgentUnavail); len(u) != 1 ||
		u[0]["reason"] != "agent_offline" {
		t.Errorf("agent:unavailable = %v", u)
	}
	if s := e.status(e.b.org.ID, e.b.agent.ID); s != calls.StatusIdle {
		t.Errorf("org B's agent is %s", s)
	}
	if theirs.agent.closeCode() != 0 {
		t.Errorf("org B's workbench closed with %d", theirs.agent.closeCode())
	}

	// Signing out without a session still succeeds and changes nothing.
	got = e.do(request{method: "POST", path: "/api/auth/logout"})
	if got.status != http.StatusOK {
		t.Errorf("logout without a session: %d %s", got.status, got.body)
	}
	e.leave(theirs)
}
