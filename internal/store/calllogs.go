package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"greeter/internal/ids"
)

// Call-log statuses (SPEC §10.1): pending, then accepted and completed, or
// pending ending as rejected, missed, cancelled or abandoned.
const (
	CallPending   = "pending"
	CallAccepted  = "accepted"
	CallCompleted = "completed"
	CallRejected  = "rejected"
	CallMissed    = "missed"
	CallCancelled = "cancelled"
	CallAbandoned = "abandoned"
)

// Who ended a call.
const (
	EndedByAgent   = "agent"
	EndedByVisitor = "visitor"
	EndedBySystem  = "system"
	EndedByAdmin   = "admin"
	EndedByAPI     = "api"
)

// DefaultCallLogLimit is how many rows ListCallLogs returns when asked for none
// in particular; MaxCallLogLimit is the most it returns at once.
const (
	DefaultCallLogLimit = 50
	MaxCallLogLimit     = 1000
)

// CallLog is the record of one ring attempt and, once accepted, of its call.
// Empty strings and nil pointers are stored as NULL.
type CallLog struct {
	ID                ids.CallLogID
	OrgID             ids.OrgID
	RequestID         ids.RequestID
	SiteID            ids.SiteID
	PoolID            ids.PoolID
	AgentID           ids.AgentID // "" when nobody was rung
	VisitorID         ids.VisitorID
	Status            string // one of the Call* constants
	EndReason         string
	EndedBy           string // one of the EndedBy* constants, or ""
	PageURL           string
	VisitorCountry    string
	VisitorRegion     string
	VisitorCity       string
	RingStartedAt     *time.Time
	AnsweredAt        *time.Time
	AnswerSeconds     *int
	StartedAt         *time.Time
	EndedAt           *time.Time
	DurationSeconds   *int
	DispositionID     string
	DispositionAt     *time.Time
	RecordingID       string
	RecordingStatus   string
	RecordingNoticeAt *time.Time
	CreatedAt         time.Time

	// While the row is accepted: the live call's id and the hex SHA-256 of
	// each party's current reconnect token, for reloading the call after a
	// restart (SPEC §9). Never shown in an API answer.
	CallID           ids.CallID `json:"-"`
	VisitorTokenHash string     `json:"-"`
	AgentTokenHash   string     `json:"-"`
}

// CallLogFilter narrows ListCallLogs and CountCallLogs.
type CallLogFilter struct {
	AgentID ids.AgentID // only this agent's rows when set
	Limit   int         // DefaultCallLogLimit when 0, at most MaxCallLogLimit
	Offset  int
}

const callLogColumns = `id, org_id, request_id, site_id, pool_id, agent_id, visitor_id,
	status, end_reason, ended_by, page_url, visitor_country, visitor_region, visitor_city,
	ring_started_at, answered_at, answer_seconds, started_at, ended_at, duration_seconds,
	disposition_id, disposition_at, recording_id, recording_status, recording_notice_at,
	created_at, call_id, visitor_token_hash, agent_token_hash`

// callLogMutable are the columns a later snapshot of a row may change. The
// identity of a ring attempt (org, request, site, visitor, creation) is fixed.
var callLogMutable = []string{
	"pool_id", "agent_id", "status", "end_reason", "ended_by", "page_url",
	"visitor_country", "visitor_region", "visitor_city", "ring_started_at", "answered_at",
	"answer_seconds", "started_at", "ended_at", "duration_seconds", "disposition_id",
	"disposition_at", "recording_id", "recording_status", "recording_notice_at",
	"call_id", "visitor_token_hash", "agent_token_hash",
}

// statusRank orders statuses so that an older snapshot never moves a row
// back: pending, then accepted, then any final status.
const statusRank = `CASE %s WHEN 'pending' THEN 0 WHEN 'accepted' THEN 1 ELSE 2 END`

var saveCallLogSQL = buildSaveCallLogSQL()

func buildSaveCallLogSQL() string {
	sets := make([]string, len(callLogMutable))
	for i, c := range callLogMutable {
		sets[i] = c + " = excluded." + c
	}
	placeholders := strings.Repeat("?, ", strings.Count(callLogColumns, ",")) + "?"

	return `INSERT INTO call_logs (` + callLogColumns + `) VALUES (` + placeholders + `)
		ON CONFLICT (id) DO UPDATE SET ` + strings.Join(sets, ", ") + `
		WHERE call_logs.org_id = excluded.org_id
			AND ` + fmt.Sprintf(statusRank, "excluded.status") + ` >= ` +
		fmt.Sprintf(statusRank, "call_logs.status")
}

