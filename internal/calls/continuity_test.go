package calls

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"greeter/internal/ids"
	"greeter/internal/protocol"
)

// lastOf returns the data of the last frame of event p received, read or
// not, failing when there is none.
func (e *env) lastOf(p *fakePeer, event string) map[string]any {
	e.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.frames) - 1; i >= 0; i-- {
		if p.frames[i].Event == event {
			var m map[string]any
			if err := json.Unmarshal(p.frames[i].Data, &m); err != nil {
				e.t.Fatal(err)
			}
			return m
		}
	}
	e.t.Fatalf("%s: no %s frame at all", p.name, event)
	return nil
}

// tokens returns the current reconnect tokens of the visitor and the agent:
// those of their last call:reconnected, else of call:accepted and
// call:started.
func (e *env) tokens(agent, vis *fakePeer) (visitorToken, agentToken string) {
	e.t.Helper()
	pick := func(p *fakePeer, first string) string {
		p.mu.Lock()
		defer p.mu.Unlock()
		for i := len(p.frames) - 1; i >= 0; i-- {
			if ev := p.frames[i].Event; ev == protocol.EventCallReconnected || ev == first {
				var m struct {
					ReconnectToken string `json:"reconnectToken"`
				}
				if err := json.Unmarshal(p.frames[i].Data, &m); err != nil {
					e.t.Fatal(err)
				}
				return m.ReconnectToken
			}
		}
		return ""
	}
	visitorToken, agentToken = pick(vis, protocol.EventCallAccepted), pick(agent, protocol.EventCallStarted)
	if !ValidToken(visitorToken) || !ValidToken(agentToken) || visitorToken == agentToken {
		e.t.Fatalf("tokens %q and %q", visitorToken, agentToken)
	}
	return visitorToken, agentToken
}

// resumeVisitor sends call:reconnect as the first event of a new visitor
// connection and returns it with the ack's data.
func (e *env) resumeVisitor(name, token string) (*fakePeer, map[string]any) {
	e.t.Helper()
	p := &fakePeer{name: name}
	n := e.nextAck()
	result := make(chan ReconnectResult, 1)
	e.submit(VisitorReconnect{Peer: p, Ack: n, Token: token, Site: "site-1",
		PageURL: "https://shop.example/" + name, Result: result})
	e.sync()
	r := <-result
	d := e.ackData(p, n)
	if r.OK != (d["ok"] == true) {
		e.t.Fatalf("result %+v but ack %v", r, d)
	}
	return p, d
}

// refused checks that p's resume was refused with reason (and the ack
// CALL_NOT_FOUND), naming callID for call_ended.
func (e *env) refused(p *fakePeer, ack map[string]any, reason, callID string) {
	e.t.Helper()
	errObj, _ := ack["error"].(map[string]any)
	if ack["ok"] != false || errObj["code"] != protocol.CodeCallNotFound {
		e.t.Fatalf("%s: resume ack = %v, want CALL_NOT_FOUND", p.name, ack)
	}
	f := e.next(p, protocol.EventCallReconnectFailed)
	if f["reason"] != reason || f["message"] == "" {
		e.t.Fatalf("%s: reconnect_failed = %v, want %s", p.name, f, reason)
	}
	if reason == "call_ended" && f["callId"] != callID || reason == "not_found" && f["callId"] != nil {
		e.t.Fatalf("%s: reconnect_failed names %v", p.name, f["callId"])
	}
}

// restarted is the env of a new server on e's records, directory and clock,
// as the next run after e's hub stopped.
func (e *env) restarted() *env {
	e.t.Helper()
	next := &env{t: e.t, clock: e.clock, recs: e.recs, dir: e.dir, org: e.org,
		peers: map[string]*fakePeer{},
		hub:   NewHub(Options{Clock: e.clock, Records: e.recs, Directory: e.dir})}
	e.t.Cleanup(next.hub.Close)
	return next
}

