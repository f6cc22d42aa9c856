package web

import (
	"bytes"
	"net/http"
	"testing"
)

// The settings page and the team page's agent dialog carry the elements
// their modules look up, once each, and the settings module uses the shared
// start-up (which sends non-admins away).
func TestSettingsPageAndAgentDialogHooks(t *testing.T) {
	w, srv := newTestServer(t)
	pages := []struct {
		path, script string
		hooks        []string
	}{
		{"/admin/settings", "settings.js", []string{
			"shell", "nav", "logout", "page-error", "page-notice",
			"org-form", "org-name", "org-name-status", "org-timezone", "org-timezone-status",
			"timezones", "org-save",
			"calls-form", "rna-seconds", "rna-seconds-status",
			"max-call-minutes", "max-call-minutes-status", "calls-save",
		}},
		{"/admin/team", "team.js", []string{
			"agent-edit", "agent-edit-title", "agent-edit-form", "agent-display-name",
			"agent-max-viewers", "agent-edit-error", "agent-edit-cancel", "agent-edit-save",
		}},
	}
	for _, p := range pages {
		res, body := get(t, srv, p.path, nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", p.path, res.StatusCode)
		}
		for _, id := range p.hooks {
			if n := bytes.Count(body, []byte(`id="`+id+`"`)); n != 1 {
				t.Errorf("%s has #%s %d times, want once", p.path, id, n)
			}
		}
		entry := `<script type="module" src="/static/js/` + p.script + `"></script>`
		if !bytes.Contains(body, []byte(entry)) {
			t.Errorf("%s does not load %s", p.path, p.script)
		}
		if bytes.Contains(body, []byte(" style=")) {
			t.Errorf("%s has an inline style, which the CSP would block", p.path)
		}
	}

	js := w.static["js/settings.js"]
	if js == nil || !bytes.Contains(js.body, []byte("await startPage({ current: 'settings'")) {
		t.Error("settings.js does not start with startPage")
	}
	nav := w.static["js/nav.js"]
	if nav == nil || !bytes.Contains(nav.body, []byte(`'/admin/settings'`)) {
		t.Error("the navigation has no link to the settings page")
	}
	if w.static["js/agentedit.js"] == nil {
		t.Error("js/agentedit.js is missing")
	}
}
