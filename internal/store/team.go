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

// Team errors. Returned errors wrap them.
var (
	// ErrAlreadyRemoved means the user or agent profile was already
	// deactivated.
	ErrAlreadyRemoved = errors.New("store: already removed")
	// ErrLastAdmin means the change would leave the organization without an
	// active admin.
	ErrLastAdmin = errors.New("store: the organization's last active admin")
)

// TeamMember is a user with their agent profile, if they ever had one, and
// the pools that profile is in.
type TeamMember struct {
	User  User
	Agent *AgentProfile // nil when the user never had a profile
	Pools []Membership
}

// Membership places an agent profile in a pool at a tier.
type Membership struct {
	PoolID       ids.PoolID
	PoolName     string
	PriorityRank int
}

// AgentChanges is an edit of an agent profile; nil fields stay as they are.
type AgentChanges struct {
	DisplayName *string
	MaxViewers  *int
}

// ListTeam returns every user of the organization, active ones first, then
// by name, each with their agent profile and its pools.
func (s *Store) ListTeam(ctx context.Context, orgID ids.OrgID) ([]TeamMember, error) {
	users, err := s.listUsers(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list team: %w", err)
	}
	profiles, err := s.profilesByUser(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list team: %w", err)
	}
	pools, err := s.membershipsByAgent(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list team: %w", err)
	}

	team := make([]TeamMember, 0, len(users))
	for _, u := range users {
		m := TeamMember{User: u}
		if p, ok := profiles[u.ID]; ok {
			m.Agent = &p
			m.Pools = pools[p.ID]
		}
		team = append(team, m)
	}
	return team, nil
}

func (s *Store) listUsers(ctx context.Context, orgID ids.OrgID) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users
		WHERE org_id = ? ORDER BY active DESC, full_name, id`, orgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()

	var list []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, u)
	}
	return list, rows.Err()
}

func (s *Store) profilesByUser(
	ctx context.Context, orgID ids.OrgID,
) (map[ids.UserID]AgentProfile, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+agentColumns+` FROM agent_profiles WHERE org_id = ?`, orgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()

	m := make(map[ids.UserID]AgentProfile)
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			return nil, err
		}
		m[a.UserID] = a
	}
	return m, rows.Err()
}

func (s *Store) membershipsByAgent(
	ctx context.Context, orgID ids.OrgID,
) (map[ids.AgentID][]Membership, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT m.agent_id, p.id, p.name, m.priority_rank
		FROM pool_members m JOIN pools p ON p.id = m.pool_id
		WHERE p.org_id = ? ORDER BY p.is_catch_all DESC, p.name, p.id`, orgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()

	m := make(map[ids.AgentID][]Membership)
	for rows.Next() {
		var agent ids.AgentID
		var ms Membership
		if err := rows.Scan(&agent, &ms.PoolID, &ms.PoolName, &ms.PriorityRank); err != nil {
			return nil, err
		}
		m[agent] = append(m[agent], ms)
	}
	return m, rows.Err()
}

// SetUserRole changes an active user's role. Demoting the organization's
// last active admin is ErrLastAdmin; a deactivated user ErrAlreadyRemoved. A
// user who becomes an agent and never had an agent profile gets one, so
// that they can take calls.
func (s *Store) SetUserRole(
	ctx context.Context, orgID ids.OrgID, userID ids.UserID, role string, at time.Time,
) (User, error) {
	var u User
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if u, err = activeUserInTx(ctx, tx, orgID, userID); err != nil {
			return err
		}
		if u.Role == role {
			return nil
		}
		if u.Role == RoleAdmin {
			if err := requireOtherAdmin(ctx, tx, orgID, userID); err != nil {
				return err
			}
		}

		_, err = tx.ExecContext(ctx, `UPDATE users SET role = ? WHERE id = ? AND org_id = ?`,
			role, userID, orgID)
		if err != nil {
			return err
		}
		u.Role = role
		if role == RoleAgent {
			return ensureProfile(ctx, tx, u, at)
		}
		return nil
	})
	if err != nil {
		return User{}, fmt.Errorf("store: unable to change role: %w", classify(err))
	}
	return u, nil
}

