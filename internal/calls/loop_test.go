package calls

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"greeter/internal/protocol"
)

func TestJoinWithoutLiveAgentsIsUnavailable(t *testing.T) {
	e := newEnv(t)
	e.agent("ava", true) // connected but away
	v := e.visitor("v1")

	if got := e.next(v, protocol.EventAgentUnavail)["reason"]; got != "no_agents" {
		t.Fatalf("reason = %v", got)
	}
	n := e.nextAck()
	e.submit(CallRequest{Peer: v, Ack: n})
	e.sync()
	e.ackErr(v, n, protocol.CodeAgentUnavailable)
}

func TestGoingLiveServesWaitingVisitors(t *testing.T) {
	e := newEnv(t)
	v := e.visitor("v1")
	e.next(v, protocol.EventAgentUnavail)

	ava := e.live("ava")
	assigned := e.next(v, protocol.EventAgentAssigned)
	if assigned["agent"].(map[string]any)["displayName"] != "ava" {
		t.Fatalf("assigned = %v", assigned)
	}
	var last map[string]any
	for {
		st := e.next(ava, protocol.EventAgentState)
		last = st
		if st["status"] == StatusBroadcasting {
			break
		}
	}
	if last["viewers"].(float64) != 1 {
		t.Fatalf("state = %v", last)
	}
}

func TestBackRequiresVideosAndAwayFailsInCall(t *testing.T) {
	e := newEnv(t)
	bare := e.agent("bare", false)
	n := e.nextAck()
	e.submit(AgentBack{Peer: bare, Ack: n})
	e.sync()
	e.ackErr(bare, n, protocol.CodeVideosMissing)

	ava, v, _ := e.call()
	n = e.nextAck()
	e.submit(AgentAway{Peer: ava, Ack: n})
	e.sync()
	e.ackErr(ava, n, protocol.CodeInvalidState)
	n = e.nextAck()
	e.submit(AgentBack{Peer: ava, Ack: n})
	e.sync()
	e.ackErr(ava, n, protocol.CodeInvalidState)
	_ = v
}

// call sets up an accepted call between Ava and a visitor.
func (e *env) call() (agent, vis *fakePeer, callID string) {
	e.t.Helper()
	agent = e.live("ava")
	vis = e.visitor("v1")
	e.next(vis, protocol.EventAgentAssigned)

	n := e.nextAck()
	e.submit(CallRequest{Peer: vis, Ack: n})
	e.sync()
	reqID := e.ackOK(vis, n)["requestId"].(string)
	incoming := e.next(agent, protocol.EventCallIncoming)
	if incoming["requestId"] != reqID {
		e.t.Fatalf("incoming %v for request %s", incoming, reqID)
	}

	n = e.nextAck()
	e.submit(CallAccept{Peer: agent, Ack: n, RequestID: reqID_(reqID)})
	e.sync()
	callID = e.ackOK(agent, n)["callId"].(string)
	accepted := e.next(vis, protocol.EventCallAccepted)
	started := e.next(agent, protocol.EventCallStarted)
	if accepted["callId"] != callID || started["callId"] != callID {
		e.t.Fatalf("accepted %v started %v", accepted, started)
	}
	return agent, vis, callID
}

