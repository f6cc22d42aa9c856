package calls

import (
	"testing"
	"time"

	"greeter/internal/ids"
	"greeter/internal/protocol"
	"greeter/internal/routing"
)

// Scenario tests of pools, rules, tiers, overflow and configuration changes
// (SPEC §7) as the organization loop applies them.

// salesPool adds a "Sales" pool whose rule takes every page under /pricing,
// with members at the given tiers.
func (e *env) salesPool(overflow bool, members map[string]int) {
	e.t.Helper()
	e.reconfigure(func(c *OrgConfig) {
		p := &PoolConfig{ID: "pool-sales", Name: "Sales", Overflow: overflow,
			Members: map[ids.AgentID]Member{}}
		for name, tier := range members {
			p.Members[ids.AgentID("agent-"+name)] = Member{Tier: tier}
		}
		c.Pools[p.ID] = p
		c.Rules = []routing.Rule{{ID: "rule-pricing", PoolID: "pool-sales", Active: true,
			Conditions: []routing.Condition{{Type: routing.TypePath,
				Match: routing.MatchStartsWith, Value: "/pricing"}}}}
	})
}

// liveOnlyIn connects an agent that is a member of the given pools only.
func (e *env) liveOnlyIn(name string, pools map[ids.PoolID]int) *fakePeer {
	e.t.Helper()
	info := e.profile(name, true)
	e.dir.edit(func(c *OrgConfig) {
		for _, p := range c.Pools {
			delete(p.Members, info.ID)
		}
		for id, tier := range pools {
			c.Pools[id].Members[info.ID] = Member{Tier: tier}
		}
	})
	p := e.agent(name, true)
	n := e.nextAck()
	e.submit(AgentBack{Peer: p, Ack: n})
	e.sync()
	e.ackOK(p, n)
	return p
}

// visitorAt joins a visitor on a page of the test site.
func (e *env) visitorAt(name, path string) *fakePeer {
	p := &fakePeer{name: name}
	e.submit(VisitorJoin{Peer: p, Ack: e.nextAck(), Visitor: ids.VisitorID("v-" + name),
		Site: "site-1", PageURL: "https://shop.example" + path, ConnectedAt: e.clock.Now()})
	e.sync()
	return p
}

func agentOf(m map[string]any) any {
	a, _ := m["agent"].(map[string]any)
	return a["id"]
}

func TestRulesSendVisitorsToTheirPool(t *testing.T) {
	e := newEnv(t)
	e.salesPool(false, nil)
	e.liveOnlyIn("ava", map[ids.PoolID]int{"pool-sales": 1})
	e.liveOnlyIn("ben", map[ids.PoolID]int{"pool-all": 1})

	pricing := e.visitorAt("p", "/pricing/team")
	if got := agentOf(e.next(pricing, protocol.EventAgentAssigned)); got != "agent-ava" {
		t.Fatalf("/pricing visitor got %v, want ava (Sales)", got)
	}
	home := e.visitorAt("h", "/")
	if got := agentOf(e.next(home, protocol.EventAgentAssigned)); got != "agent-ben" {
		t.Fatalf("/ visitor got %v, want ben (catch-all)", got)
	}
}

func TestTiersAreTriedInOrderAndCapacityIsPerAgent(t *testing.T) {
	e := newEnv(t)
	e.liveOnlyIn("ava", map[ids.PoolID]int{"pool-all": 2})
	e.liveOnlyIn("ben", map[ids.PoolID]int{"pool-all": 1})
	info := e.profile("ben", true)
	info.MaxViewers = 2
	e.reconfigure(func(c *OrgConfig) { c.Agents[info.ID] = info })

	// Ben is tier 1: he greets until he is full, then tier 2 (Ava) does.
	var got []any
	for _, name := range []string{"v1", "v2", "v3"} {
		got = append(got, agentOf(e.next(e.visitorAt(name, "/"), protocol.EventAgentAssigned)))
	}
	want := []any{"agent-ben", "agent-ben", "agent-ava"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("assignments = %v, want %v", got, want)
		}
	}
}

