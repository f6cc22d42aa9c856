package web

import (
	"bytes"
	"net/http"
	"strings"
)

// dashboardCSP builds the Content-Security-Policy of the dashboard pages. No
// inline script or style is allowed; the only extra sources are the WebSocket
// origin and blob: media (camera previews, remote streams).
func dashboardCSP(wsOrigin string) string {
	return strings.Join([]string{
		"default-src 'self'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self' data: blob:",
		"media-src 'self' blob:",
		"connect-src 'self' " + wsOrigin,
		"worker-src 'self'",
		"font-src 'self'",
		"object-src 'none'",
		"base-uri 'none'",
		"form-action 'self'",
		"frame-ancestors 'none'",
	}, "; ")
}

// pageData is what the page templates receive.
type pageData struct {
	Title  string // shown in the tab, after "Greeter · "
	Page   string // body class, e.g. "login"
	Script string // entry module below /static/js/
	Style  string // stylesheet below /static/css/
}

// handleRoot sends the dashboard root to the workbench.
func (w *Web) handleRoot(rw http.ResponseWriter, r *http.Request) {
	http.Redirect(rw, r, "/workbench", http.StatusSeeOther)
}

// handleLogin renders the sign-in page.
func (w *Web) handleLogin(rw http.ResponseWriter, r *http.Request) {
	w.render(rw, r, "login.html", pageData{
		Title: "Sign in", Page: "login", Script: "login.js", Style: "app.css",
	})
}

// handleWorkbench renders the agent workbench. The page itself holds no user
// data: its script asks /api/me and goes to /login when the session is gone.
func (w *Web) handleWorkbench(rw http.ResponseWriter, r *http.Request) {
	w.render(rw, r, "workbench.html", pageData{
		Title: "Workbench", Page: "workbench", Script: "workbench.js", Style: "app.css",
	})
}

// The admin console's pages, the call log and the invitation page are shells
// like the workbench: their scripts load the data from the JSON API, which
// enforces who may see what. The scripts send a visitor without a session to
// /login and a non-admin away from the admin pages to /workbench.

// handleTeam renders the admin console's team page.
func (w *Web) handleTeam(rw http.ResponseWriter, r *http.Request) {
	w.render(rw, r, "team.html", pageData{
		Title: "Team", Page: "team", Script: "team.js", Style: "app.css",
	})
}

// handleAPIKeys renders the admin console's API-key page.
func (w *Web) handleAPIKeys(rw http.ResponseWriter, r *http.Request) {
	w.render(rw, r, "apikeys.html", pageData{
		Title: "API keys", Page: "api-keys", Script: "apikeys.js", Style: "app.css",
	})
}

// handleCalls renders the call log: the organization's for an admin, the
// agent's own rows for anyone else.
func (w *Web) handleCalls(rw http.ResponseWriter, r *http.Request) {
	w.render(rw, r, "calls.html", pageData{
		Title: "Call log", Page: "calls", Script: "calls.js", Style: "app.css",
	})
}

// handleInvite renders the public invitation page. The token stays in the
// path: the script reads it from there, and the page's referrer policy keeps
// it from leaving the dashboard's origin.
func (w *Web) handleInvite(rw http.ResponseWriter, r *http.Request) {
	w.render(rw, r, "invite.html", pageData{
		Title: "Join your team", Page: "invite", Script: "invite.js", Style: "app.css",
	})
}

// render executes a page template into a buffer and writes it with the
// dashboard's security headers, so that a template error never sends half a
// page.
func (w *Web) render(rw http.ResponseWriter, r *http.Request, name string, data pageData) {
	var buf bytes.Buffer
	if err := w.pages.ExecuteTemplate(&buf, name, data); err != nil {
		w.log.Error("web: unable to render page", "page", name, "error", err)
		http.Error(rw, "Internal Server Error", http.StatusInternalServerError)
		return
	}

	h := rw.Header()
	w.setDashboardHeaders(h)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	rw.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = rw.Write(buf.Bytes()) // a failed write means the client went away
	}
}

// setDashboardHeaders adds the security headers every dashboard page carries.
func (w *Web) setDashboardHeaders(h http.Header) {
	h.Set("Content-Security-Policy", w.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Permissions-Policy", "camera=(self), microphone=(self), geolocation=()")
}
