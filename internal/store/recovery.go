package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// InterruptedEndReason marks the call logs a stopped or crashed server left
// unfinished.
const InterruptedEndReason = "server_restart"

// CloseInterruptedCallLogs finishes, at start-up, the call-log rows that a
// crashed server left open and that no call can take up again: pending rings
// become abandoned, and accepted calls without both reconnect-token hashes
// (nobody could resume them) completed, both with reason server_restart. A
// call's duration runs to at, the restart, since the moment it really ended
// is not known. Accepted calls with both hashes are left for the live state
// to reload (SPEC §9, ResumableCallLogs). It returns how many rows it closed.
func (s *Store) CloseInterruptedCallLogs(ctx context.Context, at time.Time) (int64, error) {
	var closed int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE call_logs
			SET status = ?, end_reason = ?
			WHERE status = ?`, CallAbandoned, InterruptedEndReason, CallPending)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		closed += n

		end := formatTime(at)
		res, err = tx.ExecContext(ctx, `UPDATE call_logs
			SET status = ?, end_reason = ?, ended_by = ?, ended_at = ?,
				duration_seconds = MAX(0, CAST(ROUND(
					(julianday(?) - julianday(started_at)) * 86400) AS INTEGER))
			WHERE status = ? AND (visitor_token_hash IS NULL OR agent_token_hash IS NULL)`,
			CallCompleted, InterruptedEndReason, EndedBySystem, end, end, CallAccepted)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		closed += n
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: unable to close interrupted call logs: %w", classify(err))
	}
	return closed, nil
}

// ResumableCallLogs returns every accepted call-log row that holds both
// reconnect-token hashes: the calls a previous run left active, which a
// restart reloads as reconnecting (SPEC §9).
func (s *Store) ResumableCallLogs(ctx context.Context) ([]CallLog, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+callLogColumns+` FROM call_logs
		WHERE status = ? AND visitor_token_hash IS NOT NULL AND agent_token_hash IS NOT NULL
		ORDER BY created_at, id`, CallAccepted)
	return collect(rows, err, "load active calls", scanCallLog)
}
