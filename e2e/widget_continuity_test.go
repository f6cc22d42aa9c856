package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"greeter/internal/demo"
	"greeter/internal/store"
)

// Call continuity (SPEC §9) from the widget's side: the next page, a reload,
// pages clicked through quickly, the Rejoin prompt and an agent who is gone
// for good.

// storedCallJS is the widget's call record in localStorage, or {}.
const storedCallJS = `JSON.parse(localStorage.getItem(Object.keys(localStorage)` +
	`.find((k) => k.startsWith('greeter:call:')) || '') || '{}')`

// Mid-call, the visitor follows the shop's link to the pricing page: the
// widget on the new page resumes the same call, video flows again both ways,
// and the call log keeps one row for the call.
func TestCallContinuesOnTheNextPage(t *testing.T) {
	srv, agent, visitor := avaLiveWithVisitor(t)
	callID := callOnWorkbench(agent, visitor, srv.demoURL)
	markPeerConnectionsOld(agent, visitor)

	visitor.click(`nav a[href="/pricing"]`)
	visitor.waitFor("the pricing page", 15*time.Second, `location.pathname === '/pricing'`)
	assertCallResumed(t, srv, agent, visitor, callID)
	snapWidget(visitor, "resumed")
	agent.snap("resumed")

	endCallAsVisitor(t, srv, agent, visitor)
}

// A reload in the middle of a call resumes it on the reloaded page.
func TestCallContinuesAfterAReload(t *testing.T) {
	srv, agent, visitor := avaLiveWithVisitor(t)
	callID := callOnWorkbench(agent, visitor, srv.demoURL)
	markPeerConnectionsOld(agent, visitor)

	visitor.do("reload", chromedp.Reload())
	assertCallResumed(t, srv, agent, visitor, callID)
	endCallAsVisitor(t, srv, agent, visitor)
}

// A visitor who clicks on before the widget of the page in between has
// loaded keeps the call: the loader stores the token that the resume on that
// page rotated, so the next page resumes with it.
func TestCallSurvivesAPageLeftBeforeTheWidgetLoaded(t *testing.T) {
	srv, agent, visitor := avaLiveWithVisitor(t)
	callID := callOnWorkbench(agent, visitor, srv.demoURL)
	markPeerConnectionsOld(agent, visitor)
	token := mustEval[string](visitor, `(`+storedCallJS+`).token`)

	// The widget's UI module never arrives on the pricing page; its loader
	// still resumes the call.
	blockWidgetUI(visitor, true)
	visitor.click(`nav a[href="/pricing"]`)
	visitor.waitFor("the rotated token on the pricing page", 15*time.Second, fmt.Sprintf(
		`location.pathname === '/pricing' && (%s).token !== %q || location.pathname`,
		storedCallJS, token))
	blockWidgetUI(visitor, false)

	visitor.click(`nav a[href="/"]`)
	visitor.waitFor("the shop's home page", 15*time.Second, `location.pathname === '/'`)
	assertCallResumed(t, srv, agent, visitor, callID)
	endCallAsVisitor(t, srv, agent, visitor)
}

// A visitor who comes back 30 to 60 s after leaving the page sees the Rejoin
// prompt with Ava's name and a countdown; Rejoin resumes the call.
func TestRejoinPromptResumesTheCall(t *testing.T) {
	srv, agent, visitor := avaLiveWithVisitor(t)
	callID := callOnWorkbench(agent, visitor, srv.demoURL)
	markPeerConnectionsOld(agent, visitor)

	leaveShopForSeconds(visitor, srv, 35)
	visitor.do("open the pricing page", chromedp.Navigate(srv.demoURL+"/pricing"))
	visitor.waitFor("the Rejoin prompt", 20*time.Second, widgetJS(`(() => {
		if (state !== 'rejoin') return 'state ' + state;
		const left = Number(q('.gw-rejoin-left').textContent);
		return q('.gw-rejoin .gw-agent-name').textContent === 'Ava' && left > 15 && left <= 25 ||
			'countdown ' + left;
	})()`))
	snapWidget(visitor, "rejoin-prompt")

	visitor.clickShadow("[data-action=rejoin]")
	assertCallResumed(t, srv, agent, visitor, callID)
	endCallAsVisitor(t, srv, agent, visitor)
}

