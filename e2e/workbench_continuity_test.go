package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"greeter/internal/demo"
	"greeter/internal/store"
)

// Call continuity (SPEC §9) seen from the two browsers: the workbench and the
// widget resume the same call on new peer connections after a reload, a
// visitor who stepped away, and a server killed with SIGKILL.

const (
	workbenchPC          = `window.greeterWorkbench && window.greeterWorkbench.pc`
	workbenchRemoteVideo = `document.querySelector('video#remote-video')`
	widgetPC             = `window.Greeter && window.Greeter._pc`
	widgetRemoteVideo    = `document.querySelector('#greeter-widget').shadowRoot` +
		`.querySelector('video.gw-remote')`
	workbenchCallID = `window.greeterWorkbench && window.greeterWorkbench.callId`
)

// An agent who reloads the workbench mid-call comes back to the same call:
// the stage shows it again, a new peer connection carries video both ways,
// and the call log keeps one row for it.
func TestAgentReloadingTheWorkbenchResumesTheCall(t *testing.T) {
	srv, agent, visitor := avaLiveWithVisitor(t)
	callID := callOnWorkbench(agent, visitor, srv.demoURL)
	markPeerConnectionsOld(agent, visitor)

	agent.do("reload the workbench", chromedp.Reload())
	agent.waitFor("the same call on stage", 15*time.Second, workbenchShowsCall(callID))
	agent.waitFor("video from the visitor again", 20*time.Second,
		remoteVideoFlows(workbenchPC, workbenchRemoteVideo))
	visitor.waitFor("video from the agent again", 20*time.Second,
		remoteVideoFlows(widgetPC, widgetRemoteVideo))
	visitor.waitFor("the widget still in the call", 5*time.Second,
		widgetJS(`state === 'incall' || 'state ' + state`))
	agent.snap("resumed")

	endCallOnWorkbench(agent)
	row := completedCall(t, srv)
	if string(row.CallID) != callID || row.EndReason != "agent_ended" {
		t.Errorf("call log row %+v, want call %s ended by the agent", row, callID)
	}
	rows, err := srv.app.Store().ListCallLogs(context.Background(), row.OrgID, store.CallLogFilter{})
	if err != nil || len(rows) != 1 {
		t.Errorf("the call log has %d rows (err %v), want the one call", len(rows), err)
	}
}

// While the visitor is away from the shop, the workbench holds the call with
// a countdown, which a reload of the workbench keeps (the deadline counts
// from the visitor's disconnect); when the visitor comes back, the agent
// offers on a new peer connection and the call goes on.
func TestWorkbenchHoldsTheCallWhileTheVisitorIsAway(t *testing.T) {
	srv, agent, visitor := avaLiveWithVisitor(t)
	callID := callOnWorkbench(agent, visitor, srv.demoURL)
	markPeerConnectionsOld(agent, visitor)

	visitor.do("leave the shop", chromedp.Navigate("about:blank"))
	agent.waitFor("the holding notice with its countdown", 10*time.Second, `(() => {
		const box = document.querySelector('#call-holding');
		const left = Number(document.querySelector('#holding-left').textContent);
		const text = document.querySelector('#holding-message').textContent;
		if (box.hidden) return 'not holding';
		return text === "The visitor's connection dropped. Holding the call for them…" &&
			left > 45 && left <= 60 || text + ' ' + left;
	})()`)
	agent.waitFor("the countdown to run", 5*time.Second,
		`Number(document.querySelector('#holding-left').textContent) <= 57`)
	agent.snap("holding")

	agent.do("reload the workbench", chromedp.Reload())
	agent.waitFor("the same call held after the reload", 15*time.Second, fmt.Sprintf(`(() => {
		const id = %s;
		const left = Number(document.querySelector('#holding-left').textContent);
		if (id !== %q) return 'call ' + id;
		return !document.querySelector('#call-holding').hidden && left > 0 && left <= 57 ||
			'holding ' + left;
	})()`, workbenchCallID, callID))

	visitor.do("come back to the shop", chromedp.Navigate(srv.demoURL+"/"))
	agent.waitFor("the holding notice to go", 20*time.Second,
		`document.querySelector('#call-holding').hidden`)
	agent.waitFor("video from the visitor again", 20*time.Second,
		remoteVideoFlows(workbenchPC, workbenchRemoteVideo))
	visitor.waitFor("video from the agent again", 20*time.Second,
		remoteVideoFlows(widgetPC, widgetRemoteVideo))
	if id := mustEval[string](agent, workbenchCallID); id != callID {
		t.Fatalf("the workbench shows call %s, want %s", id, callID)
	}
	agent.snap("visitor-back")
}

// The server is killed with SIGKILL mid-call and started again on the same
// files and ports: within 30 s both browsers are back in the same call, with
// video flowing both ways on new peer connections.
func TestCallResumesAfterTheServerIsKilled(t *testing.T) {
	t.Run("SIGKILL", func(t *testing.T) { callAcrossARestart(t, (*process).kill) })
	// A graceful stop leaves the call to the next run the same way.
	t.Run("SIGTERM", func(t *testing.T) { callAcrossARestart(t, (*process).stop) })
}

