package auth

import (
	"strings"
	"testing"
)

func TestNewAPIKeyParsesBack(t *testing.T) {
	full, keyID, hash := NewAPIKey()
	other, otherID, _ := NewAPIKey()
	if full == other || keyID == otherID {
		t.Fatal("two keys are equal")
	}
	if !strings.HasPrefix(full, "gk_"+keyID+"_") {
		t.Fatalf("key %q does not start with gk_%s_", full, keyID)
	}

	gotID, secret, ok := ParseAPIKey(full)
	if !ok || gotID != keyID {
		t.Fatalf("ParseAPIKey(%q) = %q, %q, %v", full, gotID, secret, ok)
	}
	if !APISecretMatches(secret, hash) || len(hash) != 64 {
		t.Errorf("the secret does not match its hash %q", hash)
	}
	if APISecretMatches(secret+"x", hash) || APISecretMatches(secret, "") {
		t.Error("a wrong secret matched")
	}
	if DisplayAPIKey(keyID) != "gk_"+keyID+"_…" {
		t.Errorf("DisplayAPIKey = %q", DisplayAPIKey(keyID))
	}
}

func TestParseAPIKeyRefusesOtherShapes(t *testing.T) {
	full, keyID, _ := NewAPIKey()
	_, secret, _ := ParseAPIKey(full)
	tests := map[string]string{
		"empty":          "",
		"no prefix":      keyID + "_" + secret,
		"other prefix":   "pk_" + keyID + "_" + secret,
		"no secret":      "gk_" + keyID + "_",
		"no separator":   "gk_" + keyID + secret,
		"short key id":   "gk_" + keyID[1:] + "_" + secret,
		"key id symbols": "gk_" + keyID[:11] + "-_" + secret,
		"short secret":   "gk_" + keyID + "_" + secret[1:],
		"secret padding": "gk_" + keyID + "_" + secret + "=",
		"spaces":         " " + full,
	}
	for name, key := range tests {
		if _, _, ok := ParseAPIKey(key); ok {
			t.Errorf("%s: ParseAPIKey(%q) accepted it", name, key)
		}
	}
}

func TestPlatformKeyMatches(t *testing.T) {
	key := "aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd28="
	tests := []struct {
		presented, platform string
		want                bool
	}{
		{key, key, true},
		{key + "x", key, false},
		{key[:10], key, false},
		{"", key, false},
		{"", "", false},
		{key, "", false},
	}
	for _, tt := range tests {
		if got := PlatformKeyMatches(tt.presented, tt.platform); got != tt.want {
			t.Errorf("PlatformKeyMatches(%q, %q) = %v, want %v",
				tt.presented, tt.platform, got, tt.want)
		}
	}
}
