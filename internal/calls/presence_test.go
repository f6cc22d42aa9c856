package calls

import (
	"testing"
	"time"

	"greeter/internal/ids"
	"greeter/internal/protocol"
)

// Scenario tests of presence (SPEC §6): the disconnect grace, staleness,
// presence intents and restart recovery.

func TestDisconnectGrace(t *testing.T) {
	t.Run("an agent back within the grace keeps status and viewers", func(t *testing.T) {
		e := newEnv(t)
		e.live("ava")
		v := e.visitorAt("v", "/")
		e.next(v, protocol.EventAgentAssigned)
		e.submit(AgentLeave{Peer: e.peerOf("ava")})
		e.advance(9 * time.Second)
		e.none(v, protocol.EventAgentReassigned)
		e.none(v, protocol.EventAgentUnavail)

		back := &fakePeer{name: "ava-2"}
		e.submit(AgentConnect{Peer: back, Agent: e.profile("ava", true)})
		e.sync()
		st := e.last(back, protocol.EventAgentState)
		if st["status"] != StatusBroadcasting || st["viewers"] != 1.0 {
			t.Fatalf("agent:state after the grace = %v", st)
		}
		e.advance(5 * time.Second) // the old grace timer does nothing
		e.none(v, protocol.EventAgentUnavail)
	})

	t.Run("inside the grace the agent is neither rung nor given viewers", func(t *testing.T) {
		e := newEnv(t)
		e.live("ava")
		v := e.visitorAt("v", "/")
		e.next(v, protocol.EventAgentAssigned)
		e.submit(AgentLeave{Peer: e.peerOf("ava")})
		e.sync()
		n := e.nextAck()
		e.submit(CallRequest{Peer: v, Ack: n})
		e.sync()
		e.ackErr(v, n, protocol.CodeAgentUnavailable)
		e.next(e.visitorAt("w", "/"), protocol.EventAgentUnavail)
	})

	t.Run("a ring is withdrawn at once", func(t *testing.T) {
		e := newEnv(t)
		ava := e.live("ava")
		ben := e.live("ben")
		v := e.visitorAt("v", "/")
		first := agentOf(e.next(v, protocol.EventAgentAssigned))
		e.submit(CallRequest{Peer: v, Ack: e.nextAck()})
		e.sync()
		rung, other := ava, ben
		if first == "agent-ben" {
			rung, other = ben, ava
		}
		e.next(rung, protocol.EventCallIncoming)
		e.submit(AgentLeave{Peer: rung})
		e.sync()
		e.next(other, protocol.EventCallIncoming)
		rows := e.recs.byStatus(RecordRejected)
		if len(rows) != 1 || rows[0].EndReason != "agent_offline" {
			t.Fatalf("rejected rows = %+v", rows)
		}
	})

	t.Run("when the grace expires viewers move on with agent_offline", func(t *testing.T) {
		e := newEnv(t)
		e.live("ava")
		v := e.visitorAt("v", "/")
		e.next(v, protocol.EventAgentAssigned)
		e.live("ben")
		e.submit(AgentLeave{Peer: e.peerOf("ava")})
		e.advance(10 * time.Second)
		m := e.next(v, protocol.EventAgentReassigned)
		if m["reason"] != "agent_offline" || m["previousAgentId"] != "agent-ava" {
			t.Fatalf("reassigned = %v", m)
		}
		statuses, err := e.hub.AgentStatuses(t.Context(), e.org)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := statuses["agent-ava"]; ok {
			t.Fatalf("ava still present after the grace: %v", statuses)
		}
	})
}

func TestStaleAgentsAreSetAway(t *testing.T) {
	e := newEnv(t)
	ava := e.live("ava")
	ben := e.live("ben")
	v := e.visitorAt("v", "/")
	greeter := agentOf(e.next(v, protocol.EventAgentAssigned))
	stale, fresh := ava, ben
	if greeter == "agent-ben" {
		stale, fresh = ben, ava
	}

	// The fresh agent's workbench beats every 25 s; the stale one's stopped.
	for range 5 {
		e.submit(Heartbeat{Peer: fresh})
		e.advance(25 * time.Second)
	}
	m := e.next(stale, protocol.EventAgentMarkedAway)
	if m["reason"] != "idle" ||
		m["message"] != "You were set to Away because your workbench stopped responding." {
		t.Fatalf("marked away = %v", m)
	}
	if st := e.last(stale, protocol.EventAgentState); st["status"] != StatusAway {
		t.Fatalf("status = %v", st["status"])
	}
	if r := e.next(v, protocol.EventAgentReassigned); r["reason"] != "agent_away" {
		t.Fatalf("reassigned = %v", r)
	}
	e.none(fresh, protocol.EventAgentMarkedAway)
}