// callAcrossARestart puts Ava in a call with a visitor, ends the server
// process with halt and starts it again on the same files and ports: both
// browsers are back in the same call, with video, within 30 s.
func callAcrossARestart(t *testing.T, halt func(*process)) {
	requireChromium(t)
	p := newProcess(t)
	p.start()
	agent := newPage(t, "agent")
	visitor := newPage(t, "visitor")
	artifacts(t, agent, visitor)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", p.logTail())
		}
	})

	signIn(agent, p.dash, avaEmail, demo.Password)
	goLive(agent)
	callID := callOnWorkbench(agent, visitor, p.demo)
	markPeerConnectionsOld(agent, visitor)

	halt(p)
	killed := time.Now()
	p.start()
	t.Logf("ready again %s after the kill", time.Since(killed).Round(time.Millisecond))

	deadline := killed.Add(30 * time.Second)
	agent.waitFor("video from the visitor again", time.Until(deadline),
		remoteVideoFlows(workbenchPC, workbenchRemoteVideo))
	visitor.waitFor("video from the agent again", time.Until(deadline),
		remoteVideoFlows(widgetPC, widgetRemoteVideo))
	t.Logf("both back in the call %s after the kill", time.Since(killed).Round(time.Millisecond))
	if id := mustEval[string](agent, workbenchCallID); id != callID {
		t.Fatalf("the workbench shows call %s, want %s", id, callID)
	}
	agent.snap("after-restart")
	visitor.snap("after-restart")

	endCallOnWorkbench(agent)
	st, org := p.demoStore(t)
	var rows []store.CallLog
	var err error
	poll(10*time.Second, func() bool {
		rows, err = allCallLogs(st, org)
		return err == nil && len(rows) == 1 && rows[0].Status == store.CallCompleted
	})
	if len(rows) != 1 || string(rows[0].CallID) != callID || rows[0].EndReason != "agent_ended" {
		t.Fatalf("call log after the restart: %+v (err %v), want one row of call %s "+
			"ended by the agent", rows, err, callID)
	}
}

// A second workbench tab of the same agent, opened mid-call, takes the call
// over with the token the first tab stored; the first tab says it is open
// elsewhere.
func TestSecondWorkbenchTabTakesOverTheCall(t *testing.T) {
	srv, agent, visitor := avaLiveWithVisitor(t)
	callID := callOnWorkbench(agent, visitor, srv.demoURL)
	markPeerConnectionsOld(agent, visitor)

	tabCtx, closeTab := chromedp.NewContext(agent.ctx)
	t.Cleanup(closeTab)
	if err := chromedp.Do(tabCtx); err != nil {
		t.Fatalf("opening a second tab: %v", err)
	}
	tab := &page{t: t, name: "agent-tab2", ctx: tabCtx, console: &syncBuffer{}}
	go tab.collectConsole()
	artifacts(t, tab)

	tab.do("open the workbench", chromedp.Navigate(srv.dashURL+"/workbench"))
	tab.waitFor("the same call on stage", 15*time.Second, workbenchShowsCall(callID))
	tab.waitFor("video from the visitor", 20*time.Second,
		remoteVideoFlows(workbenchPC, workbenchRemoteVideo))
	visitor.waitFor("video from the agent's new tab", 20*time.Second,
		remoteVideoFlows(widgetPC, widgetRemoteVideo))
	agent.waitFor("the first tab to step aside", 5*time.Second, `(() => {
		const title = document.querySelector('#terminal-title').textContent;
		return !document.querySelector('#terminal').hidden &&
			document.querySelector('#call-stage').hidden &&
			title === 'Greeter is open in another tab' || title;
	})()`)
}

// A workbench whose stored call the server does not know (here a token it
// never issued) tries it once after a reload, shows why it cannot resume,
// and forgets the record.
func TestWorkbenchForgetsACallItCannotResume(t *testing.T) {
	requireChromium(t)
	srv := startServer(t)
	agent := newPage(t, "agent")
	artifacts(t, agent)
	signIn(agent, srv.dashURL, avaEmail, demo.Password)

	key := mustEval[string](agent, `fetch('/api/me').then((r) => r.json())
		.then((me) => 'greeter:call:' + me.agent.id)`)
	record := fmt.Sprintf(`{"callId":"call_gone","token":%q,"lastConnectedAt":%d}`,
		strings.Repeat("A", 43), time.Now().UnixMilli())
	mustEval[bool](agent, fmt.Sprintf(`(localStorage.setItem(%q, %q), true)`, key, record))

	agent.do("reload the workbench", chromedp.Reload())
	agent.waitFor("the refusal and a forgotten record", 15*time.Second, fmt.Sprintf(`(() => {
		const msg = document.querySelector('#call-message');
		if (msg.hidden) return 'no message';
		return msg.textContent === "We couldn't find this call." &&
			localStorage.getItem(%q) === null || msg.textContent;
	})()`, key))
	agent.waitFor("the workbench away, without a call", 5*time.Second, `(() => {
		const pill = document.querySelector('#status-pill').dataset.status;
		return pill === 'away' && document.querySelector('#call-stage').hidden || pill;
	})()`)
}

