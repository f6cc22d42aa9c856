// Package journal is Greeter's durable write queue (SPEC §10.4): an append-only
// log of events on local disk, and one applier goroutine that hands the events,
// in order, to a function that writes them to the database.
//
// Append returns once its events are fsynced. The applier retries a failed
// event with backoff (0.5 s doubling to 30 s) until it succeeds, and never makes
// Append wait. Events not known to be applied when the process stops are
// replayed by the next Open, so the apply function must be idempotent: the
// store records each event id in the transaction that applies it.
//
// A directory holds:
//
//	00000000000000000001.seg  segments: events in order, named by their first seq
//	00000000000000000734.seg  the active segment, the only one still written
//	applied.json              {"applied_seq":812}: every event up to 812 is applied
//	rejected.jsonl            events the destination refused for good, for a human
//
// A segment is an 8-byte magic ("GJRNL01\n") followed by records, each
//
//	length uint32 | crc uint32 | seq uint64 | body [length]byte
//
// in big-endian order, where body is the event as JSON ({"id", "kind", "at",
// "data"}) and crc is the CRC-32C of seq and body. A record cut short or failing
// its checksum ends the segment: it and what follows are ignored, and cut off
// when it is the last segment. That is what a crash during a write leaves, and
// it is safe to drop because Append had not reported it durable.
//
// Once every event of a segment is applied and the writer has moved on to a
// new segment, the old one is deleted. The writer moves on when a segment
// reaches Options.SegmentSize, or when all of it is applied and it is older
// than an hour, so the directory holds little more than the unapplied events.
package journal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Sentinel errors.
var (
	// ErrClosed is returned by Append once Close or Abandon has been called.
	ErrClosed = errors.New("journal: closed")
	// ErrRejected, wrapped in an error of the apply function, means that the
	// event can never be applied (the destination refuses it for good). The
	// event is moved to rejected.jsonl and the applier goes on to the next one,
	// instead of retrying it forever and holding back every later event.
	ErrRejected = errors.New("journal: event rejected")
)

// Defaults of Options.
const (
	DefaultMinBackoff   = 500 * time.Millisecond
	DefaultMaxBackoff   = 30 * time.Second
	DefaultApplyTimeout = 10 * time.Second
	DefaultSegmentSize  = 4 << 20
)

// maxSegmentAge is how long a fully applied segment may stay active. Keeping it
// short means applied events leave the disk long before the store forgets
// their ids (7 days), so a replay can always recognize them.
const maxSegmentAge = time.Hour

// Entry is one event of the journal.
type Entry struct {
	// Seq is the event's position, given by Append: it increases by at least
	// one from each event to the next.
	Seq uint64 `json:"-"`
	// ID identifies the event for exactly-once application; unique, not empty.
	ID string `json:"id"`
	// Kind tells the apply function what Data holds, e.g. "call_log".
	Kind string `json:"kind"`
	// At is when the event happened; Append fills it in when zero. OldestAge
	// is measured from it.
	At time.Time `json:"at"`
	// Data is the event's JSON payload.
	Data json.RawMessage `json:"data"`
}

// Options configure a Journal. Apply is required.
type Options struct {
	// Apply writes one event to its destination. It must be idempotent by
	// event id. An error wrapping ErrRejected rejects the event for good; any
	// other error is retried.
	Apply func(ctx context.Context, e Entry) error
	// Logger receives the journal's logs; slog.Default when nil.
	Logger *slog.Logger
	// MinBackoff and MaxBackoff bound the wait between attempts to apply a
	// failing event (DefaultMinBackoff and DefaultMaxBackoff when zero).
	MinBackoff, MaxBackoff time.Duration
	// ApplyTimeout bounds one attempt (DefaultApplyTimeout when zero).
	ApplyTimeout time.Duration
	// SegmentSize is the size at which the writer starts a new segment
	// (DefaultSegmentSize when zero).
	SegmentSize int64
	// Now tells the time; time.Now when nil.
	Now func() time.Time
}

// Journal is an open journal directory. Its methods are safe for concurrent
// use. Unapplied events are also held in memory, in order, for the applier, so
// a long database outage costs memory as well as disk.
//
// TODO: only one Journal may use a directory at a time, and nothing enforces
// it yet; a lock file (flock) would stop a second process on the same data dir.
type Journal struct {
	dir  string
	opts Options
	log  *slog.Logger

	appends     chan *appendRequest // to the writer goroutine
	wake        chan struct{}       // nudges the applier; capacity 1
	quit        chan struct{}       // closed by Close and Abandon: no more appends
	writerDone  chan struct{}       // closed when the writer goroutine returns
	applierDone chan struct{}       // closed when the applier goroutine returns
	applyCtx    context.Context     // cancelled to stop the applier at once
	stopApplier context.CancelFunc
	closeOnce   sync.Once

	// Owned by the writer goroutine (and by Close once it has returned).
	file    *os.File
	size    int64
	nextSeq uint64

	// Owned by the applier goroutine (and by Close once it has returned).
	markerSeq   uint64
	sinceMarker int

	mu       sync.Mutex
	pending  []Entry   // durable and not yet applied, in order
	applied  uint64    // every event up to this seq is applied or rejected
	segments []segment // oldest first
	active   string    // path of the segment being written, "" for none
}

