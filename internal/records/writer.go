// Package records writes call-log snapshots, pageviews, presence intents and
// agent status changes (with their sessions) from the organization loops to
// the database through the durable write queue of SPEC §10.4, without ever
// making a loop wait for the disk or the database.
//
// A snapshot travels in three steps. Save puts it in an in-memory hand-off and
// returns at once. A flusher goroutine appends what the hand-off holds to the
// journal (internal/journal), many snapshots per fsync. The journal's applier
// writes each event to the store, in order, retrying until it lands; the store
// records the event id in the same transaction, so a replay after a crash
// applies each snapshot exactly once.
//
// The one window in which a crash loses a snapshot is the hand-off: between
// Save returning and the flusher's fsync, usually a few milliseconds, longer
// only while the disk refuses writes. Once fsynced, a snapshot survives a
// crash, a restart and any database outage.
package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"greeter/internal/calls"
	"greeter/internal/ids"
	"greeter/internal/journal"
	"greeter/internal/store"
)

// Timings of SPEC §10.4 and of the applied-event ids kept for replays.
const (
	minBackoff     = journal.DefaultMinBackoff
	maxBackoff     = journal.DefaultMaxBackoff
	keepAppliedIDs = 7 * 24 * time.Hour
	pruneEvery     = 24 * time.Hour
	pruneTimeout   = time.Minute
)

// maxFlush is the most snapshots the flusher appends at once.
const maxFlush = 512

// Applier is the part of the store the writer needs: the Apply methods must
// apply each event id at most once, and PruneAppliedEvents forgets the ids
// applied before a time.
type Applier interface {
	ApplyCallLogEvent(ctx context.Context, eventID string, l store.CallLog) error
	ApplyPageviewEvent(ctx context.Context, eventID string, p store.Pageview) error
	ApplyPresenceIntentEvent(ctx context.Context, eventID string, i store.PresenceIntent) error
	ApplyStatusChangeEvent(ctx context.Context, eventID string, c store.StatusChange) error
	PruneAppliedEvents(ctx context.Context, before time.Time) error
}

// Writer journals call-log snapshots and applies them to the database. It
// implements calls.RecordSink and calls.StatusSink.
type Writer struct {
	j   *journal.Journal
	db  Applier
	log *slog.Logger

	mu       sync.Mutex
	handoff  []snapshot // saved, not yet given to the journal
	inflight []snapshot // being appended by the flusher
	closed   bool

	wake    chan struct{} // nudges the flusher; capacity 1
	closing chan struct{} // Close began: flush the hand-off, then stop
	abort   chan struct{} // the flusher must stop retrying
	flushed chan struct{} // the flusher returned
	pruned  chan struct{} // the pruner returned
	stopCtx context.Context
	stop    context.CancelFunc // cancels the pruner's database call at Close
}

// snapshot is one saved event waiting in the hand-off: data is the event
// struct of its kind (see event.go).
type snapshot struct {
	eventID string
	at      time.Time
	kind    string
	data    any
}

// Open opens the journal in dir (creating it if needed) and starts the writer;
// snapshots left unapplied by the previous run are applied first. Call Close
// to stop it.
func Open(dir string, db Applier, log *slog.Logger) (*Writer, error) {
	return open(dir, db, log, journal.Options{})
}

// open is Open with journal options, which tests shorten.
func open(dir string, db Applier, log *slog.Logger, opts journal.Options) (*Writer, error) {
	w := &Writer{
		db:      db,
		log:     log,
		wake:    make(chan struct{}, 1),
		closing: make(chan struct{}),
		abort:   make(chan struct{}),
		flushed: make(chan struct{}),
		pruned:  make(chan struct{}),
	}
	w.stopCtx, w.stop = context.WithCancel(context.Background())
	opts.Apply, opts.Logger = w.apply, log

	j, err := journal.Open(dir, opts)
	if err != nil {
		w.stop()
		return nil, fmt.Errorf("records: unable to open the journal: %w", err)
	}
	w.j = j

	go w.flushLoop()
	go w.pruneLoop()
	return w, nil
}

