package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"greeter/internal/store"
)

// Session lifetimes of SPEC §2.3.
const (
	// SessionIdleTimeout ends a session that has not been used for this long.
	SessionIdleTimeout = 7 * 24 * time.Hour
	// SessionLifetime ends every session this long after sign-in.
	SessionLifetime = 30 * 24 * time.Hour
	// touchInterval limits how often a session's last use is written.
	touchInterval = time.Minute
)

var (
	// ErrInvalidCredentials is the one answer to a failed login, whether the
	// email is unknown, the password wrong or the user deactivated.
	ErrInvalidCredentials = errors.New("auth: invalid email or password")
	// ErrNoSession means the token names no usable session: unknown, revoked,
	// expired, or of a deactivated user.
	ErrNoSession = errors.New("auth: no valid session")
)

// Sessions signs users in and out of the dashboard and resolves session
// tokens to users. It is safe for concurrent use.
type Sessions struct {
	store  *store.Store
	now    func() time.Time
	secure bool
}

// NewSessions returns Sessions backed by st. now is the clock (time.Now when
// nil); secure says whether cookies carry the Secure attribute.
func NewSessions(st *store.Store, now func() time.Time, secure bool) *Sessions {
	if now == nil {
		now = time.Now
	}
	return &Sessions{store: st, now: now, secure: secure}
}

// Login checks an email and password and opens a session, returning its
// token. Every kind of refusal is ErrInvalidCredentials and takes about as
// long as the others.
func (s *Sessions) Login(ctx context.Context, email, password string) (string, store.User, error) {
	u, err := s.store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		CheckPassword(dummyHash, password)
		return "", store.User{}, ErrInvalidCredentials
	}
	if err != nil {
		return "", store.User{}, fmt.Errorf("auth: unable to log in: %w", err)
	}

	// The password is checked even for an inactive user, so that the
	// answer takes the same time.
	if !CheckPassword(u.PasswordHash, password) || !u.Active {
		return "", store.User{}, ErrInvalidCredentials
	}

	token, hash := NewToken()
	now := s.now().UTC()
	err = s.store.CreateSession(ctx, store.Session{
		IDHash:     hash,
		UserID:     u.ID,
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(SessionLifetime),
	})
	if err != nil {
		return "", store.User{}, fmt.Errorf("auth: unable to log in: %w", err)
	}
	return token, u, nil
}

// Authenticate returns the active user whose session the token names, or
// ErrNoSession. It records the use of the session at most once a minute.
func (s *Sessions) Authenticate(ctx context.Context, token string) (store.User, error) {
	if token == "" {
		return store.User{}, ErrNoSession
	}

	hash := HashToken(token)
	sess, err := s.store.SessionByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrNoSession
	}
	if err != nil {
		return store.User{}, fmt.Errorf("auth: unable to authenticate: %w", err)
	}

	now := s.now()
	if sess.RevokedAt != nil || !now.Before(sess.ExpiresAt) ||
		now.Sub(sess.LastSeenAt) >= SessionIdleTimeout {
		return store.User{}, ErrNoSession
	}

	u, err := s.store.UserByID(ctx, sess.UserID)
	if err != nil {
		return store.User{}, fmt.Errorf("auth: unable to authenticate: %w", err)
	}
	if !u.Active {
		return store.User{}, ErrNoSession
	}

	if now.Sub(sess.LastSeenAt) >= touchInterval {
		err := s.store.TouchSession(ctx, hash, now)
		if errors.Is(err, store.ErrNotFound) {
			return store.User{}, ErrNoSession // revoked meanwhile
		}
		if err != nil {
			return store.User{}, fmt.Errorf("auth: unable to authenticate: %w", err)
		}
	}
	return u, nil
}

// Logout revokes the session the token names. An unknown or already revoked
// token is not an error.
func (s *Sessions) Logout(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	if err := s.store.RevokeSession(ctx, HashToken(token), s.now()); err != nil {
		return fmt.Errorf("auth: unable to log out: %w", err)
	}
	return nil
}

// SetCookie sets the session cookie with this Sessions' Secure setting.
func (s *Sessions) SetCookie(w http.ResponseWriter, token string) {
	SetSessionCookie(w, token, s.secure)
}

// ClearCookie removes the session cookie with this Sessions' Secure setting.
func (s *Sessions) ClearCookie(w http.ResponseWriter) {
	ClearSessionCookie(w, s.secure)
}
