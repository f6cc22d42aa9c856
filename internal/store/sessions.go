package store

import (
	"context"
	"fmt"
	"time"

	"greeter/internal/ids"
)

// Session is a dashboard sign-in. Only the hash of its token is stored.
type Session struct {
	IDHash     string // hex SHA-256 of the cookie token
	UserID     ids.UserID
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // the absolute end; idle expiry is the caller's rule
	RevokedAt  *time.Time
}

const sessionColumns = `id_hash, user_id, created_at, last_seen_at, expires_at, revoked_at`

// CreateSession stores a new session.
func (s *Store) CreateSession(ctx context.Context, sess Session) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`)
		VALUES (?, ?, ?, ?, ?, ?)`,
		sess.IDHash, sess.UserID, formatTime(sess.CreatedAt), formatTime(sess.LastSeenAt),
		formatTime(sess.ExpiresAt), nullTime(sess.RevokedAt))
	if err != nil {
		return fmt.Errorf("store: unable to create session: %w", classify(err))
	}
	return nil
}

// SessionByHash returns a session by the hash of its token, revoked or not.
func (s *Store) SessionByHash(ctx context.Context, hash string) (Session, error) {
	var sess Session
	err := s.db.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE id_hash = ?`, hash).Scan(&sess.IDHash, &sess.UserID, timeCol{&sess.CreatedAt},
		timeCol{&sess.LastSeenAt}, timeCol{&sess.ExpiresAt}, nullTimeCol{&sess.RevokedAt})
	if err != nil {
		return Session{}, fmt.Errorf("store: unable to load session: %w", notFoundIfNoRows(err))
	}
	return sess, nil
}

// TouchSession records that a session was used at the given time.
func (s *Store) TouchSession(ctx context.Context, hash string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ?
		WHERE id_hash = ? AND revoked_at IS NULL`, formatTime(at), hash)
	if err == nil {
		err = mustAffectOne(res)
	}
	if err != nil {
		return fmt.Errorf("store: unable to touch session: %w", err)
	}
	return nil
}

// RevokeSession ends a session. Revoking an unknown or revoked session
// changes nothing and is not an error.
func (s *Store) RevokeSession(ctx context.Context, hash string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?
		WHERE id_hash = ? AND revoked_at IS NULL`, formatTime(at), hash)
	if err != nil {
		return fmt.Errorf("store: unable to revoke session: %w", err)
	}
	return nil
}

// RevokeUserSessions ends every open session of a user.
func (s *Store) RevokeUserSessions(ctx context.Context, userID ids.UserID, at time.Time) error {
	if err := revokeUserSessions(ctx, s.db, userID, at); err != nil {
		return fmt.Errorf("store: unable to revoke sessions: %w", err)
	}
	return nil
}

func revokeUserSessions(ctx context.Context, db execer, userID ids.UserID, at time.Time) error {
	_, err := db.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?
		WHERE user_id = ? AND revoked_at IS NULL`, formatTime(at), userID)
	return err
}
