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

// page serves a dashboard page. Every page is a shell: its script loads the
// data from the JSON API, which enforces who may see what, and sends a
// visitor without a session to /login and a non-admin away from the admin
// pages to /workbench. The invitation page's token stays in the path, where
// its script reads it; the referrer policy keeps it on the dashboard's origin.
func (w *Web) page(tmpl, title, name, script string) http.HandlerFunc {
	data := pageData{Title: title, Page: name, Script: script, Style: "app.css"}
	return func(rw http.ResponseWriter, r *http.Request) {
		w.render(rw, r, tmpl, data)
	}
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
