package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestHashPasswordLength(t *testing.T) {
	tests := []struct {
		name string
		pw   string
		ok   bool
	}{
		{"9 characters", strings.Repeat("a", 9), false},
		{"10 characters", strings.Repeat("a", 10), true},
		{"128 characters", strings.Repeat("a", 128), true},
		{"129 characters", strings.Repeat("a", 129), false},
		{"10 characters of 2 bytes", strings.Repeat("é", 10), true},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := HashPassword(tt.pw)
			if !tt.ok {
				if !errors.Is(err, ErrPasswordLength) {
					t.Errorf("err = %v, want ErrPasswordLength", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(h, "$2a$") || !CheckPassword(h, tt.pw) {
				t.Errorf("hash %q does not check", h)
			}
		})
	}
}

func TestCheckPasswordUsesEveryCharacter(t *testing.T) {
	// Two passwords equal in their first 72 bytes, which bcrypt alone would
	// not tell apart.
	base := strings.Repeat("x", 100)
	h, err := HashPassword(base + "1")
	if err != nil {
		t.Fatal(err)
	}

	if CheckPassword(h, base+"2") {
		t.Error("a password differing after byte 72 was accepted")
	}
	if CheckPassword("not a hash", base+"1") {
		t.Error("a broken hash was accepted")
	}
	if CheckPassword(dummyHash, "") {
		t.Error("the dummy hash accepted an empty password")
	}
}

func TestNewToken(t *testing.T) {
	token, hash := NewToken()
	other, _ := NewToken()

	if len(token) != 43 || strings.ContainsAny(token, "+/=") {
		t.Errorf("token %q is not 32 bytes of unpadded base64url", token)
	}
	if len(hash) != 64 || hash != HashToken(token) {
		t.Errorf("hash %q is not the hex SHA-256 of the token", hash)
	}
	if token == other {
		t.Error("two tokens are equal")
	}
}
