package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

var sessionStart = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

// sessionChange returns the change of session sid at start+after, with the
// session's counters as given.
func sessionChange(f fixture, sid, id, from, to string, after time.Duration,
	away, idle int) StatusChange {

	return StatusChange{
		ID: id,
		Session: AgentSession{ID: sid, OrgID: f.org.ID, AgentID: f.agent.ID,
			StartedAt: sessionStart, AwaySeconds: away, IdleSeconds: idle},
		From: from, To: to, Reason: "test", At: sessionStart.Add(after),
	}
}

func applyChange(t *testing.T, s *Store, eventID string, c StatusChange) {
	t.Helper()
	if err := s.ApplyStatusChangeEvent(context.Background(), eventID, c); err != nil {
		t.Fatal(err)
	}
}

func onlySession(t *testing.T, s *Store, f fixture) AgentSession {
	t.Helper()
	list, err := s.AgentSessions(context.Background(), f.org.ID, f.agent.ID,
		sessionStart, sessionStart.Add(time.Hour))
	if err != nil || len(list) != 1 {
		t.Fatalf("sessions = %+v, %v; want one", list, err)
	}
	return list[0]
}

func TestStatusChangeEventAppliesOnce(t *testing.T) {
	s := newTestStore(t)
	f := newFixture(t, s, "Acme", "a@acme.test")
	start := sessionChange(f, "s1", "c1", "offline", "away", 0, 0, 0)
	applyChange(t, s, "event-1", start)

	// The same event again, even with other counters, changes nothing.
	again := start
	again.Session.AwaySeconds = 99
	applyChange(t, s, "event-1", again)

	if n := countRows(t, s, `SELECT count(*) FROM agent_status_changes`); n != 1 {
		t.Fatalf("%d status changes after a replay, want 1", n)
	}
	if got := onlySession(t, s, f); got.AwaySeconds != 0 || got.EndedAt != nil {
		t.Fatalf("session after a replay = %+v", got)
	}
	if n := countRows(t, s, `SELECT count(*) FROM applied_events`); n != 1 {
		t.Fatalf("%d applied event ids, want 1", n)
	}
}

func TestLatestSessionSnapshotWinsUntilTheSessionEnds(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "a@acme.test")
	applyChange(t, s, "e1", sessionChange(f, "s1", "c1", "offline", "away", 0, 0, 0))
	applyChange(t, s, "e2", sessionChange(f, "s1", "c2", "away", "idle", 5*time.Second, 5, 0))
	end := sessionChange(f, "s1", "c3", "idle", "offline", 12*time.Second, 5, 7)
	end.Session.EndedAt, end.Session.EndedReason = &end.At, SessionLogout
	applyChange(t, s, "e3", end)
	// A snapshot that arrives after the end cannot reopen the session.
	applyChange(t, s, "e4", sessionChange(f, "s1", "c4", "offline", "away", 13*time.Second, 9, 9))

	got := onlySession(t, s, f)
	if got.AwaySeconds != 5 || got.IdleSeconds != 7 || got.EndedReason != SessionLogout ||
		got.EndedAt == nil || !got.EndedAt.Equal(end.At) || !got.StartedAt.Equal(sessionStart) {
		t.Fatalf("session = %+v", got)
	}
	changes, err := s.AgentStatusChanges(ctx, f.org.ID, f.agent.ID, sessionStart,
		sessionStart.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var trail []string
	for _, c := range changes {
		trail = append(trail, c.From+">"+c.To)
		if c.Session.ID != "s1" || c.Session.OrgID != f.org.ID {
			t.Fatalf("change %+v", c)
		}
	}
	if want := "[offline>away away>idle idle>offline offline>away]"; fmt.Sprint(trail) != want {
		t.Fatalf("trail = %v, want %s", trail, want)
	}
}

func TestStatusChangeEventsRefuseBadRowsAndOtherOrgs(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	acme := newFixture(t, s, "Acme", "a@acme.test")
	globex := newFixture(t, s, "Globex", "g@globex.test")
	applyChange(t, s, "e1", sessionChange(acme, "s1", "c1", "offline", "away", 0, 0, 0))

	theirs := sessionChange(globex, "s1", "c2", "away", "idle", time.Second, 1, 0)
	badStatus := sessionChange(acme, "s2", "c3", "offline", "sleeping", 0, 0, 0)
	badReason := sessionChange(acme, "s3", "c4", "offline", "away", 0, 0, 0)
	badReason.Session.EndedAt, badReason.Session.EndedReason = &badReason.At, "vanished"
	otherAgent := sessionChange(acme, "s4", "c5", "offline", "away", 0, 0, 0)
	otherAgent.Session.AgentID = globex.agent.ID
	cases := []struct {
		name string
		c    StatusChange
		want error
	}{
		{"another organization's session id", theirs, ErrConflict},
		{"unknown status", badStatus, ErrInvalid},
		{"unknown end reason", badReason, ErrInvalid},
		{"another organization's agent", otherAgent, ErrNotFound},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := s.ApplyStatusChangeEvent(ctx, fmt.Sprintf("bad-%d", i), tc.c)
			if !errors.Is(err, tc.want) {
				t.Fatalf("apply = %v, want %v", err, tc.want)
			}
		})
	}
	if n := countRows(t, s, `SELECT count(*) FROM agent_status_changes`); n != 1 {
		t.Fatalf("%d status changes, want only the first", n)
	}
}

func TestCloseInterruptedAgentSessions(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "a@acme.test")
	applyChange(t, s, "e1", sessionChange(f, "open", "c1", "offline", "away", 0, 0, 0))
	applyChange(t, s, "e2", sessionChange(f, "open", "c2", "away", "idle", 8*time.Second, 8, 0))
	done := sessionChange(f, "done", "c3", "offline", "away", time.Second, 0, 0)
	done.Session.EndedAt, done.Session.EndedReason = &done.At, SessionDisconnect
	applyChange(t, s, "e3", done)

	n, err := s.CloseInterruptedAgentSessions(ctx)
	if err != nil || n != 1 {
		t.Fatalf("closed %d sessions, %v; want 1", n, err)
	}
	list, err := s.AgentSessions(ctx, f.org.ID, f.agent.ID, sessionStart, sessionStart.Add(time.Hour))
	if err != nil || len(list) != 2 {
		t.Fatalf("sessions = %+v, %v", list, err)
	}
	for _, a := range list {
		switch {
		case a.ID == "open" && (a.EndedReason != SessionServerRestart ||
			!a.EndedAt.Equal(sessionStart.Add(8*time.Second))):
			t.Fatalf("interrupted session = %+v", a)
		case a.ID == "done" && a.EndedReason != SessionDisconnect:
			t.Fatalf("ended session changed: %+v", a)
		}
	}
}
