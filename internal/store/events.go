package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"greeter/internal/ids"
)

// ApplyCallLogEvent saves a call-log snapshot that comes from the durable
// write queue (SPEC §10.4). In one transaction it records eventID in
// applied_events and writes the row exactly as SaveCallLog does; an event
// whose id is already recorded changes nothing and returns nil, so replaying
// the queue after a crash applies each event once.
func (s *Store) ApplyCallLogEvent(ctx context.Context, eventID string, l CallLog) error {
	if l.CreatedAt.IsZero() {
		l.CreatedAt = time.Now().UTC()
	}
	return s.applyEvent(ctx, eventID, func(tx *sql.Tx) error {
		return saveCallLogIn(ctx, tx, l)
	})
}

// PruneAppliedEvents forgets the ids of events applied before the given time.
// Replays only ever concern recent events, so old ids are dead weight.
func (s *Store) PruneAppliedEvents(ctx context.Context, before time.Time) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM applied_events WHERE applied_at < ?`,
		formatTime(before))
	if err != nil {
		return fmt.Errorf("store: unable to prune applied events: %w", err)
	}
	return nil
}

// recordAppliedEvent inserts eventID into applied_events and reports whether
// it was new.
func recordAppliedEvent(ctx context.Context, tx *sql.Tx, eventID string) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO applied_events (id, applied_at) VALUES (?, ?)
		ON CONFLICT (id) DO NOTHING`, eventID, formatTime(time.Now()))
	if err != nil {
		return false, err
	}

	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// saveCallLogIn is SaveCallLog inside a transaction: the same statement (from
// buildSaveCallLogSQL), the same refusal of another organization's row id.
func saveCallLogIn(ctx context.Context, tx *sql.Tx, l CallLog) error {
	res, err := tx.ExecContext(ctx, saveCallLogSQL, callLogArgs(l)...)
	if err != nil {
		return fmt.Errorf("save call log %s: %w", l.ID, err)
	}

	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}

	// Nothing changed: either a stale snapshot (fine) or another org's id.
	var owner ids.OrgID
	err = tx.QueryRowContext(ctx, `SELECT org_id FROM call_logs WHERE id = ?`, l.ID).Scan(&owner)
	if err != nil {
		return err
	}
	if owner != l.OrgID {
		return fmt.Errorf("call log %s belongs to another organization: %w", l.ID, ErrConflict)
	}
	return nil
}

// callLogArgs returns the values of saveCallLogSQL's placeholders, in the
// order of callLogColumns.
//
// TODO: SaveCallLog lists the same values inline; it could call this helper so
// that a new column is added in one place.
func callLogArgs(l CallLog) []any {
	return []any{
		l.ID, l.OrgID, l.RequestID, l.SiteID, l.PoolID, nullString(string(l.AgentID)),
		l.VisitorID, l.Status, nullString(l.EndReason), nullString(l.EndedBy), l.PageURL,
		nullString(l.VisitorCountry), nullString(l.VisitorRegion), nullString(l.VisitorCity),
		nullTime(l.RingStartedAt), nullTime(l.AnsweredAt), nullInt(l.AnswerSeconds),
		nullTime(l.StartedAt), nullTime(l.EndedAt), nullInt(l.DurationSeconds),
		nullString(l.DispositionID), nullTime(l.DispositionAt), nullString(l.RecordingID),
		nullString(l.RecordingStatus), nullTime(l.RecordingNoticeAt), formatTime(l.CreatedAt),
		nullString(string(l.CallID)), nullString(l.VisitorTokenHash), nullString(l.AgentTokenHash),
	}
}
