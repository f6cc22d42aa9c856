package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"greeter/internal/ids"
)

// User roles.
const (
	RoleAdmin = "admin"
	RoleAgent = "agent"
)

// User is a member of an organization's team who signs in to the dashboard.
type User struct {
	ID            ids.UserID
	OrgID         ids.OrgID
	Email         string // lower-cased, unique across the installation
	FullName      string
	Role          string // RoleAdmin or RoleAgent
	PasswordHash  string `json:"-"`
	Active        bool
	DeactivatedAt *time.Time
	DeactivatedBy ids.UserID // "" when not deactivated
	CreatedAt     time.Time
}

// NewUser is what it takes to add a user to an organization.
type NewUser struct {
	OrgID        ids.OrgID
	Email        string
	FullName     string
	Role         string
	PasswordHash string
}

const userColumns = `id, org_id, email, full_name, role, password_hash, active,
	deactivated_at, deactivated_by, created_at`

// normalizeEmail is the one form in which emails are stored and looked up.
func normalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// CreateUser adds an active user to an organization. It fails with
// ErrEmailTaken when the email is in use anywhere in the installation and with
// ErrNotFound when the organization does not exist.
func (s *Store) CreateUser(ctx context.Context, n NewUser) (User, error) {
	u := User{
		ID:           ids.UserID(ids.NewRow()),
		OrgID:        n.OrgID,
		Email:        normalizeEmail(n.Email),
		FullName:     strings.TrimSpace(n.FullName),
		Role:         n.Role,
		PasswordHash: n.PasswordHash,
		Active:       true,
		CreatedAt:    time.Now().UTC(),
	}

	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return insertUser(ctx, tx, u)
	})
	if err != nil {
		return User{}, fmt.Errorf("store: unable to create user: %w", classify(err))
	}
	return u, nil
}

func insertUser(ctx context.Context, tx *sql.Tx, u User) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO users (`+userColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.OrgID, u.Email, u.FullName, u.Role, u.PasswordHash, u.Active,
		nullTime(u.DeactivatedAt), nullString(string(u.DeactivatedBy)), formatTime(u.CreatedAt))
	return err
}

// UserByEmail returns the user with this email, compared case-insensitively.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	row := s.db.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE email = ?`, normalizeEmail(email))
	u, err := scanUser(row)
	if err != nil {
		return User{}, fmt.Errorf("store: unable to load user: %w", notFoundIfNoRows(err))
	}
	return u, nil
}

// UserByID returns a user of any organization. It is meant for resolving a
// session, where the organization is not known yet.
func (s *Store) UserByID(ctx context.Context, id ids.UserID) (User, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id)
	u, err := scanUser(row)
	if err != nil {
		return User{}, fmt.Errorf("store: unable to load user: %w", notFoundIfNoRows(err))
	}
	return u, nil
}

// SetUserPassword replaces a user's password hash. Revoking the user's other
// sessions is up to the caller.
func (s *Store) SetUserPassword(
	ctx context.Context, orgID ids.OrgID, userID ids.UserID, hash string,
) error {
	res, err := s.db.ExecContext(ctx,
		`UPDATE users SET password_hash = ? WHERE id = ? AND org_id = ?`, hash, userID, orgID)
	if err == nil {
		err = mustAffectOne(res)
	}
	if err != nil {
		return fmt.Errorf("store: unable to set password: %w", classify(err))
	}
	return nil
}

// DeactivateUser deactivates a user and revokes all of their sessions, in one
// transaction. Deactivating an inactive user changes nothing.
func (s *Store) DeactivateUser(
	ctx context.Context, orgID ids.OrgID, userID, by ids.UserID, at time.Time,
) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users
			SET active = 0, deactivated_at = ?, deactivated_by = ?
			WHERE id = ? AND org_id = ? AND active = 1`,
			formatTime(at), nullString(string(by)), userID, orgID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			// Either unknown here or already inactive: only the first is an error.
			var one int
			return notFoundIfNoRows(tx.QueryRowContext(ctx,
				`SELECT 1 FROM users WHERE id = ? AND org_id = ?`, userID, orgID).Scan(&one))
		}
		return revokeUserSessions(ctx, tx, userID, at)
	})
	if err != nil {
		return fmt.Errorf("store: unable to deactivate user: %w", classify(err))
	}
	return nil
}

func scanUser(row scanner) (User, error) {
	var u User
	err := row.Scan(&u.ID, &u.OrgID, &u.Email, &u.FullName, &u.Role, &u.PasswordHash,
		&u.Active, nullTimeCol{&u.DeactivatedAt}, nullStringCol[ids.UserID]{&u.DeactivatedBy},
		timeCol{&u.CreatedAt})
	return u, err
}
