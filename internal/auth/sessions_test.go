package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"greeter/internal/store"
)

const testPassword = "correct horse battery"

var (
	testHashOnce sync.Once
	testHash     string
)

// passwordHash hashes testPassword once for all tests: each hash costs a
// noticeable fraction of a second.
func passwordHash(t *testing.T) string {
	t.Helper()
	testHashOnce.Do(func() {
		h, err := HashPassword(testPassword)
		if err != nil {
			panic(err)
		}
		testHash = h
	})
	return testHash
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type sessionsFixture struct {
	store    *store.Store
	sessions *Sessions
	clock    *fakeClock
	org      store.Org
	admin    store.User
}

func newSessionsFixture(t *testing.T) sessionsFixture {
	t.Helper()
	ctx := context.Background()

	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "greeter.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}

	org, admin, err := st.CreateOrg(ctx, store.NewOrg{
		Name: "Acme", AdminEmail: "ada@example.test", AdminFullName: "Ada",
		AdminPasswordHash: passwordHash(t),
	})
	if err != nil {
		t.Fatal(err)
	}

	clock := &fakeClock{now: time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)}
	return sessionsFixture{
		store: st, sessions: NewSessions(st, clock.Now, true), clock: clock,
		org: org, admin: admin,
	}
}

func TestLoginSucceedsWithCaseInsensitiveEmail(t *testing.T) {
	f := newSessionsFixture(t)
	ctx := context.Background()

	token, u, err := f.sessions.Login(ctx, "ADA@example.test", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != f.admin.ID || token == "" {
		t.Fatalf("Login = %q, %+v", token, u)
	}

	got, err := f.sessions.Authenticate(ctx, token)
	if err != nil || got.ID != f.admin.ID {
		t.Errorf("Authenticate = %+v, %v", got, err)
	}

	sess, err := f.store.SessionByHash(ctx, HashToken(token))
	if err != nil {
		t.Fatal(err)
	}
	if !sess.ExpiresAt.Equal(f.clock.Now().Add(SessionLifetime)) {
		t.Errorf("session expires at %v", sess.ExpiresAt)
	}
}

func TestLoginRefusalsAreIndistinguishable(t *testing.T) {
	f := newSessionsFixture(t)
	ctx := context.Background()

	inactive, err := f.store.CreateUser(ctx, store.NewUser{
		OrgID: f.org.ID, Email: "gone@example.test", FullName: "Gone", Role: store.RoleAgent,
		PasswordHash: passwordHash(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	err = f.store.DeactivateUser(ctx, f.org.ID, inactive.ID, f.admin.ID, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, email, password string
	}{
		{"wrong password", "ada@example.test", "not the password"},
		{"unknown email", "nobody@example.test", testPassword},
		{"deactivated user", "gone@example.test", testPassword},
		{"empty password", "ada@example.test", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, u, err := f.sessions.Login(ctx, tt.email, tt.password)
			if err != ErrInvalidCredentials {
				t.Errorf("err = %v, want exactly ErrInvalidCredentials", err)
			}
			if token != "" || u.ID != "" {
				t.Errorf("refused login returned %q, %+v", token, u)
			}
		})
	}
}

func TestSessionExpiry(t *testing.T) {
	tests := []struct {
		name  string
		steps []time.Duration // uses of the session, each after a pause
		valid bool
	}{
		{"used within a week", []time.Duration{6 * 24 * time.Hour}, true},
		{"idle for a week", []time.Duration{SessionIdleTimeout}, false},
		{"used every 6 days for 29 days", []time.Duration{
			6 * 24 * time.Hour, 6 * 24 * time.Hour, 6 * 24 * time.Hour, 6 * 24 * time.Hour,
			5 * 24 * time.Hour,
		}, true},
		{"used every 6 days past 30 days", []time.Duration{
			6 * 24 * time.Hour, 6 * 24 * time.Hour, 6 * 24 * time.Hour, 6 * 24 * time.Hour,
			6 * 24 * time.Hour,
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSessionsFixture(t)
			ctx := context.Background()
			token, _, err := f.sessions.Login(ctx, "ada@example.test", testPassword)
			if err != nil {
				t.Fatal(err)
			}

			var last error
			for _, pause := range tt.steps {
				f.clock.Advance(pause)
				_, last = f.sessions.Authenticate(ctx, token)
			}
			if tt.valid && last != nil {
				t.Errorf("err = %v, want a valid session", last)
			}
			if !tt.valid && !errors.Is(last, ErrNoSession) {
				t.Errorf("err = %v, want ErrNoSession", last)
			}
		})
	}
}

func TestAuthenticateTouchesAtMostOncePerMinute(t *testing.T) {
	f := newSessionsFixture(t)
	ctx := context.Background()
	token, _, err := f.sessions.Login(ctx, "ada@example.test", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	start := f.clock.Now()

	lastSeen := func() time.Time {
		sess, err := f.store.SessionByHash(ctx, HashToken(token))
		if err != nil {
			t.Fatal(err)
		}
		return sess.LastSeenAt
	}

	f.clock.Advance(30 * time.Second)
	if _, err := f.sessions.Authenticate(ctx, token); err != nil {
		t.Fatal(err)
	}
	if got := lastSeen(); !got.Equal(start) {
		t.Errorf("touched after 30 s: last seen %v", got)
	}

	f.clock.Advance(31 * time.Second)
	if _, err := f.sessions.Authenticate(ctx, token); err != nil {
		t.Fatal(err)
	}
	if got := lastSeen(); !got.Equal(f.clock.Now()) {
		t.Errorf("not touched after 61 s: last seen %v", got)
	}
}

func TestLogoutRevokesTheSession(t *testing.T) {
	f := newSessionsFixture(t)
	ctx := context.Background()
	token, _, err := f.sessions.Login(ctx, "ada@example.test", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := f.sessions.Login(ctx, "ada@example.test", testPassword)
	if err != nil {
		t.Fatal(err)
	}

	if err := f.sessions.Logout(ctx, token); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sessions.Authenticate(ctx, token); !errors.Is(err, ErrNoSession) {
		t.Errorf("after logout: err = %v, want ErrNoSession", err)
	}
	if _, err := f.sessions.Authenticate(ctx, other); err != nil {
		t.Errorf("another session was revoked: %v", err)
	}
	if err := f.sessions.Logout(ctx, token); err != nil {
		t.Errorf("second logout: %v", err)
	}
	if _, err := f.sessions.Authenticate(ctx, "made-up"); !errors.Is(err, ErrNoSession) {
		t.Errorf("unknown token: err = %v", err)
	}
}

func TestDeactivatedUserLosesSession(t *testing.T) {
	f := newSessionsFixture(t)
	ctx := context.Background()
	token, _, err := f.sessions.Login(ctx, "ada@example.test", testPassword)
	if err != nil {
		t.Fatal(err)
	}

	err = f.store.DeactivateUser(ctx, f.org.ID, f.admin.ID, f.admin.ID, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.sessions.Authenticate(ctx, token); !errors.Is(err, ErrNoSession) {
		t.Errorf("err = %v, want ErrNoSession", err)
	}
}

func TestSessionCookie(t *testing.T) {
	rec := httptest.NewRecorder()
	SetSessionCookie(rec, "tok", true)
	c := rec.Result().Cookies()[0]
	if c.Name != CookieName || c.Value != "tok" || !c.HttpOnly || !c.Secure ||
		c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != 30*24*3600 {
		t.Errorf("cookie = %+v", c)
	}

	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(c)
	if got := TokenFromRequest(req); got != "tok" {
		t.Errorf("TokenFromRequest = %q", got)
	}
	if got := TokenFromRequest(httptest.NewRequest(http.MethodGet, "/", nil)); got != "" {
		t.Errorf("TokenFromRequest without cookie = %q", got)
	}

	rec = httptest.NewRecorder()
	ClearSessionCookie(rec, false)
	c = rec.Result().Cookies()[0]
	if c.Name != CookieName || c.MaxAge >= 0 || c.Secure {
		t.Errorf("cleared cookie = %+v", c)
	}
}
