package routing

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// MaxURLLength is the longest page URL that is routed (SPEC §16.3).
const MaxURLLength = 2048

// ErrInvalidURL means a page URL cannot be routed: it is not an absolute
// http or https URL with a host, or it is too long. Returned errors wrap it.
var ErrInvalidURL = errors.New("routing: invalid page URL")

// Page is a visitor's page as rules see it (SPEC §7.1 step 1).
type Page struct {
	Host  string            // lower-cased, without port
	Path  string            // percent-decoded, "/" when empty
	Query map[string]string // by lower-cased name; the first occurrence wins
}

// ParsePage reads a page URL. An escape that does not decode makes the URL
// invalid in the path; in the query it is kept as written.
func ParsePage(rawURL string) (Page, error) {
	rawURL = strings.TrimSpace(rawURL)
	if len(rawURL) > MaxURLLength {
		return Page{}, fmt.Errorf("%w: longer than %d characters", ErrInvalidURL, MaxURLLength)
	}

	u, err := url.Parse(rawURL)
	if err != nil {
		return Page{}, fmt.Errorf("%w: %w", ErrInvalidURL, err)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return Page{}, fmt.Errorf("%w: the scheme is not http or https", ErrInvalidURL)
	}
	// A fully qualified name may end with a dot that names the same host.
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "" {
		return Page{}, fmt.Errorf("%w: no host", ErrInvalidURL)
	}
	// Any other empty label ("a..b", ".a", "a..") names no host, and would
	// make domain rules see a name no browser sends.
	if strings.HasPrefix(host, ".") || strings.HasSuffix(host, ".") ||
		strings.Contains(host, "..") {
		return Page{}, fmt.Errorf("%w: the host has an empty label", ErrInvalidURL)
	}

	p := Page{Host: host, Path: u.Path, Query: parseQuery(u.RawQuery)}
	if p.Path == "" {
		p.Path = "/"
	}
	return p, nil
}

// parseQuery reads a query string by hand rather than with url.ParseQuery,
// which keeps every occurrence of a name and drops a pair that does not
// decode: here the first occurrence wins, and a pair that does not decode
// still counts, as written.
func parseQuery(raw string) map[string]string {
	q := make(map[string]string)
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		name, value, _ := strings.Cut(pair, "=")
		name = strings.ToLower(unescapeQuery(name))
		if name == "" {
			continue
		}
		if _, seen := q[name]; !seen {
			q[name] = unescapeQuery(value)
		}
	}
	return q
}

func unescapeQuery(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}
