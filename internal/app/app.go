// Package app wires Greeter together: store, live state, realtime
// endpoints, HTTP API and pages, behind one http.Handler. cmd/greeter and the
// tests build the same App.
package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync/atomic"
	"time"

	"greeter/internal/auth"
	"greeter/internal/calls"
	"greeter/internal/clock"
	"greeter/internal/config"
	"greeter/internal/demo"
	"greeter/internal/httpapi"
	"greeter/internal/media"
	"greeter/internal/realtime"
	"greeter/internal/records"
	"greeter/internal/store"
	"greeter/internal/web"
)

// App is one running Greeter.
type App struct {
	cfg      config.Config
	log      *slog.Logger
	store    *store.Store
	media    *media.Library
	sessions *auth.Sessions
	records  *records.Writer
	hub      *calls.Hub
	realtime *realtime.Server
	handler  http.Handler
	ready    atomic.Bool
	closing  atomic.Bool
}

// Options change how New builds the App; tests use them.
type Options struct {
	Clock clock.Clock
}

// New opens and migrates the database and builds the App. It does not listen.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, opts ...Options) (*App, error) {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}

	st, err := store.Open(ctx, cfg.DBPath)
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	lib, err := media.Open(filepath.Join(cfg.DataDir, "media"))
	if err != nil {
		st.Close()
		return nil, err
	}
	secret, err := loadSecret(cfg.DataDir)
	if err != nil {
		st.Close()
		return nil, err
	}

	a := &App{cfg: cfg, log: log, store: st, media: lib}
	a.sessions = auth.NewSessions(st, o.Clock.Now, cfg.Production())
	a.records, err = records.Open(filepath.Join(cfg.DataDir, "journal"), st, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	drained := a.closeInterrupted(ctx, o.Clock.Now())
	ice := httpapi.ICEConfig{
		STUNURLs:   cfg.STUNURLs,
		TURNURLs:   cfg.TURNURLs,
		TURNSecret: cfg.TURNSecret,
		TTL:        2 * time.Hour,
	}
	a.hub = calls.NewHub(calls.Options{
		Clock:     o.Clock,
		Logger:    log,
		Records:   a.records,
		Directory: realtime.Directory{Store: st, Origin: cfg.PublicOrigin()},
		ICE:       func(subject string) any { return ice.Build(subject, o.Clock.Now()) },
	})
	a.realtime = realtime.New(realtime.Options{
		Hub:       a.hub,
		Store:     st,
		Sessions:  a.sessions,
		Logger:    log,
		PublicURL: cfg.PublicOrigin(),
		Secret:    secret,
		Settings: func(org store.Org, site store.Site) (any, time.Duration) {
			s := httpapi.EffectiveSettings(org.WidgetDefaults, site.WidgetOverrides)
			return s, time.Duration(s.TriggerDelaySeconds) * time.Second
		},
		Now:            o.Clock.Now,
		RateLimitScale: cfg.RateLimitScale,
	})
	pages, err := web.New(web.Options{Logger: log, PublicURL: cfg.PublicOrigin()})
	if err != nil {
		a.Close(ctx)
		return nil, err
	}
	api := httpapi.New(httpapi.Deps{
		Store:          st,
		Sessions:       a.sessions,
		Logger:         log,
		SecureCookies:  cfg.Production(),
		ICE:            ice,
		PublicURL:      cfg.PublicOrigin(),
		Hub:            a.hub,
		Production:     cfg.Production(),
		PlatformKey:    cfg.InternalAPIKey,
		RateLimitScale: cfg.RateLimitScale,
		Media:          lib,
	})

	mux := http.NewServeMux()
	api.Register(mux)
	a.realtime.Register(mux)
	pages.Register(mux)
	mux.Handle("GET /media/{name}", lib)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", a.serveReady)

	cop := http.NewCrossOriginProtection()
	// The internal API authenticates every call by its key, never by a
	// cookie, so a browser's Origin header has nothing to protect there.
	cop.AddInsecureBypassPattern("/api/agent/end-call")
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusForbidden, map[string]string{
			"error": "Cross-origin request refused", "code": "FORBIDDEN",
		})
	}))
	a.handler = a.recoverPanics(cop.Handler(jsonAPIErrors(mux)))
	if err := a.loadRouting(ctx); err != nil {
		a.Close(ctx)
		return nil, err
	}
	if drained {
		if err := a.restoreCalls(ctx, o.Clock.Now().UTC()); err != nil {
			a.Close(ctx)
			return nil, err
		}
	}
	a.hub.Ready(o.Clock.Now())
	a.ready.Store(true)
	return a, nil
}

