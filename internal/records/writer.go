// Package records writes call-log snapshots from the organization loops to
// the database without ever making a loop wait: snapshots queue in memory,
// in order, and a failed write is retried with backoff until it lands.
package records

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"greeter/internal/calls"
	"greeter/internal/store"
)

// Retry backoff of SPEC §10.4.
const (
	minBackoff = 500 * time.Millisecond
	maxBackoff = 30 * time.Second
)

// Saver is the part of the store the writer needs.
type Saver interface {
	SaveCallLog(ctx context.Context, l store.CallLog) error
}

// Writer queues call-log snapshots and applies them one at a time, in the
// order they came. It implements calls.RecordSink.
//
// TODO: the queue lives in memory, so a crash loses the snapshots that had
// not landed yet; the durable on-disk journal of SPEC §10.4 replaces it.
type Writer struct {
	db  Saver
	log *slog.Logger

	mu      sync.Mutex
	queue   []store.CallLog
	wake    chan struct{}
	stop    chan struct{}
	stopped chan struct{}
}

// NewWriter starts a writer. Call Close to flush and stop it.
func NewWriter(db Saver, log *slog.Logger) *Writer {
	w := &Writer{
		db:      db,
		log:     log,
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go w.run()
	return w
}

// Save queues a snapshot. It never blocks on the database.
func (w *Writer) Save(rec calls.CallRecord) {
	w.mu.Lock()
	w.queue = append(w.queue, toStore(rec))
	w.mu.Unlock()

	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Depth reports how many snapshots wait to be written.
func (w *Writer) Depth() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue)
}

// Close writes what is queued, giving up when ctx ends, and stops.
func (w *Writer) Close(ctx context.Context) error {
	close(w.stop)
	for w.Depth() > 0 {
		select {
		case <-ctx.Done():
			w.log.Error("records: unwritten call logs at shutdown", "count", w.Depth())
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	<-w.stopped
	return nil
}

func (w *Writer) run() {
	defer close(w.stopped)
	backoff := minBackoff
	for {
		w.mu.Lock()
		var next *store.CallLog
		if len(w.queue) > 0 {
			next = &w.queue[0]
		}
		w.mu.Unlock()

		if next == nil {
			select {
			case <-w.wake:
				continue
			case <-w.stop:
				return
			}
		}

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := w.db.SaveCallLog(ctx, *next)
		cancel()
		if err != nil {
			w.log.Warn("records: call log write failed; retrying", "call_log_id", next.ID,
				"retry_in", backoff.String(), "err", err)
			time.Sleep(backoff)
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		backoff = minBackoff
		w.mu.Lock()
		w.queue = w.queue[1:]
		w.mu.Unlock()
	}
}

func toStore(r calls.CallRecord) store.CallLog {
	return store.CallLog{
		ID:              r.ID,
		OrgID:           r.OrgID,
		RequestID:       r.RequestID,
		SiteID:          r.SiteID,
		PoolID:          r.PoolID,
		AgentID:         r.AgentID,
		VisitorID:       r.VisitorID,
		Status:          r.Status,
		EndReason:       r.EndReason,
		EndedBy:         r.EndedBy,
		PageURL:         r.PageURL,
		RingStartedAt:   r.RingStartedAt,
		AnsweredAt:      r.AnsweredAt,
		AnswerSeconds:   r.AnswerSeconds,
		StartedAt:       r.StartedAt,
		EndedAt:         r.EndedAt,
		DurationSeconds: r.DurationSeconds,
		CreatedAt:       r.CreatedAt,
	}
}
