package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"greeter/internal/demo"
	"greeter/internal/store"
)

const avaEmail = "ava@demo.greeter.test"

// An admin removes Ava from the team page while she is on a video call: the
// confirmation warns about the call, the visitor's widget says the agent
// ended it, Ava's workbench shows the removal screen, the call log records
// the end (agent_removed, by admin) and Ava can no longer sign in.
func TestAdminRemovesAnAgentDuringACall(t *testing.T) {
	requireChromium(t)
	srv := startServer(t)
	agent := newPage(t, "agent")
	visitor := newPage(t, "visitor")
	admin := newPage(t, "admin")
	artifacts(t, agent, visitor, admin)

	// The admin signs in first: a bcrypt check next to three browsers
	// streaming video can take longer than the waits below allow.
	signInAdmin(admin, srv.dashURL)
	startCallWithAva(t, srv, agent, visitor)

	avaRow := fmt.Sprintf(`tr[data-email=%q]`, avaEmail)
	admin.waitFor("Ava in a call on the team page", 10*time.Second, `(() => {
		const s = document.querySelector('`+avaRow+` .status');
		return !!s && s.dataset.status === 'in_call' || 'status ' + (s && s.dataset.status);
	})()`)
	admin.snap("team-in-call")

	admin.click(avaRow + ` [data-action=remove-member]`)
	admin.waitFor("the confirmation with the call warning", 10*time.Second, `(() => {
		const w = document.querySelector('#confirm-warning');
		return !document.querySelector('#confirm').hidden && !w.hidden &&
			w.textContent === 'Ava is on a call right now. Removing them ends the call.' ||
			'warning: ' + w.textContent;
	})()`)
	admin.snap("confirm")
	admin.click("#confirm-ok")

	visitor.waitFor("the agent-ended message", 10*time.Second, widgetJS(`(() => {
		const m = q('.gw-message');
		return !m.hidden && m.textContent.includes('Agent has ended the call') ||
			'state ' + state + ', message ' + m.textContent;
	})()`))
	visitor.snap("ended")
	agent.waitFor("the removal screen", 10*time.Second, `(() => {
		const screen = document.querySelector('#removed');
		return !screen.hidden && document.querySelector('#shell').hidden &&
			document.querySelector('#removed-text').textContent ===
				'Your access to this organization has been removed.' &&
			window.greeterWorkbench.pc === null;
	})()`)
	agent.snap("removed")
	// The server writes call:ended before it closes the socket with 4101.
	if msg := mustEval[string](agent, `document.querySelector('#removed-call').textContent`); msg !=
		"Call ended due to agent removal" {
		t.Errorf("the removal screen says %q about the call", msg)
	}
	admin.waitFor("Ava shown as removed", 10*time.Second, `(() => {
		const row = document.querySelector('`+avaRow+`');
		const notice = document.querySelector('#page-notice');
		return row.dataset.active === 'false' && !notice.hidden &&
			notice.textContent === 'Ava was removed.';
	})()`)
	admin.snap("team-removed")

	call := completedCall(t, srv)
	if call.EndReason != "agent_removed" || call.EndedBy != store.EndedByAdmin {
		t.Errorf("call ended by %q with reason %q, want admin / agent_removed",
			call.EndedBy, call.EndReason)
	}
	if call.AgentID != agentID(t, srv, avaEmail) {
		t.Errorf("call logged for agent %s, want Ava", call.AgentID)
	}

	admin.click(`#nav a[data-page=calls]`)
	admin.waitFor("the call in the call log", 10*time.Second, `(() => {
		const row = document.querySelector('#calls-body tr[data-call-id="`+string(call.ID)+`"]');
		if (!row) return 'no row';
		const col = (c) => row.querySelector('[data-col=' + c + ']');
		return col('status').dataset.value === 'completed' &&
			col('endReason').dataset.value === 'agent_removed' &&
			col('endReason').textContent === 'Agent removed' &&
			col('endedBy').dataset.value === 'admin' && col('agent').textContent === 'Ava' ||
			row.textContent;
	})()`)
	admin.snap("calls")

	agent.do("open the sign-in page", chromedp.Navigate(srv.dashURL+"/login"))
	fillLogin(agent, avaEmail, demo.Password)
	agent.waitFor("the sign-in error", 30*time.Second, `(() => {
		const e = document.querySelector('#login-error');
		return !e.hidden && e.textContent.includes('Invalid email or password') ||
			location.pathname;
	})()`)
	agent.snap("login-refused")
}

// startCallWithAva signs Ava in, goes live, has the visitor call her with the
// camera and Ava accept, and checks that video flows both ways.
func startCallWithAva(t *testing.T, srv *server, agent, visitor *page) {
	t.Helper()
	signIn(agent, srv.dashURL, avaEmail, demo.Password)
	goLive(agent)

	openShop(visitor, srv, "/")
	visitor.clickShadow("[data-action=camera]")
	agent.waitFor("the incoming call", 15*time.Second,
		`!document.querySelector('#incoming').hidden`)
	agent.do("accept", chromedp.Click(chromedp.ID("accept")))
	agent.waitFor("the call stage", 10*time.Second,
		`!document.querySelector('#call-stage').hidden`)
	visitor.waitFor("the in-call state", 10*time.Second,
		widgetJS(`state === 'incall' || 'state ' + state`))

	assertVideoArrives(agent, `window.greeterWorkbench && window.greeterWorkbench.pc`,
		`document.querySelector('video#remote-video')`)
	assertVideoArrives(visitor, `window.Greeter && window.Greeter._pc`,
		`document.querySelector('#greeter-widget').shadowRoot.querySelector('video.gw-remote')`)
	agent.snap("incall")
	visitor.snap("incall")
}