// ensureProfile gives u an agent profile unless they have one, active or not.
func ensureProfile(ctx context.Context, tx *sql.Tx, u User, at time.Time) error {
	var n int
	err := tx.QueryRowContext(ctx,
		`SELECT count(*) FROM agent_profiles WHERE user_id = ?`, u.ID).Scan(&n)
	if err != nil || n > 0 {
		return err
	}
	return insertAgentProfile(ctx, tx, newProfile(u, at))
}

// RemoveAgentProfile removes an agent (SPEC §11.1 step 1) in one
// transaction: the profile is deactivated and leaves every pool, and when its
// user's role is agent the user is deactivated too and all their sessions
// are revoked. An admin whose profile alone is removed keeps admin access.
// An id of another organization is ErrNotFound; a removed profile
// ErrAlreadyRemoved.
func (s *Store) RemoveAgentProfile(
	ctx context.Context, orgID ids.OrgID, agentID ids.AgentID, by ids.UserID, at time.Time,
) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		a, err := agentInTx(ctx, tx, orgID, agentID)
		if err != nil {
			return err
		}
		if !a.Active {
			return ErrAlreadyRemoved
		}
		if err := deactivateProfile(ctx, tx, a.ID, by, at); err != nil {
			return err
		}

		u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users
			WHERE id = ? AND org_id = ?`, a.UserID, orgID))
		if err != nil {
			return err
		}
		if u.Role != RoleAgent {
			return nil
		}
		return deactivateUser(ctx, tx, u.ID, by, at)
	})
	if err != nil {
		return fmt.Errorf("store: unable to remove agent: %w", classify(err))
	}
	return nil
}

// RemoveUser removes a team member (SPEC §11.1 step 1) in one transaction:
// the user is deactivated, all their sessions are revoked, and their agent
// profile, if active, is deactivated and leaves every pool. It returns the id
// of that profile ("" when there was none), whose live state the caller must
// end. The organization's last active admin is ErrLastAdmin; an id of
// another organization ErrNotFound; a deactivated user ErrAlreadyRemoved.
func (s *Store) RemoveUser(
	ctx context.Context, orgID ids.OrgID, userID, by ids.UserID, at time.Time,
) (ids.AgentID, error) {
	var removed ids.AgentID
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		u, err := activeUserInTx(ctx, tx, orgID, userID)
		if err != nil {
			return err
		}
		if u.Role == RoleAdmin {
			if err := requireOtherAdmin(ctx, tx, orgID, userID); err != nil {
				return err
			}
		}
		if err := deactivateUser(ctx, tx, u.ID, by, at); err != nil {
			return err
		}

		a, err := scanAgent(tx.QueryRowContext(ctx, `SELECT `+agentColumns+`
			FROM agent_profiles WHERE user_id = ? AND org_id = ?`, userID, orgID))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !a.Active) {
			return nil
		}
		if err != nil {
			return err
		}
		removed = a.ID
		return deactivateProfile(ctx, tx, a.ID, by, at)
	})
	if err != nil {
		return "", fmt.Errorf("store: unable to remove user: %w", classify(err))
	}
	return removed, nil
}

// UpdateAgentProfile changes an active agent profile's display name and
// viewer capacity. A removed profile is ErrAlreadyRemoved; values out of
// range are ErrInvalid.
func (s *Store) UpdateAgentProfile(
	ctx context.Context, orgID ids.OrgID, agentID ids.AgentID, c AgentChanges,
) (AgentProfile, error) {
	var a AgentProfile
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if a, err = agentInTx(ctx, tx, orgID, agentID); err != nil {
			return err
		}
		if !a.Active {
			return ErrAlreadyRemoved
		}
		if c.DisplayName != nil {
			a.DisplayName = strings.TrimSpace(*c.DisplayName)
		}
		if c.MaxViewers != nil {
			a.MaxViewers = *c.MaxViewers
		}

		_, err = tx.ExecContext(ctx, `UPDATE agent_profiles
			SET display_name = ?, max_viewers = ? WHERE id = ? AND org_id = ?`,
			a.DisplayName, a.MaxViewers, agentID, orgID)
		return err
	})
	if err != nil {
		return AgentProfile{}, fmt.Errorf("store: unable to update agent profile: %w",
			classify(err))
	}
	return a, nil
}

// AddAgentProfile makes an active user of the organization an agent ("add
// me as agent"): a new profile in the catch-all pool, or their removed
// profile reactivated and put back in the catch-all pool. A user who already
// has an active profile is ErrConflict.
func (s *Store) AddAgentProfile(
	ctx context.Context, orgID ids.OrgID, userID ids.UserID, displayName string, at time.Time,
) (AgentProfile, error) {
	var a AgentProfile
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		u, err := activeUserInTx(ctx, tx, orgID, userID)
		if errors.Is(err, ErrAlreadyRemoved) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}

		a, err = scanAgent(tx.QueryRowContext(ctx, `SELECT `+agentColumns+`
			FROM agent_profiles WHERE user_id = ? AND org_id = ?`, userID, orgID))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			a = newProfile(u, at)
			if displayName = strings.TrimSpace(displayName); displayName != "" {
				a.DisplayName = displayName
			}
			return insertAgentProfile(ctx, tx, a)
		case err != nil:
			return err
		case a.Active:
			return ErrConflict
		}
		return reactivateProfile(ctx, tx, &a, displayName)
	})
	if err != nil {
		return AgentProfile{}, fmt.Errorf("store: unable to add agent profile: %w", classify(err))
	}
	return a, nil
}

func reactivateProfile(ctx context.Context, tx *sql.Tx, a *AgentProfile, name string) error {
	if name = strings.TrimSpace(name); name != "" {
		a.DisplayName = name
	}
	a.Active, a.DeactivatedAt, a.DeactivatedBy = true, nil, ""

	_, err := tx.ExecContext(ctx, `UPDATE agent_profiles SET active = 1, deactivated_at = NULL,
		deactivated_by = NULL, display_name = ? WHERE id = ?`, a.DisplayName, a.ID)
	if err != nil {
		return err
	}
	return joinCatchAll(ctx, tx, a.OrgID, a.ID)
}

// activeUserInTx loads a user of the organization: ErrNotFound when unknown
// there, ErrAlreadyRemoved when deactivated.
func activeUserInTx(
	ctx context.Context, tx *sql.Tx, orgID ids.OrgID, id ids.UserID,
) (User, error) {
	u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users
		WHERE id = ? AND org_id = ?`, id, orgID))
	if err != nil {
		return User{}, notFoundIfNoRows(err)
	}
	if !u.Active {
		return User{}, ErrAlreadyRemoved
	}
	return u, nil
}

