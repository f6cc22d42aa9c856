package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// NewToken returns a fresh secret token (32 random bytes, base64url without
// padding) and the hash under which it is stored.
func NewToken() (token, hash string) {
	b := make([]byte, 32)
	// crypto/rand.Read never fails; it crashes the program if the system's
	// random source does.
	_, _ = rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken returns the stored form of a token: its hex SHA-256.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
