package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"greeter/internal/demo"
	"greeter/internal/store"
)

// A visitor moves within a single-page app, calls with the microphone only and
// cancels while Ava's workbench rings: the ring shows the new page, stops on
// the cancel, the widget goes back to the greeting, and the log records a
// cancelled request.
func TestVisitorCancelStopsTheRing(t *testing.T) {
	srv, agent, visitor := avaLiveWithVisitor(t)
	openShop(visitor, srv, "/")
	// A single-page-app navigation re-joins with the new URL (SPEC §7.6).
	mustEval[any](visitor, `history.pushState({}, '', '/pricing?via=spa'), null`)

	visitor.clickShadow("[data-action=mic]")
	visitor.waitFor("waiting without a video preview", 10*time.Second, widgetJS(
		`state === 'waiting' && q('video.gw-self').hidden || 'state ' + state`))
	agent.waitFor("the incoming call", 10*time.Second, `!document.querySelector('#incoming').hidden`)
	page := mustEval[string](agent, `document.querySelector('#incoming-page').textContent`)
	if !strings.HasSuffix(page, "/pricing?via=spa") {
		t.Errorf("incoming call shows page %q, want the page after pushState", page)
	}

	visitor.clickShadow("[data-action=cancel]")
	visitor.waitFor("the greeting again", 10*time.Second,
		widgetJS(`state === 'open' || 'state ' + state`))
	agent.waitFor("the ring to stop", 10*time.Second, `(() => {
		const msg = document.querySelector('#call-message');
		return document.querySelector('#incoming').hidden && !msg.hidden &&
			msg.textContent.includes('cancelled') || msg.textContent;
	})()`)

	row := callLogWithStatus(t, srv, store.CallCancelled)
	if row.EndReason != "visitor_cancelled" {
		t.Errorf("cancelled row has end reason %q, want visitor_cancelled", row.EndReason)
	}
}

// Ava declines; nobody else is live, so the visitor keeps waiting and the log
// records the declined ring.
func TestAgentDeclineKeepsTheVisitorWaiting(t *testing.T) {
	srv, agent, visitor := avaLiveWithVisitor(t)
	openShop(visitor, srv, "/")

	visitor.clickShadow("[data-action=camera]")
	agent.waitFor("the incoming call", 10*time.Second, `!document.querySelector('#incoming').hidden`)
	agent.do("decline", chromedp.Click(chromedp.ID("decline")))
	agent.waitFor("the modal to close", 5*time.Second, `document.querySelector('#incoming').hidden`)

	row := callLogWithStatus(t, srv, store.CallRejected)
	if row.EndReason != "declined" {
		t.Errorf("rejected row has end reason %q, want declined", row.EndReason)
	}
	if state, err := eval[string](visitor, widgetJS(`state`)); err != nil || state != "waiting" {
		t.Errorf("after the decline the widget is %q (%v), want waiting", state, err)
	}
}

// The page's Greeter command queue, Escape and a second loader behave as
// SPEC §12.1 says, and destroy removes the widget and its connection.
func TestWidgetCommandsAndSecondLoader(t *testing.T) {
	srv, agent, visitor := avaLiveWithVisitor(t)
	openShop(visitor, srv, "/")

	visitor.do("press Escape", chromedp.KeyEvent(kb.Escape))
	visitor.waitFor("Escape to minimize", 5*time.Second,
		widgetJS(`state === 'minimized' || 'state ' + state`))
	mustEval[any](visitor, `Greeter('open'), null`)
	visitor.waitFor("Greeter('open')", 5*time.Second, widgetJS(`state === 'open' || state`))
	mustEval[any](visitor, `Greeter('minimize'), null`)
	visitor.waitFor("Greeter('minimize')", 5*time.Second,
		widgetJS(`state === 'minimized' || state`))
	mustEval[any](visitor, `Greeter('dance'), null`)
	if !poll(5*time.Second, func() bool {
		return strings.Contains(string(visitor.console.Bytes()), `unknown command "dance"`)
	}) {
		t.Error("an unknown command logged no warning")
	}

	mustEval[any](visitor, `(() => {
		const s = document.createElement('script');
		s.src = document.querySelector('script[data-site-key]').src;
		s.dataset.siteKey = 'pk_demo00000000000000000000';
		document.head.appendChild(s);
		return null;
	})()`)
	if poll(3*time.Second, func() bool {
		n, err := eval[int](visitor, `document.querySelectorAll('#greeter-widget').length`)
		return err == nil && n != 1
	}) {
		t.Error("a second loader changed the number of widgets")
	}
	n := mustEval[int](agent, `Number(document.querySelector('#viewer-count').textContent)`)
	if n != 1 {
		t.Errorf("after a second loader Ava has %d viewers, want 1", n)
	}

	mustEval[any](visitor, `Greeter('destroy'), null`)
	visitor.waitFor("destroy to remove the widget", 5*time.Second,
		`!document.querySelector('#greeter-widget')`)
	agent.waitFor("Ava to lose the viewer", 10*time.Second,
		`document.querySelector('#viewer-count').textContent === '0'`)
}

