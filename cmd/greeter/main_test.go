package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "greeter.db")
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		wantOut string
	}{
		{name: "version", args: []string{"version"}, wantOut: "greeter dev"},
		{name: "no command", args: nil, wantErr: "greeter help"},
		{name: "unknown command", args: []string{"launch"}, wantErr: `unknown command "launch"`},
		{name: "migrate", args: []string{"migrate", "--db", db}, wantOut: "up to date"},
		{
			name:    "invalid configuration names the variable",
			args:    []string{"serve", "--db", db},
			env:     map[string]string{"GREETER_ENV": "staging"},
			wantErr: "GREETER_ENV",
		},
		{
			name:    "demo refused in production",
			args:    []string{"serve", "--demo", "--db", db},
			env:     map[string]string{"GREETER_ENV": "production"},
			wantErr: "production",
		},
		{
			name:    "demo refused off loopback",
			args:    []string{"serve", "--demo", "--addr", "0.0.0.0:8080", "--db", db},
			wantErr: "loopback",
		},
		{
			name:    "create-admin needs an email",
			args:    []string{"user", "create-admin", "--org", "Acme", "--db", db},
			wantErr: "--email",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), tt.args, &out, envOf(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !strings.Contains(out.String(), tt.wantOut) {
				t.Fatalf("err = %v, out = %q", err, out.String())
			}
		})
	}
}

func TestCreateAdminPrintsAOneTimePassword(t *testing.T) {
	db := filepath.Join(t.TempDir(), "greeter.db")
	args := []string{"user", "create-admin", "--org", "Acme", "--email", "boss@acme.test",
		"--db", db}
	var out bytes.Buffer
	if err := run(context.Background(), args, &out, envOf(nil)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Password: ") {
		t.Fatalf("output = %q", out.String())
	}
	err := run(context.Background(), args, &out, envOf(nil))
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second create-admin: %v", err)
	}
}