// Save hands a call-log snapshot to the journal. It never blocks on the disk
// or the database: the snapshot waits in memory until the flusher has
// fsynced it.
func (w *Writer) Save(rec calls.CallRecord) {
	w.enqueue(kindCallLog, newCallLogEvent(rec))
}

// SavePageview hands a pageview to the journal, like Save.
func (w *Writer) SavePageview(p calls.Pageview) {
	w.enqueue(kindPageview, newPageviewEvent(p))
}

// SavePresenceIntent hands an agent's presence intent to the journal, like
// Save.
func (w *Writer) SavePresenceIntent(i calls.PresenceIntent) {
	w.enqueue(kindPresenceIntent, newPresenceIntentEvent(i))
}

// SaveStatusChange hands an agent's status change, with its session's
// snapshot, to the journal, like Save. The journal applies the changes of a
// session in the order they were saved.
func (w *Writer) SaveStatusChange(c calls.StatusChange) {
	w.enqueue(kindStatusChange, newStatusChangeEvent(c))
}

// The writer is the sink of both kinds of record.
var (
	_ calls.RecordSink = (*Writer)(nil)
	_ calls.StatusSink = (*Writer)(nil)
)

func (w *Writer) enqueue(kind string, data any) {
	s := snapshot{eventID: ids.NewRow(), at: time.Now(), kind: kind, data: data}

	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		w.log.Error("records: event saved after close; dropped", "kind", kind,
			"event", data)
		return
	}
	w.handoff = append(w.handoff, s)
	w.mu.Unlock()

	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Depth reports how many snapshots are not yet applied, in the hand-off or
// in the journal. A snapshot being moved into the journal may briefly count
// twice, never zero times.
func (w *Writer) Depth() int {
	// The hand-off first: a snapshot reaches the journal before it leaves the
	// hand-off, so this order never misses one.
	w.mu.Lock()
	n := len(w.handoff) + len(w.inflight)
	w.mu.Unlock()
	return n + w.j.Depth()
}

// OldestAge reports how long the oldest unapplied snapshot has waited, or 0.
func (w *Writer) OldestAge() time.Duration {
	var age time.Duration
	w.mu.Lock()
	switch {
	case len(w.inflight) > 0:
		age = time.Since(w.inflight[0].at)
	case len(w.handoff) > 0:
		age = time.Since(w.handoff[0].at)
	}
	w.mu.Unlock()
	return max(age, w.j.OldestAge())
}

// Close journals the hand-off, gives the applier until ctx ends to apply what
// is pending, and stops. Snapshots still unapplied stay in the journal for
// the next Open. Close reports an error only when something could not be
// journaled before ctx ended, which is then lost.
func (w *Writer) Close(ctx context.Context) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	close(w.closing)
	w.stop()

	select {
	case <-w.flushed:
	case <-ctx.Done():
		close(w.abort)
		<-w.flushed
	}
	<-w.pruned

	var lost error
	if n := w.unjournaled(); n > 0 {
		w.log.Error("records: call logs lost at shutdown: the journal refused them", "count", n)
		lost = fmt.Errorf("records: unable to journal %d call logs before shutdown", n)
	}
	return errors.Join(lost, w.j.Close(ctx))
}

// unjournaled reports how many snapshots are still in the hand-off.
func (w *Writer) unjournaled() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.handoff) + len(w.inflight)
}

