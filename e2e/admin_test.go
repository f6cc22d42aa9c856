package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"greeter/internal/demo"
)

// The admin invites an agent, makes a new link (the old one stops working),
// and the invitee sets a password on the invitation page and lands on the
// workbench, signed in; the team page then lists them.
func TestInvitedAgentJoinsThroughTheLink(t *testing.T) {
	requireChromium(t)
	srv := startServer(t)
	admin := newPage(t, "admin")
	invitee := newPage(t, "invitee")
	artifacts(t, admin, invitee)
	const email = "carla@example.com"
	inviteRow := fmt.Sprintf(`#invites-body tr[data-email=%q]`, email)

	signInAdmin(admin, srv.dashURL)
	admin.do("fill in the invitation",
		chromedp.SendKeys(chromedp.ID("invite-email"), email),
		chromedp.SendKeys(chromedp.ID("invite-name"), "Carla Diaz"),
		chromedp.SetValue(chromedp.ID("invite-role"), "agent"),
		chromedp.Click(chromedp.ID("invite-submit")))
	first := waitForInviteLink(admin, srv, "")
	admin.waitFor("the pending invitation", 10*time.Second,
		`!!document.querySelector('`+inviteRow+`')`)
	admin.click("#invite-copy")
	admin.waitFor("the copy feedback", 5*time.Second,
		`document.querySelector('#invite-copy').textContent !== 'Copy'`)
	admin.snap("invited")

	admin.click(inviteRow + ` [data-action=regenerate]`)
	link := waitForInviteLink(admin, srv, first)

	invitee.do("open the old link", chromedp.Navigate(first))
	invitee.waitFor("the invalid-link notice", 10*time.Second, `(() => {
		const box = document.querySelector('#invite-invalid');
		return !box.hidden && document.querySelector('#accept-form').hidden &&
			box.textContent.includes('This invitation link is no longer valid.');
	})()`)
	invitee.snap("old-link")

	invitee.do("open the new link", chromedp.Navigate(link))
	invitee.waitFor("the invitation", 10*time.Second, `(() => {
		const text = (id) => document.querySelector('#' + id).textContent;
		if (document.querySelector('#accept-form').hidden) return 'no form';
		return text('invite-org') === '`+demo.OrgName+`' && text('invite-email') === '`+email+`' &&
			text('invite-role') === 'Agent' && document.querySelector('#take-calls-row').hidden &&
			document.querySelector('#full-name').value === 'Carla Diaz';
	})()`)
	invitee.snap("invitation")

	invitee.do("try a short password",
		chromedp.SendKeys(chromedp.ID("new-password"), "short"),
		chromedp.Click(chromedp.ID("accept-submit")))
	invitee.waitFor("the password hint", 5*time.Second, `(() => {
		const e = document.querySelector('#accept-error');
		return !e.hidden && e.textContent.includes('10 to 128 characters');
	})()`)
	invitee.do("choose a good password",
		chromedp.SendKeys(chromedp.ID("new-password"), " and much longer"),
		chromedp.Click(chromedp.ID("accept-submit")))
	invitee.waitFor("the workbench, signed in as Carla", 15*time.Second, `(() => {
		if (location.pathname !== '/workbench') return 'at ' + location.pathname;
		const pill = document.querySelector('#status-pill');
		return document.querySelector('#user-email').textContent === '`+email+`' &&
			document.querySelector('#agent-name').textContent === 'Carla Diaz' &&
			pill.dataset.status === 'away' || 'status ' + pill.dataset.status;
	})()`)
	invitee.snap("workbench")

	admin.waitFor("Carla in the team and her invitation gone", 10*time.Second, `(() => {
		const row = document.querySelector('#members-body tr[data-email="`+email+`"]');
		return !!row && row.dataset.active === 'true' &&
			!document.querySelector('`+inviteRow+`');
	})()`)
	invitee.do("open the used link again", chromedp.Navigate(link))
	invitee.waitFor("the invalid-link notice", 10*time.Second,
		`!document.querySelector('#invite-invalid').hidden`)
}

