package routing

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

func TestParsePage(t *testing.T) {
	tests := []struct {
		name  string
		url   string
		host  string
		path  string
		query map[string]string
	}{
		{
			name: "host lower-cased and port removed",
			url:  "https://Shop.Example.COM:8443/x",
			host: "shop.example.com", path: "/x", query: map[string]string{},
		},
		{
			name: "IPv6 host without brackets or port",
			url:  "http://[::1]:8080/",
			host: "::1", path: "/", query: map[string]string{},
		},
		{
			name: "trailing dot of a fully qualified host",
			url:  "https://example.com./",
			host: "example.com", path: "/", query: map[string]string{},
		},
		{
			name: "empty path is the root",
			url:  "https://example.com",
			host: "example.com", path: "/", query: map[string]string{},
		},
		{
			name: "path percent-decoded, case kept",
			url:  "https://example.com/Caf%C3%A9/Plans%20Pro",
			host: "example.com", path: "/Café/Plans Pro", query: map[string]string{},
		},
		{
			name: "query names lower-cased, first occurrence wins",
			url:  "https://example.com/?UTM_Source=Google&utm_source=bing&Ref=",
			host: "example.com", path: "/",
			query: map[string]string{"utm_source": "Google", "ref": ""},
		},
		{
			name: "query decoded, a bad escape kept as written",
			url:  "https://example.com/?q=a+b%21&bad=%zz&flag&=orphan",
			host: "example.com", path: "/",
			query: map[string]string{"q": "a b!", "bad": "%zz", "flag": ""},
		},
		{
			name: "fragment ignored, spaces around trimmed",
			url:  "  https://example.com/a?x=1#y=2  ",
			host: "example.com", path: "/a", query: map[string]string{"x": "1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePage(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			if p.Host != tt.host || p.Path != tt.path || !maps.Equal(p.Query, tt.query) {
				t.Errorf("ParsePage = %+v; want host %q, path %q, query %v",
					p, tt.host, tt.path, tt.query)
			}
		})
	}
}

func TestParsePageRefusesWhatCannotBeRouted(t *testing.T) {
	tests := []struct{ name, url string }{
		{"empty", ""},
		{"no scheme", "example.com/pricing"},
		{"relative", "/pricing"},
		{"other scheme", "ftp://example.com/"},
		{"no host", "https:///pricing"},
		{"bad escape in the path", "https://example.com/%zz"},
		{"too long", "https://example.com/" + strings.Repeat("a", MaxURLLength)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParsePage(tt.url); !errors.Is(err, ErrInvalidURL) {
				t.Errorf("ParsePage(%q): err = %v, want ErrInvalidURL", tt.url, err)
			}
		})
	}
}