func TestAnAgentInACallIsNeverStale(t *testing.T) {
	e := newEnv(t)
	ava := e.live("ava")
	v := e.visitorAt("v", "/")
	e.submit(CallRequest{Peer: v, Ack: e.nextAck()})
	e.sync()
	in := e.next(ava, protocol.EventCallIncoming)
	e.submit(CallAccept{Peer: ava, Ack: e.nextAck(), RequestID: ids.RequestID(in["requestId"].(string))})
	e.advance(10 * time.Minute)
	e.none(ava, protocol.EventAgentMarkedAway)
}

func TestPresenceIntentsAreSavedOnManualChanges(t *testing.T) {
	e := newEnv(t)
	ava := e.live("ava")
	e.submit(AgentAway{Peer: ava, Ack: e.nextAck()})
	e.submit(AgentBack{Peer: ava, Ack: e.nextAck()})
	e.sync()
	// Ring-no-answer sets her away without changing her intent.
	v := e.visitorAt("v", "/")
	e.submit(CallRequest{Peer: v, Ack: e.nextAck()})
	e.advance(16 * time.Second)
	e.next(ava, protocol.EventAgentMarkedAway)

	e.recs.mu.Lock()
	defer e.recs.mu.Unlock()
	var got []string
	for _, i := range e.recs.intents {
		got = append(got, i.Intent)
	}
	want := []string{IntentLive, IntentAway, IntentLive}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("intents = %v, want %v", got, want)
	}
}

func TestRestartRecoveryRestoresLiveAgents(t *testing.T) {
	cases := []struct {
		name   string
		intent string
		after  time.Duration
		want   string
	}{
		{"live, within the window", IntentLive, 30 * time.Second, StatusIdle},
		{"live, too late", IntentLive, 61 * time.Second, StatusAway},
		{"away", IntentAway, time.Second, StatusAway},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.hub.Ready(e.clock.Now())
			e.advance(tc.after)
			info := e.profile("ava", true)
			info.PresenceIntent = tc.intent
			p := &fakePeer{name: "ava"}
			e.submit(AgentConnect{Peer: p, Agent: info})
			e.sync()
			if got := e.last(p, protocol.EventAgentState)["status"]; got != tc.want {
				t.Fatalf("status = %v, want %s", got, tc.want)
			}
			// A second connection after a disconnect is not a restart.
			e.submit(AgentLeave{Peer: p})
			e.advance(11 * time.Second)
			again := &fakePeer{name: "ava-again"}
			e.submit(AgentConnect{Peer: again, Agent: info})
			e.sync()
			if got := e.last(again, protocol.EventAgentState)["status"]; got != StatusAway {
				t.Fatalf("status on a later connection = %v, want away", got)
			}
		})
	}
}

func TestPageviewsCountPageLoadsThatLastTheTriggerDelay(t *testing.T) {
	e := newEnv(t)
	e.live("ava")
	join := func(name string, delay time.Duration) *fakePeer {
		p := &fakePeer{name: name}
		e.submit(VisitorJoin{Peer: p, Ack: e.nextAck(), Visitor: ids.VisitorID("v-" + name),
			Site: "site-1", PageURL: "https://shop.example/" + name, ConnectedAt: e.clock.Now(),
			TriggerDelay: delay})
		e.sync()
		return p
	}
	join("stays", 3*time.Second)
	early := join("leaves", 3*time.Second)
	e.advance(time.Second)
	e.submit(VisitorLeave{Peer: early})
	e.advance(2 * time.Second)

	// Nobody live: a missed opportunity.
	e.submit(AgentAway{Peer: e.peerOf("ava"), Ack: e.nextAck()})
	join("missed", 0)
	e.advance(time.Millisecond)

	e.recs.mu.Lock()
	defer e.recs.mu.Unlock()
	if len(e.recs.pageviews) != 2 {
		t.Fatalf("pageviews = %+v, want 2", e.recs.pageviews)
	}
	got := e.recs.pageviews
	if got[0].VisitorID != "v-stays" || got[0].AgentID != "agent-ava" || got[0].PoolID != "pool-all" {
		t.Fatalf("first pageview = %+v", got[0])
	}
	if got[1].VisitorID != "v-missed" || got[1].AgentID != "" {
		t.Fatalf("second pageview = %+v", got[1])
	}
}
