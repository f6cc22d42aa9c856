package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"greeter/internal/ids"
)

// Reasons an agent session ends (SPEC §10.2).
const (
	SessionLogout        = "logout"
	SessionDisconnect    = "disconnect"
	SessionRemoved       = "removed"
	SessionReplaced      = "replaced"
	SessionServerRestart = "server_restart"
)

// AgentSession is one connection lifetime of an agent, with its time split
// by status. EndedAt and EndedReason are both empty while it is open.
type AgentSession struct {
	ID                  string
	OrgID               ids.OrgID
	AgentID             ids.AgentID
	StartedAt           time.Time
	EndedAt             *time.Time
	EndedReason         string
	AwaySeconds         int
	IdleSeconds         int
	BroadcastingSeconds int
	InCallSeconds       int
}

// StatusChange is one presence transition of an agent (SPEC §6.2), with its
// session as it stood right after it.
type StatusChange struct {
	ID      string
	Session AgentSession
	From    string
	To      string
	Reason  string
	At      time.Time
}

// ApplyStatusChangeEvent records a status change from the durable write queue,
// once per event id (see ApplyCallLogEvent): it inserts the change and writes
// the session's snapshot over the stored one. An ended session keeps its end;
// a session id of another organization is refused with ErrConflict.
func (s *Store) ApplyStatusChangeEvent(ctx context.Context, eventID string, c StatusChange) error {
	return s.applyEvent(ctx, eventID, func(tx *sql.Tx) error {
		if err := saveAgentSessionIn(ctx, tx, c.Session); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO agent_status_changes
			(id, session_id, org_id, agent_id, from_status, to_status, reason, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			c.ID, c.Session.ID, c.Session.OrgID, c.Session.AgentID, c.From, c.To, c.Reason,
			formatTime(c.At))
		return err
	})
}

// saveAgentSessionIn inserts a session snapshot or writes it over the open
// session of the same id.
func saveAgentSessionIn(ctx context.Context, tx *sql.Tx, a AgentSession) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO agent_sessions
		(id, org_id, agent_id, started_at, ended_at, ended_reason,
			away_seconds, idle_seconds, broadcasting_seconds, in_call_seconds)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
			ended_at = excluded.ended_at, ended_reason = excluded.ended_reason,
			away_seconds = excluded.away_seconds, idle_seconds = excluded.idle_seconds,
			broadcasting_seconds = excluded.broadcasting_seconds,
			in_call_seconds = excluded.in_call_seconds
		WHERE agent_sessions.org_id = excluded.org_id AND agent_sessions.ended_at IS NULL`,
		a.ID, a.OrgID, a.AgentID, formatTime(a.StartedAt), nullTime(a.EndedAt),
		nullString(a.EndedReason), a.AwaySeconds, a.IdleSeconds, a.BroadcastingSeconds,
		a.InCallSeconds)
	if err != nil {
		return fmt.Errorf("save agent session %s: %w", a.ID, err)
	}

	n, err := res.RowsAffected()
	if err != nil || n > 0 {
		return err
	}
	// Nothing changed: the session had ended already (fine), or it is
	// another organization's.
	var owner ids.OrgID
	err = tx.QueryRowContext(ctx, `SELECT org_id FROM agent_sessions WHERE id = ?`, a.ID).
		Scan(&owner)
	if err != nil {
		return err
	}
	if owner != a.OrgID {
		return fmt.Errorf("agent session %s belongs to another organization: %w", a.ID, ErrConflict)
	}
	return nil
}

const agentSessionColumns = `id, org_id, agent_id, started_at, ended_at, ended_reason,
	away_seconds, idle_seconds, broadcasting_seconds, in_call_seconds`

// AgentSessions returns the sessions of an agent of org that started in
// [from, to), oldest first.
func (s *Store) AgentSessions(ctx context.Context, orgID ids.OrgID, agentID ids.AgentID,
	from, to time.Time) ([]AgentSession, error) {

	rows, err := s.db.QueryContext(ctx, `SELECT `+agentSessionColumns+` FROM agent_sessions
		WHERE org_id = ? AND agent_id = ? AND started_at >= ? AND started_at < ?
		ORDER BY started_at, id`, orgID, agentID, formatTime(from), formatTime(to))
	return collect(rows, err, "list agent sessions", scanAgentSession)
}

func scanAgentSession(r scanner) (AgentSession, error) {
	var a AgentSession
	err := r.Scan(&a.ID, &a.OrgID, &a.AgentID, timeCol{&a.StartedAt}, nullTimeCol{&a.EndedAt},
		nullStringCol[string]{&a.EndedReason}, &a.AwaySeconds, &a.IdleSeconds,
		&a.BroadcastingSeconds, &a.InCallSeconds)
	return a, err
}

// AgentStatusChanges returns the status changes of an agent of org made in
// [from, to), in the order they happened. Each carries only its session's
// id, org and agent.
func (s *Store) AgentStatusChanges(ctx context.Context, orgID ids.OrgID, agentID ids.AgentID,
	from, to time.Time) ([]StatusChange, error) {

	rows, err := s.db.QueryContext(ctx, `SELECT id, session_id, org_id, agent_id,
			from_status, to_status, reason, at
		FROM agent_status_changes
		WHERE org_id = ? AND agent_id = ? AND at >= ? AND at < ?
		ORDER BY at, rowid`, orgID, agentID, formatTime(from), formatTime(to))
	return collect(rows, err, "list agent status changes", func(r scanner) (StatusChange, error) {
		var c StatusChange
		err := r.Scan(&c.ID, &c.Session.ID, &c.Session.OrgID, &c.Session.AgentID, &c.From, &c.To,
			&c.Reason, timeCol{&c.At})
		return c, err
	})
}

// CloseInterruptedAgentSessions ends, at start-up, the sessions a crashed
// server left open, with reason server_restart at the time of the last
// status change each recorded (the last moment known to be true), or at its
// start. It returns how many sessions it closed. Live state is empty at
// start-up, so none of them is still going on.
func (s *Store) CloseInterruptedAgentSessions(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE agent_sessions
		SET ended_reason = ?, ended_at = COALESCE(
			(SELECT max(at) FROM agent_status_changes c WHERE c.session_id = agent_sessions.id),
			started_at)
		WHERE ended_at IS NULL`, SessionServerRestart)
	if err != nil {
		return 0, fmt.Errorf("store: unable to close interrupted agent sessions: %w", classify(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: unable to close interrupted agent sessions: %w", err)
	}
	return n, nil
}