func TestCallAcceptSignalAndEnd(t *testing.T) {
	e := newEnv(t)
	ava, v, callID := e.call()
	if rows := e.recs.byStatus(RecordAccepted); len(rows) != 1 {
		t.Fatalf("accepted rows = %v", rows)
	}

	offer := json.RawMessage(`{"type":"offer","sdp":"v=0"}`)
	e.submit(Signal{Peer: ava, CallID: callID_(callID), Signal: offer})
	answer := json.RawMessage(`{"type":"answer","sdp":"v=0"}`)
	e.submit(Signal{Peer: v, CallID: callID_(callID), Signal: answer})
	e.sync()
	if got := e.next(v, protocol.EventSignal); got["from"] != "agent" {
		t.Fatalf("visitor got %v", got)
	}
	if got := e.next(ava, protocol.EventSignal); got["from"] != "visitor" {
		t.Fatalf("agent got %v", got)
	}

	// Someone who is not on the call can neither relay nor end it.
	stranger := e.visitor("v2")
	n := e.nextAck()
	e.submit(Signal{Peer: stranger, Ack: n, CallID: callID_(callID), Signal: offer})
	e.sync()
	e.ackErr(stranger, n, protocol.CodeCallNotFound)
	n = e.nextAck()
	e.submit(CallEnd{Peer: stranger, Ack: n, CallID: callID_(callID)})
	e.sync()
	e.ackErr(stranger, n, protocol.CodeCallNotFound)
	e.none(ava, protocol.EventSignal)

	e.clock.Advance(42 * time.Second)
	n = e.nextAck()
	e.submit(CallEnd{Peer: v, Ack: n, CallID: callID_(callID)})
	e.sync()
	e.ackOK(v, n)
	vEnd := e.next(v, protocol.EventCallEnded)
	aEnd := e.next(ava, protocol.EventCallEnded)
	if vEnd["reason"] != "visitor_ended" || vEnd["message"] != "You ended the call." ||
		aEnd["message"] != "The visitor ended the call." || aEnd["endedBy"] != "visitor" {
		t.Fatalf("ended: visitor %v agent %v", vEnd, aEnd)
	}
	rows := e.recs.byStatus(RecordCompleted)
	if len(rows) != 1 || *rows[0].DurationSeconds != 42 || rows[0].EndReason != "visitor_ended" {
		t.Fatalf("completed rows = %+v", rows)
	}

	// The agent is live again and the call cannot be ended twice.
	if st := lastState(e, ava); st != StatusBroadcasting && st != StatusIdle {
		t.Fatalf("agent status after call = %s", st)
	}
	n = e.nextAck()
	e.submit(CallEnd{Peer: ava, Ack: n, CallID: callID_(callID)})
	e.sync()
	e.ackErr(ava, n, protocol.CodeCallNotFound)
}

func lastState(e *env, p *fakePeer) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	status := ""
	for _, f := range p.frames {
		if f.Event == protocol.EventAgentState {
			var m map[string]any
			json.Unmarshal(f.Data, &m)
			status = m["status"].(string)
		}
	}
	return status
}

func TestAgentEndsCall(t *testing.T) {
	e := newEnv(t)
	ava, v, callID := e.call()
	e.submit(CallEnd{Peer: ava, CallID: callID_(callID)})
	e.sync()
	vEnd := e.next(v, protocol.EventCallEnded)
	aEnd := e.next(ava, protocol.EventCallEnded)
	if vEnd["message"] != "Agent has ended the call" || aEnd["message"] != "You ended the call." {
		t.Fatalf("ended: visitor %v agent %v", vEnd, aEnd)
	}
}

func TestAcceptMovesOtherViewersAway(t *testing.T) {
	e := newEnv(t)
	ava := e.live("ava")
	v1 := e.visitor("v1")
	v2 := e.visitor("v2")
	ben := e.live("ben") // live after both visitors were assigned to Ava
	e.next(v2, protocol.EventAgentAssigned)

	n := e.nextAck()
	e.submit(CallRequest{Peer: v1, Ack: n})
	e.sync()
	req := e.ackOK(v1, n)["requestId"].(string)
	e.next(ava, protocol.EventCallIncoming)
	e.submit(CallAccept{Peer: ava, RequestID: reqID_(req)})
	e.sync()

	moved := e.next(v2, protocol.EventAgentReassigned)
	if moved["reason"] != "agent_busy" || moved["previousAgentName"] != "ava" ||
		moved["agent"].(map[string]any)["displayName"] != "ben" {
		t.Fatalf("reassigned = %v", moved)
	}
	e.none(v1, protocol.EventAgentReassigned)
	_ = ben
}

func TestRingNoAnswerMarksAgentAwayAndReroutes(t *testing.T) {
	e := newEnv(t)
	ava := e.live("ava")
	v := e.visitor("v1")
	ben := e.live("ben")
	n := e.nextAck()
	e.submit(CallRequest{Peer: v, Ack: n})
	e.sync()
	req := e.ackOK(v, n)["requestId"].(string)
	inc := e.next(ava, protocol.EventCallIncoming)
	if inc["expiresInMs"].(float64) != 15000 || inc["rnaSeconds"].(float64) != 15 {
		t.Fatalf("incoming = %v", inc)
	}

	// An accept within the 100 ms grace after the deadline still lands...
	e.advance(15 * time.Second)
	e.none(ava, protocol.EventCallCancelled)
	// ...after it, the ring is missed.
	e.advance(101 * time.Millisecond)
	if got := e.next(ava, protocol.EventCallCancelled)["reason"]; got != "ring_no_answer" {
		t.Fatalf("cancelled reason = %v", got)
	}
	if got := e.next(ava, protocol.EventAgentMarkedAway)["reason"]; got != "ring_no_answer" {
		t.Fatalf("marked away reason = %v", got)
	}
	if lastState(e, ava) != StatusAway {
		t.Fatalf("Ava is %s", lastState(e, ava))
	}
	if got := e.next(ben, protocol.EventCallIncoming)["requestId"]; got != req {
		t.Fatalf("Ben rung for %v, want %s", got, req)
	}
	moved := e.next(v, protocol.EventAgentReassigned)
	if moved["reason"] != "agent_busy" || moved["previousAgentName"] != "ava" {
		t.Fatalf("visitor moved with %v", moved)
	}
	if rows := e.recs.byStatus(RecordMissed); len(rows) != 1 || rows[0].EndReason != "ring_no_answer" {
		t.Fatalf("missed rows = %+v", rows)
	}

	// Ava's late accept finds nothing.
	n = e.nextAck()
	e.submit(CallAccept{Peer: ava, Ack: n, RequestID: reqID_(req)})
	e.sync()
	e.ackErr(ava, n, protocol.CodeCallNotFound)
}

