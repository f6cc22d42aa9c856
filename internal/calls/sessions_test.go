package calls

import (
	"fmt"
	"testing"
	"time"

	"greeter/internal/ids"
	"greeter/internal/protocol"
)

// Scenario tests of agent sessions and the status audit trail (SPEC §6.2,
// §10.2): what the loop hands to the record sink at each transition.

// changesOf returns the status changes recorded for an agent, in order.
func (e *env) changesOf(name string) []StatusChange {
	e.t.Helper()
	e.sync()
	e.recs.mu.Lock()
	defer e.recs.mu.Unlock()
	var out []StatusChange
	for _, c := range e.recs.changes {
		if c.Session.AgentID == ids.AgentID("agent-"+name) {
			out = append(out, c)
		}
	}
	return out
}

// transitions renders changes as "from>to:reason" for comparison.
func transitions(cs []StatusChange) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.From + ">" + c.To + ":" + c.Reason
	}
	return out
}

func (e *env) wantTransitions(name string, want ...string) []StatusChange {
	e.t.Helper()
	cs := e.changesOf(name)
	if got := transitions(cs); fmt.Sprint(got) != fmt.Sprint(want) {
		e.t.Fatalf("%s's status changes:\n got %v\nwant %v", name, got, want)
	}
	return cs
}

// sessionsOf returns the distinct session ids of changes, in order.
func sessionsOf(cs []StatusChange) []string {
	var out []string
	for _, c := range cs {
		if len(out) == 0 || out[len(out)-1] != c.Session.ID {
			out = append(out, c.Session.ID)
		}
	}
	return out
}

// wantCounters checks a session snapshot's seconds: away, idle,
// broadcasting, in call.
func wantCounters(t *testing.T, s AgentSession, away, idle, broadcasting, inCall int) {
	t.Helper()
	got := [4]int{s.AwaySeconds, s.IdleSeconds, s.BroadcastingSeconds, s.InCallSeconds}
	if want := [4]int{away, idle, broadcasting, inCall}; got != want {
		t.Fatalf("session seconds (away, idle, broadcasting, in call) = %v, want %v", got, want)
	}
}

func wantEnded(t *testing.T, s AgentSession, reason string, at time.Time) {
	t.Helper()
	if s.EndedReason != reason || s.EndedAt == nil || !s.EndedAt.Equal(at) {
		t.Fatalf("session ended %v with %q, want %v with %q", s.EndedAt, s.EndedReason, at, reason)
	}
}

func TestASessionStartsAwayOnANewConnection(t *testing.T) {
	e := newEnv(t)
	start := e.clock.Now()
	e.agent("ava", true)
	cs := e.wantTransitions("ava", "offline>away:connected")

	s := cs[0].Session
	if s.ID == "" || s.OrgID != e.org || !s.StartedAt.Equal(start) || s.EndedAt != nil {
		t.Fatalf("session = %+v", s)
	}
	if cs[0].ID == "" || !cs[0].At.Equal(start) {
		t.Fatalf("change = %+v", cs[0])
	}
	wantCounters(t, s, 0, 0, 0, 0)
}

// One working stretch: back, a viewer, a call, the viewer leaves, away. The
// call's visitor stays a viewer after the call, so the agent is
// broadcasting again until it leaves.
func TestStatusChangesSplitTheSessionsTime(t *testing.T) {
	e := newEnv(t)
	ava := e.agent("ava", true)
	e.advance(2 * time.Second)
	e.submit(AgentBack{Peer: ava, Ack: e.nextAck()})
	e.advance(3 * time.Second)
	v := e.visitor("v")
	e.advance(4 * time.Second)
	req := e.ring(v, ava)
	e.advance(time.Second)
	e.submit(CallAccept{Peer: ava, Ack: e.nextAck(), RequestID: reqID_(req)})
	e.advance(60 * time.Second)
	call := e.next(ava, protocol.EventCallStarted)["callId"].(string)
	e.submit(CallEnd{Peer: ava, Ack: e.nextAck(), CallID: callID_(call)})
	e.advance(5 * time.Second)
	e.submit(VisitorLeave{Peer: v})
	e.advance(6 * time.Second)
	e.submit(AgentAway{Peer: ava, Ack: e.nextAck()})

	cs := e.wantTransitions("ava",
		"offline>away:connected",
		"away>idle:agent_back",
		"idle>in_simulation:first_viewer",
		"in_simulation>in_call:call_started",
		"in_call>in_simulation:call_ended",
		"in_simulation>idle:last_viewer",
		"idle>away:manual",
	)
	if ss := sessionsOf(cs); len(ss) != 1 {
		t.Fatalf("sessions = %v, want one", ss)
	}
	start := cs[0].At
	for i, after := range []time.Duration{0, 2, 5, 10, 70, 75, 81} {
		if want := start.Add(after * time.Second); !cs[i].At.Equal(want) {
			t.Fatalf("change %d at %v, want %v", i, cs[i].At, want)
		}
	}
	wantCounters(t, cs[3].Session, 2, 3, 5, 0)
	wantCounters(t, cs[6].Session, 2, 9, 10, 60)
	if cs[6].Session.EndedAt != nil {
		t.Fatalf("going away ended the session: %+v", cs[6].Session)
	}
}

