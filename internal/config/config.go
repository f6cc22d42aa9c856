// Package config holds Greeter's configuration: built-in defaults, then
// GREETER_* environment variables, then command-line flags, validated once
// at start with messages that name the variable at fault (SPEC §18.1).
package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Environments.
const (
	Development = "development"
	Production  = "production"
)

// Config is the whole configuration of one Greeter process.
type Config struct {
	Env            string
	Addr           string
	PublicURL      string
	DBPath         string
	DataDir        string
	InternalAPIKey string
	Signup         string
	STUNURLs       []string
	TURNURLs       []string
	TURNSecret     string
	MetricsToken   string
	RateLimitScale float64
	LogLevel       string

	// Demo mode (greeter serve --demo).
	Demo     bool
	DemoAddr string
}

// Default returns the built-in defaults.
func Default() Config {
	return Config{
		Env:            Development,
		Addr:           ":8080",
		PublicURL:      "http://localhost:8080",
		DBPath:         "./greeter.db",
		DataDir:        "./data",
		Signup:         "closed",
		RateLimitScale: 1,
		LogLevel:       "info",
		DemoAddr:       "127.0.0.1:8081",
	}
}

// FromEnv returns the defaults overridden by the environment, read through
// getenv (os.Getenv in production, a map in tests).
func FromEnv(getenv func(string) string) (Config, error) {
	c := Default()
	str := func(name string, dst *string) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			*dst = v
		}
	}
	str("GREETER_ENV", &c.Env)
	str("GREETER_ADDR", &c.Addr)
	str("GREETER_PUBLIC_URL", &c.PublicURL)
	str("GREETER_DB_PATH", &c.DBPath)
	str("GREETER_DATA_DIR", &c.DataDir)
	str("GREETER_SIGNUP", &c.Signup)
	str("GREETER_TURN_SECRET", &c.TURNSecret)
	str("GREETER_METRICS_TOKEN", &c.MetricsToken)
	str("GREETER_LOG_LEVEL", &c.LogLevel)
	c.InternalAPIKey = strings.TrimSpace(getenv("INTERNAL_API_KEY"))
	c.STUNURLs = list(getenv("GREETER_STUN_URLS"))
	c.TURNURLs = list(getenv("GREETER_TURN_URLS"))

	if v := strings.TrimSpace(getenv("GREETER_RATE_LIMIT_SCALE")); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return c, fmt.Errorf("config: GREETER_RATE_LIMIT_SCALE must be a number, not %q", v)
		}
		c.RateLimitScale = f
	}
	return c, nil
}

func list(v string) []string {
	var out []string
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// Validate checks the whole configuration and names every variable at fault.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("config: "+format, args...))
	}

	if c.Env != Development && c.Env != Production {
		bad("GREETER_ENV must be %q or %q, not %q", Development, Production, c.Env)
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("GREETER_ADDR must be host:port (for example :8080), not %q", c.Addr)
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") ||
		u.Host == "" || (u.Path != "" && u.Path != "/") {
		bad("GREETER_PUBLIC_URL must be an http(s) origin such as https://greeter.example.com, "+
			"not %q", c.PublicURL)
	}
	if c.DBPath == "" {
		bad("GREETER_DB_PATH must not be empty")
	}
	if c.DataDir == "" {
		bad("GREETER_DATA_DIR must not be empty")
	}
	if c.Signup != "open" && c.Signup != "closed" {
		bad("GREETER_SIGNUP must be \"open\" or \"closed\", not %q", c.Signup)
	}
	if !(c.RateLimitScale > 0) || math.IsInf(c.RateLimitScale, 0) {
		bad("GREETER_RATE_LIMIT_SCALE must be a finite number greater than 0")
	}
	for _, u := range c.STUNURLs {
		if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "stuns:") {
			bad("GREETER_STUN_URLS entries must start with stun: or stuns:, not %q", u)
		}
	}
	for _, u := range c.TURNURLs {
		if !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
			bad("GREETER_TURN_URLS entries must start with turn: or turns:, not %q", u)
		}
	}
	if len(c.TURNURLs) > 0 && c.TURNSecret == "" {
		bad("GREETER_TURN_SECRET is required when GREETER_TURN_URLS is set")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("GREETER_LOG_LEVEL must be debug, info, warn or error, not %q", c.LogLevel)
	}
	if c.Demo {
		errs = append(errs, c.validateDemo()...)
	}
	return errors.Join(errs...)
}

// validateDemo keeps demo mode, with its well-known passwords, off the
// network: it refuses production and listens on loopback only.
func (c Config) validateDemo() []error {
	var errs []error
	if c.Env == Production {
		errs = append(errs, errors.New(
			"config: --demo is refused when GREETER_ENV=production (its passwords are public)"))
	}
	for name, addr := range map[string]string{"GREETER_ADDR": c.Addr, "--demo-addr": c.DemoAddr} {
		host, _, err := net.SplitHostPort(addr)
		ip := net.ParseIP(host)
		if err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
			errs = append(errs, fmt.Errorf(
				"config: in demo mode %s must be a loopback address such as 127.0.0.1:8080, not %q",
				name, addr))
		}
	}
	return errs
}

// Production reports whether the fail-closed production checks apply.
func (c Config) Production() bool { return c.Env == Production }

// PublicOrigin returns scheme://host[:port] of PublicURL.
func (c Config) PublicOrigin() string { return strings.TrimRight(c.PublicURL, "/") }

// DemoOrigin returns the origin of the demo host page.
func (c Config) DemoOrigin() string { return "http://" + c.DemoAddr }
