package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"greeter/internal/demo"
)

// The admin sets the ring time to 20 s (and sees the server refuse 5 s),
// lowers Ava's maximum viewers on the team page, and Ava, live all along
// without reconnecting, is rung with a countdown that starts at 20.
func TestSettingsReachALiveAgent(t *testing.T) {
	srv, agent, visitor := avaLiveWithVisitor(t)
	admin := newPage(t, "admin")
	artifacts(t, admin)

	signInAdmin(admin, srv.dashURL)
	admin.click(`#nav a[data-page=settings]`)
	admin.waitFor("the settings page", 10*time.Second, `location.pathname === '/admin/settings' &&
		!document.querySelector('#shell').hidden &&
		document.querySelector('#rna-seconds').value === '15' &&
		document.querySelector('#max-call-minutes').value === '120' &&
		document.querySelector('#org-name').value === '`+demo.OrgName+`'`)

	setRingTime(admin, "20")
	admin.waitFor("Saved next to the ring time", 10*time.Second, `(() => {
		const s = document.querySelector('#rna-seconds-status');
		return s.textContent === 'Saved' && s.dataset.state === 'ok' || s.textContent;
	})()`)
	admin.snap("saved")
	assertRingTime(t, srv, 20)

	setRingTime(admin, "5")
	admin.waitFor("the server's range message", 10*time.Second, `(() => {
		const s = document.querySelector('#rna-seconds-status');
		return s.textContent === 'rnaSeconds must be between 10 and 60' &&
			s.dataset.state === 'error' || s.textContent;
	})()`)
	admin.snap("refused")
	assertRingTime(t, srv, 20)

	editAvasCapacity(admin, "3")
	assertMaxViewers(t, srv, avaEmail, 3)

	// Every value the countdown shows, from its first.
	mustEval[any](agent, `(() => {
		window.shownCountdowns = [];
		const c = document.querySelector('#countdown');
		new MutationObserver(() => window.shownCountdowns.push(c.textContent))
			.observe(c, { childList: true, characterData: true, subtree: true });
		return null;
	})()`)
	visitor.do("open the demo shop", chromedp.Navigate(srv.demoURL+"/"))
	visitor.waitFor("the widget to open with Ava", 20*time.Second, widgetJS(
		`state === 'open' && q('.gw-agent-name').textContent === 'Ava' || 'state ' + state`))
	visitor.clickShadow("[data-action=camera]")
	agent.waitFor("the incoming call", 10*time.Second,
		`!document.querySelector('#incoming').hidden && window.shownCountdowns.length > 0`)
	agent.snap("incoming")
	first := mustEval[string](agent, `window.shownCountdowns[0]`)
	if first != "20" {
		t.Errorf("the countdown started at %s, want 20 (shown: %s)", first,
			mustEval[string](agent, `window.shownCountdowns.join(',')`))
	}
}

// setRingTime types a ring time on the settings page and saves it.
func setRingTime(p *page, seconds string) {
	p.t.Helper()
	p.do("enter a ring time of "+seconds,
		chromedp.SetValue(chromedp.ID("rna-seconds"), ""),
		chromedp.SendKeys(chromedp.ID("rna-seconds"), seconds))
	p.click("#calls-save")
}

// editAvasCapacity sets Ava's maximum viewers through the team page's edit
// dialog and waits for her row to show it.
func editAvasCapacity(p *page, viewers string) {
	p.t.Helper()
	row := fmt.Sprintf(`#members-body tr[data-email=%q]`, avaEmail)
	p.click(`#nav a[data-page=team]`)
	p.click(row + ` [data-action=edit-agent]`)
	p.waitFor("the edit dialog", 5*time.Second, `!document.querySelector('#agent-edit').hidden &&
		document.querySelector('#agent-display-name').value === 'Ava' &&
		document.querySelector('#agent-max-viewers').value === '25'`)
	p.do("enter the maximum viewers",
		chromedp.SetValue(chromedp.ID("agent-max-viewers"), ""),
		chromedp.SendKeys(chromedp.ID("agent-max-viewers"), viewers))
	p.snap("edit-agent")
	p.click("#agent-edit-save")
	p.waitFor("Ava's new capacity in the list", 10*time.Second, `(() => {
		const cell = document.querySelector('`+row+` [data-max-viewers]');
		return document.querySelector('#agent-edit').hidden && !!cell &&
			cell.dataset.maxViewers === '`+viewers+`' || (cell && cell.textContent);
	})()`)
}

// assertRingTime checks the demo organization's stored ring time.
func assertRingTime(t *testing.T, srv *server, want int) {
	t.Helper()
	org, err := srv.app.Store().OrgByName(context.Background(), demo.OrgName)
	if err != nil {
		t.Fatal(err)
	}
	if org.RNASeconds != want {
		t.Errorf("stored ring time %d s, want %d", org.RNASeconds, want)
	}
}

// assertMaxViewers checks the stored capacity of the agent with this email.
func assertMaxViewers(t *testing.T, srv *server, email string, want int) {
	t.Helper()
	ctx := context.Background()
	user, err := srv.app.Store().UserByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	profile, err := srv.app.Store().AgentProfileByUserID(ctx, user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if profile.MaxViewers != want {
		t.Errorf("%s may have %d viewers, want %d", email, profile.MaxViewers, want)
	}
}