func TestVisitorDropHoldsTheCallAndAResumeRotatesTheTokens(t *testing.T) {
	e := newEnv(t)
	ava, v, callID := e.call()
	oldVisitor, oldAgent := e.tokens(ava, v)
	row := e.recs.byStatus(RecordAccepted)[0]

	e.submit(VisitorLeave{Peer: v})
	e.advance(20 * time.Second)
	held := e.next(ava, protocol.EventCallReconnecting)
	if held["callId"] != callID || held["waitingFor"] != "visitor" ||
		held["timeoutSeconds"] != float64(60) ||
		held["message"] != "The visitor's connection dropped. Holding the call for them…" {
		t.Fatalf("call:reconnecting = %v", held)
	}
	if got := e.status("ava"); got != StatusInCall {
		t.Fatalf("while holding the call the agent is %s", got)
	}
	st := e.lastOf(ava, protocol.EventAgentState)["activeCall"].(map[string]any)
	if st["state"] != "reconnecting" {
		t.Fatalf("agent:state activeCall = %v", st)
	}

	v2, ack := e.resumeVisitor("v1-next-page", oldVisitor)
	if ack["ok"] != true || ack["callId"] != callID || ack["visitorId"] != "v-v1" {
		t.Fatalf("resume ack = %v", ack)
	}
	back := e.next(v2, protocol.EventCallReconnected)
	agentBack := e.next(ava, protocol.EventCallReconnected)
	if back["callId"] != callID || agentBack["callId"] != callID || back["agent"] == nil ||
		agentBack["visitor"] == nil || back["ice"] == nil || agentBack["ice"] == nil {
		t.Fatalf("reconnected: visitor %v, agent %v", back, agentBack)
	}
	newVisitor, newAgent := e.tokens(ava, v2)
	if newVisitor == oldVisitor || newAgent == oldAgent {
		t.Fatal("a resume did not rotate the tokens")
	}
	if st := e.lastOf(ava, protocol.EventAgentState)["activeCall"].(map[string]any); st["state"] != "active" {
		t.Fatalf("after the resume activeCall = %v", st)
	}

	// The rotated token is refused like any unknown one.
	v3, ack := e.resumeVisitor("v1-old-token", oldVisitor)
	e.refused(v3, ack, "not_found", callID)

	// Signals flow on the new connection, and the call ends normally: one
	// row, the same as before the drop, never a second call.
	e.submit(Signal{Peer: ava, CallID: callID_(callID), Signal: json.RawMessage(`{"type":"offer","sdp":"v=0"}`)})
	e.sync()
	e.next(v2, protocol.EventSignal)
	e.submit(CallEnd{Peer: v2, Ack: e.nextAck(), CallID: callID_(callID)})
	e.sync()
	done := e.recs.byStatus(RecordCompleted)
	if len(done) != 1 || done[0].ID != row.ID || done[0].CallID != ids.CallID(callID) ||
		done[0].EndReason != "visitor_ended" || *done[0].DurationSeconds != 20 {
		t.Fatalf("completed rows = %+v", done)
	}
	if done[0].VisitorTokenHash != "" || done[0].AgentTokenHash != "" {
		t.Fatalf("a completed row kept token hashes: %+v", done[0])
	}

	// The ended call's tokens now say so for a day.
	v4, ack := e.resumeVisitor("v1-late", newVisitor)
	e.refused(v4, ack, "call_ended", callID)
	e.advance(25 * time.Hour)
	v5, ack := e.resumeVisitor("v1-next-day", newVisitor)
	e.refused(v5, ack, "not_found", callID)
}

func TestAVisitorThatDoesNotComeBackEndsTheCallAtItsDisconnect(t *testing.T) {
	e := newEnv(t)
	ava, v, callID := e.call()
	e.advance(90 * time.Second)
	e.submit(VisitorLeave{Peer: v})
	e.advance(59 * time.Second)
	e.none(ava, protocol.EventCallEnded)

	e.advance(time.Second)
	end := e.next(ava, protocol.EventCallEnded)
	if end["callId"] != callID || end["reason"] != "reconnect_failed" || end["endedBy"] != "system" {
		t.Fatalf("call:ended = %v", end)
	}
	row := e.recs.byStatus(RecordCompleted)[0]
	if row.EndReason != "reconnect_failed" || *row.DurationSeconds != 90 {
		t.Fatalf("row = %+v, want ended at the disconnect, 90 s in", row)
	}
	if got := e.status("ava"); got == StatusInCall || got == StatusOffline {
		t.Fatalf("after the call the agent is %s, want live", got)
	}
}

