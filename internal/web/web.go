// Package web serves Greeter's browser-facing files: the dashboard pages (login,
// agent workbench, the admin console's team, pools, API-key and settings pages,
// the call log and the invitation page) with their CSS and JavaScript modules, the
// embeddable widget, and a demo customer website that embeds it.
//
// Everything is embedded in the binary. Templates are parsed and assets hashed
// once, in New; no request reads the file system or runs a build step.
package web

import (
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
)

// Options configure the web package.
type Options struct {
	// Logger receives start-up and error messages; nil discards them.
	Logger *slog.Logger
	// PublicURL is the external URL of the dashboard, e.g.
	// "https://greeter.example.com". Its origin goes into the pages' CSP.
	PublicURL string
}

// Web holds the parsed templates and the prepared assets.
type Web struct {
	log       *slog.Logger
	csp       string
	pages     *template.Template
	static    map[string]*asset // by path below /static/
	widget    map[string]*asset // by file name below /widget/v1/
	loader    *asset
	widgetMap map[string]string // module name ("greeting") → hashed file name
}

// New parses the templates and prepares every asset. It fails only on a bad
// PublicURL or on a broken embedded file, both of which are start-up errors.
func New(opts Options) (*Web, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	wsOrigin, err := webSocketOrigin(opts.PublicURL)
	if err != nil {
		return nil, err
	}

	pages, err := template.ParseFS(templateFS, "templates/layout.html",
		"templates/shell.html", "templates/login.html", "templates/workbench.html",
		"templates/team.html", "templates/apikeys.html", "templates/calls.html",
		"templates/invite.html", "templates/settings.html",
		"templates/pools.html", "templates/videos.html")
	if err != nil {
		return nil, fmt.Errorf("web: unable to parse templates: %w", err)
	}

	static, err := loadStatic()
	if err != nil {
		return nil, err
	}

	w := &Web{
		log:    log,
		csp:    dashboardCSP(wsOrigin),
		pages:  pages,
		static: static,
	}
	if err := w.prepareWidget(); err != nil {
		return nil, err
	}

	log.Debug("web assets ready", "static_files", len(static),
		"widget_files", len(w.widget), "loader_bytes", len(w.loader.body))
	return w, nil
}

// webSocketOrigin returns the WebSocket origin that matches the public URL:
// ws://host for http, wss://host for https.
func webSocketOrigin(publicURL string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(publicURL))
	if err != nil {
		return "", fmt.Errorf("web: invalid public URL: %w", err)
	}
	if u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", errors.New("web: public URL must be an absolute http(s) URL")
	}

	if u.Scheme == "https" {
		return "wss://" + u.Host, nil
	}
	return "ws://" + u.Host, nil
}

// Register adds every route of the package to mux.
func (w *Web) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", w.handleRoot)
	mux.HandleFunc("GET /login", w.page("login.html", "Sign in", "login", "login.js"))
	mux.HandleFunc("GET /workbench",
		w.page("workbench.html", "Workbench", "workbench", "workbench.js"))
	mux.HandleFunc("GET /videos", w.page("videos.html", "My videos", "videos", "videos.js"))
	mux.HandleFunc("GET /admin/team", w.page("team.html", "Team", "team", "team.js"))
	mux.HandleFunc("GET /admin/pools",
		w.page("pools.html", "Pools and routing", "pools", "pools.js"))
	mux.HandleFunc("GET /admin/api-keys",
		w.page("apikeys.html", "API keys", "api-keys", "apikeys.js"))
	mux.HandleFunc("GET /admin/settings",
		w.page("settings.html", "Settings", "settings", "settings.js"))
	mux.HandleFunc("GET /calls", w.page("calls.html", "Call log", "calls", "calls.js"))
	mux.HandleFunc("GET /invite/{token}",
		w.page("invite.html", "Join your team", "invite", "invite.js"))
	mux.HandleFunc("GET /static/{path...}", w.handleStatic)
	mux.HandleFunc("GET /widget/v1/loader.js", w.handleLoader)
	mux.HandleFunc("GET /widget/v1/{file}", w.handleWidgetAsset)
}