func agentInTx(
	ctx context.Context, tx *sql.Tx, orgID ids.OrgID, id ids.AgentID,
) (AgentProfile, error) {
	a, err := scanAgent(tx.QueryRowContext(ctx, `SELECT `+agentColumns+` FROM agent_profiles
		WHERE id = ? AND org_id = ?`, id, orgID))
	return a, notFoundIfNoRows(err)
}

// requireOtherAdmin is ErrLastAdmin unless the organization has an active
// admin other than userID.
func requireOtherAdmin(ctx context.Context, tx *sql.Tx, orgID ids.OrgID, userID ids.UserID) error {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users
		WHERE org_id = ? AND role = 'admin' AND active = 1 AND id != ?`, orgID, userID).Scan(&n)
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrLastAdmin
	}
	return nil
}

// deactivateProfile soft-deletes an agent profile and takes it out of every
// pool.
func deactivateProfile(
	ctx context.Context, tx *sql.Tx, agentID ids.AgentID, by ids.UserID, at time.Time,
) error {
	_, err := tx.ExecContext(ctx, `UPDATE agent_profiles
		SET active = 0, deactivated_at = ?, deactivated_by = ?, presence_intent = 'away'
		WHERE id = ?`, formatTime(at), nullString(string(by)), agentID)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM pool_members WHERE agent_id = ?`, agentID)
	return err
}

// deactivateUser deactivates a user, if active, and revokes all their
// sessions.
func deactivateUser(
	ctx context.Context, tx *sql.Tx, userID, by ids.UserID, at time.Time,
) error {
	_, err := tx.ExecContext(ctx, `UPDATE users
		SET active = 0, deactivated_at = ?, deactivated_by = ?
		WHERE id = ? AND active = 1`, formatTime(at), nullString(string(by)), userID)
	if err != nil {
		return err
	}
	return revokeUserSessions(ctx, tx, userID, at)
}
