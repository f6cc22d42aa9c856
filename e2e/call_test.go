package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"greeter/internal/demo"
	"greeter/internal/ids"
	"greeter/internal/store"
)

// A visitor on the demo shop sees Ava's greeting, calls her with the camera,
// Ava accepts, video flows both ways peer to peer, the visitor hangs up, and
// the call log records a completed call with its duration.
func TestVisitorAndAgentTalkByVideo(t *testing.T) {
	srv, agent, visitor := avaLiveWithVisitor(t)

	visitor.do("open the demo shop", chromedp.Navigate(srv.demoURL+"/"))
	visitor.waitFor("the widget to open with Ava", 20*time.Second, widgetJS(
		`state === 'open' && q('.gw-agent-name').textContent === 'Ava' || 'state ' + state`))
	visitor.waitFor("Ava's greeting to play", 15*time.Second, widgetJS(`(() => {
		const v = q('video.gw-greeting');
		return !!v && !v.paused && v.currentTime > 0 && v.readyState >= 2 || 'not playing';
	})()`))
	agent.waitFor("one viewer", 10*time.Second,
		`document.querySelector('#viewer-count').textContent === '1'`)
	visitor.snap("greeting")
	agent.snap("live")

	visitor.clickShadow("[data-action=camera]")
	visitor.waitFor("the waiting state with the own preview", 10*time.Second, widgetJS(`(() => {
		const self = q('video.gw-self');
		if (state !== 'waiting') return 'state ' + state;
		return !self.hidden && !self.paused && self.readyState >= 2 || 'no preview';
	})()`))
	agent.waitFor("the incoming call", 10*time.Second, `(() => {
		const ringing = !document.querySelector('#incoming').hidden;
		return ringing && Number(document.querySelector('#countdown').textContent) > 0;
	})()`)
	visitor.snap("waiting")
	agent.snap("incoming")
	agent.do("accept", chromedp.Click(chromedp.ID("accept")))

	agent.waitFor("the call stage", 10*time.Second,
		`!document.querySelector('#call-stage').hidden && document.querySelector('#incoming').hidden`)
	visitor.waitFor("the in-call state", 10*time.Second,
		widgetJS(`state === 'incall' || 'state ' + state`))

	assertVideoArrives(agent, `window.greeterWorkbench && window.greeterWorkbench.pc`,
		`document.querySelector('video#remote-video')`)
	assertVideoArrives(visitor, `window.Greeter && window.Greeter._pc`,
		`document.querySelector('#greeter-widget').shadowRoot.querySelector('video.gw-remote')`)
	visitor.waitFor("the Live badge", 10*time.Second, widgetJS(`!q('.gw-live-badge').hidden`))
	visitor.snap("incall")
	agent.snap("incall")

	visitor.clickShadow("[data-action=end]")
	visitor.waitFor("the end-of-call message", 10*time.Second, widgetJS(
		`!q('.gw-message').hidden && q('.gw-message').textContent.includes('You ended the call')`))
	agent.waitFor("the agent's end-of-call view", 10*time.Second, `(() => {
		const msg = document.querySelector('#call-message');
		return document.querySelector('#call-stage').hidden && !msg.hidden &&
			msg.textContent.includes('ended the call') && window.greeterWorkbench.pc === null;
	})()`)
	visitor.snap("ended")
	agent.snap("ended")
	visitor.waitFor("the widget to minimize with media off", 10*time.Second, widgetJS(
		`state === 'minimized' && window.Greeter._pc === null || 'state ' + state`))
	visitor.snap("minimized")
	agent.waitFor("Ava back to live", 10*time.Second, `['idle', 'in_simulation']
		.includes(document.querySelector('#status-pill').dataset.status)`)

	call := completedCall(t, srv)
	if call.EndedBy != store.EndedByVisitor || call.EndReason != "visitor_ended" {
		t.Errorf("call ended by %q with reason %q, want visitor / visitor_ended",
			call.EndedBy, call.EndReason)
	}
	if call.AgentID != agentID(t, srv, "ava@demo.greeter.test") {
		t.Errorf("call logged for agent %s, want Ava", call.AgentID)
	}
	if *call.DurationSeconds < 2 {
		t.Errorf("call duration %d s, want at least the 2 s of media checked", *call.DurationSeconds)
	}
}