func TestAnAgentDropHoldsTheCallForThirtySeconds(t *testing.T) {
	e := newEnv(t)
	ava, v, callID := e.call()
	_, agentToken := e.tokens(ava, v)

	e.submit(AgentLeave{Peer: ava})
	e.sync()
	held := e.next(v, protocol.EventCallReconnecting)
	if held["waitingFor"] != "agent" || held["timeoutSeconds"] != float64(30) {
		t.Fatalf("call:reconnecting = %v", held)
	}

	// Past the 10 s presence grace the agent stays, held by its call.
	e.advance(25 * time.Second)
	if got := e.status("ava"); got != StatusInCall {
		t.Fatalf("25 s after the drop the agent is %s", got)
	}
	tab := &fakePeer{name: "ava-reloaded"}
	e.submit(AgentConnect{Peer: tab, Agent: e.profile("ava", true)})
	n := e.nextAck()
	e.submit(AgentReconnect{Peer: tab, Ack: n, Token: agentToken})
	e.sync()
	if d := e.ackOK(tab, n); d["callId"] != callID {
		t.Fatalf("resume ack = %v", d)
	}
	e.next(tab, protocol.EventCallReconnected)
	e.next(v, protocol.EventCallReconnected)

	// The agent's second drop is not resumed: the call ends 30 s later,
	// and the agent, gone for good, goes offline.
	e.submit(AgentLeave{Peer: tab})
	e.advance(30 * time.Second)
	end := e.next(v, protocol.EventCallEnded)
	if end["reason"] != "reconnect_failed" ||
		end["message"] != "Your agent's connection was lost. Please try again." {
		t.Fatalf("call:ended = %v", end)
	}
	if got := e.status("ava"); got != StatusOffline {
		t.Fatalf("after its call ended without it the agent is %s", got)
	}
	if row := e.recs.byStatus(RecordCompleted)[0]; *row.DurationSeconds != 25 {
		t.Fatalf("row = %+v, want ended at the second drop", row)
	}
}

func TestWhenBothPartiesAreGoneTheFirstDeadlineEndsTheCall(t *testing.T) {
	e := newEnv(t)
	ava, v, _ := e.call()
	e.submit(VisitorLeave{Peer: v})
	e.advance(10 * time.Second)
	e.submit(AgentLeave{Peer: ava})
	e.advance(29 * time.Second)
	if rows := e.recs.byStatus(RecordCompleted); len(rows) != 0 {
		t.Fatalf("ended before any deadline: %+v", rows)
	}
	// The agent's 30 s end at 40 s, before the visitor's 60 s.
	e.advance(time.Second)
	row := e.recs.byStatus(RecordCompleted)
	if len(row) != 1 || row[0].EndReason != "reconnect_failed" || *row[0].DurationSeconds != 10 {
		t.Fatalf("rows = %+v", row)
	}
}

func TestTheWaitingPartyMayEndTheCall(t *testing.T) {
	e := newEnv(t)
	ava, v, callID := e.call()
	visitorToken, _ := e.tokens(ava, v)
	e.submit(VisitorLeave{Peer: v})
	n := e.nextAck()
	e.submit(CallEnd{Peer: ava, Ack: n, CallID: callID_(callID)})
	e.sync()
	e.ackOK(ava, n)
	if row := e.recs.byStatus(RecordCompleted); len(row) != 1 || row[0].EndReason != "agent_ended" {
		t.Fatalf("rows = %+v", row)
	}
	v2, ack := e.resumeVisitor("v1-back", visitorToken)
	e.refused(v2, ack, "call_ended", callID)
}

