package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"greeter/internal/ids"
)

// Pageview is one visitor page load that lasted the trigger delay (SPEC
// §10.3). AgentID is empty for a missed opportunity.
type Pageview struct {
	ID        string
	OrgID     ids.OrgID
	SiteID    ids.SiteID
	PoolID    ids.PoolID
	VisitorID ids.VisitorID
	AgentID   ids.AgentID
	PageURL   string
	At        time.Time
}

// PresenceIntent is an agent's last manual choice of live or away.
type PresenceIntent struct {
	OrgID   ids.OrgID
	AgentID ids.AgentID
	Intent  string
	At      time.Time
}

// ApplyPageviewEvent inserts a pageview from the durable write queue, once
// per event id (see ApplyCallLogEvent).
func (s *Store) ApplyPageviewEvent(ctx context.Context, eventID string, p Pageview) error {
	return s.applyEvent(ctx, eventID, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO pageviews
			(id, org_id, site_id, pool_id, visitor_id, agent_id, page_url, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			p.ID, p.OrgID, p.SiteID, p.PoolID, p.VisitorID, nullString(string(p.AgentID)),
			p.PageURL, formatTime(p.At))
		return err
	})
}

// ApplyPresenceIntentEvent records an agent's presence intent from the
// durable write queue. An agent removed in the meantime is no error: there
// is nothing left to restore.
func (s *Store) ApplyPresenceIntentEvent(
	ctx context.Context, eventID string, i PresenceIntent,
) error {
	return s.applyEvent(ctx, eventID, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE agent_profiles SET presence_intent = ?
			WHERE id = ? AND org_id = ?`, i.Intent, i.AgentID, i.OrgID)
		return err
	})
}

// applyEvent runs apply and records eventID in one transaction; an event
// already recorded changes nothing.
func (s *Store) applyEvent(ctx context.Context, eventID string, apply func(*sql.Tx) error) error {
	if eventID == "" {
		return fmt.Errorf("store: unable to apply an event without an id: %w", ErrInvalid)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		fresh, err := recordAppliedEvent(ctx, tx, eventID)
		if err != nil || !fresh {
			return err
		}
		return apply(tx)
	})
	if err != nil {
		return fmt.Errorf("store: unable to apply event %s: %w", eventID, classify(err))
	}
	return nil
}

// PageviewCounts returns how many pageviews of org fall in [from, to) and
// how many of them had an agent.
func (s *Store) PageviewCounts(ctx context.Context, orgID ids.OrgID, from, to time.Time) (
	total, covered int, err error) {

	err = s.db.QueryRowContext(ctx, `SELECT count(*), count(agent_id) FROM pageviews
		WHERE org_id = ? AND at >= ? AND at < ?`, orgID, formatTime(from), formatTime(to)).
		Scan(&total, &covered)
	if err != nil {
		return 0, 0, fmt.Errorf("store: unable to count pageviews: %w", err)
	}
	return total, covered, nil
}