func TestRingNoAnswerWithNobodyElseTellsVisitor(t *testing.T) {
	e := newEnv(t)
	ava := e.live("ava")
	v := e.visitor("v1")
	e.next(v, protocol.EventAgentAssigned)
	n := e.nextAck()
	e.submit(CallRequest{Peer: v, Ack: n})
	e.sync()
	e.next(ava, protocol.EventCallIncoming)
	e.advance(16 * time.Second)
	e.next(ava, protocol.EventAgentMarkedAway)

	// The request waits; the widget gives up and cancels it.
	n = e.nextAck()
	e.submit(CallCancel{Peer: v, Ack: n, Timeout: true})
	e.sync()
	e.ackOK(v, n)
	if got := e.next(v, protocol.EventAgentUnavail)["reason"]; got != "no_agents" {
		t.Fatalf("unavailable reason = %v", got)
	}
	if e.clock.Pending() > 2 { // the staleness check, and maybe a stats timer
		t.Fatalf("%d timers left running", e.clock.Pending())
	}
}

func TestRejectReroutesExcludingTheRejecter(t *testing.T) {
	e := newEnv(t)
	ava := e.live("ava")
	v := e.visitor("v1")
	ben := e.live("ben")
	n := e.nextAck()
	e.submit(CallRequest{Peer: v, Ack: n})
	e.sync()
	req := e.ackOK(v, n)["requestId"].(string)
	e.next(ava, protocol.EventCallIncoming)

	n = e.nextAck()
	e.submit(CallReject{Peer: ava, Ack: n, RequestID: reqID_(req)})
	e.sync()
	e.ackOK(ava, n)
	e.next(ben, protocol.EventCallIncoming)
	if lastState(e, ava) == StatusAway {
		t.Fatal("a decline must not mark the agent away")
	}
	// Ben declines too: nobody is left, the request waits and Ava is
	// never rung again for it.
	e.submit(CallReject{Peer: ben, RequestID: reqID_(req)})
	e.sync()
	e.none(ava, protocol.EventCallIncoming)
	if rows := e.recs.byStatus(RecordRejected); len(rows) != 2 || rows[0].EndReason != "declined" {
		t.Fatalf("rejected rows = %+v", rows)
	}
}

func TestCancelStopsTheRingWithoutMarkingAway(t *testing.T) {
	e := newEnv(t)
	ava := e.live("ava")
	v := e.visitor("v1")
	n := e.nextAck()
	e.submit(CallRequest{Peer: v, Ack: n})
	e.sync()
	req := e.ackOK(v, n)["requestId"].(string)
	e.next(ava, protocol.EventCallIncoming)

	// A request id that is not the visitor's changes nothing.
	n = e.nextAck()
	e.submit(CallCancel{Peer: v, Ack: n, RequestID: "req_other"})
	e.sync()
	e.ackErr(v, n, protocol.CodeCallNotFound)
	e.none(ava, protocol.EventCallCancelled)

	e.submit(CallCancel{Peer: v, RequestID: reqID_(req)})
	e.sync()
	if got := e.next(ava, protocol.EventCallCancelled)["reason"]; got != "visitor_cancelled" {
		t.Fatalf("reason = %v", got)
	}
	e.advance(time.Minute)
	e.none(ava, protocol.EventAgentMarkedAway)
	if rows := e.recs.byStatus(RecordCancelled); len(rows) != 1 {
		t.Fatalf("cancelled rows = %+v", rows)
	}
}

