package records

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"greeter/internal/calls"
	"greeter/internal/ids"
	"greeter/internal/journal"
	"greeter/internal/store"
)

var quiet = slog.New(slog.DiscardHandler)

// fastRetry keeps the backoff of SPEC §10.4 out of the tests' running time.
var fastRetry = journal.Options{MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond}

// fakeDB is an Applier that fails while told to and remembers what it applied.
type fakeDB struct {
	failing  atomic.Bool
	failures atomic.Int64

	mu      sync.Mutex
	applied map[string]int      // event id → successful applications
	history map[string][]string // call log id → statuses, in applied order
}

func newFakeDB() *fakeDB {
	return &fakeDB{applied: map[string]int{}, history: map[string][]string{}}
}

func (f *fakeDB) ApplyCallLogEvent(_ context.Context, eventID string, l store.CallLog) error {
	if f.failing.Load() {
		f.failures.Add(1)
		return errors.New("database is locked")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied[eventID]++
	f.history[string(l.ID)] = append(f.history[string(l.ID)], l.Status)
	return nil
}

func (f *fakeDB) ApplyPageviewEvent(_ context.Context, eventID string, p store.Pageview) error {
	return f.applyOther(eventID, "pageview:"+p.ID, "applied")
}

func (f *fakeDB) ApplyPresenceIntentEvent(_ context.Context, eventID string,
	i store.PresenceIntent) error {
	return f.applyOther(eventID, "intent:"+string(i.AgentID)+":"+i.Intent, "applied")
}

func (f *fakeDB) ApplyStatusChangeEvent(_ context.Context, eventID string,
	c store.StatusChange) error {
	return f.applyOther(eventID, "session:"+c.Session.ID, c.To)
}

// applyOther records a pageview, presence intent or status change under key:
// what it was, or "applied".
func (f *fakeDB) applyOther(eventID, key, what string) error {
	if f.failing.Load() {
		f.failures.Add(1)
		return errors.New("database is locked")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied[eventID]++
	f.history[key] = append(f.history[key], what)
	return nil
}

func (f *fakeDB) PruneAppliedEvents(context.Context, time.Time) error { return nil }

func (f *fakeDB) snapshot() (map[string]int, map[string][]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	applied := make(map[string]int, len(f.applied))
	for k, v := range f.applied {
		applied[k] = v
	}
	history := make(map[string][]string, len(f.history))
	for k, v := range f.history {
		history[k] = slices.Clone(v)
	}
	return applied, history
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// crash stops w the way a killed process would, once its hand-off is empty:
// the journal keeps what it holds and nothing else is written.
func (w *Writer) crash(t *testing.T) {
	t.Helper()
	waitFor(t, "the hand-off flushed", func() bool { return w.unjournaled() == 0 })

	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.j.Abandon()
	close(w.closing)
	close(w.abort)
	w.stop()
	<-w.flushed
	<-w.pruned
}

func openWriter(t *testing.T, dir string, db Applier) *Writer {
	t.Helper()
	w, err := open(dir, db, quiet, fastRetry)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func closeWriter(t *testing.T, w *Writer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

var lifecycle = []string{calls.RecordPending, calls.RecordAccepted, calls.RecordCompleted}

// ringRecords returns the snapshots of rows calls, each going through the
// lifecycle, interleaved across rows as an organization loop would send them.
func ringRecords(rows int) []calls.CallRecord {
	var out []calls.CallRecord
	for _, status := range lifecycle {
		for r := range rows {
			out = append(out, calls.CallRecord{
				ID:        ids.CallLogID(fmt.Sprintf("log-%03d", r)),
				OrgID:     "org-1",
				Status:    status,
				CreatedAt: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
			})
		}
	}
	return out
}

// saveAll saves recs from another goroutine and fails the test if Save does
// not come back: Save must never wait for the disk or the database.
func saveAll(t *testing.T, w *Writer, recs []calls.CallRecord) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, r := range recs {
			w.Save(r)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Save blocked")
	}
}

func checkLandedOnce(t *testing.T, db *fakeDB, rows, events int) {
	t.Helper()
	applied, history := db.snapshot()
	if len(applied) != events {
		t.Fatalf("%d events applied, want %d", len(applied), events)
	}
	for id, n := range applied {
		if n != 1 {
			t.Fatalf("event %s applied %d times", id, n)
		}
	}
	if len(history) != rows {
		t.Fatalf("%d rows written, want %d", len(history), rows)
	}
	for id, statuses := range history {
		if !slices.Equal(statuses, lifecycle) {
			t.Fatalf("row %s went through %v, want %v", id, statuses, lifecycle)
		}
	}
}

func TestSaveNeverBlocksWhileTheDatabaseFails(t *testing.T) {
	db := newFakeDB()
	db.failing.Store(true)
	w := openWriter(t, t.TempDir(), db)
	defer closeWriter(t, w)

	const rows = 40
	saveAll(t, w, ringRecords(rows))
	waitFor(t, "the database to refuse a few writes", func() bool { return db.failures.Load() >= 3 })
	if got := w.Depth(); got != rows*len(lifecycle) {
		t.Fatalf("Depth = %d while the database fails, want %d", got, rows*len(lifecycle))
	}
	if got := w.OldestAge(); got <= 0 {
		t.Fatalf("OldestAge = %v while the database fails", got)
	}

	db.failing.Store(false)
	waitFor(t, "the queue drained", func() bool { return w.Depth() == 0 })
	checkLandedOnce(t, db, rows, rows*len(lifecycle))
	if got := w.OldestAge(); got != 0 {
		t.Fatalf("OldestAge = %v once drained", got)
	}
}

func TestCloseKeepsUnappliedSnapshotsForTheNextOpen(t *testing.T) {
	dir := t.TempDir()
	db := newFakeDB()
	db.failing.Store(true)
	w := openWriter(t, dir, db)

	const rows = 5
	saveAll(t, w, ringRecords(rows))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatalf("Close with the database down: %v", err)
	}
	w.Save(ringRecords(1)[0]) // after Close: dropped, and must not panic

	db.failing.Store(false)
	w = openWriter(t, dir, db)
	defer closeWriter(t, w)
	waitFor(t, "the replay", func() bool { return w.Depth() == 0 })
	checkLandedOnce(t, db, rows, rows*len(lifecycle))
}

func TestCloseFlushesTheHandOff(t *testing.T) {
	dir := t.TempDir()
	db := newFakeDB()
	w := openWriter(t, dir, db)

	const rows = 30
	recs := ringRecords(rows)
	for _, r := range recs {
		w.Save(r)
	}
	closeWriter(t, w) // the database is up: everything lands before Close returns
	checkLandedOnce(t, db, rows, len(recs))
}

func TestCrashLosesNothingJournaled(t *testing.T) {
	dir := t.TempDir()
	db := newFakeDB()
	db.failing.Store(true)
	w := openWriter(t, dir, db)

	const rows = 10
	saveAll(t, w, ringRecords(rows))
	w.crash(t)

	db.failing.Store(false)
	w = openWriter(t, dir, db)
	defer closeWriter(t, w)
	waitFor(t, "the replay", func() bool { return w.Depth() == 0 })
	checkLandedOnce(t, db, rows, rows*len(lifecycle))
}

func TestEventKindsTheWriterCannotApplyAreRejected(t *testing.T) {
	w := openWriter(t, t.TempDir(), newFakeDB())
	defer closeWriter(t, w)

	cases := []struct {
		name string
		e    journal.Entry
	}{
		{"unknown kind", journal.Entry{ID: "e1", Kind: "agent_session", Data: []byte(`{}`)}},
		{"undecodable pageview", journal.Entry{ID: "e3", Kind: kindPageview, Data: []byte(`"x"`)}},
		{"undecodable payload", journal.Entry{ID: "e2", Kind: kindCallLog, Data: []byte(`[1]`)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := w.apply(context.Background(), tc.e)
			if !errors.Is(err, journal.ErrRejected) {
				t.Fatalf("apply = %v, want ErrRejected", err)
			}
		})
	}
}
