package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"greeter/internal/app"
	"greeter/internal/config"
	"greeter/internal/demo"
)

// shutdownDeadline bounds graceful shutdown (SPEC §18.2).
const shutdownDeadline = 10 * time.Second

func loadConfig(getenv func(string) string, fs *flag.FlagSet, args []string) (config.Config, error) {
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return cfg, err
	}
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address (GREETER_ADDR)")
	fs.StringVar(&cfg.DBPath, "db", cfg.DBPath, "SQLite file (GREETER_DB_PATH)")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data folder (GREETER_DATA_DIR)")
	fs.StringVar(&cfg.PublicURL, "public-url", cfg.PublicURL, "external URL (GREETER_PUBLIC_URL)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q: %w", fs.Arg(0), errUsage)
	}
	return cfg, nil
}

func serve(ctx context.Context, args []string, out io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	demoMode := fs.Bool("demo", false, "seed and serve the demo organization (loopback only)")
	demoAddr := fs.String("demo-addr", "127.0.0.1:8081", "address of the demo host page")
	cfg, err := loadConfig(getenv, fs, args)
	if err != nil {
		return err
	}
	cfg.Demo, cfg.DemoAddr = *demoMode, *demoAddr
	if cfg.Demo {
		applyDemoDefaults(&cfg, getenv, fs)
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	log := newLogger(out, cfg.Production(), cfg.LogLevel)
	if cfg.Production() && cfg.InternalAPIKey == "" {
		log.Error("INTERNAL_API_KEY is not set: POST /api/agent/end-call will answer 500 " +
			"until it is configured")
	}
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}

	servers := []*http.Server{{Addr: cfg.Addr, Handler: a.Handler()}}
	if cfg.Demo {
		if err := a.SeedDemo(ctx); err != nil {
			a.Close(context.Background())
			return err
		}
		servers = append(servers, &http.Server{Addr: cfg.DemoAddr, Handler: a.DemoHandler()})
	}
	listeners, err := listen(servers)
	if err != nil {
		a.Close(context.Background())
		return err
	}

	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { errc <- srv.Serve(listeners[i]) }()
	}
	log.Info("greeter started", "addr", cfg.Addr, "public_url", cfg.PublicURL,
		"db", cfg.DBPath, "version", version)
	if cfg.Demo {
		printDemo(out, cfg)
	}

	select {
	case <-ctx.Done():
	case err = <-errc:
		log.Error("server stopped", "err", err)
	}
	return shutdown(a, servers, log)
}

// applyDemoDefaults puts demo mode on loopback unless the operator chose
// otherwise, and makes the public URL match where it listens.
func applyDemoDefaults(cfg *config.Config, getenv func(string) string, fs *flag.FlagSet) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["addr"] && getenv("GREETER_ADDR") == "" {
		cfg.Addr = "127.0.0.1:8080"
	}
	if !set["public-url"] && getenv("GREETER_PUBLIC_URL") == "" {
		cfg.PublicURL = "http://" + cfg.Addr
	}
}

func listen(servers []*http.Server) ([]net.Listener, error) {
	var lns []net.Listener
	for _, srv := range servers {
		ln, err := net.Listen("tcp", srv.Addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("unable to listen on %s: %w", srv.Addr, err)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// shutdown turns readiness off, closes sockets with the reconnect code,
// finishes in-flight requests and flushes queued writes, all within
// shutdownDeadline.
func shutdown(a *app.App, servers []*http.Server, log interface{ Info(string, ...any) }) error {
	log.Info("greeter shutting down")
	ctx, cancel := context.WithTimeout(context.Background(), shutdownDeadline)
	defer cancel()

	a.Drain()
	var errs []error
	for _, srv := range servers {
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	errs = append(errs, a.Close(ctx))
	log.Info("greeter stopped")
	return errors.Join(errs...)
}

func printDemo(out io.Writer, cfg config.Config) {
	var accounts []string
	accounts = append(accounts, "  admin  "+demo.AdminEmail)
	for _, ag := range demo.Agents {
		accounts = append(accounts, "  agent  "+ag.Email)
	}
	fmt.Fprintf(out, `
Greeter demo is running.

  Agent workbench:  %s/workbench
  Demo website:     %s/

Accounts (password %q):
%s

Sign in as Ava in one window and go Live, then open the demo website in
another window and press "Talk with camera". Stop with Ctrl+C.

`, cfg.PublicOrigin(), cfg.DemoOrigin(), demo.Password, strings.Join(accounts, "\n"))
	if f, ok := out.(*os.File); ok {
		f.Sync()
	}
}
