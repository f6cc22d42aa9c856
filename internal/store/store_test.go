package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// newTestStore opens a fresh, migrated database file.
func newTestStore(t *testing.T) *Store {
	t.Helper()
	ctx := context.Background()

	s, err := Open(ctx, filepath.Join(t.TempDir(), "greeter.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})

	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

// fixture is an organization with an admin who is also an agent, and a site.
type fixture struct {
	org   Org
	admin User
	agent AgentProfile
	site  Site
}

func newFixture(t *testing.T, s *Store, name, email string) fixture {
	t.Helper()
	ctx := context.Background()

	org, admin, err := s.CreateOrg(ctx, NewOrg{
		Name: name, AdminEmail: email, AdminFullName: "Ada Admin", AdminPasswordHash: "x",
	})
	if err != nil {
		t.Fatal(err)
	}

	agent, err := s.CreateAgentProfile(ctx, NewAgentProfile{
		OrgID: org.ID, UserID: admin.ID, DisplayName: "Ada",
	})
	if err != nil {
		t.Fatal(err)
	}

	site, err := s.CreateSite(ctx, NewSite{
		OrgID: org.ID, Name: "Main", AllowedOrigins: []string{"https://example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{org: org, admin: admin, agent: agent, site: site}
}

func TestOpenSetsPragmasOnEveryConnection(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()

	// Hold several connections at once so that more than one is opened.
	var conns []interface{ Close() error }
	for range 3 {
		c, err := s.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)

		var (
			busy, fk, sync int
			journal        string
		)
		pragmas := []struct {
			name string
			dest any
		}{
			{"busy_timeout", &busy}, {"foreign_keys", &fk}, {"synchronous", &sync},
			{"journal_mode", &journal},
		}
		for _, p := range pragmas {
			if err := c.QueryRowContext(ctx, "PRAGMA "+p.name).Scan(p.dest); err != nil {
				t.Fatal(err)
			}
		}
		if busy != 5000 || fk != 1 || sync != 1 || journal != "wal" {
			t.Errorf("busy_timeout=%d foreign_keys=%d synchronous=%d journal_mode=%s",
				busy, fk, sync, journal)
		}
	}
	for _, c := range conns {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	}
}

func TestMigrateTwiceIsHarmless(t *testing.T) {
	s := newTestStore(t)

	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestCreateOrgMakesCatchAllPoolAndDispositions(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()

	org, admin, err := s.CreateOrg(ctx, NewOrg{
		Name: "Acme", AdminEmail: " Boss@Acme.TEST ", AdminFullName: "Boss", AdminPasswordHash: "h",
	})
	if err != nil {
		t.Fatal(err)
	}

	got, err := s.OrgByID(ctx, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != OrgActive || got.Timezone != "UTC" || got.RNASeconds != 15 ||
		got.MaxCallMinutes != 120 || string(got.WidgetDefaults) != "{}" {
		t.Errorf("default settings = %+v", got)
	}
	if admin.Role != RoleAdmin || admin.Email != "boss@acme.test" || !admin.Active {
		t.Errorf("admin = %+v", admin)
	}

	pool, err := s.CatchAllPool(ctx, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if pool.Name != "All" || !pool.IsCatchAll {
		t.Errorf("catch-all pool = %+v", pool)
	}

	ds, err := s.ListDispositions(ctx, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ name, color string }{
		{"Interested", "#22c55e"}, {"Not Interested", "#ef4444"},
		{"Callback Requested", "#f59e0b"}, {"No Answer", "#6b7280"},
		{"Left Voicemail", "#8b5cf6"},
	}
	if len(ds) != len(want) {
		t.Fatalf("got %d dispositions, want %d", len(ds), len(want))
	}
	for i, d := range ds {
		if d.Name != want[i].name || d.Color != want[i].color || !d.Active || d.Value != nil {
			t.Errorf("disposition %d = %+v, want %v", i, d, want[i])
		}
	}

	byName, err := s.OrgByName(ctx, "Acme")
	if err != nil || byName.ID != org.ID {
		t.Errorf("OrgByName = %v, %v", byName.ID, err)
	}
}

func TestCreateOrgIsOneTransaction(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	newFixture(t, s, "First", "taken@example.test")

	_, _, err := s.CreateOrg(ctx, NewOrg{
		Name: "Second", AdminEmail: "TAKEN@example.test", AdminFullName: "B", AdminPasswordHash: "h",
	})
	if !errors.Is(err, ErrEmailTaken) {
		t.Fatalf("err = %v, want ErrEmailTaken", err)
	}
	if _, err := s.OrgByName(ctx, "Second"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the organization of a failed creation exists: %v", err)
	}
}

func TestEmailUniquenessIsCaseInsensitive(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")

	_, err := s.CreateUser(ctx, NewUser{
		OrgID: f.org.ID, Email: "ADA@Example.Test", FullName: "Other", Role: RoleAgent,
		PasswordHash: "h",
	})
	if !errors.Is(err, ErrEmailTaken) {
		t.Fatalf("err = %v, want ErrEmailTaken", err)
	}

	u, err := s.UserByEmail(ctx, "  Ada@EXAMPLE.test")
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != f.admin.ID {
		t.Errorf("UserByEmail found %s, want %s", u.ID, f.admin.ID)
	}

	byID, err := s.UserByID(ctx, f.admin.ID)
	if err != nil || byID.Email != "ada@example.test" {
		t.Errorf("UserByID = %+v, %v", byID, err)
	}
}

func TestCrossOrgIDsBehaveAsUnknown(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	a := newFixture(t, s, "A", "a@example.test")
	b := newFixture(t, s, "B", "b@example.test")
	saveLog(t, s, b, "log-b", CallPending)

	other, err := s.CreateUser(ctx, NewUser{
		OrgID: b.org.ID, Email: "agent@b.test", FullName: "Bo", Role: RoleAgent, PasswordHash: "h",
	})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		call func() error
	}{
		{"AgentProfile", func() error {
			_, err := s.AgentProfile(ctx, a.org.ID, b.agent.ID)
			return err
		}},
		{"CallLog", func() error {
			_, err := s.CallLog(ctx, a.org.ID, "log-b")
			return err
		}},
		{"SetAgentVideos", func() error {
			return s.SetAgentVideos(ctx, a.org.ID, b.agent.ID, "w", "i", "l")
		}},
		{"SetPresenceIntent", func() error {
			return s.SetPresenceIntent(ctx, a.org.ID, b.agent.ID, PresenceLive)
		}},
		{"SetSiteOrigins", func() error {
			return s.SetSiteOrigins(ctx, a.org.ID, b.site.ID, []string{"https://evil.test"})
		}},
		{"SetUserPassword", func() error {
			return s.SetUserPassword(ctx, a.org.ID, b.admin.ID, "new")
		}},
		{"DeactivateUser", func() error {
			return s.DeactivateUser(ctx, a.org.ID, b.admin.ID, a.admin.ID, time.Now())
		}},
		{"SetSiteEnabled", func() error {
			return s.SetSiteEnabled(ctx, a.org.ID, b.site.ID, false)
		}},
		{"SetSiteWidgetOverrides", func() error {
			return s.SetSiteWidgetOverrides(ctx, a.org.ID, b.site.ID, []byte(`{"theme":"light"}`))
		}},
		{"CreateAgentProfile for another org's user", func() error {
			_, err := s.CreateAgentProfile(ctx, NewAgentProfile{
				OrgID: a.org.ID, UserID: other.ID, DisplayName: "Bo",
			})
			return err
		}},
		{"SaveCallLog with another org's site", func() error {
			l := newLog(a, "log-x", CallPending)
			l.SiteID = b.site.ID
			return s.SaveCallLog(ctx, l)
		}},
		{"SaveCallLog with another org's agent", func() error {
			l := newLog(a, "log-y", CallPending)
			l.AgentID = b.agent.ID
			return s.SaveCallLog(ctx, l)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
	}

	// The other org's rows are untouched.
	agent, err := s.AgentProfile(ctx, b.org.ID, b.agent.ID)
	if err != nil || agent.WaveVideo != "" || agent.PresenceIntent != PresenceAway {
		t.Errorf("org B's agent changed: %+v, %v", agent, err)
	}

	bPool, err := s.CatchAllPool(ctx, b.org.ID)
	if err != nil {
		t.Fatal(err)
	}
	members, err := s.PoolMembers(ctx, a.org.ID, bPool.ID)
	if err != nil || len(members) != 0 {
		t.Errorf("PoolMembers across orgs = %v, %v", members, err)
	}
}

func TestCreateAgentProfileJoinsCatchAllPoolAtTierOne(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")

	if f.agent.MaxViewers != DefaultMaxViewers || f.agent.PresenceIntent != PresenceAway {
		t.Errorf("agent = %+v", f.agent)
	}

	pool, err := s.CatchAllPool(ctx, f.org.ID)
	if err != nil {
		t.Fatal(err)
	}
	members, err := s.PoolMembers(ctx, f.org.ID, pool.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(members) != 1 || members[0].AgentID != f.agent.ID || members[0].PriorityRank != 1 {
		t.Errorf("members = %+v", members)
	}

	_, err = s.CreateAgentProfile(ctx, NewAgentProfile{
		OrgID: f.org.ID, UserID: f.admin.ID, DisplayName: "Again",
	})
	if !errors.Is(err, ErrConflict) {
		t.Errorf("second profile: err = %v, want ErrConflict", err)
	}

	byUser, err := s.AgentProfileByUserID(ctx, f.admin.ID)
	if err != nil || byUser.ID != f.agent.ID {
		t.Errorf("AgentProfileByUserID = %+v, %v", byUser, err)
	}

	if err := s.SetAgentVideos(ctx, f.org.ID, f.agent.ID, "w.mp4", "i.mp4", "l.mp4"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPresenceIntent(ctx, f.org.ID, f.agent.ID, PresenceLive); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListAgentProfiles(ctx, f.org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].LoopVideo != "l.mp4" || list[0].PresenceIntent != PresenceLive {
		t.Errorf("ListAgentProfiles = %+v", list)
	}
}

func TestCheckConstraintsRefuseBadValues(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")

	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"rna_seconds 5", func() error {
			return s.SetCallSettings(ctx, f.org.ID, 5, 120)
		}, ErrInvalid},
		{"rna_seconds 61", func() error {
			return s.SetCallSettings(ctx, f.org.ID, 61, 120)
		}, ErrInvalid},
		{"max_call_minutes 300", func() error {
			return s.SetCallSettings(ctx, f.org.ID, 15, 300)
		}, ErrInvalid},
		{"presence intent busy", func() error {
			return s.SetPresenceIntent(ctx, f.org.ID, f.agent.ID, "busy")
		}, ErrInvalid},
		{"role owner", func() error {
			_, err := s.CreateUser(ctx, NewUser{
				OrgID: f.org.ID, Email: "o@x.test", FullName: "O", Role: "owner", PasswordHash: "h",
			})
			return err
		}, ErrInvalid},
		{"max_viewers 1001", func() error {
			u, err := s.CreateUser(ctx, NewUser{
				OrgID: f.org.ID, Email: "v@x.test", FullName: "V", Role: RoleAgent, PasswordHash: "h",
			})
			if err != nil {
				return err
			}
			_, err = s.CreateAgentProfile(ctx, NewAgentProfile{
				OrgID: f.org.ID, UserID: u.ID, DisplayName: "V", MaxViewers: 1001,
			})
			return err
		}, ErrInvalid},
		{"call status unknown", func() error {
			return s.SaveCallLog(ctx, newLog(f, "bad-status", "ringing"))
		}, ErrInvalid},
		{"ended_by robot", func() error {
			l := newLog(f, "bad-ended-by", CallCompleted)
			l.EndedBy = "robot"
			return s.SaveCallLog(ctx, l)
		}, ErrInvalid},
		{"second catch-all pool", func() error {
			_, err := s.db.ExecContext(ctx, `INSERT INTO pools
				(id, org_id, name, is_catch_all, created_at) VALUES ('p2', ?, 'Other', 1, 'x')`,
				f.org.ID)
			return classify(err)
		}, ErrConflict},
		{"priority_rank 0", func() error {
			pool, err := s.CatchAllPool(ctx, f.org.ID)
			if err != nil {
				return err
			}
			_, err = s.db.ExecContext(ctx, `UPDATE pool_members SET priority_rank = 0
				WHERE pool_id = ?`, pool.ID)
			return classify(err)
		}, ErrInvalid},
		{"widget defaults not an object", func() error {
			return s.SetOrgWidgetDefaults(ctx, f.org.ID, []byte(`["x"]`))
		}, ErrInvalid},
		{"widget overrides not JSON", func() error {
			return s.SetSiteWidgetOverrides(ctx, f.org.ID, f.site.ID, []byte(`{"theme":`))
		}, ErrInvalid},
		{"51 allowed origins", func() error {
			origins := make([]string, 51)
			for i := range origins {
				origins[i] = fmt.Sprintf("https://s%d.example.com", i)
			}
			return s.SetSiteOrigins(ctx, f.org.ID, f.site.ID, origins)
		}, ErrInvalid},
		{"disposition color", func() error {
			_, err := s.db.ExecContext(ctx, `INSERT INTO dispositions (id, org_id, name, color)
				VALUES ('d', ?, 'Odd', '#12345G')`, f.org.ID)
			return classify(err)
		}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}

	org, err := s.OrgByID(ctx, f.org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if org.RNASeconds != 15 || org.MaxCallMinutes != 120 {
		t.Errorf("refused settings were stored: %+v", org)
	}
	if err := s.SetCallSettings(ctx, f.org.ID, 10, 240); err != nil {
		t.Errorf("in-range settings refused: %v", err)
	}
}

func TestMarkSiteVerifiedSetsOnlyOnce(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")

	if f.site.SiteKey == "" || f.site.SiteKey[:3] != "pk_" {
		t.Errorf("site key = %q", f.site.SiteKey)
	}

	first := time.Date(2025, 3, 1, 10, 0, 0, 123456789, time.UTC)
	if err := s.MarkSiteVerified(ctx, f.site.ID, "https://example.com", first); err != nil {
		t.Fatal(err)
	}
	later := first.Add(time.Hour)
	if err := s.MarkSiteVerified(ctx, f.site.ID, "https://www.example.com", later); err != nil {
		t.Fatal(err)
	}

	site, err := s.SiteByKey(ctx, f.site.SiteKey)
	if err != nil {
		t.Fatal(err)
	}
	if site.EmbedVerifiedAt == nil || !site.EmbedVerifiedAt.Equal(first) ||
		site.EmbedVerifiedOrigin != "https://example.com" {
		t.Errorf("verified = %v %q", site.EmbedVerifiedAt, site.EmbedVerifiedOrigin)
	}
}

func TestSetSiteOriginsRoundTrips(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")

	origins := []string{"https://a.test", "https://*.b.test:8443"}
	if err := s.SetSiteOrigins(ctx, f.org.ID, f.site.ID, origins); err != nil {
		t.Fatal(err)
	}
	site, err := s.SiteByKey(ctx, f.site.SiteKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(site.AllowedOrigins) != 2 || site.AllowedOrigins[1] != origins[1] || !site.Enabled {
		t.Errorf("site = %+v", site)
	}

	if _, err := s.SiteByKey(ctx, "pk_unknown"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown key: err = %v", err)
	}
}

func TestSessionsLifecycle(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

	for _, h := range []string{"h1", "h2"} {
		err := s.CreateSession(ctx, Session{
			IDHash: h, UserID: f.admin.ID, CreatedAt: now, LastSeenAt: now,
			ExpiresAt: now.Add(30 * 24 * time.Hour),
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	if err := s.TouchSession(ctx, "h1", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	sess, err := s.SessionByHash(ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if !sess.LastSeenAt.Equal(now.Add(time.Hour)) || sess.RevokedAt != nil {
		t.Errorf("session = %+v", sess)
	}

	if err := s.RevokeSession(ctx, "h1", now); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeUserSessions(ctx, f.admin.ID, now); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"h1", "h2"} {
		sess, err := s.SessionByHash(ctx, h)
		if err != nil || sess.RevokedAt == nil {
			t.Errorf("%s: session = %+v, %v", h, sess, err)
		}
	}

	if _, err := s.SessionByHash(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown session: err = %v", err)
	}
}

func TestDeactivateUserRevokesSessions(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")
	now := time.Now()

	err := s.CreateSession(ctx, Session{
		IDHash: "h", UserID: f.admin.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now,
	})
	if err != nil {
		t.Fatal(err)
	}

	if err := s.DeactivateUser(ctx, f.org.ID, f.admin.ID, f.admin.ID, now); err != nil {
		t.Fatal(err)
	}
	u, err := s.UserByID(ctx, f.admin.ID)
	if err != nil || u.Active || u.DeactivatedAt == nil || u.DeactivatedBy != f.admin.ID {
		t.Errorf("user = %+v, %v", u, err)
	}
	sess, err := s.SessionByHash(ctx, "h")
	if err != nil || sess.RevokedAt == nil {
		t.Errorf("session = %+v, %v", sess, err)
	}

	// Again: already inactive, not an error.
	if err := s.DeactivateUser(ctx, f.org.ID, f.admin.ID, f.admin.ID, now); err != nil {
		t.Error(err)
	}
}

func TestOrgPauseAndWidgetSettings(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")
	at := time.Date(2025, 2, 2, 2, 2, 2, 0, time.UTC)

	if err := s.SetOrgPaused(ctx, f.org.ID, true, at); err != nil {
		t.Fatal(err)
	}
	org, err := s.OrgByID(ctx, f.org.ID)
	if err != nil || org.Status != OrgPaused || org.PausedAt == nil || !org.PausedAt.Equal(at) {
		t.Errorf("paused org = %+v, %v", org, err)
	}

	if err := s.SetOrgPaused(ctx, f.org.ID, false, at); err != nil {
		t.Fatal(err)
	}
	err = s.SetOrgWidgetDefaults(ctx, f.org.ID, []byte(`{"theme":"light"}`))
	if err != nil {
		t.Fatal(err)
	}
	org, err = s.OrgByID(ctx, f.org.ID)
	if err != nil || org.Status != OrgActive || org.PausedAt != nil ||
		string(org.WidgetDefaults) != `{"theme":"light"}` {
		t.Errorf("resumed org = %+v, %v", org, err)
	}

	if err := s.SetOrgPaused(ctx, "no-such-org", true, at); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown org: err = %v", err)
	}
}

func TestANewDatabaseFileIsReadableByItsOwnerOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "greeter.db")
	st, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal"} {
		info, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if mode := info.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s has mode %o, want 600", filepath.Base(name), mode)
		}
	}
}
