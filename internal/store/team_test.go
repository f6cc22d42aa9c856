package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"greeter/internal/ids"
)

// hashOf makes a 64-character stand-in for a token hash.
func hashOf(s string) string {
	return fmt.Sprintf("%064s", s)
}

// addAgentUser adds a user of role agent with an agent profile and an open
// session, returning the user, the profile and the session hash.
func addAgentUser(
	t *testing.T, s *Store, org ids.OrgID, email string,
) (User, AgentProfile, string) {
	t.Helper()
	ctx := context.Background()
	u, err := s.CreateUser(ctx, NewUser{
		OrgID: org, Email: email, FullName: "Agent " + email, Role: RoleAgent, PasswordHash: "x",
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.CreateAgentProfile(ctx,
		NewAgentProfile{OrgID: org, UserID: u.ID, DisplayName: "A"})
	if err != nil {
		t.Fatal(err)
	}
	sess := hashOf("s-" + string(u.ID))
	now := time.Now()
	err = s.CreateSession(ctx, Session{IDHash: sess, UserID: u.ID, CreatedAt: now,
		LastSeenAt: now, ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return u, p, sess
}

func TestInviteLifecycle(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")
	other := newFixture(t, s, "Other", "otto@example.test")
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	week := 7 * 24 * time.Hour

	n := NewInvite{OrgID: f.org.ID, Email: " Bo@Example.test ", FullName: "Bo", Role: RoleAgent,
		TokenHash: hashOf("one"), InvitedBy: f.admin.ID, CreatedAt: now, ExpiresAt: now.Add(week)}
	inv, err := s.CreateInvite(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Email != "bo@example.test" || !inv.Usable(now) {
		t.Errorf("invite = %+v", inv)
	}

	dup := n
	dup.TokenHash = hashOf("two")
	if _, err := s.CreateInvite(ctx, dup); !errors.Is(err, ErrInvitePending) {
		t.Errorf("second invite: err = %v, want ErrInvitePending", err)
	}
	taken := dup
	taken.Email = "OTTO@example.test"
	if _, err := s.CreateInvite(ctx, taken); !errors.Is(err, ErrEmailTaken) {
		t.Errorf("invite of a user's email: err = %v, want ErrEmailTaken", err)
	}

	// Another organization sees none of it.
	_, err = s.RegenerateInvite(ctx, other.org.ID, inv.ID, hashOf("x"), now, now.Add(week))
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("foreign regenerate: err = %v", err)
	}
	if err := s.RevokeInvite(ctx, other.org.ID, inv.ID, now); !errors.Is(err, ErrNotFound) {
		t.Errorf("foreign revoke: err = %v", err)
	}
	if list, _ := s.ListInvites(ctx, other.org.ID); len(list) != 0 {
		t.Errorf("foreign list = %+v", list)
	}

	// Regenerating kills the old token.
	inv, err = s.RegenerateInvite(ctx, f.org.ID, inv.ID, hashOf("three"), now, now.Add(week))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.InviteByTokenHash(ctx, hashOf("one")); !errors.Is(err, ErrNotFound) {
		t.Errorf("old token still found: %v", err)
	}

	u, err := s.AcceptInvite(ctx, AcceptInvite{TokenHash: hashOf("three"), FullName: "Bo Brown",
		PasswordHash: "h", At: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "bo@example.test" || u.Role != RoleAgent || u.OrgID != f.org.ID || !u.Active {
		t.Errorf("user = %+v", u)
	}
	p, err := s.AgentProfileByUserID(ctx, u.ID)
	if err != nil || !p.Active || p.DisplayName != "Bo Brown" {
		t.Errorf("profile = %+v, %v", p, err)
	}

	_, err = s.AcceptInvite(ctx, AcceptInvite{TokenHash: hashOf("three"), FullName: "Again",
		PasswordHash: "h", At: now.Add(time.Hour)})
	if !errors.Is(err, ErrInviteUnusable) {
		t.Errorf("second accept: err = %v, want ErrInviteUnusable", err)
	}
	if err := s.RevokeInvite(ctx, f.org.ID, inv.ID, now); !errors.Is(err, ErrInviteUnusable) {
		t.Errorf("revoke accepted: err = %v", err)
	}
	if list, _ := s.ListInvites(ctx, f.org.ID); len(list) != 0 {
		t.Errorf("accepted invite still listed: %+v", list)
	}
}

func TestInviteExpiryAndRevocation(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	week := 7 * 24 * time.Hour

	n := NewInvite{OrgID: f.org.ID, Email: "cy@example.test", FullName: "Cy", Role: RoleAdmin,
		TokenHash: hashOf("a"), InvitedBy: f.admin.ID, CreatedAt: now, ExpiresAt: now.Add(week)}
	if _, err := s.CreateInvite(ctx, n); err != nil {
		t.Fatal(err)
	}
	_, err := s.AcceptInvite(ctx, AcceptInvite{TokenHash: hashOf("a"), FullName: "Cy",
		PasswordHash: "h", At: now.Add(week)})
	if !errors.Is(err, ErrInviteUnusable) {
		t.Errorf("expired accept: err = %v, want ErrInviteUnusable", err)
	}

	// Once expired, the email may be invited again.
	later := n
	later.TokenHash, later.CreatedAt, later.ExpiresAt = hashOf("b"), now.Add(week), now.Add(2*week)
	second, err := s.CreateInvite(ctx, later)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeInvite(ctx, f.org.ID, second.ID, now.Add(week)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeInvite(ctx, f.org.ID, second.ID, now.Add(week)); err != nil {
		t.Errorf("revoking twice: %v", err)
	}
	_, err = s.AcceptInvite(ctx, AcceptInvite{TokenHash: hashOf("b"), FullName: "Cy",
		PasswordHash: "h", At: now.Add(week)})
	if !errors.Is(err, ErrInviteUnusable) {
		t.Errorf("revoked accept: err = %v, want ErrInviteUnusable", err)
	}
	_, err = s.AcceptInvite(ctx, AcceptInvite{TokenHash: hashOf("zz"), FullName: "Cy",
		PasswordHash: "h", At: now})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown token: err = %v, want ErrNotFound", err)
	}
}

func TestAcceptAdminInviteTakesCallsOnlyWhenAsked(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")
	now := time.Now()

	for i, takeCalls := range []bool{false, true} {
		token := hashOf(fmt.Sprint("t", i))
		_, err := s.CreateInvite(ctx, NewInvite{OrgID: f.org.ID,
			Email: fmt.Sprintf("admin%d@example.test", i), FullName: "Admin", Role: RoleAdmin,
			TokenHash: token, InvitedBy: f.admin.ID, CreatedAt: now,
			ExpiresAt: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		u, err := s.AcceptInvite(ctx, AcceptInvite{TokenHash: token, FullName: "Admin",
			PasswordHash: "h", TakeCalls: takeCalls, At: now})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.AgentProfileByUserID(ctx, u.ID)
		if takeCalls != (err == nil) {
			t.Errorf("takeCalls %v: profile lookup err = %v", takeCalls, err)
		}
	}
}

func TestRemoveAgentProfileDeactivatesAgentUser(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")
	other := newFixture(t, s, "Other", "otto@example.test")
	u, p, sess := addAgentUser(t, s, f.org.ID, "bo@example.test")
	at := time.Now()

	if err := s.RemoveAgentProfile(ctx, other.org.ID, p.ID, other.admin.ID, at); !errors.Is(err,
		ErrNotFound) {
		t.Errorf("foreign removal: err = %v, want ErrNotFound", err)
	}
	if err := s.RemoveAgentProfile(ctx, f.org.ID, p.ID, f.admin.ID, at); err != nil {
		t.Fatal(err)
	}

	got, _ := s.AgentProfile(ctx, f.org.ID, p.ID)
	if got.Active || got.DeactivatedAt == nil || got.DeactivatedBy != f.admin.ID {
		t.Errorf("profile = %+v", got)
	}
	pool, _ := s.CatchAllPool(ctx, f.org.ID)
	members, _ := s.PoolMembers(ctx, f.org.ID, pool.ID)
	for _, m := range members {
		if m.AgentID == p.ID {
			t.Error("the removed agent is still in the catch-all pool")
		}
	}
	user, _ := s.UserByID(ctx, u.ID)
	if user.Active {
		t.Error("the agent's user is still active")
	}
	if sn, _ := s.SessionByHash(ctx, sess); sn.RevokedAt == nil {
		t.Error("the agent's session is not revoked")
	}

	if err := s.RemoveAgentProfile(ctx, f.org.ID, p.ID, f.admin.ID, at); !errors.Is(err,
		ErrAlreadyRemoved) {
		t.Errorf("second removal: err = %v, want ErrAlreadyRemoved", err)
	}
}

func TestRemoveAdminProfileKeepsAdminAccess(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")

	if err := s.RemoveAgentProfile(ctx, f.org.ID, f.agent.ID, f.admin.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	admin, _ := s.UserByID(ctx, f.admin.ID)
	if !admin.Active {
		t.Error("an admin whose profile was removed was deactivated")
	}

	// Adding themselves back reactivates the profile in the catch-all pool.
	p, err := s.AddAgentProfile(ctx, f.org.ID, f.admin.ID, "Ada Again", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != f.agent.ID || !p.Active || p.DisplayName != "Ada Again" {
		t.Errorf("profile = %+v", p)
	}
	pool, _ := s.CatchAllPool(ctx, f.org.ID)
	if members, _ := s.PoolMembers(ctx, f.org.ID, pool.ID); len(members) != 1 {
		t.Errorf("members = %+v", members)
	}
	_, err = s.AddAgentProfile(ctx, f.org.ID, f.admin.ID, "", time.Now())
	if !errors.Is(err, ErrConflict) {
		t.Errorf("adding an active agent: err = %v, want ErrConflict", err)
	}
}

func TestRemoveUserKeepsAnActiveAdmin(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")
	other := newFixture(t, s, "Other", "otto@example.test")
	at := time.Now()

	if _, err := s.RemoveUser(ctx, f.org.ID, f.admin.ID, f.admin.ID, at); !errors.Is(err,
		ErrLastAdmin) {
		t.Errorf("removing the last admin: err = %v, want ErrLastAdmin", err)
	}
	if _, err := s.SetUserRole(ctx, f.org.ID, f.admin.ID, RoleAgent, at); !errors.Is(err,
		ErrLastAdmin) {
		t.Errorf("demoting the last admin: err = %v, want ErrLastAdmin", err)
	}
	if _, err := s.RemoveUser(ctx, other.org.ID, f.admin.ID, other.admin.ID, at); !errors.Is(err,
		ErrNotFound) {
		t.Errorf("foreign removal: err = %v, want ErrNotFound", err)
	}

	u, _, sess := addAgentUser(t, s, f.org.ID, "bo@example.test")
	if _, err := s.SetUserRole(ctx, f.org.ID, u.ID, RoleAdmin, at); err != nil {
		t.Fatal(err)
	}
	agent, err := s.RemoveUser(ctx, f.org.ID, f.admin.ID, u.ID, at)
	if err != nil || agent != f.agent.ID {
		t.Fatalf("RemoveUser = %q, %v; want the admin's profile", agent, err)
	}
	if p, _ := s.AgentProfile(ctx, f.org.ID, f.agent.ID); p.Active {
		t.Error("the removed member's profile is still active")
	}
	if _, err := s.RemoveUser(ctx, f.org.ID, f.admin.ID, u.ID, at); !errors.Is(err,
		ErrAlreadyRemoved) {
		t.Errorf("second removal: err = %v, want ErrAlreadyRemoved", err)
	}
	if _, err := s.RemoveUser(ctx, f.org.ID, u.ID, u.ID, at); !errors.Is(err, ErrLastAdmin) {
		t.Errorf("removing the new last admin: err = %v, want ErrLastAdmin", err)
	}
	if sn, _ := s.SessionByHash(ctx, sess); sn.RevokedAt != nil {
		t.Error("a refused removal revoked a session")
	}
}

func TestRemovalIsOneTransaction(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")
	u, p, sess := addAgentUser(t, s, f.org.ID, "bo@example.test")

	// Revoking sessions is the last step of both removals; make it fail.
	_, err := s.db.ExecContext(ctx, `CREATE TRIGGER fail_revoke BEFORE UPDATE ON sessions
		WHEN NEW.revoked_at IS NOT NULL BEGIN SELECT RAISE(ABORT, 'injected failure'); END`)
	if err != nil {
		t.Fatal(err)
	}

	if err := s.RemoveAgentProfile(ctx, f.org.ID, p.ID, f.admin.ID, time.Now()); err == nil {
		t.Fatal("RemoveAgentProfile succeeded despite the failure")
	}
	if _, err := s.RemoveUser(ctx, f.org.ID, u.ID, f.admin.ID, time.Now()); err == nil {
		t.Fatal("RemoveUser succeeded despite the failure")
	}

	got, _ := s.AgentProfile(ctx, f.org.ID, p.ID)
	user, _ := s.UserByID(ctx, u.ID)
	sn, _ := s.SessionByHash(ctx, sess)
	pool, _ := s.CatchAllPool(ctx, f.org.ID)
	members, _ := s.PoolMembers(ctx, f.org.ID, pool.ID)
	if !got.Active || !user.Active || sn.RevokedAt != nil || len(members) != 2 {
		t.Errorf("a failed removal changed something: profile %v, user %v, session %v, "+
			"members %d", got.Active, user.Active, sn.RevokedAt, len(members))
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.RemoveAgentProfile(cancelled, f.org.ID, p.ID, f.admin.ID, time.Now()); err == nil {
		t.Error("RemoveAgentProfile succeeded with a cancelled context")
	}
}

func TestSetUserRoleGivesNewAgentsAProfile(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")

	u, err := s.CreateUser(ctx, NewUser{OrgID: f.org.ID, Email: "cy@example.test",
		FullName: "Cy", Role: RoleAdmin, PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	changed, err := s.SetUserRole(ctx, f.org.ID, u.ID, RoleAgent, time.Now())
	if err != nil || changed.Role != RoleAgent {
		t.Fatalf("SetUserRole = %+v, %v", changed, err)
	}
	if p, err := s.AgentProfileByUserID(ctx, u.ID); err != nil || !p.Active {
		t.Errorf("profile = %+v, %v", p, err)
	}

	team, err := s.ListTeam(ctx, f.org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(team) != 2 {
		t.Fatalf("team = %+v", team)
	}
	for _, m := range team {
		if m.Agent == nil || len(m.Pools) != 1 || m.Pools[0].PoolName != CatchAllPoolName {
			t.Errorf("member %s: agent %+v pools %+v", m.User.Email, m.Agent, m.Pools)
		}
	}
}

func TestUpdateAgentProfile(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")
	other := newFixture(t, s, "Other", "otto@example.test")

	name, viewers := " Ada L ", 40
	p, err := s.UpdateAgentProfile(ctx, f.org.ID, f.agent.ID,
		AgentChanges{DisplayName: &name, MaxViewers: &viewers})
	if err != nil || p.DisplayName != "Ada L" || p.MaxViewers != 40 {
		t.Fatalf("UpdateAgentProfile = %+v, %v", p, err)
	}

	tooMany := 1001
	_, err = s.UpdateAgentProfile(ctx, f.org.ID, f.agent.ID, AgentChanges{MaxViewers: &tooMany})
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("max viewers 1001: err = %v, want ErrInvalid", err)
	}
	long := strings.Repeat("x", 61)
	_, err = s.UpdateAgentProfile(ctx, f.org.ID, f.agent.ID, AgentChanges{DisplayName: &long})
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("61-character name: err = %v, want ErrInvalid", err)
	}
	_, err = s.UpdateAgentProfile(ctx, other.org.ID, f.agent.ID,
		AgentChanges{MaxViewers: &viewers})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("foreign update: err = %v, want ErrNotFound", err)
	}
}

func TestAPIKeys(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	f := newFixture(t, s, "Acme", "ada@example.test")
	other := newFixture(t, s, "Other", "otto@example.test")
	now := time.Now()

	var first APIKey
	for i := range MaxActiveAPIKeys {
		k, err := s.CreateAPIKey(ctx, NewAPIKey{OrgID: f.org.ID, Name: fmt.Sprint("key ", i),
			KeyID: fmt.Sprintf("key%09d", i), SecretHash: hashOf(fmt.Sprint(i)),
			CreatedBy: f.admin.ID, CreatedAt: now})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = k
		}
	}
	extra := NewAPIKey{OrgID: f.org.ID, Name: "extra", KeyID: "keyextra0001",
		SecretHash: hashOf("e"), CreatedBy: f.admin.ID, CreatedAt: now}
	if _, err := s.CreateAPIKey(ctx, extra); !errors.Is(err, ErrTooManyKeys) {
		t.Errorf("key 21: err = %v, want ErrTooManyKeys", err)
	}

	if err := s.RevokeAPIKey(ctx, other.org.ID, first.ID, now); !errors.Is(err, ErrNotFound) {
		t.Errorf("foreign revoke: err = %v, want ErrNotFound", err)
	}
	if err := s.RevokeAPIKey(ctx, f.org.ID, first.ID, now); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, f.org.ID, first.ID, now); !errors.Is(err, ErrNotFound) {
		t.Errorf("second revoke: err = %v, want ErrNotFound", err)
	}
	if _, err := s.CreateAPIKey(ctx, extra); err != nil {
		t.Errorf("a key after a revocation: %v", err)
	}

	k, err := s.APIKeyByKeyID(ctx, first.KeyID)
	if err != nil || k.RevokedAt == nil || k.OrgID != f.org.ID {
		t.Errorf("APIKeyByKeyID = %+v, %v", k, err)
	}
	if err := s.TouchAPIKey(ctx, first.ID, now); err != nil {
		t.Fatal(err)
	}

	list, err := s.ListAPIKeys(ctx, f.org.ID)
	if err != nil || len(list) != MaxActiveAPIKeys {
		t.Fatalf("ListAPIKeys: %d keys, %v", len(list), err)
	}
	if list[0].CreatedByName != "Ada Admin" || list[0].RevokedAt != nil {
		t.Errorf("first listed key = %+v", list[0])
	}
	if foreign, _ := s.ListAPIKeys(ctx, other.org.ID); len(foreign) != 0 {
		t.Errorf("foreign list = %+v", foreign)
	}
}