// A visitor who arrives while nobody is live sees nothing; when Ava goes live,
// the widget appears with her greeting (late assignment from the waiting set).
func TestWidgetAppearsWhenAnAgentGoesLive(t *testing.T) {
	requireChromium(t)
	srv := startServer(t)
	agent := newPage(t, "agent")
	visitor := newPage(t, "visitor")
	artifacts(t, agent, visitor)

	visitor.do("open the pricing page", chromedp.Navigate(srv.demoURL+"/pricing"))
	visitor.waitFor("the widget to mount", 15*time.Second, widgetJS(`state === 'hidden'`))
	start := time.Now()
	if poll(4*time.Second, func() bool {
		s, err := eval[string](visitor, widgetJS(`state`))
		return err == nil && s != "hidden"
	}) {
		t.Fatalf("the widget showed after %s with nobody live", time.Since(start))
	}

	signIn(agent, srv.dashURL, "ava@demo.greeter.test", demo.Password)
	goLive(agent)

	visitor.waitFor("the widget to open with Ava", 15*time.Second, widgetJS(
		`state === 'open' && q('.gw-agent-name').textContent === 'Ava' || 'state ' + state`))
}

// The workbench sends a visitor without a session to the sign-in page.
func TestWorkbenchRequiresSignIn(t *testing.T) {
	requireChromium(t)
	srv := startServer(t)
	agent := newPage(t, "agent")
	artifacts(t, agent)

	agent.do("open the workbench", chromedp.Navigate(srv.dashURL+"/workbench"))
	agent.waitFor("the sign-in page", 10*time.Second, `location.pathname === '/login' &&
		document.readyState === 'complete' && !!document.querySelector('#email')`)

	fillLogin(agent, "ava@demo.greeter.test", "not-the-password")
	agent.waitFor("the error message", 10*time.Second, `(() => {
		const e = document.querySelector('#login-error');
		return !e.hidden && e.textContent.includes('Invalid email or password');
	})()`)
}

// signIn signs in on the login page and waits for the connected workbench.
// avaLiveWithVisitor starts a server and two browsers: Ava signed in and
// Live in the agent's, and a fresh visitor's, with screenshots on failure.
func avaLiveWithVisitor(t *testing.T) (*server, *page, *page) {
	t.Helper()
	requireChromium(t)
	srv := startServer(t)
	agent := newPage(t, "agent")
	visitor := newPage(t, "visitor")
	artifacts(t, agent, visitor)

	signIn(agent, srv.dashURL, "ava@demo.greeter.test", demo.Password)
	goLive(agent)
	return srv, agent, visitor
}

func signIn(p *page, dashURL, email, password string) {
	p.t.Helper()
	p.do("open the sign-in page", chromedp.Navigate(dashURL+"/login"))
	fillLogin(p, email, password)
	p.waitFor("the workbench, connected and away", 15*time.Second, `(() => {
		const pill = document.querySelector('#status-pill');
		if (location.pathname !== '/workbench' || !pill) return 'at ' + location.pathname;
		return pill.dataset.status === 'away' && !document.querySelector('#go-live').disabled ||
			'status ' + pill.dataset.status;
	})()`)
}

// signInAdmin signs in as the demo admin, who takes no calls, and waits for
// the team page with its members.
func signInAdmin(p *page, dashURL string) {
	p.t.Helper()
	p.do("open the sign-in page", chromedp.Navigate(dashURL+"/login"))
	fillLogin(p, demo.AdminEmail, demo.Password)
	p.waitFor("the team page", 15*time.Second, `(() => {
		if (location.pathname !== '/admin/team') return 'at ' + location.pathname;
		return document.querySelectorAll('#members-body tr').length > 0 || 'no members yet';
	})()`)
}

