package auth

import (
	"strconv"
	"strings"
)

// origin is a parsed scheme://host[:port]. A wildcard origin's host is the
// domain under which any subdomain matches.
type origin struct {
	scheme   string
	host     string
	port     string // "" for the scheme's default port
	wildcard bool
}

// OriginAllowed reports whether the Origin header value of a request matches
// one of a site's allowed origins. Scheme, host and port must all match,
// ignoring case and default ports; an allowed origin whose host starts with
// "*." matches any subdomain of the rest but not the rest itself. An empty
// list allows nothing, and so does the opaque origin "null".
func OriginAllowed(requestOrigin string, allowed []string) bool {
	o, ok := parseOrigin(requestOrigin, false)
	if !ok {
		return false
	}

	for _, a := range allowed {
		p, ok := parseOrigin(a, true)
		if ok && p.matches(o) {
			return true
		}
	}
	return false
}

// NormalizeOrigin checks an allowed-origin entry typed by an admin
// (scheme://host[:port], the host optionally starting with "*.") and returns
// its canonical form: lower case, no default port, no trailing slash.
func NormalizeOrigin(s string) (string, bool) {
	o, ok := parseOrigin(s, true)
	if !ok {
		return "", false
	}

	host := o.host
	if o.wildcard {
		host = "*." + host
	}
	if o.port != "" {
		host += ":" + o.port
	}
	return o.scheme + "://" + host, true
}

func (p origin) matches(o origin) bool {
	if p.scheme != o.scheme || p.port != o.port {
		return false
	}
	if p.wildcard {
		return strings.HasSuffix(o.host, "."+p.host)
	}
	return p.host == o.host
}

// parseOrigin parses scheme://host[:port] for http and https.
func parseOrigin(s string, allowWildcard bool) (origin, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimSuffix(s, "/")

	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || (scheme != "http" && scheme != "https") {
		return origin{}, false
	}

	host, port, ok := splitHostPort(rest)
	if !ok {
		return origin{}, false
	}
	if port == defaultPort(scheme) {
		port = ""
	}

	o := origin{scheme: scheme, host: host, port: port}
	if allowWildcard && strings.HasPrefix(host, "*.") {
		o.host, o.wildcard = host[2:], true
	}
	if !validHost(o.host) {
		return origin{}, false
	}
	return o, true
}

// splitHostPort splits host[:port], where host may be a bracketed IPv6
// address. A port must be a number from 1 to 65535.
func splitHostPort(s string) (host, port string, ok bool) {
	host = s
	if i := strings.LastIndexByte(s, ':'); i >= 0 && !strings.HasSuffix(s, "]") {
		host, port = s[:i], s[i+1:]
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return "", "", false
		}
	}
	return host, port, host != ""
}

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// validHost accepts a DNS name (letters, digits, hyphens; no empty label) or
// a bracketed IPv6 address. Internationalized names arrive as punycode.
func validHost(h string) bool {
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		inner := h[1 : len(h)-1]
		return inner != "" && strings.Trim(inner, "0123456789abcdef:.") == ""
	}

	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		if strings.Trim(label, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return false
		}
	}
	return len(h) <= 253
}