// restoreCalls reloads the calls a previous run left active into their
// loops as reconnecting, both rejoin windows counted from at, the moment
// the server becomes ready (SPEC §9).
func (a *App) restoreCalls(ctx context.Context, at time.Time) error {
	logs, err := a.store.ResumableCallLogs(ctx)
	if err != nil {
		return err
	}
	recs := make([]calls.CallRecord, len(logs))
	for i, l := range logs {
		recs[i] = calls.CallRecord{
			ID: l.ID, OrgID: l.OrgID, RequestID: l.RequestID, SiteID: l.SiteID,
			PoolID: l.PoolID, AgentID: l.AgentID, VisitorID: l.VisitorID, Status: l.Status,
			EndReason: l.EndReason, EndedBy: l.EndedBy, PageURL: l.PageURL,
			RingStartedAt: l.RingStartedAt, AnsweredAt: l.AnsweredAt,
			AnswerSeconds: l.AnswerSeconds, StartedAt: l.StartedAt, EndedAt: l.EndedAt,
			DurationSeconds: l.DurationSeconds, CreatedAt: l.CreatedAt,
			CallID: l.CallID, VisitorTokenHash: l.VisitorTokenHash,
			AgentTokenHash: l.AgentTokenHash,
		}
	}
	if err := a.hub.Restore(ctx, recs, at); err != nil {
		return fmt.Errorf("app: unable to reload the calls of the previous run: %w", err)
	}
	if len(recs) > 0 {
		a.log.Info("reloaded active calls of the previous run", "count", len(recs))
	}
	return nil
}

// loadRouting loads every organization's routing mirror into its loop, so
// that the first visitor is routed with it (SPEC §7.6).
func (a *App) loadRouting(ctx context.Context) error {
	orgs, err := a.store.OrgIDs(ctx)
	if err != nil {
		return fmt.Errorf("app: unable to load routing: %w", err)
	}
	for _, org := range orgs {
		if err := a.hub.Load(ctx, org); err != nil {
			return fmt.Errorf("app: unable to load routing: %w", err)
		}
	}
	return nil
}

// Handler serves everything on the dashboard origin.
func (a *App) Handler() http.Handler { return a.handler }

// Store gives tests and commands the database.
func (a *App) Store() *store.Store { return a.store }

// SeedDemo creates or refreshes the demo organization.
func (a *App) SeedDemo(ctx context.Context) error {
	return demo.Seed(ctx, a.store, a.media, a.cfg.DemoOrigin())
}

// DemoHandler serves the demo host page that embeds the widget.
func (a *App) DemoHandler() http.Handler {
	return web.DemoPage(a.cfg.PublicOrigin(), demo.SiteKey)
}

// Drain marks the App as shutting down: readiness turns off and every
// WebSocket is closed with the "reconnect" code.
func (a *App) Drain() {
	a.closing.Store(true)
	a.realtime.CloseAll()
}

// Close stops the live state, flushes queued writes and closes the database.
func (a *App) Close(ctx context.Context) error {
	a.ready.Store(false)
	a.hub.Close()
	a.realtime.Wait()
	err := a.records.Close(ctx)
	return errors.Join(err, a.store.Close())
}

// Records is the durable call-log writer; its Depth and OldestAge report how
// many writes wait for the database, and for how long.
func (a *App) Records() *records.Writer { return a.records }

func (a *App) serveReady(w http.ResponseWriter, r *http.Request) {
	switch {
	case a.closing.Load():
		writeJSON(w, http.StatusServiceUnavailable,
			map[string]any{"ready": false, "reason": "shutting_down"})
	case !a.ready.Load():
		writeJSON(w, http.StatusServiceUnavailable,
			map[string]any{"ready": false, "reason": "starting"})
	case a.store.Ping(r.Context()) != nil:
		writeJSON(w, http.StatusServiceUnavailable,
			map[string]any{"ready": false, "reason": "database_unavailable"})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"ready": true})
	}
}

// recoverPanics answers 500 for a handler that panicked, and logs it.
func (a *App) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.log.Error("app: handler panicked", "path", r.URL.Path, "panic", v,
					"stack", string(debug.Stack()))
				writeJSON(w, http.StatusInternalServerError,
					map[string]string{"error": "Internal error", "code": "INTERNAL_ERROR"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// closeInterrupted finishes the call logs that a crashed run left pending,
// or accepted with nothing to resume them by, and the agent sessions it left
// open. It waits for the journal to replay what it held first, so that the
// last snapshots of that run land before anything is closed or reloaded, and
// reports whether it did: when the journal is still replaying after 10 s it
// leaves everything to the next start.
func (a *App) closeInterrupted(ctx context.Context, now time.Time) (drained bool) {
	deadline := time.Now().Add(10 * time.Second)
	for a.records.Depth() > 0 {
		if time.Now().After(deadline) {
			a.log.Warn("app: the journal is still replaying; call logs left open by a " +
				"previous run are closed or reloaded at the next start")
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	n, err := a.store.CloseInterruptedCallLogs(ctx, now)
	if err != nil {
		a.log.Error("app: unable to close call logs left open by a previous run", "err", err)
	} else if n > 0 {
		a.log.Info("closed call logs left open by a previous run", "count", n)
	}
	n, err = a.store.CloseInterruptedAgentSessions(ctx)
	if err != nil {
		a.log.Error("app: unable to close agent sessions left open by a previous run",
			"err", err)
	} else if n > 0 {
		a.log.Info("closed agent sessions left open by a previous run", "count", n)
	}
	return true
}

// loadSecret returns the installation's signing secret, creating it on the
// first start.
func loadSecret(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, "secret.key")
	b, err := os.ReadFile(path)
	if err == nil && len(b) >= 32 {
		return b, nil
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("app: unable to create %s: %w", dataDir, err)
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("app: unable to make a secret: %w", err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("app: unable to write %s: %w", path, err)
	}
	return b, nil
}