func TestOverflowGoesToTheCatchAllPoolOnlyWhenAllowed(t *testing.T) {
	for _, overflow := range []bool{false, true} {
		e := newEnv(t)
		e.salesPool(overflow, nil)
		e.liveOnlyIn("ben", map[ids.PoolID]int{"pool-all": 1})
		v := e.visitorAt("p", "/pricing")
		if overflow {
			if got := agentOf(e.next(v, protocol.EventAgentAssigned)); got != "agent-ben" {
				t.Fatalf("overflow: got %v, want ben", got)
			}
			continue
		}
		e.next(v, protocol.EventAgentUnavail)
		// Without overflow a request is refused: nobody of Sales is live.
		n := e.nextAck()
		e.submit(CallRequest{Peer: v, Ack: n})
		e.sync()
		e.ackErr(v, n, protocol.CodeAgentUnavailable)
	}
}

func TestOrganizationsNeverShareAgents(t *testing.T) {
	e := newEnv(t)
	e.live("ava")
	other := &fakePeer{name: "globex-visitor"}
	if err := e.hub.Submit(t.Context(), "org-2", VisitorJoin{Peer: other, Ack: 1,
		Visitor: "v-g", Site: "site-2", PageURL: "https://globex.example/",
		ConnectedAt: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := e.hub.Flush(t.Context(), "org-2"); err != nil {
		t.Fatal(err)
	}
	e.next(other, protocol.EventAgentUnavail)
}

func TestPoolVideosAreShownToThatPoolsVisitors(t *testing.T) {
	e := newEnv(t)
	e.salesPool(false, nil)
	e.liveOnlyIn("ava", map[ids.PoolID]int{"pool-sales": 1, "pool-all": 1})
	e.reconfigure(func(c *OrgConfig) {
		c.Pools["pool-sales"].Members["agent-ava"] = Member{Tier: 1,
			Videos: &protocol.Videos{Intro: "/media/sales-intro.webm", Loop: "/media/sales-loop.webm"}}
	})

	card := e.next(e.visitorAt("p", "/pricing"), protocol.EventAgentAssigned)["agent"].(map[string]any)
	if intro := card["videos"].(map[string]any)["intro"]; intro != "/media/sales-intro.webm" {
		t.Fatalf("Sales visitor sees intro %v", intro)
	}
	card = e.next(e.visitorAt("h", "/"), protocol.EventAgentAssigned)["agent"].(map[string]any)
	if intro := card["videos"].(map[string]any)["intro"]; intro != "" {
		t.Fatalf("catch-all visitor sees the Sales intro %v", intro)
	}
}

func TestNavigatingToAnotherPoolReassignsWithPageChanged(t *testing.T) {
	e := newEnv(t)
	e.salesPool(false, nil)
	e.liveOnlyIn("ava", map[ids.PoolID]int{"pool-sales": 1})
	e.liveOnlyIn("ben", map[ids.PoolID]int{"pool-all": 1})
	v := e.visitorAt("v", "/")
	e.next(v, protocol.EventAgentAssigned)

	e.submit(VisitorJoin{Peer: v, Ack: e.nextAck(), PageURL: "https://shop.example/pricing"})
	e.sync()
	m := e.next(v, protocol.EventAgentReassigned)
	if m["reason"] != "page_changed" || m["previousAgentId"] != "agent-ben" || agentOf(m) != "agent-ava" {
		t.Fatalf("reassigned = %v", m)
	}

	// Within the same pool, nothing moves.
	e.submit(VisitorJoin{Peer: v, Ack: e.nextAck(), PageURL: "https://shop.example/pricing/b"})
	e.sync()
	e.none(v, protocol.EventAgentReassigned)
}

func TestConfigurationChangesApplyAtOnce(t *testing.T) {
	t.Run("a new rule moves viewers with page_changed", func(t *testing.T) {
		e := newEnv(t)
		e.liveOnlyIn("ava", map[ids.PoolID]int{"pool-all": 1})
		v := e.visitorAt("v", "/pricing")
		e.next(v, protocol.EventAgentAssigned)
		e.reconfigure(func(c *OrgConfig) {
			c.Pools["pool-sales"] = &PoolConfig{ID: "pool-sales", Name: "Sales",
				Members: map[ids.AgentID]Member{}}
		})
		e.liveOnlyIn("ben", map[ids.PoolID]int{"pool-sales": 1})
		e.none(v, protocol.EventAgentReassigned) // a pool without rules changes nothing
		e.salesPool(false, map[string]int{"ben": 1})
		m := e.next(v, protocol.EventAgentReassigned)
		if m["reason"] != "page_changed" || agentOf(m) != "agent-ben" {
			t.Fatalf("reassigned = %v", m)
		}
	})

	t.Run("removal from the pool reassigns with agent_offline", func(t *testing.T) {
		e := newEnv(t)
		e.live("ava")
		e.live("ben")
		v := e.visitorAt("v", "/")
		first := agentOf(e.next(v, protocol.EventAgentAssigned)).(string)
		e.reconfigure(func(c *OrgConfig) { delete(c.Pools[c.CatchAll].Members, ids.AgentID(first)) })
		m := e.next(v, protocol.EventAgentReassigned)
		if m["reason"] != "agent_offline" || m["previousAgentId"] != first || agentOf(m) == first {
			t.Fatalf("reassigned = %v", m)
		}
	})

	t.Run("deleting the pool sends its visitors to the catch-all pool", func(t *testing.T) {
		e := newEnv(t)
		e.salesPool(false, nil)
		e.liveOnlyIn("ava", map[ids.PoolID]int{"pool-sales": 1})
		e.liveOnlyIn("ben", map[ids.PoolID]int{"pool-all": 1})
		v := e.visitorAt("v", "/pricing")
		e.next(v, protocol.EventAgentAssigned)
		e.reconfigure(func(c *OrgConfig) {
			delete(c.Pools, "pool-sales")
			c.Rules = nil
		})
		m := e.next(v, protocol.EventAgentReassigned)
		if m["reason"] != "agent_offline" || agentOf(m) != "agent-ben" {
			t.Fatalf("reassigned = %v", m)
		}
	})

	t.Run("raising capacity serves waiting visitors", func(t *testing.T) {
		e := newEnv(t)
		info := e.profile("ava", true)
		info.MaxViewers = 1
		e.reconfigure(func(c *OrgConfig) { c.Agents[info.ID] = info })
		ava := &fakePeer{name: "ava"}
		e.submit(AgentConnect{Peer: ava, Agent: info})
		e.submit(AgentBack{Peer: ava, Ack: e.nextAck()})
		e.next(e.visitorAt("v1", "/"), protocol.EventAgentAssigned)
		v2 := e.visitorAt("v2", "/")
		e.next(v2, protocol.EventAgentUnavail)

		info.MaxViewers = 2
		e.reconfigure(func(c *OrgConfig) { c.Agents[info.ID] = info })
		e.next(v2, protocol.EventAgentAssigned)
		// Lowering it evicts nobody.
		info.MaxViewers = 1
		e.reconfigure(func(c *OrgConfig) { c.Agents[info.ID] = info })
		e.none(v2, protocol.EventAgentReassigned)
		e.none(v2, protocol.EventAgentUnavail)
	})

	t.Run("adding a member serves the pool's waiting visitors", func(t *testing.T) {
		e := newEnv(t)
		e.salesPool(false, nil)
		e.live("ava")
		v := e.visitorAt("v", "/pricing")
		e.next(v, protocol.EventAgentUnavail)
		e.reconfigure(func(c *OrgConfig) { c.Pools["pool-sales"].Members["agent-ava"] = Member{Tier: 1} })
		if got := agentOf(e.next(v, protocol.EventAgentAssigned)); got != "agent-ava" {
			t.Fatalf("assigned %v", got)
		}
	})

	t.Run("a new ring time applies to the next ring", func(t *testing.T) {
		e := newEnv(t)
		ava := e.live("ava")
		e.reconfigure(func(c *OrgConfig) { c.RNASeconds = 30 })
		if s := e.last(ava, protocol.EventAgentState)["settings"].(map[string]any); s["rnaSeconds"] != 30.0 {
			t.Fatalf("agent:state settings = %v", s)
		}
		v := e.visitorAt("v", "/")
		e.submit(CallRequest{Peer: v, Ack: e.nextAck()})
		e.sync()
		in := e.next(ava, protocol.EventCallIncoming)
		if in["rnaSeconds"] != 30.0 || in["expiresInMs"] != 30000.0 {
			t.Fatalf("call:incoming = %v", in)
		}
		e.advance(16 * time.Second)
		e.none(ava, protocol.EventCallCancelled)
		e.advance(15 * time.Second)
		if e.next(ava, protocol.EventCallCancelled)["reason"] != "ring_no_answer" {
			t.Fatal("the ring did not end at 30 s")
		}
	})

	t.Run("leaving the pool withdraws a ring", func(t *testing.T) {
		e := newEnv(t)
		ava := e.live("ava")
		v := e.visitorAt("v", "/")
		e.submit(CallRequest{Peer: v, Ack: e.nextAck()})
		e.sync()
		e.next(ava, protocol.EventCallIncoming)
		e.reconfigure(func(c *OrgConfig) { delete(c.Pools[c.CatchAll].Members, "agent-ava") })
		if got := e.next(ava, protocol.EventCallCancelled)["reason"]; got != "withdrawn" {
			t.Fatalf("cancelled reason = %v", got)
		}
		if rows := e.recs.byStatus(RecordRejected); len(rows) != 1 {
			t.Fatalf("rejected rows = %d", len(rows))
		}
	})

	t.Run("pausing the organization sets live agents away", func(t *testing.T) {
		e := newEnv(t)
		ava := e.live("ava")
		e.reconfigure(func(c *OrgConfig) { c.Paused = true })
		if got := e.next(ava, protocol.EventAgentMarkedAway)["reason"]; got != "org_paused" {
			t.Fatalf("marked away reason = %v", got)
		}
		n := e.nextAck()
		e.submit(AgentBack{Peer: ava, Ack: n})
		e.sync()
		e.ackErr(ava, n, protocol.CodeOrgPaused)
	})
}

func TestRingPrefersTheVisitorsAgentThenTheTopTier(t *testing.T) {
	e := newEnv(t)
	ava := e.liveOnlyIn("ava", map[ids.PoolID]int{"pool-all": 2})
	v := e.visitorAt("v", "/")
	e.next(v, protocol.EventAgentAssigned) // Ava is the only one live
	ben := e.liveOnlyIn("ben", map[ids.PoolID]int{"pool-all": 1})

	// Ava greets the visitor, so she is rung even though Ben is tier 1.
	e.submit(CallRequest{Peer: v, Ack: e.nextAck()})
	e.sync()
	in := e.next(ava, protocol.EventCallIncoming)
	e.none(ben, protocol.EventCallIncoming)

	// She declines: the ring moves to Ben and the visitor with it.
	e.submit(CallReject{Peer: ava, Ack: e.nextAck(), RequestID: ids.RequestID(in["requestId"].(string))})
	e.sync()
	e.next(ben, protocol.EventCallIncoming)
	m := e.next(v, protocol.EventAgentReassigned)
	if m["reason"] != "agent_busy" || m["previousAgentId"] != "agent-ava" || agentOf(m) != "agent-ben" {
		t.Fatalf("reassigned = %v", m)
	}
}

func TestStatsCountTheVisitorsOfTheAgentsPools(t *testing.T) {
	e := newEnv(t)
	e.salesPool(false, nil)
	ava := e.liveOnlyIn("ava", map[ids.PoolID]int{"pool-sales": 1})
	e.visitorAt("h1", "/")
	e.visitorAt("h2", "/")
	e.advance(2 * time.Second)
	e.visitorAt("p", "/pricing")
	e.advance(2 * time.Second)

	last := e.last(ava, protocol.EventStatsUpdate)
	if last["poolVisitors"] != 1.0 || last["viewers"] != 1.0 {
		t.Fatalf("last stats:update = %v, want 1 viewer and 1 pool visitor", last)
	}
}