func TestServerForcedAwayRecordsWhy(t *testing.T) {
	cases := []struct {
		name   string
		force  func(e *env, ava *fakePeer)
		reason string
	}{
		{"client idle", func(e *env, ava *fakePeer) {
			e.submit(AgentAway{Peer: ava, Ack: e.nextAck(), Idle: true})
		}, "idle"},
		{"ring not answered", func(e *env, ava *fakePeer) {
			e.ring(e.visitor("v"), ava)
			e.advance(16 * time.Second)
		}, "ring_no_answer"},
		{"heartbeat stale", func(e *env, _ *fakePeer) {
			e.advance(135 * time.Second)
		}, "stale"},
		{"organization paused", func(e *env, _ *fakePeer) {
			e.reconfigure(func(c *OrgConfig) { c.Paused = true })
		}, "org_paused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ava := e.live("ava")
			tc.force(e, ava)
			cs := e.changesOf("ava")
			last := cs[len(cs)-1]
			if last.To != StatusAway || last.Reason != tc.reason {
				t.Fatalf("last change = %s, want to away with %s", transitions(cs), tc.reason)
			}
		})
	}
}

func TestAReconnectWithinTheGraceContinuesTheSession(t *testing.T) {
	e := newEnv(t)
	e.live("ava")
	e.advance(4 * time.Second)
	e.submit(AgentLeave{Peer: e.peerOf("ava")})
	e.advance(9 * time.Second)
	back := &fakePeer{name: "ava-2"}
	e.submit(AgentConnect{Peer: back, Agent: e.profile("ava", true)})
	e.advance(7 * time.Second) // past the first grace: its timer does nothing
	e.submit(AgentAway{Peer: back, Ack: e.nextAck()})

	cs := e.wantTransitions("ava",
		"offline>away:connected", "away>idle:agent_back", "idle>away:manual")
	if ss := sessionsOf(cs); len(ss) != 1 {
		t.Fatalf("sessions = %v, want one", ss)
	}
	// The grace keeps the status, so its seconds count as idle.
	wantCounters(t, cs[2].Session, 0, 20, 0, 0)
	if cs[2].Session.EndedAt != nil {
		t.Fatalf("session ended: %+v", cs[2].Session)
	}
}

func TestGraceExpiryEndsTheSessionWithDisconnect(t *testing.T) {
	e := newEnv(t)
	e.live("ava")
	v := e.visitor("v")
	e.submit(AgentLeave{Peer: e.peerOf("ava")})
	left := e.clock.Now()
	e.advance(10 * time.Second)
	e.next(v, protocol.EventAgentUnavail)

	cs := e.wantTransitions("ava", "offline>away:connected", "away>idle:agent_back",
		"idle>in_simulation:first_viewer", "in_simulation>offline:disconnect")
	end := cs[3].Session
	wantEnded(t, end, SessionDisconnect, left.Add(10*time.Second))
	wantCounters(t, end, 0, 0, 10, 0)

	// The next connection is a new session.
	e.agent("ava", true)
	cs = e.changesOf("ava")
	if ss := sessionsOf(cs); len(ss) != 2 || cs[4].From != StatusOffline || cs[4].To != StatusAway {
		t.Fatalf("after a new connection: sessions %v, changes %v", ss, transitions(cs))
	}
}

