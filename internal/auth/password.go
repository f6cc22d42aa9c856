// Package auth establishes who is calling: password hashing, dashboard
// sessions and their cookie, and the origin checks of the widget endpoints.
package auth

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Password rules of SPEC §2.3.
const (
	MinPasswordLength = 10
	MaxPasswordLength = 128
	// DefaultPasswordCost is the bcrypt cost of new hashes.
	DefaultPasswordCost = 12
)

// ErrPasswordLength means a new password is shorter than MinPasswordLength or
// longer than MaxPasswordLength characters.
var ErrPasswordLength = fmt.Errorf("auth: password must be %d to %d characters",
	MinPasswordLength, MaxPasswordLength)

// productionDummyHash is a bcrypt hash, at DefaultPasswordCost, of a random
// secret nobody knows.
const productionDummyHash = "$2a$12$fYUJA2dshIRAZkb6nEUpHutFsVU6R4HNhwcM20erAcN1rMcCirOGq"

// passwordCost and dummyHash are variables only so that this package's tests
// can make hashing cheap. Comparing against dummyHash makes an unknown email
// take as long as a wrong password, so both must have the same cost.
var (
	passwordCost = DefaultPasswordCost
	dummyHash    = productionDummyHash
)

// HashPassword returns the bcrypt hash (cost 12) of a password of 10 to 128
// characters.
//
// bcrypt reads at most 72 bytes, fewer than a 128-character password may
// take, so the password is first reduced to the base64 of its SHA-256 (44
// bytes), which keeps every character significant.
func HashPassword(pw string) (string, error) {
	if n := utf8.RuneCountInString(pw); n < MinPasswordLength || n > MaxPasswordLength {
		return "", ErrPasswordLength
	}

	h, err := bcrypt.GenerateFromPassword(prehash(pw), passwordCost)
	if err != nil {
		return "", fmt.Errorf("auth: unable to hash password: %w", err)
	}
	return string(h), nil
}

// CheckPassword reports whether pw is the password of hash.
func CheckPassword(hash, pw string) bool {
	err := bcrypt.CompareHashAndPassword([]byte(hash), prehash(pw))
	return err == nil
}

func prehash(pw string) []byte {
	sum := sha256.Sum256([]byte(pw))
	return []byte(base64.StdEncoding.EncodeToString(sum[:]))
}
