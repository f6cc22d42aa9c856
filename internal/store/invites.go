package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"greeter/internal/ids"
)

// InviteID identifies an invitation.
type InviteID string

// Invitation errors. Returned errors wrap them.
var (
	// ErrInvitePending means the organization already has an open, unexpired
	// invitation for this email address.
	ErrInvitePending = errors.New("store: an invite is already pending for this email")
	// ErrInviteUnusable means the invitation was accepted, revoked or has
	// expired.
	ErrInviteUnusable = errors.New("store: invite accepted, revoked or expired")
)

// Invite is an invitation to join an organization's team. Only the hash of
// its token is stored: the link cannot be shown again, only regenerated.
type Invite struct {
	ID         InviteID
	OrgID      ids.OrgID
	Email      string // lower-cased
	FullName   string
	Role       string // RoleAdmin or RoleAgent
	TokenHash  string `json:"-"`
	InvitedBy  ids.UserID
	ExpiresAt  time.Time
	AcceptedAt *time.Time
	RevokedAt  *time.Time
	CreatedAt  time.Time
}

// Usable reports whether the invitation can still be accepted at t.
func (i Invite) Usable(t time.Time) bool {
	return i.AcceptedAt == nil && i.RevokedAt == nil && t.Before(i.ExpiresAt)
}

// NewInvite is what it takes to invite someone. The caller makes the token
// and decides the expiry.
type NewInvite struct {
	OrgID     ids.OrgID
	Email     string
	FullName  string
	Role      string
	TokenHash string
	InvitedBy ids.UserID
	CreatedAt time.Time
	ExpiresAt time.Time
}

// AcceptInvite is what the invitee supplies to join.
type AcceptInvite struct {
	TokenHash    string
	FullName     string
	PasswordHash string
	// TakeCalls gives an invited admin an agent profile too; invited agents
	// always get one.
	TakeCalls bool
	At        time.Time
}

const inviteColumns = `id, org_id, email, full_name, role, token_hash, invited_by, expires_at,
	accepted_at, revoked_at, created_at`

// CreateInvite stores a new invitation. It fails with ErrEmailTaken when a
// user of any organization has the email, and with ErrInvitePending when the
// organization already has an open invitation for it.
func (s *Store) CreateInvite(ctx context.Context, n NewInvite) (Invite, error) {
	inv := Invite{
		ID:        InviteID(ids.NewRow()),
		OrgID:     n.OrgID,
		Email:     normalizeEmail(n.Email),
		FullName:  strings.TrimSpace(n.FullName),
		Role:      n.Role,
		TokenHash: n.TokenHash,
		InvitedBy: n.InvitedBy,
		ExpiresAt: n.ExpiresAt.UTC(),
		CreatedAt: n.CreatedAt.UTC(),
	}

	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := checkInvitable(ctx, tx, inv.OrgID, inv.Email, "", inv.CreatedAt); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO invites (`+inviteColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?)`,
			inv.ID, inv.OrgID, inv.Email, inv.FullName, inv.Role, inv.TokenHash, inv.InvitedBy,
			formatTime(inv.ExpiresAt), formatTime(inv.CreatedAt))
		return err
	})
	if err != nil {
		return Invite{}, fmt.Errorf("store: unable to create invite: %w", classify(err))
	}
	return inv, nil
}

