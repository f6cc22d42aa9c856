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

// APIKeyID identifies an API key row. It is not the public key id that the
// key itself carries (APIKey.KeyID).
type APIKeyID string

// MaxActiveAPIKeys is how many unrevoked API keys an organization may hold
// (SPEC §11.3).
const MaxActiveAPIKeys = 20

// ErrTooManyKeys means the organization already holds MaxActiveAPIKeys
// active keys. Returned errors wrap it.
var ErrTooManyKeys = errors.New("store: too many active API keys")

// APIKey is an organization API key. Only the SHA-256 of its secret is kept.
type APIKey struct {
	ID            APIKeyID
	OrgID         ids.OrgID
	Name          string
	KeyID         string // the public part of gk_<keyId>_<secret>
	SecretHash    string `json:"-"`
	CreatedBy     ids.UserID
	CreatedByName string // the creator's full name, filled in by ListAPIKeys
	CreatedAt     time.Time
	LastUsedAt    *time.Time
	RevokedAt     *time.Time
}

// NewAPIKey is what it takes to store a key the caller has made.
type NewAPIKey struct {
	OrgID      ids.OrgID
	Name       string
	KeyID      string
	SecretHash string
	CreatedBy  ids.UserID
	CreatedAt  time.Time
}

const apiKeyColumns = `id, org_id, name, key_id, secret_hash, created_by, created_at,
	last_used_at, revoked_at`

// CreateAPIKey stores a new key. An organization that already holds
// MaxActiveAPIKeys active keys gets ErrTooManyKeys.
func (s *Store) CreateAPIKey(ctx context.Context, n NewAPIKey) (APIKey, error) {
	k := APIKey{
		ID:         APIKeyID(ids.NewRow()),
		OrgID:      n.OrgID,
		Name:       strings.TrimSpace(n.Name),
		KeyID:      n.KeyID,
		SecretHash: n.SecretHash,
		CreatedBy:  n.CreatedBy,
		CreatedAt:  n.CreatedAt.UTC(),
	}

	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var active int
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM api_keys
			WHERE org_id = ? AND revoked_at IS NULL`, k.OrgID).Scan(&active)
		if err != nil {
			return err
		}
		if active >= MaxActiveAPIKeys {
			return ErrTooManyKeys
		}

		_, err = tx.ExecContext(ctx, `INSERT INTO api_keys (`+apiKeyColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL)`,
			k.ID, k.OrgID, k.Name, k.KeyID, k.SecretHash, k.CreatedBy, formatTime(k.CreatedAt))
		return err
	})
	if err != nil {
		return APIKey{}, fmt.Errorf("store: unable to create API key: %w", classify(err))
	}
	return k, nil
}

// ListAPIKeys returns the organization's active keys, oldest first, with
// the names of their creators.
func (s *Store) ListAPIKeys(ctx context.Context, orgID ids.OrgID) ([]APIKey, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT k.id, k.org_id, k.name, k.key_id,
			k.secret_hash, k.created_by, k.created_at, k.last_used_at, k.revoked_at,
			coalesce(u.full_name, '')
		FROM api_keys k LEFT JOIN users u ON u.id = k.created_by AND u.org_id = k.org_id
		WHERE k.org_id = ? AND k.revoked_at IS NULL
		ORDER BY k.created_at, k.id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list API keys: %w", err)
	}
	defer rows.Close()

	var list []APIKey
	for rows.Next() {
		var k APIKey
		err := rows.Scan(&k.ID, &k.OrgID, &k.Name, &k.KeyID, &k.SecretHash, &k.CreatedBy,
			timeCol{&k.CreatedAt}, nullTimeCol{&k.LastUsedAt}, nullTimeCol{&k.RevokedAt},
			&k.CreatedByName)
		if err != nil {
			return nil, fmt.Errorf("store: unable to list API keys: %w", err)
		}
		list = append(list, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unable to list API keys: %w", err)
	}
	return list, nil
}

// RevokeAPIKey revokes an active key of the organization. An unknown,
// foreign or already revoked key is ErrNotFound.
func (s *Store) RevokeAPIKey(
	ctx context.Context, orgID ids.OrgID, id APIKeyID, at time.Time,
) error {
	res, err := s.db.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ?
		WHERE id = ? AND org_id = ? AND revoked_at IS NULL`, formatTime(at), id, orgID)
	if err == nil {
		err = mustAffectOne(res)
	}
	if err != nil {
		return fmt.Errorf("store: unable to revoke API key: %w", err)
	}
	return nil
}

// APIKeyByKeyID returns the key, of any organization and revoked or not,
// whose public key id is keyID. Checking the secret and the revocation is up
// to the caller.
func (s *Store) APIKeyByKeyID(ctx context.Context, keyID string) (APIKey, error) {
	var k APIKey
	err := s.db.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys
		WHERE key_id = ?`, keyID).Scan(&k.ID, &k.OrgID, &k.Name, &k.KeyID, &k.SecretHash,
		&k.CreatedBy, timeCol{&k.CreatedAt}, nullTimeCol{&k.LastUsedAt}, nullTimeCol{&k.RevokedAt})
	if err != nil {
		return APIKey{}, fmt.Errorf("store: unable to load API key: %w", notFoundIfNoRows(err))
	}
	return k, nil
}

// TouchAPIKey records that a key was used at the given time.
func (s *Store) TouchAPIKey(ctx context.Context, id APIKeyID, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ?`,
		formatTime(at), id)
	if err != nil {
		return fmt.Errorf("store: unable to record API key use: %w", err)
	}
	return nil
}
