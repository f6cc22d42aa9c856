package calls

import (
	"context"
	"testing"
	"time"

	"greeter/internal/ids"
	"greeter/internal/protocol"
)

// Scenario tests of the presence transitions of SPEC §6.2 and the ring
// outcomes of §8.3 that the other files leave out.

// status is the agent's live status as the team page reads it.
func (e *env) status(name string) string {
	e.t.Helper()
	m, err := e.hub.AgentStatuses(context.Background(), e.org)
	if err != nil {
		e.t.Fatal(err)
	}
	if s, ok := m[ids.AgentID("agent-"+name)]; ok {
		return s
	}
	return StatusOffline
}

// ring has v request a call and returns the requestId that rang agent.
func (e *env) ring(v, agent *fakePeer) string {
	e.t.Helper()
	e.submit(CallRequest{Peer: v, Ack: e.nextAck()})
	e.sync()
	return e.next(agent, protocol.EventCallIncoming)["requestId"].(string)
}

// pairedOff returns the agent greeting v first, and the other one.
func pairedOff(v map[string]any, ava, ben *fakePeer) (*fakePeer, *fakePeer) {
	if agentOf(v) == "agent-ben" {
		return ben, ava
	}
	return ava, ben
}

func TestStatusFollowsTheFirstAndLastViewer(t *testing.T) {
	e := newEnv(t)
	ava := e.live("ava")
	if got := e.status("ava"); got != StatusIdle {
		t.Fatalf("status after going live = %s", got)
	}

	v := e.visitor("v")
	if got := e.status("ava"); got != StatusBroadcasting {
		t.Fatalf("status with a viewer = %s", got)
	}
	if st := e.last(ava, protocol.EventAgentState); st["status"] != StatusBroadcasting {
		t.Fatalf("agent:state with a viewer = %v", st)
	}

	e.submit(VisitorLeave{Peer: v})
	e.sync()
	if got := e.status("ava"); got != StatusIdle {
		t.Fatalf("status after the last viewer left = %s", got)
	}
	if st := e.last(ava, protocol.EventAgentState); st["status"] != StatusIdle {
		t.Fatalf("agent:state after the last viewer left = %v", st)
	}
}

// A manual Away while being rung withdraws the ring (row rejected,
// agent_away) and rings the next agent, who then greets the visitor.
func TestGoingAwayWhileRungWithdrawsTheRing(t *testing.T) {
	e := newEnv(t)
	ava := e.live("ava")
	ben := e.live("ben")
	v := e.visitor("v")
	rung, other := pairedOff(e.next(v, protocol.EventAgentAssigned), ava, ben)
	e.ring(v, rung)

	n := e.nextAck()
	e.submit(AgentAway{Peer: rung, Ack: n})
	e.sync()
	if got := e.ackOK(rung, n)["status"]; got != StatusAway {
		t.Fatalf("away ack status = %v", got)
	}
	if c := e.next(rung, protocol.EventCallCancelled); c["reason"] != "withdrawn" {
		t.Fatalf("call:cancelled = %v", c)
	}
	rows := e.recs.byStatus(RecordRejected)
	if len(rows) != 1 || rows[0].EndReason != "agent_away" {
		t.Fatalf("rejected rows = %+v", rows)
	}
	e.next(other, protocol.EventCallIncoming)
	if m := e.next(v, protocol.EventAgentReassigned); m["reason"] != "agent_busy" {
		t.Fatalf("reassigned = %v", m)
	}
	e.none(rung, protocol.EventAgentMarkedAway) // the agent chose it
}

// The workbench's client idle check sends agent:away {reason: idle}: the
// viewers move on with agent_away and the intent becomes away.
func TestClientIdleAwayMovesViewers(t *testing.T) {
	e := newEnv(t)
	ava := e.live("ava")
	ben := e.live("ben")
	v := e.visitor("v")
	leaving, staying := pairedOff(e.next(v, protocol.EventAgentAssigned), ava, ben)

	e.submit(AgentAway{Peer: leaving, Ack: e.nextAck(), Idle: true})
	e.sync()
	m := e.next(v, protocol.EventAgentReassigned)
	if m["reason"] != "agent_away" || m["previousAgentName"] == nil {
		t.Fatalf("reassigned = %v", m)
	}
	if agentOf(m) != "agent-"+staying.name {
		t.Fatalf("visitor moved to %v, want %s", agentOf(m), staying.name)
	}
	e.recs.mu.Lock()
	last := e.recs.intents[len(e.recs.intents)-1]
	e.recs.mu.Unlock()
	if last.Intent != IntentAway || last.AgentID != ids.AgentID("agent-"+leaving.name) {
		t.Fatalf("last intent = %+v", last)
	}
}

// The widget's give-up sends call:cancel {reason: timeout}.
func TestGiveUpIsRecordedAsWidgetTimeout(t *testing.T) {
	e := newEnv(t)
	ava := e.live("ava")
	v := e.visitor("v")
	e.ring(v, ava)

	e.submit(CallCancel{Peer: v, Ack: e.nextAck(), Timeout: true})
	e.sync()
	if c := e.next(ava, protocol.EventCallCancelled); c["reason"] != "widget_timeout" {
		t.Fatalf("call:cancelled = %v", c)
	}
	rows := e.recs.byStatus(RecordCancelled)
	if len(rows) != 1 || rows[0].EndReason != "widget_timeout" {
		t.Fatalf("cancelled rows = %+v", rows)
	}
	if got := e.status("ava"); got != StatusBroadcasting {
		t.Fatalf("status after the give-up = %s, want unchanged", got)
	}
}