// checkInvitable refuses an email that a user already has, or that another
// open invitation of the organization (other than except) is waiting for.
func checkInvitable(
	ctx context.Context, tx *sql.Tx, orgID ids.OrgID, email string, except InviteID,
	now time.Time,
) error {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE email = ?`, email).Scan(&n)
	if err != nil {
		return err
	}
	if n > 0 {
		return ErrEmailTaken
	}

	err = tx.QueryRowContext(ctx, `SELECT count(*) FROM invites
		WHERE org_id = ? AND email = ? AND id != ?
			AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ?`,
		orgID, email, except, formatTime(now)).Scan(&n)
	if err != nil {
		return err
	}
	if n > 0 {
		return ErrInvitePending
	}
	return nil
}

// ListInvites returns the organization's open invitations, newest first:
// neither accepted nor revoked, the expired ones included so that an admin
// can regenerate them.
func (s *Store) ListInvites(ctx context.Context, orgID ids.OrgID) ([]Invite, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+inviteColumns+` FROM invites
		WHERE org_id = ? AND accepted_at IS NULL AND revoked_at IS NULL
		ORDER BY created_at DESC, id DESC`, orgID)
	return collect(rows, err, "list invites", scanInvite)
}

// InviteByTokenHash returns the invitation whose token hashes to hash, in
// whatever state it is. There is no other way to find an invitation without
// being an admin of its organization.
func (s *Store) InviteByTokenHash(ctx context.Context, hash string) (Invite, error) {
	row := s.db.QueryRowContext(ctx,
		`SELECT `+inviteColumns+` FROM invites WHERE token_hash = ?`, hash)
	inv, err := scanInvite(row)
	if err != nil {
		return Invite{}, fmt.Errorf("store: unable to load invite: %w", notFoundIfNoRows(err))
	}
	return inv, nil
}

// RegenerateInvite gives an open invitation a new token and expiry, which
// kills the old link. An accepted or revoked invitation is ErrInviteUnusable;
// the email checks of CreateInvite apply again.
func (s *Store) RegenerateInvite(
	ctx context.Context, orgID ids.OrgID, id InviteID, tokenHash string, at, expiresAt time.Time,
) (Invite, error) {
	var inv Invite
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		inv, err = inviteInTx(ctx, tx, orgID, id)
		if err != nil {
			return err
		}
		if inv.AcceptedAt != nil || inv.RevokedAt != nil {
			return ErrInviteUnusable
		}
		if err := checkInvitable(ctx, tx, orgID, inv.Email, inv.ID, at); err != nil {
			return err
		}

		inv.TokenHash, inv.ExpiresAt = tokenHash, expiresAt.UTC()
		_, err = tx.ExecContext(ctx, `UPDATE invites SET token_hash = ?, expires_at = ?
			WHERE id = ? AND org_id = ?`, tokenHash, formatTime(inv.ExpiresAt), id, orgID)
		return err
	})
	if err != nil {
		return Invite{}, fmt.Errorf("store: unable to regenerate invite: %w", classify(err))
	}
	return inv, nil
}

// RevokeInvite makes an invitation's link invalid. Revoking it again changes
// nothing; an accepted invitation is ErrInviteUnusable.
func (s *Store) RevokeInvite(
	ctx context.Context, orgID ids.OrgID, id InviteID, at time.Time,
) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		inv, err := inviteInTx(ctx, tx, orgID, id)
		if err != nil {
			return err
		}
		if inv.AcceptedAt != nil {
			return ErrInviteUnusable
		}
		_, err = tx.ExecContext(ctx, `UPDATE invites SET revoked_at = ?
			WHERE id = ? AND org_id = ? AND revoked_at IS NULL`, formatTime(at), id, orgID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: unable to revoke invite: %w", err)
	}
	return nil
}

// AcceptInvite turns an invitation into a user, in one transaction: the user
// is created with the invitation's email, organization and role, gets an
// agent profile in the catch-all pool when invited as an agent or when
// TakeCalls is set, and the invitation is marked accepted. An unknown token
// is ErrNotFound; a used, revoked or expired one ErrInviteUnusable; an email
// taken in the meantime ErrEmailTaken.
func (s *Store) AcceptInvite(ctx context.Context, a AcceptInvite) (User, error) {
	var u User
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		inv, err := scanInvite(tx.QueryRowContext(ctx,
			`SELECT `+inviteColumns+` FROM invites WHERE token_hash = ?`, a.TokenHash))
		if err != nil {
			return notFoundIfNoRows(err)
		}
		if !inv.Usable(a.At) {
			return ErrInviteUnusable
		}

		u = User{
			ID:           ids.UserID(ids.NewRow()),
			OrgID:        inv.OrgID,
			Email:        inv.Email,
			FullName:     strings.TrimSpace(a.FullName),
			Role:         inv.Role,
			PasswordHash: a.PasswordHash,
			Active:       true,
			CreatedAt:    a.At.UTC(),
		}
		if err := insertUser(ctx, tx, u); err != nil {
			return err
		}
		if inv.Role == RoleAgent || a.TakeCalls {
			if err := insertAgentProfile(ctx, tx, newProfile(u, a.At)); err != nil {
				return err
			}
		}

		_, err = tx.ExecContext(ctx, `UPDATE invites SET accepted_at = ? WHERE id = ?`,
			formatTime(a.At), inv.ID)
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("store: unable to accept invite: %w", classify(err))
	}
	return u, nil
}

// newProfile is the agent profile a user starts with: named after them, in
// the catch-all pool, away.
func newProfile(u User, at time.Time) AgentProfile {
	return AgentProfile{
		ID:             ids.AgentID(ids.NewRow()),
		UserID:         u.ID,
		OrgID:          u.OrgID,
		DisplayName:    truncate(u.FullName, 60),
		MaxViewers:     DefaultMaxViewers,
		Active:         true,
		PresenceIntent: PresenceAway,
		CreatedAt:      at.UTC(),
	}
}

// truncate shortens s to at most n characters.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return strings.TrimSpace(string([]rune(s)[:n]))
}

func inviteInTx(ctx context.Context, tx *sql.Tx, orgID ids.OrgID, id InviteID) (Invite, error) {
	inv, err := scanInvite(tx.QueryRowContext(ctx,
		`SELECT `+inviteColumns+` FROM invites WHERE id = ? AND org_id = ?`, id, orgID))
	return inv, notFoundIfNoRows(err)
}

func scanInvite(row scanner) (Invite, error) {
	var inv Invite
	err := row.Scan(&inv.ID, &inv.OrgID, &inv.Email, &inv.FullName, &inv.Role, &inv.TokenHash,
		&inv.InvitedBy, timeCol{&inv.ExpiresAt}, nullTimeCol{&inv.AcceptedAt},
		nullTimeCol{&inv.RevokedAt}, timeCol{&inv.CreatedAt})
	return inv, err
}