func TestATokenWorksOnlyForItsOwnParty(t *testing.T) {
	e := newEnv(t)
	ava, v, callID := e.call()
	visitorToken, agentToken := e.tokens(ava, v)
	ben := e.live("ben")
	e.submit(VisitorLeave{Peer: v})
	e.submit(AgentLeave{Peer: ava})
	e.sync()

	cases := []struct {
		name  string
		try   func() (*fakePeer, map[string]any)
		after func()
	}{
		{"the agent's token on the visitor endpoint", func() (*fakePeer, map[string]any) {
			return e.resumeVisitor("v-agent-token", agentToken)
		}, nil},
		{"a visitor token on another site", func() (*fakePeer, map[string]any) {
			p := &fakePeer{name: "v-other-site"}
			n := e.nextAck()
			e.submit(VisitorReconnect{Peer: p, Ack: n, Token: visitorToken, Site: "site-2",
				PageURL: "https://other.example/"})
			e.sync()
			return p, e.ackData(p, n)
		}, nil},
		{"the visitor's token from an agent", func() (*fakePeer, map[string]any) {
			n := e.nextAck()
			e.submit(AgentReconnect{Peer: ben, Ack: n, Token: visitorToken})
			e.sync()
			return ben, e.ackData(ben, n)
		}, nil},
		{"the agent's token from another agent", func() (*fakePeer, map[string]any) {
			n := e.nextAck()
			e.submit(AgentReconnect{Peer: ben, Ack: n, Token: agentToken})
			e.sync()
			return ben, e.ackData(ben, n)
		}, nil},
		{"a token nobody made", func() (*fakePeer, map[string]any) {
			return e.resumeVisitor("v-made-up", newToken())
		}, nil},
	}
	for _, tc := range cases {
		p, ack := tc.try()
		e.refused(p, ack, "not_found", callID)
	}
	// None of them disturbed the call: both parties can still come back.
	if got := e.status("ben"); got == StatusInCall {
		t.Fatal("another agent took the call")
	}
	v2, ack := e.resumeVisitor("v1-back", visitorToken)
	if ack["ok"] != true {
		t.Fatalf("the right token was refused after the wrong ones: %v", ack)
	}
	e.next(v2, protocol.EventCallReconnected)
}

func TestAResumeAfterAJoinOnTheSameConnectionIsRefused(t *testing.T) {
	e := newEnv(t)
	ava, v, callID := e.call()
	visitorToken, _ := e.tokens(ava, v)
	e.submit(VisitorLeave{Peer: v})
	joined := e.visitor("v-joined")
	n := e.nextAck()
	e.submit(VisitorReconnect{Peer: joined, Ack: n, Token: visitorToken, Site: "site-1",
		PageURL: "https://shop.example/"})
	e.sync()
	e.refused(joined, e.ackData(joined, n), "not_found", callID)
}

func TestMaximumDurationWarnsAMinuteBeforeAndEndsTheCall(t *testing.T) {
	e := newEnv(t)
	e.dir.edit(func(c *OrgConfig) { c.MaxCallMinutes = 5 })
	ava, v, callID := e.call()
	e.advance(3*time.Minute + 59*time.Second)
	e.none(v, protocol.EventCallEndingSoon)

	// A drop does not stop the clock (SPEC §9).
	e.submit(VisitorLeave{Peer: v})
	v2, _ := e.resumeVisitor("v1-back", func() string { t, _ := e.tokens(ava, v); return t }())
	e.advance(time.Second)
	for _, p := range []*fakePeer{v2, ava} {
		soon := e.next(p, protocol.EventCallEndingSoon)
		if soon["callId"] != callID || soon["secondsLeft"] != float64(60) ||
			!strings.Contains(soon["message"].(string), "1 minute") {
			t.Fatalf("%s: call:ending_soon = %v", p.name, soon)
		}
	}
	e.advance(59 * time.Second)
	e.none(v2, protocol.EventCallEnded)
	e.advance(time.Second)
	for _, p := range []*fakePeer{v2, ava} {
		if end := e.next(p, protocol.EventCallEnded); end["reason"] != "max_duration" {
			t.Fatalf("%s: call:ended = %v", p.name, end)
		}
	}
	if row := e.recs.byStatus(RecordCompleted)[0]; *row.DurationSeconds != 300 {
		t.Fatalf("row = %+v", row)
	}
}