// fillLogin types the credentials into the sign-in form and submits it. A
// page that has just been redirected can still swap its document under the
// DevTools session ("could not find node"), so the typing is tried again on a
// fresh lookup; it clears the fields first, so a retry types nothing twice.
func fillLogin(p *page, email, password string) {
	p.t.Helper()
	fill := chromedp.Steps(
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.Clear(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.Clear(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("login-submit")),
	)
	var err error
	for range 3 {
		ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
		err = chromedp.Do(ctx, fill)
		cancel()
		if err == nil {
			return
		}
		time.Sleep(300 * time.Millisecond) // let the DevTools session see the new document
	}
	p.t.Fatalf("%s: filling in the sign-in form: %v", p.name, err)
}

// goLive presses "Go live" and waits for the server to confirm.
func goLive(p *page) {
	p.t.Helper()
	p.do("go live", chromedp.Click(chromedp.ID("go-live")))
	p.waitFor("live status", 10*time.Second, `(() => {
		const pill = document.querySelector('#status-pill');
		return ['idle', 'in_simulation'].includes(pill.dataset.status) || 'status ' +
			pill.dataset.status + ', ' + document.querySelector('#status-error').textContent;
	})()`)
}

// widgetJS wraps an expression that sees the widget's state and a query
// function q over its shadow root.
func widgetJS(expr string) string {
	return `(() => {
		const host = document.querySelector('#greeter-widget');
		if (!host || !host.shadowRoot) return 'no widget yet';
		const q = (s) => host.shadowRoot.querySelector(s);
		const state = q('.gw-root').dataset.state;
		return (` + expr + `);
	})()`
}

// assertVideoArrives checks through getStats that inbound video bytes keep
// growing for about 2 s, and that the remote <video> plays.
func assertVideoArrives(p *page, pcExpr, videoExpr string) {
	p.t.Helper()
	stats := fmt.Sprintf(`(async () => {
		const pc = %s;
		if (!pc) return -1;
		let bytes = 0;
		(await pc.getStats()).forEach((r) => {
			if (r.type === 'inbound-rtp' && r.kind === 'video') bytes += r.bytesReceived || 0;
		});
		return bytes;
	})()`, pcExpr)

	var first float64
	if !poll(15*time.Second, func() bool {
		b, err := eval[float64](p, stats)
		first = b
		return err == nil && b > 0
	}) {
		p.t.Fatalf("%s: no inbound video bytes (last %v)", p.name, first)
	}
	start := time.Now()
	var later float64
	if !poll(10*time.Second, func() bool {
		b, err := eval[float64](p, stats)
		later = b
		return err == nil && time.Since(start) >= 2*time.Second && b > first
	}) {
		p.t.Fatalf("%s: inbound video stuck at %v bytes (was %v)", p.name, later, first)
	}
	p.t.Logf("%s: inbound video %v → %v bytes in %s", p.name, first, later, time.Since(start))

	p.waitFor("the remote video to play", 10*time.Second, `(() => {
		const v = `+videoExpr+`;
		return !!v && !v.paused && v.readyState >= 2 && v.videoWidth > 0 || 'not playing';
	})()`)
}

// completedCall waits for the demo org's completed call; call-log writes go
// through a queue, so the row may land a moment after the call ends.
func completedCall(t *testing.T, srv *server) store.CallLog {
	t.Helper()
	row := callLogWithStatus(t, srv, store.CallCompleted)
	if row.DurationSeconds == nil {
		t.Fatalf("the completed call has no duration: %+v", row)
	}
	return row
}

// agentID returns the agent profile id of the user with this email.
func agentID(t *testing.T, srv *server, email string) ids.AgentID {
	t.Helper()
	ctx := context.Background()
	user, err := srv.app.Store().UserByEmail(ctx, email)
	if err != nil {
		t.Fatalf("loading %s: %v", email, err)
	}
	profile, err := srv.app.Store().AgentProfileByUserID(ctx, user.ID)
	if err != nil {
		t.Fatalf("loading %s's agent profile: %v", email, err)
	}
	return profile.ID
}