// openShop opens a demo shop page and waits for Ava's greeting.
func openShop(p *page, srv *server, path string) {
	p.t.Helper()
	p.do("open the demo shop", chromedp.Navigate(srv.demoURL+path))
	p.waitFor("the widget to open with Ava", 20*time.Second, widgetJS(
		`state === 'open' && q('.gw-agent-name').textContent === 'Ava' || 'state ' + state`))
}

// callLogWithStatus waits for a row of the demo org with this status.
func callLogWithStatus(t *testing.T, srv *server, status string) store.CallLog {
	t.Helper()
	ctx := context.Background()
	st := srv.app.Store()
	org, err := st.OrgByName(ctx, demo.OrgName)
	if err != nil {
		t.Fatalf("loading the demo org: %v", err)
	}

	var rows []store.CallLog
	var found *store.CallLog
	poll(10*time.Second, func() bool {
		rows, err = st.ListCallLogs(ctx, org.ID, store.CallLogFilter{})
		for i := range rows {
			if rows[i].Status == status {
				found = &rows[i]
				return true
			}
		}
		return false
	})
	if found == nil {
		t.Fatalf("no %s row in the call log (rows: %+v, err: %v)", status, rows, err)
	}
	return *found
}

// When the agent a visitor watches goes away, the visitor moves to the other
// live agent with a banner; when that one leaves too, the widget says so and
// hides.
func TestVisitorMovesWhenTheirAgentStepsAway(t *testing.T) {
	requireChromium(t)
	srv := startServer(t)
	ava := newPage(t, "ava")
	ben := newPage(t, "ben")
	visitor := newPage(t, "visitor")
	artifacts(t, ava, ben, visitor)

	signIn(ava, srv.dashURL, "ava@demo.greeter.test", demo.Password)
	signIn(ben, srv.dashURL, "ben@demo.greeter.test", demo.Password)
	goLive(ava)
	goLive(ben)
	visitor.do("open the demo shop", chromedp.Navigate(srv.demoURL+"/"))
	visitor.waitFor("the widget to open", 20*time.Second,
		widgetJS(`state === 'open' || 'state ' + state`))

	first, second := ava, ben
	firstName, secondName := "Ava", "Ben"
	if mustEval[string](visitor, widgetJS(`q('.gw-agent-name').textContent`)) == "Ben" {
		first, second = ben, ava
		firstName, secondName = "Ben", "Ava"
	}

	first.do("go away", chromedp.Click(chromedp.ID("go-away")))
	visitor.waitFor("the reassignment banner", 10*time.Second, widgetJS(`(() => {
		const text = q('.gw-message').textContent;
		return !q('.gw-message').hidden && text === '`+firstName+` had to step away. `+
		secondName+` is here for you now.' && q('.gw-agent-name').textContent === '`+
		secondName+`' || text;
	})()`))
	second.waitFor("the new viewer", 10*time.Second,
		`document.querySelector('#viewer-count').textContent === '1'`)

	second.do("go away", chromedp.Click(chromedp.ID("go-away")))
	visitor.waitFor("the step-away banner", 10*time.Second, widgetJS(
		`!q('.gw-message').hidden && q('.gw-message').textContent === '`+secondName+
			` had to step away.' || q('.gw-message').textContent`))
	visitor.waitFor("the widget to hide", 10*time.Second,
		widgetJS(`state === 'hidden' || 'state ' + state`))
}

// A ring nobody answers sets the agent Away with a blocking notice; "Go live
// again" brings the agent back.
func TestUnansweredRingMarksTheAgentAway(t *testing.T) {
	srv, agent, visitor := avaLiveWithVisitor(t)
	openShop(visitor, srv, "/")

	visitor.clickShadow("[data-action=camera]")
	agent.waitFor("the incoming call", 10*time.Second, `!document.querySelector('#incoming').hidden`)
	agent.waitFor("the away notice after the ring times out", 25*time.Second, `(() => {
		const modal = document.querySelector('#away-modal');
		return !modal.hidden && document.querySelector('#incoming').hidden &&
			document.querySelector('#status-pill').dataset.status === 'away' &&
			document.querySelector('#away-message').textContent.includes('not answered') ||
			document.querySelector('#away-message').textContent;
	})()`)
	agent.snap("marked-away")

	agent.do("go live again", chromedp.Click(chromedp.ID("go-live-again")))
	agent.waitFor("live again", 10*time.Second, `(() => {
		const status = document.querySelector('#status-pill').dataset.status;
		return document.querySelector('#away-modal').hidden &&
			['idle', 'in_simulation'].includes(status) || status;
	})()`)
	row := callLogWithStatus(t, srv, store.CallMissed)
	if row.EndReason != "ring_no_answer" {
		t.Errorf("missed row has end reason %q, want ring_no_answer", row.EndReason)
	}
}
