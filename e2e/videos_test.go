package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"greeter/internal/demo"
	"greeter/internal/store"
)

// A new agent without greeting videos cannot go live; the workbench's setup
// notice leads to My videos, where they upload an intro and a loop, see
// them previewed, and go back to the workbench and go live.
func TestNewAgentUploadsVideosAndGoesLive(t *testing.T) {
	requireChromium(t)
	srv := startServer(t)
	agent := newPage(t, "agent")
	artifacts(t, agent)
	const email = "dana@example.com"
	newAgentWithoutVideos(t, srv, email, "Dana Lee")

	signIn(agent, srv.dashURL, email, demo.Password)
	agent.waitFor("the setup notice linking to My videos", 10*time.Second, `(() => {
		const link = document.querySelector('#setup-link a');
		return !document.querySelector('#setup-notice').hidden &&
			!document.querySelector('#setup-link').hidden && link.getAttribute('href') === '/videos';
	})()`)
	agent.snap("setup-notice")

	agent.click("#setup-link a")
	agent.waitFor("My videos, nothing uploaded", 10*time.Second, `(() => {
		if (location.pathname !== '/videos') return 'at ' + location.pathname;
		const rows = document.querySelectorAll('#profile-body tr[data-set=false]');
		return rows.length === 3 &&
			document.querySelector('#nav a[data-page=videos]').getAttribute('aria-current') ===
				'page' &&
			document.querySelector('#ready-state').dataset.ready === 'false' &&
			document.querySelectorAll('#pools .pool-videos').length === 1 || 'rows ' + rows.length;
	})()`)

	media := filepath.Join("..", "internal", "demo", "media")
	for _, kind := range []string{"intro", "loop"} {
		file, err := filepath.Abs(filepath.Join(media, "ava-"+kind+".webm"))
		if err != nil {
			t.Fatal(err)
		}
		row := `#profile-body tr[data-kind=` + kind + `]`
		agent.do("choose the "+kind+" file",
			chromedp.SetUploadFiles(chromedp.CSS(row+` input[type=file]`), []string{file}))
		agent.waitFor("the "+kind+" video, uploaded and previewed", 20*time.Second, `(() => {
			const row = document.querySelector('`+row+`');
			const video = row && row.querySelector('video');
			const stored = !!video && /\/media\/[0-9a-f]{32}\.webm$/.test(video.src);
			return row.dataset.set === 'true' && stored &&
				document.querySelector('#page-notice').textContent.includes('uploaded') ||
				document.querySelector('#page-error').textContent || 'not yet';
		})()`)
	}
	agent.waitFor("the greeting ready", 5*time.Second,
		`document.querySelector('#ready-state').dataset.ready === 'true'`)
	agent.waitFor("the previews to load", 10*time.Second,
		`[...document.querySelectorAll('#profile-body video')].every((v) => v.readyState >= 1)`)
	agent.snap("uploaded")

	agent.click(`#nav a[data-page=workbench]`)
	agent.waitFor("the workbench, away, without the notice", 15*time.Second, `(() => {
		const pill = document.querySelector('#status-pill');
		if (location.pathname !== '/workbench' || !pill) return 'at ' + location.pathname;
		return pill.dataset.status === 'away' && document.querySelector('#setup-notice').hidden &&
			!document.querySelector('#go-live').disabled || 'status ' + pill.dataset.status;
	})()`)
	agent.do("go live", chromedp.Click(chromedp.ID("go-live")))
	agent.waitFor("the status Live", 10*time.Second, `(() => {
		const pill = document.querySelector('#status-pill');
		return pill.dataset.status === 'idle' &&
			document.querySelector('#status-label').textContent === 'Live' ||
			pill.dataset.status + ': ' + document.querySelector('#status-error').textContent;
	})()`)
	agent.snap("live")
}

// newAgentWithoutVideos adds an agent to the demo organization with the demo
// password and no greeting videos, as an accepted invitation leaves them.
func newAgentWithoutVideos(t *testing.T, srv *server, email, name string) {
	t.Helper()
	ctx := context.Background()
	st := srv.app.Store()
	admin, err := st.UserByEmail(ctx, demo.AdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.CreateUser(ctx, store.NewUser{OrgID: admin.OrgID, Email: email, FullName: name,
		Role: store.RoleAgent, PasswordHash: admin.PasswordHash})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.CreateAgentProfile(ctx, store.NewAgentProfile{OrgID: admin.OrgID, UserID: u.ID,
		DisplayName: name})
	if err != nil {
		t.Fatal(err)
	}
}