// SaveCallLog writes the whole row, inserting or replacing it by id. Saving the
// same snapshot again is harmless, and so is saving an older one: a row never
// goes back from accepted to pending or from a final status to an open one.
// A row id already used by another organization is ErrConflict.
func (s *Store) SaveCallLog(ctx context.Context, l CallLog) error {
	if l.CreatedAt.IsZero() {
		l.CreatedAt = time.Now().UTC()
	}

	res, err := s.db.ExecContext(ctx, saveCallLogSQL, callLogArgs(l)...)
	if err != nil {
		return fmt.Errorf("store: unable to save call log %s: %w", l.ID, classify(err))
	}

	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: unable to save call log %s: %w", l.ID, err)
	}
	if n > 0 {
		return nil
	}

	// Nothing changed: either a stale snapshot (fine) or another org's id.
	var owner ids.OrgID
	err = s.db.QueryRowContext(ctx, `SELECT org_id FROM call_logs WHERE id = ?`, l.ID).Scan(&owner)
	if err != nil {
		return fmt.Errorf("store: unable to save call log %s: %w", l.ID, err)
	}
	if owner != l.OrgID {
		return fmt.Errorf("store: unable to save call log %s: %w", l.ID, ErrConflict)
	}
	return nil
}

// CallLog returns one call log of the organization.
func (s *Store) CallLog(ctx context.Context, orgID ids.OrgID, id ids.CallLogID) (CallLog, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+callLogColumns+` FROM call_logs
		WHERE id = ? AND org_id = ?`, id, orgID)
	l, err := scanCallLog(row)
	if err != nil {
		return CallLog{}, fmt.Errorf("store: unable to load call log: %w", notFoundIfNoRows(err))
	}
	return l, nil
}

// ListCallLogs returns the organization's call logs matching f, newest first.
func (s *Store) ListCallLogs(
	ctx context.Context, orgID ids.OrgID, f CallLogFilter,
) ([]CallLog, error) {
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = DefaultCallLogLimit
	case limit > MaxCallLogLimit:
		limit = MaxCallLogLimit
	}

	where, args := callLogWhere(orgID, f)
	rows, err := s.db.QueryContext(ctx, `SELECT `+callLogColumns+` FROM call_logs
		WHERE `+where+` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
		append(args, limit, max(f.Offset, 0))...)
	return collect(rows, err, "list call logs", scanCallLog)
}

// CountCallLogs returns how many of the organization's call logs match f,
// ignoring its limit and offset.
func (s *Store) CountCallLogs(ctx context.Context, orgID ids.OrgID, f CallLogFilter) (int, error) {
	where, args := callLogWhere(orgID, f)

	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM call_logs WHERE `+where, args...).
		Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: unable to count call logs: %w", err)
	}
	return n, nil
}

func callLogWhere(orgID ids.OrgID, f CallLogFilter) (string, []any) {
	where, args := "org_id = ?", []any{orgID}
	if f.AgentID != "" {
		where += " AND agent_id = ?"
		args = append(args, f.AgentID)
	}
	return where, args
}

func scanCallLog(row scanner) (CallLog, error) {
	var l CallLog
	err := row.Scan(&l.ID, &l.OrgID, &l.RequestID, &l.SiteID, &l.PoolID,
		nullStringCol[ids.AgentID]{&l.AgentID}, &l.VisitorID, &l.Status,
		nullStringCol[string]{&l.EndReason}, nullStringCol[string]{&l.EndedBy}, &l.PageURL,
		nullStringCol[string]{&l.VisitorCountry}, nullStringCol[string]{&l.VisitorRegion},
		nullStringCol[string]{&l.VisitorCity}, nullTimeCol{&l.RingStartedAt},
		nullTimeCol{&l.AnsweredAt}, nullIntCol{&l.AnswerSeconds}, nullTimeCol{&l.StartedAt},
		nullTimeCol{&l.EndedAt}, nullIntCol{&l.DurationSeconds},
		nullStringCol[string]{&l.DispositionID}, nullTimeCol{&l.DispositionAt},
		nullStringCol[string]{&l.RecordingID}, nullStringCol[string]{&l.RecordingStatus},
		nullTimeCol{&l.RecordingNoticeAt}, timeCol{&l.CreatedAt},
		nullStringCol[ids.CallID]{&l.CallID}, nullStringCol[string]{&l.VisitorTokenHash},
		nullStringCol[string]{&l.AgentTokenHash})
	return l, err
}