// "Not now" on the Rejoin prompt ends the call for both parties at once.
func TestRejoinPromptNotNowEndsTheCall(t *testing.T) {
	srv, agent, visitor := avaLiveWithVisitor(t)
	callOnWorkbench(agent, visitor, srv.demoURL)

	leaveShopForSeconds(visitor, srv, 35)
	visitor.do("open the pricing page", chromedp.Navigate(srv.demoURL+"/pricing"))
	visitor.waitFor("the Rejoin prompt", 20*time.Second,
		widgetJS(`state === 'rejoin' || 'state ' + state`))
	visitor.clickShadow("[data-action=not-now]")

	agent.waitFor("the agent's end-of-call view", 15*time.Second, `(() => {
		const msg = document.querySelector('#call-message');
		return document.querySelector('#call-stage').hidden && !msg.hidden &&
			msg.textContent.includes('ended the call') || msg.textContent;
	})()`)
	visitor.waitFor("the widget minimized without the call", 10*time.Second, widgetJS(
		`state === 'minimized' && !(`+storedCallJS+`).callId && !window.Greeter._pc ||
			'state ' + state`))
	row := callLogWithStatus(t, srv, store.CallCompleted)
	if row.EndReason != "visitor_ended" {
		t.Errorf("the call ended with reason %q, want visitor_ended", row.EndReason)
	}
	assertOneCallRow(t, srv)
}

// When Ava's workbench goes away mid-call, the widget says that her
// connection dropped, with the server's countdown; when she is not back
// within 30 s the call ends with the server's message.
func TestWidgetHoldsTheCallWhileTheAgentIsGone(t *testing.T) {
	srv, agent, visitor := avaLiveWithVisitor(t)
	callOnWorkbench(agent, visitor, srv.demoURL)

	agent.do("leave the workbench", chromedp.Navigate("about:blank"))
	visitor.waitFor("the reconnecting overlay", 10*time.Second, widgetJS(`(() => {
		const notice = q('.gw-notice');
		const left = parseInt(q('.gw-notice-count').textContent.replace(/\D+/g, ''), 10);
		return state === 'incall' && !notice.hidden && q('.gw-live-badge').hidden &&
			notice.textContent.includes("Your agent's connection dropped") &&
			left > 20 && left <= 30 || notice.textContent;
	})()`))
	snapWidget(visitor, "agent-reconnecting")

	visitor.waitFor("the end of the call", 40*time.Second, widgetJS(`(() => {
		const text = q('.gw-message').textContent;
		return !q('.gw-message').hidden && q('.gw-notice').hidden &&
			text === "Your agent's connection was lost. Please try again." || text;
	})()`))
	// Nobody else is live, so after the message the widget hides.
	visitor.waitFor("the widget hidden without the call", 10*time.Second, widgetJS(
		`state === 'hidden' && !(`+storedCallJS+`).callId && !window.Greeter._pc ||
			'state ' + state`))
	row := callLogWithStatus(t, srv, store.CallCompleted)
	if row.EndReason != "reconnect_failed" || row.EndedBy != store.EndedBySystem {
		t.Errorf("the call ended with %q by %q, want reconnect_failed by system",
			row.EndReason, row.EndedBy)
	}
	assertOneCallRow(t, srv)
}

// assertCallResumed waits for the widget to be back in the call callID with
// its overlay gone, checks that video flows again on new peer connections on
// both sides, and that the call log still has the call's single row. The
// caller marks the peer connections old before the visitor leaves.
func assertCallResumed(t *testing.T, srv *server, agent, visitor *page, callID string) {
	t.Helper()
	start := time.Now()
	visitor.waitFor("the resumed call", 30*time.Second, widgetJS(`(() => {
		if (state !== 'incall') return 'state ' + state;
		if (!q('.gw-notice').hidden) return 'notice: ' + q('.gw-notice').textContent;
		return !q('.gw-live-badge').hidden || 'status: ' + q('.gw-status').textContent;
	})()`))
	t.Logf("the widget was live again after %s", time.Since(start).Round(time.Millisecond))
	if got := storedCallID(visitor); got != callID {
		t.Fatalf("the widget resumed call %q, want %q", got, callID)
	}
	visitor.waitFor("video from the agent on a new connection", 20*time.Second,
		remoteVideoFlows(widgetPC, widgetRemoteVideo))
	assertFramesAdvance(visitor, widgetRemoteVideo)
	agent.waitFor("video from the visitor on a new connection", 20*time.Second,
		remoteVideoFlows(workbenchPC, workbenchRemoteVideo))
	assertFramesAdvance(agent, workbenchRemoteVideo)
	if id := mustEval[string](agent, workbenchCallID); id != callID {
		t.Errorf("the workbench shows call %q, want %q", id, callID)
	}

	row := assertOneCallRow(t, srv)
	if string(row.CallID) != callID || row.Status != store.CallAccepted {
		t.Errorf("the call's row is %s for call %q, want accepted for %q",
			row.Status, row.CallID, callID)
	}
}