// callOnWorkbench opens the demo shop in the visitor's browser, calls the live
// agent with the camera, accepts on the workbench, waits for video both ways
// and returns the call's id.
func callOnWorkbench(agent, visitor *page, demoURL string) string {
	visitor.t.Helper()
	visitor.do("open the demo shop", chromedp.Navigate(demoURL+"/"))
	visitor.waitFor("the widget to open", 20*time.Second, widgetJS(`state === 'open' || state`))
	visitor.clickShadow("[data-action=camera]")
	agent.waitFor("the incoming call", 15*time.Second,
		`!document.querySelector('#incoming').hidden`)
	agent.click("#accept")
	agent.waitFor("the call stage", 10*time.Second,
		`!document.querySelector('#call-stage').hidden`)
	visitor.waitFor("the in-call state", 10*time.Second,
		widgetJS(`state === 'incall' || 'state ' + state`))
	agent.waitFor("video from the visitor", 20*time.Second, remoteVideoFlows(workbenchPC, workbenchRemoteVideo))
	visitor.waitFor("video from the agent", 20*time.Second, remoteVideoFlows(widgetPC, widgetRemoteVideo))
	return mustEval[string](agent, workbenchCallID)
}

// markPeerConnectionsOld tags both current peer connections, so that remoteVideoFlows waits
// for new ones.
func markPeerConnectionsOld(agent, visitor *page) {
	agent.t.Helper()
	mustEval[bool](agent, `(() => { const pc = `+workbenchPC+`; pc.greeterOld = true; return true; })()`)
	mustEval[bool](visitor, `(() => { const pc = `+widgetPC+`; pc.greeterOld = true; `+
		`return true; })()`)
}

// remoteVideoFlows is a waitFor expression that is true once a peer connection not
// marked old receives video, and the remote <video> has a size and its
// currentTime advances over a second.
func remoteVideoFlows(pcExpr, videoExpr string) string {
	return `(async () => {
		const pc = ` + pcExpr + `;
		const v = ` + videoExpr + `;
		if (!pc || pc.greeterOld) return 'no new peer connection yet';
		if (!v || v.videoWidth === 0 || v.paused) return 'no remote video playing';
		let bytes = 0;
		(await pc.getStats()).forEach((r) => {
			if (r.type === 'inbound-rtp' && r.kind === 'video') bytes += r.bytesReceived || 0;
		});
		if (bytes === 0) return 'no inbound video bytes';
		const prev = window.greeterVideoSample;
		const now = {pc, time: v.currentTime, bytes, at: performance.now()};
		if (!prev || prev.pc !== pc) {
			window.greeterVideoSample = now;
			return 'first sample';
		}
		if (now.at - prev.at < 1000) return 'sampling';
		window.greeterVideoSample = now;
		return (now.time > prev.time && now.bytes > prev.bytes) ||
			'stuck at ' + now.time + ' s, ' + now.bytes + ' bytes';
	})()`
}

// endCallOnWorkbench presses End call and waits for the stage to close.
func endCallOnWorkbench(agent *page) {
	agent.t.Helper()
	agent.click("#end-call")
	agent.waitFor("the stage to close", 10*time.Second,
		`document.querySelector('#call-stage').hidden`)
}

// After three failed ICE restarts the agent's Retry makes a fresh offer on a
// new peer connection, which the widget answers on a new one too.
func TestRetryAfterLostMediaStartsAFreshConnection(t *testing.T) {
	srv, agent, visitor := avaLiveWithVisitor(t)
	callOnWorkbench(agent, visitor, srv.demoURL)
	markPeerConnectionsOld(agent, visitor)

	// The stage as three failed restarts leave it, then Retry.
	mustEval[bool](agent, `(document.querySelector('#media-lost').hidden = false, true)`)
	agent.click("#media-retry")
	agent.waitFor("the notice gone", 5*time.Second, `document.querySelector('#media-lost').hidden`)
	agent.waitFor("video from the visitor on a new connection", 20*time.Second,
		remoteVideoFlows(workbenchPC, workbenchRemoteVideo))
	visitor.waitFor("video from the agent on a new connection", 20*time.Second,
		remoteVideoFlows(widgetPC, widgetRemoteVideo))
	endCallOnWorkbench(agent)
}

// workbenchShowsCall is a JavaScript condition: the workbench has callID on
// stage.
func workbenchShowsCall(callID string) string {
	return fmt.Sprintf(`(() => {
		const id = %s;
		return id === %q && !document.querySelector('#call-stage').hidden || 'call ' + id;
	})()`, workbenchCallID, callID)
}
