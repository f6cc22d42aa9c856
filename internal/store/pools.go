package store

import (
	"context"
	"fmt"
	"time"

	"greeter/internal/ids"
)

// Pool is a group of agents that visitors are routed to.
type Pool struct {
	ID                 ids.PoolID
	OrgID              ids.OrgID
	Name               string
	Description        string
	IsCatchAll         bool
	OverflowToCatchAll bool
	CreatedAt          time.Time
}

// PoolMember places an agent in a pool at a tier. Its videos, when set,
// replace the agent's own for visitors routed through this pool.
type PoolMember struct {
	PoolID       ids.PoolID
	AgentID      ids.AgentID
	PriorityRank int // 1 Primary, 2 Standard, 3 Backup, up to 99
	WaveVideo    string
	IntroVideo   string
	LoopVideo    string
}

const poolColumns = `id, org_id, name, description, is_catch_all, overflow_to_catch_all,
	created_at`

// CatchAllPool returns the organization's catch-all pool.
func (s *Store) CatchAllPool(ctx context.Context, orgID ids.OrgID) (Pool, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+poolColumns+` FROM pools
		WHERE org_id = ? AND is_catch_all = 1`, orgID)
	p, err := scanPool(row)
	if err != nil {
		return Pool{}, fmt.Errorf("store: unable to load catch-all pool: %w",
			notFoundIfNoRows(err))
	}
	return p, nil
}

// ListPools returns the organization's pools, the catch-all first, then by
// name.
func (s *Store) ListPools(ctx context.Context, orgID ids.OrgID) ([]Pool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+poolColumns+` FROM pools
		WHERE org_id = ? ORDER BY is_catch_all DESC, name, id`, orgID)
	return collect(rows, err, "list pools", scanPool)
}

// PoolMembers returns the members of one of the organization's pools by tier.
// A pool of another organization has no members.
func (s *Store) PoolMembers(
	ctx context.Context, orgID ids.OrgID, poolID ids.PoolID,
) ([]PoolMember, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT m.pool_id, m.agent_id, m.priority_rank,
			m.wave_video, m.intro_video, m.loop_video
		FROM pool_members m JOIN pools p ON p.id = m.pool_id
		WHERE m.pool_id = ? AND p.org_id = ?
		ORDER BY m.priority_rank, m.agent_id`, poolID, orgID)
	return collect(rows, err, "list pool members", scanPoolMember)
}

func scanPool(row scanner) (Pool, error) {
	var p Pool
	err := row.Scan(&p.ID, &p.OrgID, &p.Name, &p.Description, &p.IsCatchAll,
		&p.OverflowToCatchAll, timeCol{&p.CreatedAt})
	return p, err
}
