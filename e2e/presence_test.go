package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Five minutes without activity set a live agent Away (SPEC §13): the
// workbench says why with an "I'm back" button, the visitor's widget lets go
// of the agent, and "I'm back" brings both back. The test stands in for the
// five minutes by moving the watch's last activity back.
func TestIdleWorkbenchGoesAwayAndComesBack(t *testing.T) {
	srv, agent, visitor := avaLiveWithVisitor(t)
	openShop(visitor, srv, "/")
	agent.waitFor("the viewer", 10*time.Second,
		`document.querySelector('#viewer-count').textContent === '1'`)

	mustEval[bool](agent, `(() => {
		const idle = window.greeterWorkbench.idle;
		idle.lastActivity = Date.now() - 6 * 60 * 1000;
		idle.check();
		return true;
	})()`)
	agent.waitFor("the away notice", 10*time.Second, `(() => {
		const modal = document.querySelector('#away-modal');
		const pill = document.querySelector('#status-pill');
		return !modal.hidden && pill.dataset.status === 'away' &&
			document.querySelector('#go-live-again').textContent === "I'm back" &&
			document.querySelector('#away-message').textContent.includes('no activity') ||
			'status ' + pill.dataset.status + ', modal hidden ' + modal.hidden;
	})()`)
	visitor.waitFor("the step-away banner", 10*time.Second, widgetJS(
		`!q('.gw-message').hidden && q('.gw-message').textContent === 'Ava had to step away.' ||
		q('.gw-message').textContent`))
	agent.snap("idle-away")

	agent.do("come back", chromedp.Click(chromedp.ID("go-live-again")))
	agent.waitFor("live again", 10*time.Second, `(() => {
		const pill = document.querySelector('#status-pill');
		return document.querySelector('#away-modal').hidden &&
			['idle', 'in_simulation'].includes(pill.dataset.status) || 'status ' + pill.dataset.status;
	})()`)
	visitor.waitFor("Ava's greeting again", 20*time.Second, widgetJS(
		`state === 'open' && q('.gw-agent-name').textContent === 'Ava' || 'state ' + state`))
}
