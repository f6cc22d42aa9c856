package records

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"greeter/internal/calls"
	"greeter/internal/clock"
	"greeter/internal/ids"
)

// workday is the status trail of one agent session, from connection to
// sign-out.
var workday = []string{calls.StatusOffline, calls.StatusAway, calls.StatusIdle,
	calls.StatusBroadcasting, calls.StatusInCall, calls.StatusIdle, calls.StatusOffline}

// sessionChanges returns the status changes of n sessions of agent, each
// going through the workday a minute a step, interleaved across sessions as
// several agents' changes reach the writer.
func sessionChanges(org ids.OrgID, agent ids.AgentID, n int) []calls.StatusChange {
	start := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	sessions := make([]calls.AgentSession, n)
	for i := range sessions {
		sessions[i] = calls.AgentSession{ID: fmt.Sprintf("session-%02d", i), OrgID: org,
			AgentID: agent, StartedAt: start}
	}
	var out []calls.StatusChange
	for step := 1; step < len(workday); step++ {
		at := start.Add(time.Duration(step) * time.Minute)
		for i := range sessions {
			s := &sessions[i]
			addMinute(s, workday[step-1])
			if step == len(workday)-1 {
				s.EndedAt, s.EndedReason = &at, calls.SessionLogout
			}
			out = append(out, calls.StatusChange{ID: ids.NewRow(), Session: *s,
				From: workday[step-1], To: workday[step], Reason: "test", At: at})
		}
	}
	return out
}

// addMinute charges a minute to status in s's counters.
func addMinute(s *calls.AgentSession, status string) {
	switch status {
	case calls.StatusAway:
		s.AwaySeconds += 60
	case calls.StatusIdle:
		s.IdleSeconds += 60
	case calls.StatusBroadcasting:
		s.BroadcastingSeconds += 60
	case calls.StatusInCall:
		s.InCallSeconds += 60
	}
}

// saveChanges saves cs from another goroutine and fails the test if
// SaveStatusChange does not come back: it must never wait.
func saveChanges(t *testing.T, w *Writer, cs []calls.StatusChange) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, c := range cs {
			w.SaveStatusChange(c)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("SaveStatusChange blocked")
	}
}

func TestStatusChangesLandOnceAndInOrderAfterACrash(t *testing.T) {
	dir := t.TempDir()
	db := newFakeDB()
	db.failing.Store(true)
	w := openWriter(t, dir, db)

	const sessions = 4
	changes := sessionChanges("org-1", "agent-1", sessions)
	saveChanges(t, w, changes)
	waitFor(t, "the database to refuse a write", func() bool { return db.failures.Load() > 0 })
	w.crash(t)

	db.failing.Store(false)
	w = openWriter(t, dir, db)
	defer closeWriter(t, w)
	waitFor(t, "the replay", func() bool { return w.Depth() == 0 })

	applied, history := db.snapshot()
	if len(applied) != len(changes) {
		t.Fatalf("%d events applied, want %d", len(applied), len(changes))
	}
	for id, n := range applied {
		if n != 1 {
			t.Fatalf("event %s applied %d times", id, n)
		}
	}
	for i := range sessions {
		key := fmt.Sprintf("session:session-%02d", i)
		if got := history[key]; !slices.Equal(got, workday[1:]) {
			t.Fatalf("%s went through %v, want %v", key, got, workday[1:])
		}
	}
}