func TestVisitorLeavingWhileRingingAbandons(t *testing.T) {
	e := newEnv(t)
	ava := e.live("ava")
	v := e.visitor("v1")
	e.submit(CallRequest{Peer: v, Ack: e.nextAck()})
	e.sync()
	e.next(ava, protocol.EventCallIncoming)

	e.submit(VisitorLeave{Peer: v})
	e.sync()
	if got := e.next(ava, protocol.EventCallCancelled)["reason"]; got != "visitor_left" {
		t.Fatalf("reason = %v", got)
	}
	e.advance(time.Minute)
	e.none(ava, protocol.EventAgentMarkedAway)
	if rows := e.recs.byStatus(RecordAbandoned); len(rows) != 1 || rows[0].EndReason != "visitor_left" {
		t.Fatalf("abandoned rows = %+v", rows)
	}
	if lastState(e, ava) != StatusIdle {
		t.Fatalf("Ava is %s", lastState(e, ava))
	}
}

func TestSecondAgentConnectionReplacesFirst(t *testing.T) {
	e := newEnv(t)
	first := e.live("ava")
	second := e.agent("ava", true)
	e.sync()
	if first.closed != protocol.CloseSessionReplaced {
		t.Fatalf("first connection closed with %d", first.closed)
	}
	if st := e.next(second, protocol.EventAgentState)["status"]; st != StatusIdle {
		t.Fatalf("replacement status = %v", st)
	}
	// The old connection going away afterwards changes nothing.
	e.submit(AgentLeave{Peer: first})
	v := e.visitor("v1")
	e.next(v, protocol.EventAgentAssigned)
}

func TestMaxDurationEndsCall(t *testing.T) {
	e := newEnv(t)
	ava, v, _ := e.call()
	e.advance(120 * time.Minute)
	if got := e.next(v, protocol.EventCallEnded)["reason"]; got != "max_duration" {
		t.Fatalf("visitor reason = %v", got)
	}
	if got := e.next(ava, protocol.EventCallEnded)["message"]; got !=
		"The call ended automatically after 120 minutes." {
		t.Fatalf("agent message = %v", got)
	}
}

// A new maximum applies to the next call; the call in progress keeps the
// limit it started with, and its end message says that one.
func TestMaxDurationChangeKeepsTheCallInProgress(t *testing.T) {
	e := newEnv(t)
	ava, v, _ := e.call()
	e.reconfigure(func(c *OrgConfig) { c.MaxCallMinutes = 30 })
	e.advance(119 * time.Minute)
	e.none(v, protocol.EventCallEnded)
	e.advance(time.Minute)
	if got := e.next(ava, protocol.EventCallEnded)["message"]; got !=
		"The call ended automatically after 120 minutes." {
		t.Fatalf("agent message = %v", got)
	}
}

func TestRemovingAgentInCallEndsItGracefully(t *testing.T) {
	e := newEnv(t)
	ava, v, callID := e.call()
	ben := e.live("ben")
	other := e.visitor("v2") // a viewer of Ben or Ava

	if err := e.hub.RemoveAgent(context.Background(), e.org, "agent-ava", EndedByAdmin); err != nil {
		t.Fatal(err)
	}
	vEnd := e.next(v, protocol.EventCallEnded)
	aEnd := e.next(ava, protocol.EventCallEnded)
	if vEnd["reason"] != "agent_ended" || vEnd["message"] != "Agent has ended the call" ||
		aEnd["reason"] != "agent_removed" || aEnd["message"] != "Call ended due to agent removal" ||
		vEnd["callId"] != callID {
		t.Fatalf("ended: visitor %v agent %v", vEnd, aEnd)
	}
	if ava.closed != protocol.CloseAgentRemoved {
		t.Fatalf("agent connection closed with %d", ava.closed)
	}
	rows := e.recs.byStatus(RecordCompleted)
	if len(rows) != 1 || rows[0].EndReason != "agent_removed" || rows[0].EndedBy != "admin" ||
		rows[0].DurationSeconds == nil {
		t.Fatalf("completed rows = %+v", rows)
	}
	// The call's visitor moves on to Ben; Ava is gone from routing for good.
	if r := e.next(v, protocol.EventAgentReassigned); r["reason"] != "agent_offline" {
		t.Fatalf("reassigned = %v", r)
	}
	e.submit(AgentBack{Peer: ava, Ack: 99})
	e.sync()
	st, _ := e.hub.AgentStatuses(context.Background(), e.org)
	if _, ok := st["agent-ava"]; ok || st["agent-ben"] == "" {
		t.Fatalf("statuses after removal = %v", st)
	}
	_, _ = ben, other
}

