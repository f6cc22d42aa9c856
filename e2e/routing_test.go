package e2e

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"greeter/internal/demo"
	"greeter/internal/ids"
)

// adminClient signs in as the demo admin with a plain HTTP client, as an
// integration would, and returns the client holding the session cookie.
func adminClient(t *testing.T, srv *server) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	body := `{"email":"` + demo.AdminEmail + `","password":"` + demo.Password + `"}`
	resp, err := c.Post(srv.dashURL+"/api/auth/login", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("admin sign-in: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("admin sign-in answered %d", resp.StatusCode)
	}
	return c
}

// setTier puts the agent at rank in the demo organization's catch-all pool
// through the admin API.
func setTier(t *testing.T, srv *server, c *http.Client, agent ids.AgentID, rank string) {
	t.Helper()
	ctx := context.Background()
	org, err := srv.app.Store().OrgByName(ctx, demo.OrgName)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := srv.app.Store().CatchAllPool(ctx, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPut,
		srv.dashURL+"/api/pools/"+string(pool.ID)+"/members/"+string(agent),
		strings.NewReader(`{"priorityRank":`+rank+`}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("setting the tier: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("setting the tier answered %d", resp.StatusCode)
	}
}

// Ava is Primary and Ben Backup: both visitors are greeted by Ava while she
// is free, and when she takes the first visitor's call the second visitor's
// widget switches to Ben's greeting with the handoff banner (SPEC §7.2,
// §7.5, §12.4).
func TestTopTierAgentTakesACallAndTheOtherVisitorMovesToTheNextTier(t *testing.T) {
	requireChromium(t)
	srv := startServer(t)
	ava := newPage(t, "ava")
	ben := newPage(t, "ben")
	caller := newPage(t, "caller")
	watcher := newPage(t, "watcher")
	artifacts(t, ava, ben, caller, watcher)

	setTier(t, srv, adminClient(t, srv), agentID(t, srv, "ben@demo.greeter.test"), "3")
	signIn(ava, srv.dashURL, avaEmail, demo.Password)
	signIn(ben, srv.dashURL, "ben@demo.greeter.test", demo.Password)
	goLive(ava)
	goLive(ben)

	// Ben is idle and has room, yet only the top tier greets.
	openShop(caller, srv, "/")
	openShop(watcher, srv, "/pricing")
	ava.waitFor("two viewers", 10*time.Second,
		`document.querySelector('#viewer-count').textContent === '2'`)
	if n := mustEval[string](ben, `document.querySelector('#viewer-count').textContent`); n != "0" {
		t.Fatalf("Ben, the backup, greets %s visitors while Ava is free", n)
	}

	caller.clickShadow("[data-action=camera]")
	ava.waitFor("the incoming call", 15*time.Second, `!document.querySelector('#incoming').hidden`)
	ava.do("accept", chromedp.Click(chromedp.ID("accept")))
	caller.waitFor("the in-call state", 10*time.Second,
		widgetJS(`state === 'incall' || 'state ' + state`))

	watcher.waitFor("the handoff banner", 10*time.Second, widgetJS(`(() => {
		const text = q('.gw-message').textContent;
		return !q('.gw-message').hidden &&
			text === 'Ava had to step away. Ben is here for you now.' &&
			q('.gw-agent-name').textContent === 'Ben' || text;
	})()`))
	profile, err := srv.app.Store().AgentProfileByID(context.Background(),
		agentID(t, srv, "ben@demo.greeter.test"))
	if err != nil {
		t.Fatal(err)
	}
	watcher.waitFor("Ben's greeting playing", 10*time.Second, widgetJS(`(() => {
		const v = q('.gw-vid.gw-greeting');
		if (!v) return 'no greeting shown';
		const src = v.currentSrc.split('/').pop();
		return [`+quoteAll(profile.WaveVideo, profile.IntroVideo, profile.LoopVideo)+`]
			.includes(src) && !v.paused || src + ' paused=' + v.paused;
	})()`))
	ben.waitFor("the moved viewer", 10*time.Second,
		`document.querySelector('#viewer-count').textContent === '1'`)
	watcher.snap("handoff")
}

// quoteAll writes strings as a JavaScript list's items.
func quoteAll(ss ...string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}
