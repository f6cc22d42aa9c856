package journal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// checkpointEvery is how many applied events the applier lets pass before it
// rewrites the marker while busy; when idle it writes the marker at once. A
// crash can thus leave up to this many applied events unmarked, which the next
// start replays and the destination recognizes by id.
const checkpointEvery = 256

const (
	markerName   = "applied.json"
	rejectedName = "rejected.jsonl"
)

// applyLoop applies pending events one at a time, in order. A failed event is
// retried, with backoff, before any later one, so events of one row land in
// the order they were appended.
func (j *Journal) applyLoop() {
	defer close(j.applierDone)
	backoff := j.opts.MinBackoff
	for {
		e, ok := j.head()
		if !ok {
			j.checkpoint()
			select {
			case <-j.wake:
			case <-j.writerDone:
				// Closing: nothing more will be appended.
				if _, ok := j.head(); !ok {
					return
				}
			case <-j.applyCtx.Done():
				return
			}
			continue
		}

		err := j.applyOne(e)
		if err == nil {
			j.markApplied(e)
			backoff = j.opts.MinBackoff
			continue
		}
		if j.applyCtx.Err() != nil {
			return
		}

		j.log.Warn("journal: unable to apply an event; will retry", "event_id", e.ID,
			"kind", e.Kind, "retry_in", backoff.String(), "err", err)
		select {
		case <-time.After(backoff):
		case <-j.applyCtx.Done():
			return
		}
		backoff = min(backoff*2, j.opts.MaxBackoff)
	}
}

// applyOne makes one attempt at e. A rejected event is set aside and counts as
// applied.
func (j *Journal) applyOne(e Entry) error {
	ctx, cancel := context.WithTimeout(j.applyCtx, j.opts.ApplyTimeout)
	err := j.opts.Apply(ctx, e)
	cancel()
	if !errors.Is(err, ErrRejected) {
		return err
	}

	j.log.Error("journal: event rejected for good; set aside in "+rejectedName,
		"event_id", e.ID, "kind", e.Kind, "err", err)
	return j.setAside(e, err)
}

// head returns the oldest pending event.
func (j *Journal) head() (Entry, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.pending) == 0 {
		return Entry{}, false
	}
	return j.pending[0], true
}

// markApplied removes e, the head, from the pending events.
func (j *Journal) markApplied(e Entry) {
	j.mu.Lock()
	j.pending = j.pending[1:]
	if len(j.pending) == 0 {
		j.pending = nil // let the backing array go
	}
	j.applied = e.Seq
	j.mu.Unlock()

	j.sinceMarker++
	if j.sinceMarker >= checkpointEvery {
		j.checkpoint()
	}
}

// checkpoint records progress in the marker and deletes the segments that
// hold only applied events. Failures are logged: they cost a longer replay or
// some disk space, never an event.
func (j *Journal) checkpoint() {
	j.mu.Lock()
	applied := j.applied
	var drop []string
	keep := j.segments[:0]
	for _, s := range j.segments {
		if s.path != j.active && s.last <= applied {
			drop = append(drop, s.path)
			continue
		}
		keep = append(keep, s)
	}
	j.segments = keep
	j.mu.Unlock()

	if applied > j.markerSeq {
		if err := j.writeMarker(applied); err != nil {
			j.log.Warn("journal: unable to record progress", "err", err)
		} else {
			j.markerSeq, j.sinceMarker = applied, 0
		}
	}
	for _, path := range drop {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			j.log.Warn("journal: unable to delete an applied segment", "path", path, "err", err)
		}
	}
}

// marker is the content of applied.json.
type marker struct {
	AppliedSeq uint64 `json:"applied_seq"`
}

// writeMarker replaces the marker atomically. The directory is not fsynced:
// if the rename is lost in a crash, the older marker only makes the next
// start replay events that the destination recognizes by id.
func (j *Journal) writeMarker(seq uint64) error {
	b, err := json.Marshal(marker{AppliedSeq: seq})
	if err != nil {
		return err
	}

	path := filepath.Join(j.dir, markerName)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("journal: unable to write the marker: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("journal: unable to write the marker: %w", err)
	}
	return nil
}

// readMarker returns the seq of applied.json, 0 when there is none. A damaged
// marker also reads as 0: replaying applied events is safe, skipping
// unapplied ones is not.
func (j *Journal) readMarker() (uint64, error) {
	path := filepath.Join(j.dir, markerName)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("journal: unable to read the marker: %w", err)
	}

	var m marker
	if err := json.Unmarshal(b, &m); err != nil {
		j.log.Warn("journal: damaged marker; replaying every event on disk",
			"path", path, "err", err)
		return 0, nil
	}
	return m.AppliedSeq, nil
}

// rejection is a line of rejected.jsonl.
type rejection struct {
	Seq        uint64          `json:"seq"`
	ID         string          `json:"id"`
	Kind       string          `json:"kind"`
	At         time.Time       `json:"at"`
	Data       json.RawMessage `json:"data"`
	Error      string          `json:"error"`
	RejectedAt time.Time       `json:"rejected_at"`
}

// setAside appends a rejected event to rejected.jsonl, durably, so that a
// human can look at it and nothing disappears silently.
func (j *Journal) setAside(e Entry, cause error) error {
	b, err := json.Marshal(rejection{Seq: e.Seq, ID: e.ID, Kind: e.Kind, At: e.At,
		Data: e.Data, Error: cause.Error(), RejectedAt: j.opts.Now().UTC()})
	if err != nil {
		return fmt.Errorf("journal: unable to set event %s aside: %w", e.ID, err)
	}

	path := filepath.Join(j.dir, rejectedName)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("journal: unable to set event %s aside: %w", e.ID, err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("journal: unable to set event %s aside: %w", e.ID, err)
	}
	return nil
}