// A request that waits because the only agent is in a call is rung as soon
// as that call ends (the capacity sweep rings waiting requests first).
func TestAWaitingRequestIsRungWhenTheCallEnds(t *testing.T) {
	e := newEnv(t)
	ava := e.live("ava")
	first := e.visitor("first")
	req := e.ring(first, ava)
	e.submit(CallAccept{Peer: ava, Ack: e.nextAck(), RequestID: ids.RequestID(req)})
	e.sync()
	callID := e.next(first, protocol.EventCallAccepted)["callId"].(string)

	second := e.visitor("second")
	e.next(second, protocol.EventAgentUnavail)
	n := e.nextAck()
	e.submit(CallRequest{Peer: second, Ack: n})
	e.sync()
	waiting := e.ackOK(second, n)["requestId"]
	e.none(ava, protocol.EventCallIncoming)

	e.submit(CallEnd{Peer: first, Ack: e.nextAck(), CallID: ids.CallID(callID)})
	e.sync()
	if in := e.next(ava, protocol.EventCallIncoming); in["requestId"] != waiting {
		t.Fatalf("rung for %v, want the waiting request %v", in["requestId"], waiting)
	}
}

// A request nobody could ring ends at the server ceiling, the widget's
// give-up (45 s) plus 15 s, when the widget never cancelled it.
func TestTheServerCeilingEndsAForgottenRequest(t *testing.T) {
	e := newEnv(t)
	ava := e.live("ava")
	first := e.visitor("first")
	req := e.ring(first, ava)
	e.submit(CallAccept{Peer: ava, Ack: e.nextAck(), RequestID: ids.RequestID(req)})
	second := e.visitor("second")
	n := e.nextAck()
	e.submit(CallRequest{Peer: second, Ack: n})
	e.sync()
	e.ackOK(second, n)

	e.advance(59 * time.Second)
	if rows := e.recs.byStatus(RecordCancelled); len(rows) != 0 {
		t.Fatalf("cancelled before the ceiling: %+v", rows)
	}
	e.advance(time.Second)
	rows := e.recs.byStatus(RecordCancelled)
	if len(rows) != 1 || rows[0].EndReason != "request_timeout" || rows[0].AgentID != "" {
		t.Fatalf("cancelled rows = %+v", rows)
	}
	if u := e.last(second, protocol.EventAgentUnavail); u["reason"] != "no_agents" {
		t.Fatalf("agent:unavailable = %v", u)
	}
}

// Signing out is offline at once: no grace, viewers move on with
// agent_offline, and the connection closes with 4100.
func TestSigningOutTakesTheAgentOfflineAtOnce(t *testing.T) {
	e := newEnv(t)
	ava := e.live("ava")
	ben := e.live("ben")
	v := e.visitor("v")
	leaving, _ := pairedOff(e.next(v, protocol.EventAgentAssigned), ava, ben)

	if err := e.hub.LogoutAgent(context.Background(), e.org,
		ids.AgentID("agent-"+leaving.name)); err != nil {
		t.Fatal(err)
	}
	if m := e.next(v, protocol.EventAgentReassigned); m["reason"] != "agent_offline" {
		t.Fatalf("reassigned = %v", m)
	}
	if got := e.status(leaving.name); got != StatusOffline {
		t.Fatalf("status = %s", got)
	}
	leaving.mu.Lock()
	code := leaving.closed
	leaving.mu.Unlock()
	if code != protocol.CloseUnauthorized {
		t.Fatalf("close code = %d", code)
	}

	// A late disconnect of the closed socket changes nothing.
	e.submit(AgentLeave{Peer: leaving})
	e.advance(15 * time.Second)
	e.none(v, protocol.EventAgentUnavail)
}

func TestSigningOutDuringACallEndsIt(t *testing.T) {
	e := newEnv(t)
	ava := e.live("ava")
	v := e.visitor("v")
	req := e.ring(v, ava)
	e.submit(CallAccept{Peer: ava, Ack: e.nextAck(), RequestID: ids.RequestID(req)})
	e.sync()

	if err := e.hub.LogoutAgent(context.Background(), e.org, "agent-ava"); err != nil {
		t.Fatal(err)
	}
	ended := e.next(v, protocol.EventCallEnded)
	if ended["reason"] != "agent_ended" || ended["message"] != "Agent has ended the call" {
		t.Fatalf("visitor call:ended = %v", ended)
	}
	rows := e.recs.byStatus(RecordCompleted)
	if len(rows) != 1 || rows[0].EndReason != "agent_ended" || rows[0].EndedBy != "agent" {
		t.Fatalf("completed rows = %+v", rows)
	}
	if u := e.next(v, protocol.EventAgentUnavail); u["reason"] != "agent_offline" {
		t.Fatalf("agent:unavailable = %v", u)
	}
	if got := e.status("ava"); got != StatusOffline {
		t.Fatalf("status = %s", got)
	}
}

// The call:request ack tells the widget when to give up: 45 s, or the ring
// time + 5 s when that is longer (SPEC §12.2), as the ring time is now.
func TestTheRequestAckSaysWhenTheWidgetGivesUp(t *testing.T) {
	for _, tc := range []struct{ rna, want int }{{15, 45}, {40, 45}, {41, 46}, {60, 65}} {
		e := newEnv(t)
		e.reconfigure(func(c *OrgConfig) { c.RNASeconds = tc.rna })
		e.live("ava")
		v := e.visitor("v")
		n := e.nextAck()
		e.submit(CallRequest{Peer: v, Ack: n})
		e.sync()
		if got := e.ackOK(v, n)["giveUpSeconds"]; got != float64(tc.want) {
			t.Errorf("ring time %d s: giveUpSeconds = %v, want %d", tc.rna, got, tc.want)
		}
	}
}
