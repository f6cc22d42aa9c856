package store

import (
	"context"
	"database/sql"
	"fmt"

	"greeter/internal/ids"
)

// Disposition is an outcome an agent can set on a completed call.
type Disposition struct {
	ID       string
	OrgID    ids.OrgID
	Name     string
	Color    string   // #RRGGBB
	Value    *float64 // optional worth of the outcome, >= 0
	Position int      // display order, ascending
	Active   bool
}

// ListDispositions returns all of the organization's dispositions, active or
// not, in display order.
func (s *Store) ListDispositions(ctx context.Context, orgID ids.OrgID) ([]Disposition, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, org_id, name, color, value, position, active
		FROM dispositions WHERE org_id = ? ORDER BY position, name`, orgID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list dispositions: %w", err)
	}
	defer rows.Close()

	var list []Disposition
	for rows.Next() {
		var (
			d     Disposition
			value sql.NullFloat64
		)
		err := rows.Scan(&d.ID, &d.OrgID, &d.Name, &d.Color, &value, &d.Position, &d.Active)
		if err != nil {
			return nil, fmt.Errorf("store: unable to list dispositions: %w", err)
		}
		if value.Valid {
			d.Value = &value.Float64
		}
		list = append(list, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unable to list dispositions: %w", err)
	}
	return list, nil
}
