package auth

import "testing"

func TestOriginAllowed(t *testing.T) {
	tests := []struct {
		name    string
		origin  string
		allowed []string
		want    bool
	}{
		{"exact", "https://example.com", []string{"https://example.com"}, true},
		{"one of several", "https://b.test", []string{"https://a.test", "https://b.test"}, true},
		{"empty list accepts nothing", "https://example.com", nil, false},
		{"empty origin", "", []string{"https://example.com"}, false},
		{"opaque origin", "null", []string{"https://example.com"}, false},
		{"scheme mismatch", "http://example.com", []string{"https://example.com"}, false},
		{"port mismatch", "https://example.com:8443", []string{"https://example.com"}, false},
		{"port match", "http://127.0.0.1:8081", []string{"http://127.0.0.1:8081"}, true},
		{"other port", "http://127.0.0.1:8082", []string{"http://127.0.0.1:8081"}, false},
		{"default port written", "https://example.com", []string{"https://example.com:443"}, true},
		{"default port sent", "http://example.com:80", []string{"http://example.com"}, true},
		{"case", "HTTPS://Example.COM", []string{"https://EXAMPLE.com"}, true},
		{"trailing slash in entry", "https://example.com", []string{"https://example.com/"}, true},
		{"subdomain not allowed by exact", "https://www.example.com",
			[]string{"https://example.com"}, false},
		{"wildcard subdomain", "https://shop.example.com", []string{"https://*.example.com"}, true},
		{"wildcard deep subdomain", "https://a.b.example.com",
			[]string{"https://*.example.com"}, true},
		{"wildcard not apex", "https://example.com", []string{"https://*.example.com"}, false},
		{"wildcard suffix trick", "https://evilexample.com",
			[]string{"https://*.example.com"}, false},
		{"wildcard scheme mismatch", "http://shop.example.com",
			[]string{"https://*.example.com"}, false},
		{"wildcard with port", "https://shop.example.com:8443",
			[]string{"https://*.example.com:8443"}, true},
		{"wildcard in request origin", "https://*.example.com",
			[]string{"https://*.example.com"}, false},
		{"lookalike host", "https://example.com.evil.test",
			[]string{"https://example.com"}, false},
		{"origin with path", "https://example.com/page", []string{"https://example.com"}, false},
		{"userinfo", "https://user@example.com", []string{"https://example.com"}, false},
		{"ipv6", "http://[::1]:8080", []string{"http://[::1]:8080"}, true},
		{"bad port", "https://example.com:99999", []string{"https://example.com:99999"}, false},
		{"other scheme", "file://example.com", []string{"file://example.com"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := OriginAllowed(tt.origin, tt.allowed); got != tt.want {
				t.Errorf("OriginAllowed(%q, %q) = %v, want %v", tt.origin, tt.allowed, got, tt.want)
			}
		})
	}
}

func TestNormalizeOrigin(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"https://Example.com/", "https://example.com", true},
		{"https://example.com:443", "https://example.com", true},
		{"http://localhost:3000", "http://localhost:3000", true},
		{"https://*.Example.com", "https://*.example.com", true},
		{"example.com", "", false},
		{"https://", "", false},
		{"https://exa mple.com", "", false},
		{"https://example.com/path", "", false},
		{"https://*.", "", false},
		{"ftp://example.com", "", false},
	}
	for _, tt := range tests {
		got, ok := NormalizeOrigin(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizeOrigin(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