// endCallAsVisitor hangs up from the widget and checks that the call's one
// row is completed by the visitor.
func endCallAsVisitor(t *testing.T, srv *server, agent, visitor *page) {
	t.Helper()
	visitor.clickShadow("[data-action=end]")
	agent.waitFor("the call stage to close", 10*time.Second,
		`document.querySelector('#call-stage').hidden`)
	row := callLogWithStatus(t, srv, store.CallCompleted)
	if row.EndReason != "visitor_ended" {
		t.Errorf("the call ended with reason %q, want visitor_ended", row.EndReason)
	}
	assertOneCallRow(t, srv)
}

// leaveShopForSeconds takes the visitor off the shop to a page of the shop's
// origin without the widget, and ages the stored call record as if the
// visitor had left that many seconds ago.
func leaveShopForSeconds(p *page, srv *server, seconds int) {
	p.t.Helper()
	p.do("leave the shop", chromedp.Navigate(srv.demoURL+"/no-widget-here"))
	p.waitFor("the stored call, released", 10*time.Second, fmt.Sprintf(`(() => {
		const key = Object.keys(localStorage).find((k) => k.startsWith('greeter:call:'));
		if (!key) return 'no record';
		const rec = JSON.parse(localStorage.getItem(key));
		rec.lastConnectedAt = Date.now() - %d * 1000;
		localStorage.setItem(key, JSON.stringify(rec));
		return rec.tab === null || 'record still held by tab ' + rec.tab;
	})()`, seconds))
}

// snapWidget takes a screenshot once the widget's card has finished its
// entrance animation.
func snapWidget(p *page, step string) {
	p.t.Helper()
	p.waitFor("the widget to settle", 5*time.Second,
		widgetJS(`q('.gw-card').getAnimations().length === 0`))
	p.snap(step)
}

// blockWidgetUI makes the browser refuse, or load again, the widget's
// greeting module: the loader runs, the widget's UI does not.
func blockWidgetUI(p *page, block bool) {
	p.t.Helper()
	var patterns []*network.BlockPattern
	if block {
		patterns = []*network.BlockPattern{{URLPattern: "*://*:*/widget/v1/greeting.*", Block: true}}
	}
	if _, err := chromedp.Call(p.ctx, network.Enable, network.EnableParams{}); err != nil {
		p.t.Fatalf("%s: enabling the network domain: %v", p.name, err)
	}
	if _, err := chromedp.Call(p.ctx, network.SetBlockedURLs,
		network.SetBlockedURLsParams{URLPatterns: patterns}); err != nil {
		p.t.Fatalf("%s: blocking URLs: %v", p.name, err)
	}
}

// storedCallID returns the call id of the widget's localStorage record.
func storedCallID(p *page) string {
	p.t.Helper()
	return mustEval[string](p, `(`+storedCallJS+`).callId || ''`)
}

// assertFramesAdvance checks that the <video> shows frames: it has a size,
// and both its decoded frame count and its current time move on over 2 s.
func assertFramesAdvance(p *page, videoExpr string) {
	p.t.Helper()
	sample := `(() => {
		const v = ` + videoExpr + `;
		if (!v || !v.videoWidth) return null;
		return [v.currentTime, v.getVideoPlaybackQuality().totalVideoFrames];
	})()`
	var first []float64
	if !poll(10*time.Second, func() bool {
		v, err := eval[[]float64](p, sample)
		first = v
		return err == nil && len(v) == 2
	}) {
		p.t.Fatalf("%s: the remote video has no size", p.name)
	}
	time.Sleep(2 * time.Second) // a span of playback to compare with
	later := mustEval[[]float64](p, sample)
	if len(later) != 2 || later[0] <= first[0] || later[1] <= first[1] {
		p.t.Fatalf("%s: the remote video stands still: [time, frames] %v → %v",
			p.name, first, later)
	}
	p.t.Logf("%s: remote video [time, frames] %v → %v", p.name, first, later)
}

// assertOneCallRow checks that the demo org's call log has exactly one row
// and returns it.
func assertOneCallRow(t *testing.T, srv *server) store.CallLog {
	t.Helper()
	ctx := context.Background()
	org, err := srv.app.Store().OrgByName(ctx, demo.OrgName)
	if err != nil {
		t.Fatalf("loading the demo org: %v", err)
	}
	rows, err := srv.app.Store().ListCallLogs(ctx, org.ID, store.CallLogFilter{})
	if err != nil {
		t.Fatalf("listing call logs: %v", err)
	}
	if len(rows) != 1 {
		t.Fatalf("the call log has %d rows, want 1: %+v", len(rows), rows)
	}
	return rows[0]
}

