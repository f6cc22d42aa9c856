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
// crashed server left open: pending rings become abandoned, accepted calls
// completed, both with reason server_restart. A call's duration runs to at,
// the restart, since the moment it really ended is not known. It returns how
// many rows it closed. Live state is empty at start-up, so no row it touches
// belongs to a ring or call that is still going on.
//
// TODO: with call continuity (SPEC §9) accepted calls are reloaded as
// reconnecting instead, and closed only when nobody comes back.
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
			WHERE status = ?`,
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