func TestAReplacementContinuesTheSession(t *testing.T) {
	e := newEnv(t)
	ava := e.live("ava")
	v := e.visitor("v")
	e.submit(CallAccept{Peer: ava, Ack: e.nextAck(), RequestID: reqID_(e.ring(v, ava))})
	e.advance(30 * time.Second)

	second := &fakePeer{name: "ava-2"}
	e.submit(AgentConnect{Peer: second, Agent: e.profile("ava", true)})
	e.sync()
	if second.closed != 0 || ava.closed != protocol.CloseSessionReplaced {
		t.Fatalf("close codes: old %d, new %d", ava.closed, second.closed)
	}
	// The new tab resumes the call with the token and ends it: one session,
	// one call, from start to end.
	started := e.next(ava, protocol.EventCallStarted)
	e.submit(AgentReconnect{Peer: second, Ack: e.nextAck(), Token: started["reconnectToken"].(string)})
	e.sync()
	callID := ids.CallID(started["callId"].(string))
	e.submit(CallEnd{Peer: second, Ack: e.nextAck(), CallID: callID})
	e.sync()
	cs := e.wantTransitions("ava", "offline>away:connected", "away>idle:agent_back",
		"idle>in_simulation:first_viewer", "in_simulation>in_call:call_started",
		"in_call>in_simulation:call_ended")
	if ss := sessionsOf(cs); len(ss) != 1 {
		t.Fatalf("sessions = %v, want one", ss)
	}
	wantCounters(t, cs[4].Session, 0, 0, 0, 30)
}

func TestSigningOutAndRemovalEndTheSession(t *testing.T) {
	cases := []struct {
		name   string
		end    func(e *env) error
		reason string
	}{
		{"logout", func(e *env) error {
			return e.hub.LogoutAgent(e.t.Context(), e.org, "agent-ava")
		}, SessionLogout},
		{"removal", func(e *env) error {
			return e.hub.RemoveAgent(e.t.Context(), e.org, "agent-ava", EndedByAdmin)
		}, SessionRemoved},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ava := e.live("ava")
			v := e.visitor("v")
			e.submit(CallAccept{Peer: ava, Ack: e.nextAck(), RequestID: reqID_(e.ring(v, ava))})
			e.advance(45 * time.Second)
			if err := tc.end(e); err != nil {
				t.Fatal(err)
			}

			cs := e.changesOf("ava")
			last := cs[len(cs)-1]
			if last.From != StatusInCall || last.To != StatusOffline || last.Reason != tc.reason {
				t.Fatalf("changes = %v", transitions(cs))
			}
			wantEnded(t, last.Session, tc.reason, e.clock.Now())
			wantCounters(t, last.Session, 0, 0, 0, 45)
			if len(sessionsOf(cs)) != 1 {
				t.Fatalf("sessions = %v", sessionsOf(cs))
			}
		})
	}
}

func TestShutdownEndsEverySessionWithServerRestart(t *testing.T) {
	e := newEnv(t)
	ava := e.live("ava")
	v := e.visitor("v")
	e.submit(CallAccept{Peer: ava, Ack: e.nextAck(), RequestID: reqID_(e.ring(v, ava))})
	e.live("ben")
	e.submit(AgentLeave{Peer: e.peerOf("ben")}) // inside the grace at shutdown
	e.agent("cy", true)                         // connected, away
	e.advance(3 * time.Second)
	stopped := e.clock.Now()
	e.hub.Close()

	for _, name := range []string{"ava", "ben", "cy"} {
		e.recs.mu.Lock()
		var cs []StatusChange
		for _, c := range e.recs.changes {
			if c.Session.AgentID == ids.AgentID("agent-"+name) {
				cs = append(cs, c)
			}
		}
		e.recs.mu.Unlock()
		last := cs[len(cs)-1]
		if last.To != StatusOffline || last.Reason != SessionServerRestart {
			t.Fatalf("%s's changes = %v", name, transitions(cs))
		}
		wantEnded(t, last.Session, SessionServerRestart, stopped)
	}
}