// The admin creates an API key, sees it once, finds it listed by its prefix
// and revokes it after a confirmation.
func TestAdminCreatesAndRevokesAnAPIKey(t *testing.T) {
	requireChromium(t)
	srv := startServer(t)
	admin := newPage(t, "admin")
	artifacts(t, admin)

	signInAdmin(admin, srv.dashURL)
	admin.click(`#nav a[data-page=api-keys]`)
	admin.waitFor("the API-key page", 10*time.Second, `location.pathname === '/admin/api-keys' &&
		!document.querySelector('#shell').hidden && !document.querySelector('#keys-empty').hidden`)
	admin.do("create a key",
		chromedp.SendKeys(chromedp.ID("key-name"), "HR system"),
		chromedp.Click(chromedp.ID("key-submit")))
	admin.waitFor("the key, shown once", 10*time.Second, `(() => {
		const v = document.querySelector('#key-value').value;
		return !document.querySelector('#key-result').hidden && /^gk_[^_]+_.{20,}$/.test(v) &&
			document.querySelector('#key-warning').textContent.includes('will not be shown again');
	})()`)
	key := mustEval[string](admin, `document.querySelector('#key-value').value`)
	keyID := strings.Split(key, "_")[1]
	admin.waitFor("the key in the list", 10*time.Second, `(() => {
		const row = document.querySelector('#keys-body tr');
		return !!row && row.textContent.includes('HR system') &&
			row.querySelector('code').textContent === 'gk_`+keyID+`_…' &&
			!row.textContent.includes('`+key+`') && row.textContent.includes('Demo Admin');
	})()`)
	admin.snap("created")

	admin.click("#key-done")
	admin.click(`#keys-body tr [data-action=revoke]`)
	admin.waitFor("the confirmation", 5*time.Second, `!document.querySelector('#confirm').hidden`)
	admin.click("#confirm-ok")
	admin.waitFor("no key left", 10*time.Second, `!document.querySelector('#keys-empty').hidden &&
		document.querySelector('#keys-body').children.length === 0 &&
		document.querySelector('#page-notice').textContent.includes('was revoked')`)
}

// The team page shows the server's refusals: the last admin cannot become
// an agent (the role menu goes back), and an email already in use cannot be
// invited.
func TestTeamPageShowsTheServersRefusals(t *testing.T) {
	requireChromium(t)
	srv := startServer(t)
	admin := newPage(t, "admin")
	artifacts(t, admin)
	self := fmt.Sprintf(`#members-body tr[data-email=%q]`, demo.AdminEmail)

	signInAdmin(admin, srv.dashURL)
	mustEval[any](admin, `(() => {
		const select = document.querySelector('`+self+` select');
		select.value = 'agent';
		select.dispatchEvent(new Event('change'));
		return null;
	})()`)
	admin.waitFor("the last-admin error", 10*time.Second, `(() => {
		const e = document.querySelector('#page-error');
		return !e.hidden && e.textContent === 'The organization must keep at least one active admin' &&
			document.querySelector('`+self+` select').value === 'admin' || e.textContent;
	})()`)

	admin.do("invite Ava again",
		chromedp.SendKeys(chromedp.ID("invite-email"), avaEmail),
		chromedp.SendKeys(chromedp.ID("invite-name"), "Ava Again"),
		chromedp.Click(chromedp.ID("invite-submit")))
	admin.waitFor("the email-taken error", 10*time.Second, `(() => {
		const e = document.querySelector('#invite-error');
		return !e.hidden && e.textContent === 'A user with this email already exists' &&
			document.querySelector('#invite-result').hidden;
	})()`)
	admin.snap("refusals")
}

// Admin pages send a visitor without a session to the sign-in page and an
// agent to the workbench, whose navigation offers only the agent's pages.
func TestAdminPagesAreForAdmins(t *testing.T) {
	requireChromium(t)
	srv := startServer(t)
	p := newPage(t, "agent")
	artifacts(t, p)

	p.do("open the team page signed out", chromedp.Navigate(srv.dashURL+"/admin/team"))
	p.waitFor("the sign-in page", 10*time.Second, `location.pathname === '/login'`)

	signIn(p, srv.dashURL, avaEmail, demo.Password)
	nav := mustEval[string](p, `[...document.querySelectorAll('#nav a')]
		.map((a) => a.dataset.page).join(',')`)
	if nav != "workbench,videos,calls" {
		t.Errorf("an agent's navigation offers %q, want workbench,videos,calls", nav)
	}
	for _, path := range []string{"/admin/team", "/admin/api-keys", "/admin/pools",
		"/admin/settings"} {
		p.do("open "+path, chromedp.Navigate(srv.dashURL+path))
		p.waitFor("the workbench instead of "+path, 10*time.Second,
			`location.pathname === '/workbench'`)
	}
	p.do("open the call log", chromedp.Navigate(srv.dashURL+"/calls"))
	p.waitFor("the agent's own, empty call log", 10*time.Second, `location.pathname === '/calls' &&
		!document.querySelector('#calls-empty').hidden &&
		document.querySelector('#calls-scope').textContent === 'Your calls, newest first.'`)
}

// waitForInviteLink waits for the invitation link box to show a link other
// than previous, and returns it.
func waitForInviteLink(p *page, srv *server, previous string) string {
	p.t.Helper()
	prefix := srv.dashURL + "/invite/"
	p.waitFor("the invitation link", 10*time.Second, `(() => {
		const v = document.querySelector('#invite-link').value;
		return !document.querySelector('#invite-result').hidden && v.startsWith('`+prefix+`') &&
			v !== '`+previous+`' || 'link ' + v;
	})()`)
	return mustEval[string](p, `document.querySelector('#invite-link').value`)
}
