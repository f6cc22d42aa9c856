package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"greeter/internal/auth"
	"greeter/internal/store"
)

func migrate(ctx context.Context, args []string, out io.Writer, getenv func(string) string) error {
	cfg, err := loadConfig(getenv, flag.NewFlagSet("migrate", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.DBPath)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	fmt.Fprintln(out, "database is up to date:", cfg.DBPath)
	return nil
}

// createAdmin creates an organization with its first admin and prints a
// generated password for them. TODO: print a one-time password-setup link
// (SPEC §18.2) once users can set their own password.
func createAdmin(ctx context.Context, args []string, out io.Writer,
	getenv func(string) string) error {

	fs := flag.NewFlagSet("user create-admin", flag.ContinueOnError)
	org := fs.String("org", "", "organization name (1-100 characters)")
	email := fs.String("email", "", "the admin's email")
	name := fs.String("name", "", "the admin's full name (defaults to the email)")
	cfg, err := loadConfig(getenv, fs, args)
	if err != nil {
		return err
	}
	*org, *email = strings.TrimSpace(*org), strings.TrimSpace(*email)
	if *org == "" || len(*org) > 100 {
		return errors.New("--org is required (1-100 characters)")
	}
	if !strings.Contains(*email, "@") {
		return errors.New("--email must be an email address")
	}
	if *name == "" {
		*name = *email
	}

	st, err := store.Open(ctx, cfg.DBPath)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	if _, err := st.OrgByName(ctx, *org); err == nil {
		return fmt.Errorf("an organization named %q already exists", *org)
	}

	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	password := base64.RawURLEncoding.EncodeToString(b)
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	o, u, err := st.CreateOrg(ctx, store.NewOrg{
		Name: *org, AdminEmail: *email, AdminFullName: *name, AdminPasswordHash: hash,
	})
	if errors.Is(err, store.ErrEmailTaken) {
		return fmt.Errorf("%s is already a user", *email)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Created organization %q (%s) with admin %s.\n", o.Name, o.ID, u.Email)
	fmt.Fprintf(out, "Password: %s\nSign in at %s/login. Keep it safe: it cannot be "+
		"changed yet.\n", password, cfg.PublicOrigin())
	return nil
}