// The real store behind the journal: changes journaled while the database
// is locked, a crash, and a replay that also lost the journal's applied
// marker still leave each change once and the session's last snapshot.
func TestStatusChangesReachTheStoreOnceThroughTheJournal(t *testing.T) {
	tn := newTenant(t)
	dir := t.TempDir()
	w := openWriter(t, dir, tn.st)
	changes := sessionChanges(tn.org, tn.agent, 2)
	half := len(changes) / 2
	saveChanges(t, w, changes[:half])
	waitFor(t, "the first changes applied", func() bool { return w.Depth() == 0 })

	release := tn.lock(t)
	saveChanges(t, w, changes[half:])
	waitFor(t, "the hand-off flushed", func() bool { return w.unjournaled() == 0 })
	w.crash(t)
	if err := os.Remove(filepath.Join(dir, "applied.json")); err != nil {
		t.Fatal(err)
	}
	release()

	w = openWriter(t, dir, tn.st)
	defer closeWriter(t, w)
	waitFor(t, "the replay", func() bool { return w.Depth() == 0 })

	if n := tn.count(t, `SELECT count(*) FROM agent_status_changes`); n != len(changes) {
		t.Fatalf("%d status changes stored, want %d", n, len(changes))
	}
	start := changes[0].Session.StartedAt
	list, err := tn.st.AgentSessions(context.Background(), tn.org, tn.agent, start,
		start.Add(time.Hour))
	if err != nil || len(list) != 2 {
		t.Fatalf("sessions = %+v, %v; want 2", list, err)
	}
	for _, s := range list {
		if s.AwaySeconds != 60 || s.IdleSeconds != 120 || s.BroadcastingSeconds != 60 ||
			s.InCallSeconds != 60 || s.EndedReason != calls.SessionLogout || s.EndedAt == nil {
			t.Fatalf("session = %+v, want the last snapshot", s)
		}
	}
}

// quietPeer is an agent connection that drops what the loop sends.
type quietPeer struct{}

func (quietPeer) Send([]byte)       {}
func (quietPeer) Reply(int, []byte) {}
func (quietPeer) Close(int, string) {}

// oneAgent is the configuration of an organization whose only agent is live
// in the catch-all pool.
type oneAgent struct{ agent calls.AgentInfo }

func (d oneAgent) OrgConfig(context.Context, ids.OrgID) (calls.OrgConfig, error) {
	return calls.OrgConfig{Name: "Acme", RNASeconds: 15, MaxCallMinutes: 120,
		CatchAll: "pool-all",
		Pools: map[ids.PoolID]*calls.PoolConfig{"pool-all": {ID: "pool-all",
			Members: map[ids.AgentID]calls.Member{d.agent.ID: {Tier: 1}}}},
		Agents: map[ids.AgentID]calls.AgentInfo{d.agent.ID: d.agent}}, nil
}

// An organization loop's records of a session, through the writer, are the
// rows an admin reads: the loop's session ends at shutdown and lands whole.
func TestALoopsSessionLandsInTheStore(t *testing.T) {
	tn := newTenant(t)
	w := openWriter(t, t.TempDir(), tn.st)
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	fc := clock.NewFake(start)
	info := calls.AgentInfo{ID: tn.agent, MaxViewers: 5, VideosReady: true, Active: true}
	hub := calls.NewHub(calls.Options{Clock: fc, Records: w, Directory: oneAgent{info}})

	ctx := context.Background()
	submit := func(cmd calls.Command) {
		t.Helper()
		if err := hub.Submit(ctx, tn.org, cmd); err != nil {
			t.Fatal(err)
		}
		if err := hub.Flush(ctx, tn.org); err != nil {
			t.Fatal(err)
		}
	}
	peer := quietPeer{}
	submit(calls.AgentConnect{Peer: peer, Agent: info})
	fc.Advance(4 * time.Second)
	submit(calls.AgentBack{Peer: peer})
	fc.Advance(6 * time.Second)
	submit(calls.Heartbeat{Peer: peer})
	hub.Close()
	closeWriter(t, w)

	list, err := tn.st.AgentSessions(ctx, tn.org, tn.agent, start, start.Add(time.Hour))
	if err != nil || len(list) != 1 {
		t.Fatalf("sessions = %+v, %v; want one", list, err)
	}
	s := list[0]
	if s.AwaySeconds != 4 || s.IdleSeconds != 6 || s.EndedReason != calls.SessionServerRestart ||
		s.EndedAt == nil || !s.EndedAt.Equal(start.Add(10*time.Second)) {
		t.Fatalf("session = %+v", s)
	}
	changes, err := tn.st.AgentStatusChanges(ctx, tn.org, tn.agent, start, start.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var trail []string
	for _, c := range changes {
		trail = append(trail, c.From+">"+c.To+":"+c.Reason)
	}
	want := []string{"offline>away:connected", "away>idle:agent_back",
		"idle>offline:server_restart"}
	if !slices.Equal(trail, want) {
		t.Fatalf("status changes = %v, want %v", trail, want)
	}
}
