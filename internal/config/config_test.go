package config

import (
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaultsAreValid(t *testing.T) {
	c, err := FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
}

func TestInvalidConfigurationNamesTheVariable(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"GREETER_ENV": "staging"}, "GREETER_ENV"},
		{map[string]string{"GREETER_ADDR": "8080"}, "GREETER_ADDR"},
		{map[string]string{"GREETER_PUBLIC_URL": "ftp://x"}, "GREETER_PUBLIC_URL"},
		{map[string]string{"GREETER_PUBLIC_URL": "https://x/path"}, "GREETER_PUBLIC_URL"},
		{map[string]string{"GREETER_SIGNUP": "maybe"}, "GREETER_SIGNUP"},
		{map[string]string{"GREETER_RATE_LIMIT_SCALE": "0"}, "GREETER_RATE_LIMIT_SCALE"},
		{map[string]string{"GREETER_RATE_LIMIT_SCALE": "fast"}, "GREETER_RATE_LIMIT_SCALE"},
		{map[string]string{"GREETER_RATE_LIMIT_SCALE": "NaN"}, "GREETER_RATE_LIMIT_SCALE"},
		{map[string]string{"GREETER_RATE_LIMIT_SCALE": "Inf"}, "GREETER_RATE_LIMIT_SCALE"},
		{map[string]string{"GREETER_STUN_URLS": "http://x"}, "GREETER_STUN_URLS"},
		{map[string]string{"GREETER_TURN_URLS": "turn:x:3478"}, "GREETER_TURN_SECRET"},
		{map[string]string{"GREETER_LOG_LEVEL": "loud"}, "GREETER_LOG_LEVEL"},
	}
	for _, tt := range tests {
		c, err := FromEnv(env(tt.env))
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v does not name %s", tt.env, err, tt.want)
		}
	}
}

func TestDemoModeIsRefusedInProductionAndOffLoopback(t *testing.T) {
	c := Default()
	c.Demo = true
	c.Addr = "127.0.0.1:8080"
	if err := c.Validate(); err != nil {
		t.Fatalf("loopback demo refused: %v", err)
	}

	c.Env = Production
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "production") {
		t.Fatalf("production demo: %v", err)
	}

	c.Env = Development
	c.Addr = "0.0.0.0:8080"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("public demo address: %v", err)
	}
}
