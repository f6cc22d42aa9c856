package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"greeter/internal/ids"
)

// Pool and membership errors. Returned errors wrap them.
var (
	// ErrCatchAll means the change is not allowed on the catch-all pool: it
	// cannot be deleted, takes no rules and has nowhere to overflow to.
	ErrCatchAll = errors.New("store: not allowed on the catch-all pool")
	// ErrAgentNotFound means the agent profile is unknown, removed or of
	// another organization. It wraps ErrNotFound.
	ErrAgentNotFound = fmt.Errorf("%w: no such active agent", ErrNotFound)
)

// Tiers of a pool member (SPEC §3.1); the UI names 1 Primary, 2 Standard
// and 3 Backup.
const (
	MinPriorityRank = 1
	MaxPriorityRank = 99
)

// NewPool is what it takes to create a pool. A zero CreatedAt means now.
type NewPool struct {
	OrgID              ids.OrgID
	Name               string
	Description        string
	OverflowToCatchAll bool
	CreatedAt          time.Time
}

// PoolChanges is an edit of a pool; nil fields stay as they are.
type PoolChanges struct {
	Name               *string
	Description        *string
	OverflowToCatchAll *bool
}

// CreatePool creates a pool of the organization. A name that another pool
// of the organization has, in any letter case, is ErrConflict.
func (s *Store) CreatePool(ctx context.Context, n NewPool) (Pool, error) {
	p := Pool{
		ID:                 ids.PoolID(ids.NewRow()),
		OrgID:              n.OrgID,
		Name:               strings.TrimSpace(n.Name),
		Description:        strings.TrimSpace(n.Description),
		OverflowToCatchAll: n.OverflowToCatchAll,
		CreatedAt:          n.CreatedAt.UTC(),
	}
	if n.CreatedAt.IsZero() {
		p.CreatedAt = time.Now().UTC()
	}

	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := requireFreePoolName(ctx, tx, p); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO pools (`+poolColumns+`)
			VALUES (?, ?, ?, ?, 0, ?, ?)`,
			p.ID, p.OrgID, p.Name, p.Description, p.OverflowToCatchAll, formatTime(p.CreatedAt))
		return err
	})
	if err != nil {
		return Pool{}, fmt.Errorf("store: unable to create pool: %w", classify(err))
	}
	return p, nil
}

// UpdatePool renames or describes a pool, or switches its overflow. The
// catch-all pool may be renamed and described; turning its overflow on is
// ErrCatchAll. A duplicate name is ErrConflict.
func (s *Store) UpdatePool(
	ctx context.Context, orgID ids.OrgID, poolID ids.PoolID, c PoolChanges,
) (Pool, error) {
	var p Pool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if p, err = poolInTx(ctx, tx, orgID, poolID); err != nil {
			return err
		}
		if c.Name != nil {
			p.Name = strings.TrimSpace(*c.Name)
		}
		if c.Description != nil {
			p.Description = strings.TrimSpace(*c.Description)
		}
		if c.OverflowToCatchAll != nil {
			p.OverflowToCatchAll = *c.OverflowToCatchAll
		}
		if p.IsCatchAll && p.OverflowToCatchAll {
			return ErrCatchAll
		}
		if err := requireFreePoolName(ctx, tx, p); err != nil {
			return err
		}

		_, err = tx.ExecContext(ctx, `UPDATE pools
			SET name = ?, description = ?, overflow_to_catch_all = ?
			WHERE id = ? AND org_id = ?`,
			p.Name, p.Description, p.OverflowToCatchAll, p.ID, orgID)
		return err
	})
	if err != nil {
		return Pool{}, fmt.Errorf("store: unable to update pool: %w", classify(err))
	}
	return p, nil
}

// DeletePool deletes a pool with its rules and memberships, in one
// transaction. The catch-all pool is ErrCatchAll.
func (s *Store) DeletePool(ctx context.Context, orgID ids.OrgID, poolID ids.PoolID) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		p, err := poolInTx(ctx, tx, orgID, poolID)
		if err != nil {
			return err
		}
		if p.IsCatchAll {
			return ErrCatchAll
		}

		// The foreign keys of routing_rules and pool_members cascade.
		_, err = tx.ExecContext(ctx, `DELETE FROM pools WHERE id = ? AND org_id = ?`,
			poolID, orgID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: unable to delete pool: %w", classify(err))
	}
	return nil
}

// SetPoolMember puts an active agent of the organization in one of its
// pools at a tier, or moves it to that tier when it is a member already;
// the member's videos stay. An unknown pool is ErrNotFound, an unknown or
// removed agent ErrAgentNotFound, a rank outside 1–99 ErrInvalid.
func (s *Store) SetPoolMember(
	ctx context.Context, orgID ids.OrgID, poolID ids.PoolID, agentID ids.AgentID, rank int,
) (PoolMember, error) {
	if rank < MinPriorityRank || rank > MaxPriorityRank {
		return PoolMember{}, fmt.Errorf("store: unable to set pool member: %w: rank %d",
			ErrInvalid, rank)
	}

	var m PoolMember
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := poolInTx(ctx, tx, orgID, poolID); err != nil {
			return err
		}
		a, err := agentInTx(ctx, tx, orgID, agentID)
		if errors.Is(err, ErrNotFound) || (err == nil && !a.Active) {
			return ErrAgentNotFound
		}
		if err != nil {
			return err
		}

		_, err = tx.ExecContext(ctx, `INSERT INTO pool_members (pool_id, agent_id, priority_rank)
			VALUES (?, ?, ?)
			ON CONFLICT (pool_id, agent_id) DO UPDATE SET priority_rank = excluded.priority_rank`,
			poolID, agentID, rank)
		if err != nil {
			return err
		}
		m, err = scanPoolMember(tx.QueryRowContext(ctx, `SELECT `+memberColumns+`
			FROM pool_members WHERE pool_id = ? AND agent_id = ?`, poolID, agentID))
		return err
	})
	if err != nil {
		return PoolMember{}, fmt.Errorf("store: unable to set pool member: %w", classify(err))
	}
	return m, nil
}

// RemovePoolMember takes an agent out of one of the organization's pools.
// An agent that is not a member, or a pool of another organization, is
// ErrNotFound.
func (s *Store) RemovePoolMember(
	ctx context.Context, orgID ids.OrgID, poolID ids.PoolID, agentID ids.AgentID,
) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM pool_members
		WHERE pool_id = ? AND agent_id = ?
			AND pool_id IN (SELECT id FROM pools WHERE org_id = ?)`, poolID, agentID, orgID)
	if err == nil {
		err = mustAffectOne(res)
	}
	if err != nil {
		return fmt.Errorf("store: unable to remove pool member: %w", err)
	}
	return nil
}