func TestRemovingRungAgentReroutesTheRequest(t *testing.T) {
	e := newEnv(t)
	ava := e.live("ava")
	v := e.visitor("v1")
	ben := e.live("ben")
	e.submit(CallRequest{Peer: v, Ack: e.nextAck()})
	e.sync()
	e.next(ava, protocol.EventCallIncoming)

	if err := e.hub.RemoveAgent(context.Background(), e.org, "agent-ava", EndedByAdmin); err != nil {
		t.Fatal(err)
	}
	if got := e.next(ava, protocol.EventCallCancelled)["reason"]; got != "withdrawn" {
		t.Fatalf("cancelled reason = %v", got)
	}
	e.next(ben, protocol.EventCallIncoming)
	rows := e.recs.byStatus(RecordRejected)
	if len(rows) != 1 || rows[0].EndReason != "agent_removed" {
		t.Fatalf("rejected rows = %+v", rows)
	}
}

func TestEndAgentCallKeepsAgentLive(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if ended, err := e.hub.EndAgentCall(ctx, e.org, "agent-ava", EndedByAPI); err != nil || ended {
		t.Fatalf("no loop yet: %v %v", ended, err)
	}
	ava, v, _ := e.call()
	ended, err := e.hub.EndAgentCall(ctx, e.org, "agent-ava", EndedByAPI)
	if err != nil || !ended {
		t.Fatalf("EndAgentCall = %v, %v", ended, err)
	}
	e.next(v, protocol.EventCallEnded)
	if got := e.next(ava, protocol.EventCallEnded)["endedBy"]; got != "api" {
		t.Fatalf("endedBy = %v", got)
	}
	if ava.closed != 0 {
		t.Fatal("end-call must not disconnect the agent")
	}
	if st := lastState(e, ava); st != StatusBroadcasting {
		t.Fatalf("agent status = %s", st)
	}
	// A second call finds nothing to end.
	if ended, _ := e.hub.EndAgentCall(ctx, e.org, "agent-ava", EndedByAPI); ended {
		t.Fatal("ended twice")
	}
	if rows := e.recs.byStatus(RecordCompleted); len(rows) != 1 || rows[0].EndedBy != "api" {
		t.Fatalf("completed rows = %+v", rows)
	}
}

func TestFreedCapacityGoesToTheOldestWaitingVisitor(t *testing.T) {
	e := newEnv(t)
	info := e.profile("ava", true)
	info.MaxViewers = 1
	e.reconfigure(func(c *OrgConfig) { c.Agents[info.ID] = info })
	ava := &fakePeer{name: "ava"}
	e.submit(AgentConnect{Peer: ava, Agent: info})
	e.submit(AgentBack{Peer: ava})
	v1, v2, v3 := e.visitor("v1"), e.visitor("v2"), e.visitor("v3")
	e.next(v1, protocol.EventAgentAssigned)
	e.next(v2, protocol.EventAgentUnavail)
	e.next(v3, protocol.EventAgentUnavail)

	// The oldest join is served first, then the next, each when a slot frees.
	e.submit(VisitorLeave{Peer: v1})
	e.sync()
	e.next(v2, protocol.EventAgentAssigned)
	e.none(v3, protocol.EventAgentAssigned)
	e.submit(VisitorLeave{Peer: v2})
	e.sync()
	e.next(v3, protocol.EventAgentAssigned)
}

func TestVisitorIsGreetedWhenItsRequestEndsAndAnAgentIsFree(t *testing.T) {
	e := newEnv(t)
	ava := e.live("ava")
	v := e.visitor("v1")
	e.submit(CallRequest{Peer: v, Ack: e.nextAck()})
	e.sync()
	e.next(ava, protocol.EventCallIncoming)

	// Ava's connection drops during the ring; she comes back and goes live,
	// but she is never rung twice for the same request.
	e.submit(AgentLeave{Peer: ava})
	ava2 := e.live("ava")
	e.none(ava2, protocol.EventCallIncoming)

	// When the widget gives up, the visitor sees Ava's greeting again rather
	// than nothing.
	e.submit(CallCancel{Peer: v, Timeout: true})
	e.sync()
	if got := e.next(v, protocol.EventAgentAssigned)["agent"].(map[string]any)["displayName"]; got != "ava" {
		t.Fatalf("assigned %v", got)
	}
}