func TestARestartReloadsActiveCallsAsReconnecting(t *testing.T) {
	e := newEnv(t)
	ava, v, callID := e.call()
	visitorToken, agentToken := e.tokens(ava, v)
	e.advance(45 * time.Second)
	accepted := e.recs.byStatus(RecordAccepted)[0]
	e.hub.Close()
	if rows := e.recs.byStatus(RecordAccepted); len(rows) != 1 {
		t.Fatalf("stopping closed the active call: %+v", e.recs.rows)
	}

	// A new server: the same records, directory and clock, the row as the
	// journal last wrote it.
	e2 := e.restarted()
	e.clock.Advance(20 * time.Second) // the restart takes a while
	ready := e.clock.Now()
	lost := accepted
	lost.ID, lost.CallID, lost.AgentTokenHash = "log-no-token", "call-old", ""
	if err := e2.hub.Restore(context.Background(), []CallRecord{accepted, lost}, ready); err != nil {
		t.Fatal(err)
	}
	if got := e2.status("ava"); got != StatusInCall {
		t.Fatalf("after the restart ava is %s, want in_call (held by her call)", got)
	}
	closed := e.recs.rows["log-no-token"]
	if closed.Status != RecordCompleted || closed.EndReason != "server_restart" {
		t.Fatalf("a row without both tokens = %+v", closed)
	}

	// Both come back on new connections, within their windows from readiness.
	e2.advance(25 * time.Second)
	tab := &fakePeer{name: "ava-after-restart"}
	e2.submit(AgentConnect{Peer: tab, Agent: e2.profile("ava", true)})
	n := e2.nextAck()
	e2.submit(AgentReconnect{Peer: tab, Ack: n, Token: agentToken})
	e2.sync()
	e2.ackOK(tab, n)
	waiting := e2.next(tab, protocol.EventCallReconnecting)
	if waiting["waitingFor"] != "visitor" || waiting["timeoutSeconds"] != float64(35) {
		t.Fatalf("the agent back first hears %v", waiting)
	}
	v2, ack := e2.resumeVisitor("v1-after-restart", visitorToken)
	if ack["ok"] != true || ack["callId"] != callID {
		t.Fatalf("visitor resume = %v", ack)
	}
	e2.next(v2, protocol.EventCallReconnected)
	e2.last(tab, protocol.EventCallReconnected)
	e2.submit(CallEnd{Peer: tab, Ack: e2.nextAck(), CallID: callID_(callID)})
	e2.sync()
	done := e.recs.rows[accepted.ID]
	if done.Status != RecordCompleted || done.EndReason != "agent_ended" ||
		*done.DurationSeconds != 90 {
		t.Fatalf("the resumed call's row = %+v", done)
	}
}

func TestARestoredCallNobodyResumesEndsAtItsDeadline(t *testing.T) {
	e := newEnv(t)
	ava, v, _ := e.call()
	accepted := e.recs.byStatus(RecordAccepted)[0]
	e.hub.Close()
	_ = ava
	_ = v

	e2 := e.restarted()
	e.clock.Advance(time.Minute)
	ready := e.clock.Now()
	if err := e2.hub.Restore(context.Background(), []CallRecord{accepted}, ready); err != nil {
		t.Fatal(err)
	}
	e2.advance(30 * time.Second)
	row := e.recs.rows[accepted.ID]
	if row.Status != RecordCompleted || row.EndReason != "reconnect_failed" || row.EndedAt == nil ||
		!row.EndedAt.Equal(ready) {
		t.Fatalf("row = %+v, want ended at readiness", row)
	}
	if got := e2.status("ava"); got != StatusOffline {
		t.Fatalf("ava = %s, want offline", got)
	}
}

func TestOnlyItsOwnPartyHearsThatACallEnded(t *testing.T) {
	e := newEnv(t)
	ava, v, callID := e.call()
	visitorToken, agentToken := e.tokens(ava, v)
	ben := e.live("ben")
	e.submit(CallEnd{Peer: v, Ack: e.nextAck(), CallID: callID_(callID)})
	e.sync()

	// Anyone else holding one of the tokens learns nothing about the call.
	n := e.nextAck()
	e.submit(AgentReconnect{Peer: ben, Ack: n, Token: agentToken})
	e.sync()
	e.refused(ben, e.ackData(ben, n), "not_found", callID)
	n = e.nextAck()
	e.submit(AgentReconnect{Peer: ben, Ack: n, Token: visitorToken})
	e.sync()
	e.refused(ben, e.ackData(ben, n), "not_found", callID)
	p, ack := e.resumeVisitor("v-with-agent-token", agentToken)
	e.refused(p, ack, "not_found", callID)
	other := &fakePeer{name: "v-other-site"}
	n = e.nextAck()
	e.submit(VisitorReconnect{Peer: other, Ack: n, Token: visitorToken, Site: "site-2",
		PageURL: "https://other.example/"})
	e.sync()
	e.refused(other, e.ackData(other, n), "not_found", callID)

	// Its own parties hear that it ended.
	n = e.nextAck()
	e.submit(AgentReconnect{Peer: ava, Ack: n, Token: agentToken})
	e.sync()
	e.refused(ava, e.ackData(ava, n), "call_ended", callID)
	p, ack = e.resumeVisitor("v1-late", visitorToken)
	e.refused(p, ack, "call_ended", callID)
}