// segment is what the journal knows of one segment file.
type segment struct {
	path    string
	last    uint64    // seq of its last event, 0 while it has none
	firstAt time.Time // At of its first event
}

// appendRequest is one call of Append waiting for the writer goroutine.
type appendRequest struct {
	entries []Entry
	bodies  [][]byte
	done    chan error
}

// Open opens the journal in dir, creating the directory if needed, and starts
// the applier, which first replays the events not known to be applied.
func Open(dir string, opts Options) (*Journal, error) {
	if opts.Apply == nil {
		return nil, errors.New("journal: unable to open without an apply function")
	}
	opts = withDefaults(opts)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: unable to create %s: %w", dir, err)
	}

	j := &Journal{
		dir:         dir,
		opts:        opts,
		log:         opts.Logger,
		appends:     make(chan *appendRequest),
		wake:        make(chan struct{}, 1),
		quit:        make(chan struct{}),
		writerDone:  make(chan struct{}),
		applierDone: make(chan struct{}),
	}
	if err := j.load(); err != nil {
		return nil, err
	}
	if n := len(j.pending); n > 0 {
		j.log.Info("journal: replaying unapplied events", "count", n, "dir", dir)
	}

	j.applyCtx, j.stopApplier = context.WithCancel(context.Background())
	go j.writeLoop()
	go j.applyLoop()
	return j, nil
}

func withDefaults(o Options) Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	if o.ApplyTimeout <= 0 {
		o.ApplyTimeout = DefaultApplyTimeout
	}
	if o.SegmentSize <= 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Append writes the entries, in order, and returns once they are on disk
// (fsynced). Appends that arrive while the disk is busy are written together
// with a single fsync. Append never waits for the applier.
func (j *Journal) Append(entries ...Entry) error {
	if len(entries) == 0 {
		return nil
	}

	req := &appendRequest{
		entries: make([]Entry, len(entries)),
		bodies:  make([][]byte, len(entries)),
		done:    make(chan error, 1),
	}
	now := j.opts.Now()
	for i, e := range entries {
		if e.ID == "" || e.Kind == "" {
			return errors.New("journal: unable to append an event without id or kind")
		}
		if e.At.IsZero() {
			e.At = now
		}
		body, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("journal: unable to encode event %s: %w", e.ID, err)
		}
		if len(body) > maxRecord {
			return fmt.Errorf("journal: unable to append event %s: %d bytes is too large",
				e.ID, len(body))
		}
		req.entries[i], req.bodies[i] = e, body
	}

	select {
	case j.appends <- req:
	case <-j.quit:
		return ErrClosed
	}
	return <-req.done
}

// Depth reports how many events are durable but not yet applied.
func (j *Journal) Depth() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.pending)
}

// OldestAge reports how long ago the oldest unapplied event happened, or 0
// when every event is applied.
func (j *Journal) OldestAge() time.Duration {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.pending) == 0 {
		return 0
	}
	return max(j.opts.Now().Sub(j.pending[0].At), 0)
}

// Close stops accepting appends, gives the applier until ctx ends to apply
// what is pending, then stops it and closes the files. Events still unapplied
// stay on disk for the next Open; that is not an error.
func (j *Journal) Close(ctx context.Context) error {
	first := false
	j.closeOnce.Do(func() { first = true })
	if !first {
		return nil
	}

	close(j.quit)
	<-j.writerDone
	select {
	case <-j.applierDone:
	case <-ctx.Done():
	}
	j.stopApplier()
	<-j.applierDone

	j.checkpoint()
	err := j.closeFile()
	if n := j.Depth(); n > 0 {
		j.log.Warn("journal: events left for the next start", "count", n, "dir", j.dir)
	}
	return err
}

// Abandon stops the journal the way a killed process would: the goroutines
// stop, the files are closed, and nothing more is written, not even the
// applied marker. Tests use it to simulate a crash; production code calls
// Close.
func (j *Journal) Abandon() {
	first := false
	j.closeOnce.Do(func() { first = true })
	if !first {
		return
	}

	close(j.quit)
	j.stopApplier()
	<-j.writerDone
	<-j.applierDone
	if j.file != nil {
		if err := j.file.Close(); err != nil {
			j.log.Warn("journal: unable to close a segment", "err", err)
		}
		j.file = nil
	}
}

// nudge wakes the applier without ever blocking.
func (j *Journal) nudge() {
	select {
	case j.wake <- struct{}{}:
	default:
	}
}
