package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"greeter/internal/ids"
)

// API key format of SPEC §11.3: gk_<keyId>_<secret>, where keyId is a short
// public base62 id that finds the key and secret is 32 random bytes in
// unpadded base64url. Only the SHA-256 of the secret is stored.
const (
	apiKeyPrefix   = "gk_"
	apiKeyIDLength = 12
	secretBytes    = 32
)

// NewAPIKey returns a fresh organization API key: the full key to show once,
// its public key id, and the hex SHA-256 of its secret to store.
func NewAPIKey() (full, keyID, secretHash string) {
	b := make([]byte, secretBytes)
	// crypto/rand.Read never fails; it crashes the program if the system's
	// random source does.
	_, _ = rand.Read(b)
	secret := base64.RawURLEncoding.EncodeToString(b)
	keyID = ids.Random(apiKeyIDLength)
	return apiKeyPrefix + keyID + "_" + secret, keyID, HashAPISecret(secret)
}

// ParseAPIKey splits a full key into its key id and secret. It reports false
// for anything that is not of the shape NewAPIKey makes.
func ParseAPIKey(full string) (keyID, secret string, ok bool) {
	rest, found := strings.CutPrefix(full, apiKeyPrefix)
	if !found {
		return "", "", false
	}
	// The key id is base62, so the first underscore ends it; the secret is
	// base64url, which may itself hold underscores.
	keyID, secret, found = strings.Cut(rest, "_")
	if !found || len(keyID) != apiKeyIDLength || !isBase62(keyID) {
		return "", "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(secret)
	if err != nil || len(raw) != secretBytes {
		return "", "", false
	}
	return keyID, secret, true
}

// DisplayAPIKey is how a stored key is shown once its secret is gone:
// gk_<keyId>_….
func DisplayAPIKey(keyID string) string {
	return apiKeyPrefix + keyID + "_…"
}

// HashAPISecret returns the stored form of an API key secret: its hex SHA-256.
func HashAPISecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// APISecretMatches reports whether secret hashes to storedHash. The
// comparison takes the same time wherever the hashes differ.
func APISecretMatches(secret, storedHash string) bool {
	got := HashAPISecret(secret)
	return subtle.ConstantTimeCompare([]byte(got), []byte(storedHash)) == 1
}

// PlatformKeyMatches reports whether presented is the platform key. Both are
// reduced to SHA-256 digests first, so the comparison takes the same time
// whatever their lengths and wherever they differ. An empty platform key
// matches nothing: the internal API is never open.
func PlatformKeyMatches(presented, platformKey string) bool {
	if platformKey == "" || presented == "" {
		return false
	}
	a := sha256.Sum256([]byte(presented))
	b := sha256.Sum256([]byte(platformKey))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func isBase62(s string) bool {
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}