// ListPoolMembers returns the members of all of the organization's pools,
// by pool, then tier, then agent.
func (s *Store) ListPoolMembers(ctx context.Context, orgID ids.OrgID) ([]PoolMember, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT m.pool_id, m.agent_id, m.priority_rank,
			m.wave_video, m.intro_video, m.loop_video
		FROM pool_members m JOIN pools p ON p.id = m.pool_id
		WHERE p.org_id = ?
		ORDER BY m.pool_id, m.priority_rank, m.agent_id`, orgID)
	return collect(rows, err, "list pool members", scanPoolMember)
}

const memberColumns = `pool_id, agent_id, priority_rank, wave_video, intro_video, loop_video`

func scanPoolMember(row scanner) (PoolMember, error) {
	var m PoolMember
	err := row.Scan(&m.PoolID, &m.AgentID, &m.PriorityRank,
		&m.WaveVideo, &m.IntroVideo, &m.LoopVideo)
	return m, err
}

// poolInTx loads a pool of the organization, or ErrNotFound.
func poolInTx(ctx context.Context, tx *sql.Tx, orgID ids.OrgID, id ids.PoolID) (Pool, error) {
	p, err := scanPool(tx.QueryRowContext(ctx, `SELECT `+poolColumns+` FROM pools
		WHERE id = ? AND org_id = ?`, id, orgID))
	return p, notFoundIfNoRows(err)
}

// requireFreePoolName is ErrConflict when another pool of p's organization
// has p's name. The schema's unique key is case-sensitive; admins read
// "Sales" and "sales" as the same pool, so this check is not.
func requireFreePoolName(ctx context.Context, tx *sql.Tx, p Pool) error {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pools
		WHERE org_id = ? AND id != ? AND name = ? COLLATE NOCASE`,
		p.OrgID, p.ID, p.Name).Scan(&n)
	if err != nil {
		return err
	}
	if n > 0 {
		return ErrConflict
	}
	return nil
}