// A visitor who presses End while the widget is still reconnecting has ended
// the call: once the connection is back it resumes only to end it, and the
// agent is not kept waiting for the rejoin window.
func TestEndWhileReconnectingEndsTheCallOnceBack(t *testing.T) {
	srv, agent, visitor := avaLiveWithVisitor(t)
	callOnWorkbench(agent, visitor, srv.demoURL)

	blockVisitorSocket(visitor, true)
	visitor.click(`nav a[href="/pricing"]`)
	visitor.waitFor("the widget resuming without a connection", 15*time.Second, widgetJS(
		`state === 'incall' && !q('.gw-notice').hidden || 'state ' + state`))
	time.Sleep(3 * time.Second)
	agent.waitFor("the workbench still holding the call", time.Second,
		`!document.querySelector('#call-holding').hidden`)
	visitor.clickShadow("[data-action=end]")
	visitor.waitFor("the widget's end message", 5*time.Second,
		widgetJS(`q('.gw-message').textContent.includes('You ended the call') ||
			q('.gw-message').textContent`))
	if rec := storedCallID(visitor); rec != "" {
		t.Errorf("the ended call is still stored (%s): another page would resume it", rec)
	}

	blockVisitorSocket(visitor, false)
	agent.waitFor("the call ended by the visitor", 20*time.Second,
		`document.querySelector('#call-stage').hidden`)
	row := callLogWithStatus(t, srv, store.CallCompleted)
	if row.EndReason != "visitor_ended" {
		t.Errorf("the call ended with reason %q, want visitor_ended", row.EndReason)
	}
}

// blockVisitorSocket makes the widget's WebSocket connections fail, or
// succeed again, on every page the visitor opens from now on: a script that
// runs before the page's own points each new /ws/visitor connection at a
// closed port while a localStorage flag is set. (The browser's URL blocking
// does not apply to WebSockets.) The script also keeps the page's sockets
// in window.__e2eSockets, for dropVisitorSocket.
func blockVisitorSocket(p *page, block bool) {
	p.t.Helper()
	if block {
		wrapVisitorSocket(p)
		mustEval[bool](p, `(localStorage.setItem('e2e:block-ws', '1'), true)`)
		return
	}
	mustEval[bool](p, `(localStorage.removeItem('e2e:block-ws'), true)`)
}

// wrapVisitorSocket adds the script blockVisitorSocket describes to the
// pages the visitor opens from now on.
func wrapVisitorSocket(p *page) {
	p.t.Helper()
	const wrap = `(() => {
		const Real = window.WebSocket;
		window.__e2eSockets = [];
		const Wrapped = function (url, protocols) {
			if (localStorage.getItem('e2e:block-ws') && String(url).includes('/ws/visitor')) {
				url = 'ws://127.0.0.1:9/';
			}
			const ws = protocols === undefined ? new Real(url) : new Real(url, protocols);
			window.__e2eSockets.push(ws);
			return ws;
		};
		Wrapped.prototype = Real.prototype;
		Object.assign(Wrapped, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
		window.WebSocket = Wrapped;
	})();`
	if _, err := chromedp.Call(p.ctx, cdppage.AddScriptToEvaluateOnNewDocument,
		cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: wrap}); err != nil {
		p.t.Fatalf("%s: adding the WebSocket wrapper: %v", p.name, err)
	}
}

// dropVisitorSocket closes the page's open widget sockets with 4001
// (connection lost), which the widget handles as it handles a network drop:
// a script cannot make the 1006 a real drop gives.
func dropVisitorSocket(p *page) {
	p.t.Helper()
	mustEval[bool](p, `(window.__e2eSockets.forEach((ws) => ws.close(4001, 'e2e drop')), true)`)
}

// The visitor's network drops for a few seconds mid-call, on the same page:
// the widget says the connection blinked, reconnects and resumes the call,
// with video on new peer connections.
func TestCallSurvivesANetworkDropOnTheSamePage(t *testing.T) {
	srv, agent, visitor := avaLiveWithVisitor(t)
	wrapVisitorSocket(visitor)
	callID := callOnWorkbench(agent, visitor, srv.demoURL)
	visitor.click(`nav a[href="/pricing"]`) // a page with the wrapper
	assertCallResumed(t, srv, agent, visitor, callID)
	markPeerConnectionsOld(agent, visitor)

	mustEval[bool](visitor, `(localStorage.setItem('e2e:block-ws', '1'), true)`)
	dropVisitorSocket(visitor)
	visitor.waitFor("the widget reconnecting", 10*time.Second, widgetJS(
		`state === 'incall' && !q('.gw-notice').hidden || 'state ' + state`))
	agent.waitFor("the workbench holding the call", 10*time.Second,
		`!document.querySelector('#call-holding').hidden`)
	time.Sleep(3 * time.Second)

	blockVisitorSocket(visitor, false)
	assertCallResumed(t, srv, agent, visitor, callID)
	if path := mustEval[string](visitor, `location.pathname`); path != "/pricing" {
		t.Errorf("the visitor is on %s, want the same page", path)
	}
	endCallAsVisitor(t, srv, agent, visitor)
}
