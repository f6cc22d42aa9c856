package auth

import (
	"context"
	"fmt"
	"time"

	"greeter/internal/store"
)

// InviteLifetime is how long an invitation link stays valid (SPEC §2.3).
const InviteLifetime = 7 * 24 * time.Hour

// Open starts a session for a user whose identity the caller has already
// established without a password check, such as an invitee who has just set
// their password. It returns the token for the cookie.
func (s *Sessions) Open(ctx context.Context, u store.User) (string, error) {
	if !u.Active {
		return "", ErrNoSession
	}

	token, hash := NewToken()
	now := s.now().UTC()
	err := s.store.CreateSession(ctx, store.Session{
		IDHash:     hash,
		UserID:     u.ID,
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(SessionLifetime),
	})
	if err != nil {
		return "", fmt.Errorf("auth: unable to open a session: %w", err)
	}
	return token, nil
}