// flushLoop moves snapshots from the hand-off into the journal, in order. A
// batch that fails to append is retried as is, with backoff.
func (w *Writer) flushLoop() {
	defer close(w.flushed)
	backoff := minBackoff
	for {
		batch := w.nextBatch()
		if len(batch) == 0 {
			select {
			case <-w.wake:
			case <-w.closing:
				if w.unjournaled() == 0 {
					return // Save refuses new snapshots once closing
				}
			}
			continue
		}

		err := w.j.Append(w.entries(batch)...)
		if errors.Is(err, journal.ErrClosed) {
			return // the journal was abandoned (a test's simulated crash)
		}
		if err != nil {
			w.log.Error("records: unable to journal call logs; will retry", "count", len(batch),
				"retry_in", backoff.String(), "err", err)
			select {
			case <-time.After(backoff):
			case <-w.abort:
				return
			}
			backoff = min(backoff*2, maxBackoff)
			continue
		}

		backoff = minBackoff
		w.mu.Lock()
		w.inflight = nil
		w.mu.Unlock()
	}
}

// nextBatch returns the snapshots to append: the in-flight batch again after
// a failure (same event ids), otherwise the oldest of the hand-off.
func (w *Writer) nextBatch() []snapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.inflight) > 0 {
		return w.inflight
	}

	n := min(len(w.handoff), maxFlush)
	w.inflight = w.handoff[:n:n]
	w.handoff = w.handoff[n:]
	if len(w.handoff) == 0 {
		w.handoff = nil
	}
	return w.inflight
}

// entries encodes a batch for the journal.
func (w *Writer) entries(batch []snapshot) []journal.Entry {
	out := make([]journal.Entry, 0, len(batch))
	for _, s := range batch {
		data, err := json.Marshal(s.data)
		if err != nil {
			// Only a timestamp beyond year 9999 gets here; no retry can help.
			w.log.Error("records: unable to encode an event; dropped",
				"kind", s.kind, "event", s.data, "err", err)
			continue
		}
		out = append(out, journal.Entry{ID: s.eventID, Kind: s.kind, At: s.at, Data: data})
	}
	return out
}

// apply writes one journal event to the store. Errors that no retry can fix
// (the schema refuses the row) reject the event instead of blocking the
// queue.
func (w *Writer) apply(ctx context.Context, e journal.Entry) error {
	var err error
	switch e.Kind {
	case kindCallLog:
		var ev callLogEvent
		if err = decodeEvent(e, &ev); err == nil {
			err = w.db.ApplyCallLogEvent(ctx, e.ID, ev.toStore())
		}
	case kindPageview:
		var ev pageviewEvent
		if err = decodeEvent(e, &ev); err == nil {
			err = w.db.ApplyPageviewEvent(ctx, e.ID, ev.toStore())
		}
	case kindPresenceIntent:
		var ev presenceIntentEvent
		if err = decodeEvent(e, &ev); err == nil {
			err = w.db.ApplyPresenceIntentEvent(ctx, e.ID, ev.toStore())
		}
	case kindStatusChange:
		var ev statusChangeEvent
		if err = decodeEvent(e, &ev); err == nil {
			err = w.db.ApplyStatusChangeEvent(ctx, e.ID, ev.toStore())
		}
	default:
		return fmt.Errorf("records: unable to apply event %s of unknown kind %q: %w",
			e.ID, e.Kind, journal.ErrRejected)
	}
	if errors.Is(err, journal.ErrRejected) {
		return err
	}
	if errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrConflict) ||
		errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("records: unable to apply event %s: %w (%w)", e.ID,
			journal.ErrRejected, err)
	}
	return err
}

func decodeEvent(e journal.Entry, v any) error {
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("records: unable to decode event %s: %w (%w)", e.ID,
			journal.ErrRejected, err)
	}
	return nil
}

// pruneLoop forgets old applied-event ids at start and then daily.
func (w *Writer) pruneLoop() {
	defer close(w.pruned)
	tick := time.NewTicker(pruneEvery)
	defer tick.Stop()
	for {
		w.prune()
		select {
		case <-tick.C:
		case <-w.closing:
			return
		}
	}
}

func (w *Writer) prune() {
	ctx, cancel := context.WithTimeout(w.stopCtx, pruneTimeout)
	defer cancel()

	if err := w.db.PruneAppliedEvents(ctx, time.Now().Add(-keepAppliedIDs)); err != nil {
		w.log.Warn("records: unable to prune applied event ids", "err", err)
	}
}
