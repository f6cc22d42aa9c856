package httpapi

import (
	"context"
	"net/http"
	"testing"
	"time"

	"greeter/internal/calls"
	"greeter/internal/ids"
	"greeter/internal/protocol"
	"greeter/internal/store"
)

// joinVisitor connects a visitor of tn's site on page path.
func (e *liveEnv) joinVisitor(tn tenant, path string) *fakePeer {
	e.t.Helper()
	v := &fakePeer{}
	e.submit(tn.org.ID, calls.VisitorJoin{Peer: v, Ack: 1, Visitor: ids.VisitorID("v-" + path),
		Site: tn.site.ID, PageURL: tn.site.AllowedOrigins[0] + path, ConnectedAt: time.Now()})
	return v
}

// lastAgentID is the agent named by the visitor's latest assignment.
func lastAgentID(t *testing.T, v *fakePeer) any {
	t.Helper()
	var last map[string]any
	for _, ev := range []string{protocol.EventAgentAssigned, protocol.EventAgentReassigned} {
		if got := v.events(ev); len(got) > 0 {
			last = got[len(got)-1]
		}
	}
	if last == nil {
		t.Fatal("the visitor was never assigned")
	}
	card, _ := last["agent"].(map[string]any)
	return card["id"]
}

// Every admin change reaches live routing before the answer (SPEC §7.6): no
// agent signs in again and nothing restarts.
func TestAdminChangesReachLiveRouting(t *testing.T) {
	e := newLiveEnv(t, liveOptions{})
	tn := e.a
	admin := e.signIn(tn.admin)
	catchAll, err := e.store.CatchAllPool(context.Background(), tn.org.ID)
	e.must(err)

	first := e.connectAgent(tn, tn.agent)
	visitor := e.joinVisitor(tn, "/")
	if got := lastAgentID(t, visitor); got != string(tn.agent.ID) {
		t.Fatalf("visitor greeted by %v, want %s", got, tn.agent.ID)
	}
	second := e.connectAgent(tn, tn.adminAgent)

	t.Run("removing the agent from the pool moves its viewers", func(t *testing.T) {
		got := e.do(request{method: "DELETE", token: admin,
			path: "/api/pools/" + string(catchAll.ID) + "/members/" + string(tn.agent.ID)})
		if got.status != http.StatusOK {
			t.Fatalf("DELETE member: %d %s", got.status, got.body)
		}
		moved := visitor.events(protocol.EventAgentReassigned)
		if len(moved) != 1 || moved[0]["reason"] != "agent_offline" ||
			moved[0]["previousAgentId"] != string(tn.agent.ID) {
			t.Fatalf("agent:reassigned = %v", moved)
		}
		if got := lastAgentID(t, visitor); got != string(tn.adminAgent.ID) {
			t.Errorf("visitor now greeted by %v, want %s", got, tn.adminAgent.ID)
		}
	})

	t.Run("a rule sends new visitors to another pool", func(t *testing.T) {
		got := e.do(request{method: "POST", path: "/api/pools", token: admin,
			body: `{"name":"Sales"}`})
		if got.status != http.StatusCreated {
			t.Fatalf("POST pool: %d %s", got.status, got.body)
		}
		sales, _ := got.json["id"].(string)
		got = e.do(request{method: "PUT", token: admin,
			path: "/api/pools/" + sales + "/members/" + string(tn.agent.ID),
			body: `{"priorityRank":1}`})
		if got.status != http.StatusOK {
			t.Fatalf("PUT member: %d %s", got.status, got.body)
		}
		got = e.do(request{method: "POST", path: "/api/pools/" + sales + "/rules", token: admin,
			body: `{"name":"Pricing","conditions":[{"type":"path","match":"starts_with",` +
				`"value":"/pricing"}]}`})
		if got.status != http.StatusCreated {
			t.Fatalf("POST rule: %d %s", got.status, got.body)
		}

		buyer := e.joinVisitor(tn, "/pricing")
		if got := lastAgentID(t, buyer); got != string(tn.agent.ID) {
			t.Errorf("a /pricing visitor is greeted by %v, want the Sales member %s",
				got, tn.agent.ID)
		}
		reader := e.joinVisitor(tn, "/blog")
		if got := lastAgentID(t, reader); got != string(tn.adminAgent.ID) {
			t.Errorf("a /blog visitor is greeted by %v, want the catch-all member %s",
				got, tn.adminAgent.ID)
		}
	})

	t.Run("a new display name reaches the agent's workbench", func(t *testing.T) {
		before := len(second.agent.events(protocol.EventAgentState))
		got := e.do(request{method: "PATCH", path: "/api/agents/" + string(tn.adminAgent.ID),
			token: admin, body: `{"displayName":"Dana"}`})
		if got.status != http.StatusOK {
			t.Fatalf("PATCH agent: %d %s", got.status, got.body)
		}
		states := second.agent.events(protocol.EventAgentState)
		if len(states) != before+1 {
			t.Fatalf("%d agent:state frames after the change, want 1", len(states)-before)
		}
		profile, _ := states[len(states)-1]["profile"].(map[string]any)
		if profile["displayName"] != "Dana" {
			t.Errorf("agent:state profile = %v", profile)
		}
	})

	t.Run("nothing reaches another organization", func(t *testing.T) {
		bAgent := e.connectAgent(e.b, e.b.agent)
		bVisitor := e.joinVisitor(e.b, "/pricing")
		got := e.do(request{method: "PATCH", path: "/api/agents/" + string(e.b.agent.ID),
			token: admin, body: `{"maxViewers":1}`})
		wantError(t, got, http.StatusNotFound, CodeNotFound)
		if n := len(bVisitor.events(protocol.EventAgentReassigned)); n != 0 {
			t.Errorf("org B's visitor was moved %d times", n)
		}
		p, err := e.store.AgentProfileByID(context.Background(), e.b.agent.ID)
		e.must(err)
		if p.MaxViewers != store.DefaultMaxViewers {
			t.Errorf("org B's agent capacity = %d", p.MaxViewers)
		}
		e.leave(bAgent)
	})

	e.leave(first)
	e.leave(second)
}
