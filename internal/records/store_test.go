package records

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the driver for the test's own connection

	"greeter/internal/calls"
	"greeter/internal/ids"
	"greeter/internal/store"
)

// tenant is a real database with an organization, an agent and a site.
type tenant struct {
	st    *store.Store
	path  string
	org   ids.OrgID
	site  ids.SiteID
	agent ids.AgentID
}

func newTenant(t *testing.T) tenant {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "greeter.db")
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}

	org, admin, err := st.CreateOrg(ctx, store.NewOrg{Name: "Acme",
		AdminEmail: "ada@acme.test", AdminFullName: "Ada", AdminPasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	agent, err := st.CreateAgentProfile(ctx, store.NewAgentProfile{OrgID: org.ID,
		UserID: admin.ID, DisplayName: "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	site, err := st.CreateSite(ctx, store.NewSite{OrgID: org.ID, Name: "Main",
		AllowedOrigins: []string{"https://example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	return tenant{st: st, path: path, org: org.ID, site: site.ID, agent: agent.ID}
}

// calls returns the snapshots of n calls that ring, are accepted and end,
// interleaved across calls, and the final snapshot of each.
func (tn tenant) calls(n int) ([]calls.CallRecord, map[ids.CallLogID]calls.CallRecord) {
	start := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	final := map[ids.CallLogID]calls.CallRecord{}
	var byStep [3][]calls.CallRecord
	for i := range n {
		ring := start.Add(time.Duration(i) * time.Minute)
		pending := calls.CallRecord{
			ID: ids.CallLogID(ids.NewRow()), OrgID: tn.org, RequestID: ids.NewRequestID(),
			SiteID: tn.site, PoolID: "pool-1", AgentID: tn.agent, VisitorID: "v_1",
			Status: calls.RecordPending, PageURL: "https://example.com/pricing",
			RingStartedAt: &ring, CreatedAt: ring,
		}
		answered, ended := ring.Add(4*time.Second), ring.Add(94*time.Second)
		accepted := pending
		accepted.Status, accepted.AnsweredAt, accepted.StartedAt = calls.RecordAccepted,
			&answered, &answered
		accepted.AnswerSeconds = new(4)
		completed := accepted
		completed.Status, completed.EndedAt, completed.DurationSeconds = calls.RecordCompleted,
			&ended, new(90)
		completed.EndReason, completed.EndedBy = "visitor_ended", store.EndedByVisitor

		byStep[0] = append(byStep[0], pending)
		byStep[1] = append(byStep[1], accepted)
		byStep[2] = append(byStep[2], completed)
		final[completed.ID] = completed
	}
	return append(append(byStep[0], byStep[1]...), byStep[2]...), final
}

// checkRows fails unless every row holds its final snapshot and exactly
// events event ids were recorded.
func (tn tenant) checkRows(t *testing.T, final map[ids.CallLogID]calls.CallRecord, events int) {
	t.Helper()
	ctx := context.Background()
	got, err := tn.st.CountCallLogs(ctx, tn.org, store.CallLogFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if got != len(final) {
		t.Fatalf("%d rows, want %d", got, len(final))
	}
	for id, want := range final {
		l, err := tn.st.CallLog(ctx, tn.org, id)
		if err != nil {
			t.Fatal(err)
		}
		if l.Status != want.Status || l.EndReason != want.EndReason || l.EndedBy != want.EndedBy ||
			*l.DurationSeconds != *want.DurationSeconds || *l.AnswerSeconds != *want.AnswerSeconds ||
			!l.EndedAt.Equal(*want.EndedAt) || l.PageURL != want.PageURL {
			t.Fatalf("row %s = %+v, want %+v", id, l, want)
		}
	}
	if n := tn.count(t, `SELECT count(*) FROM applied_events`); n != events {
		t.Fatalf("%d applied event ids, want %d", n, events)
	}
}

// count runs a counting query on a connection of the test's own.
func (tn tenant) count(t *testing.T, query string) int {
	t.Helper()
	db, err := sql.Open("sqlite", tn.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// lock takes the database's write lock from another connection, as another
// process could, and returns the function that releases it. It works as root,
// where making the file read-only would not.
func (tn tenant) lock(t *testing.T) (release func()) {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("sqlite", tn.path)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `BEGIN EXCLUSIVE`); err != nil {
		t.Fatal(err)
	}

	released := false
	release = func() {
		if released {
			return
		}
		released = true
		if _, err := conn.ExecContext(ctx, `ROLLBACK`); err != nil {
			t.Error(err)
		}
		conn.Close()
		db.Close()
	}
	t.Cleanup(release)
	return release
}

// countingStore is the real store, counting the writes it refused.
type countingStore struct {
	*store.Store
	refused atomic.Int64
}

func (c *countingStore) ApplyCallLogEvent(ctx context.Context, id string, l store.CallLog) error {
	err := c.Store.ApplyCallLogEvent(ctx, id, l)
	if err != nil {
		c.refused.Add(1)
	}
	return err
}

func TestLockedDatabaseWritesLandOnceAfterRecovery(t *testing.T) {
	tn := newTenant(t)
	db := &countingStore{Store: tn.st}
	w := openWriter(t, t.TempDir(), db)
	defer closeWriter(t, w)

	release := tn.lock(t)
	recs, final := tn.calls(8)
	saveAll(t, w, recs)
	waitFor(t, "the locked database to refuse a write", func() bool { return db.refused.Load() > 0 })
	if got := w.Depth(); got != len(recs) {
		t.Fatalf("Depth = %d while locked, want %d", got, len(recs))
	}

	release()
	waitFor(t, "the queue drained", func() bool { return w.Depth() == 0 })
	tn.checkRows(t, final, len(recs))
}

func TestCrashWhileTheDatabaseIsLockedLandsEverythingOnce(t *testing.T) {
	tn := newTenant(t)
	dir := t.TempDir()
	w := openWriter(t, dir, tn.st)

	// Landed before the crash: the calls rang and were accepted.
	recs, final := tn.calls(6)
	saveAll(t, w, recs[:12])
	waitFor(t, "the first snapshots applied", func() bool { return w.Depth() == 0 })

	// Journaled, not applied: the calls ended while the database was locked.
	release := tn.lock(t)
	saveAll(t, w, recs[12:])
	waitFor(t, "the hand-off flushed", func() bool { return w.unjournaled() == 0 })
	if got := w.Depth(); got != len(recs[12:]) {
		t.Fatalf("Depth = %d before the crash, want %d", got, len(recs[12:]))
	}
	w.crash(t)

	// A crash can also come after a write landed and before the journal
	// marked it applied; losing the marker replays everything on disk.
	if err := os.Remove(filepath.Join(dir, "applied.json")); err != nil {
		t.Fatal(err)
	}
	release()

	w = openWriter(t, dir, tn.st)
	defer closeWriter(t, w)
	waitFor(t, "the replay", func() bool { return w.Depth() == 0 })
	tn.checkRows(t, final, len(recs))
}

func TestReplayedEventChangesNothing(t *testing.T) {
	tn := newTenant(t)
	ctx := context.Background()
	recs, _ := tn.calls(1)
	pending := newCallLogEvent(recs[0]).toStore()

	if err := tn.st.ApplyCallLogEvent(ctx, "event-1", pending); err != nil {
		t.Fatal(err)
	}
	// The same event id with other content, which only a replay bug could
	// produce, shows that the id alone decides.
	other := pending
	other.Status, other.PageURL = store.CallAccepted, "https://example.com/other"
	if err := tn.st.ApplyCallLogEvent(ctx, "event-1", other); err != nil {
		t.Fatal(err)
	}

	l, err := tn.st.CallLog(ctx, tn.org, pending.ID)
	if err != nil {
		t.Fatal(err)
	}
	if l.Status != store.CallPending || l.PageURL != pending.PageURL {
		t.Fatalf("row = %s %s after a replay, want it unchanged", l.Status, l.PageURL)
	}
	if n := tn.count(t, `SELECT count(*) FROM applied_events`); n != 1 {
		t.Fatalf("%d applied event ids, want 1", n)
	}
}

func TestRefusedRowIsSetAsideAndLaterRowsLand(t *testing.T) {
	tn := newTenant(t)
	dir := t.TempDir()
	w := openWriter(t, dir, tn.st)
	defer closeWriter(t, w)

	recs, _ := tn.calls(2)
	bad := recs[0]
	bad.Status = "misplaced" // the schema's CHECK refuses it
	w.Save(bad)
	w.Save(recs[1])
	waitFor(t, "the queue drained", func() bool { return w.Depth() == 0 })

	if _, err := tn.st.CallLog(context.Background(), tn.org, recs[1].ID); err != nil {
		t.Fatalf("the row after the refused one: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "rejected.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), string(bad.ID)) {
		t.Fatalf("rejected.jsonl = %s, want the refused row", b)
	}
}

func TestPruneAppliedEventsForgetsOldIDs(t *testing.T) {
	tn := newTenant(t)
	ctx := context.Background()
	recs, _ := tn.calls(1)
	l := newCallLogEvent(recs[0]).toStore()
	if err := tn.st.ApplyCallLogEvent(ctx, "event-1", l); err != nil {
		t.Fatal(err)
	}

	if err := tn.st.PruneAppliedEvents(ctx, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := tn.count(t, `SELECT count(*) FROM applied_events`); n != 1 {
		t.Fatalf("%d ids after pruning older ones, want 1", n)
	}
	if err := tn.st.PruneAppliedEvents(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := tn.count(t, `SELECT count(*) FROM applied_events`); n != 0 {
		t.Fatalf("%d ids after pruning all, want 0", n)
	}
}
