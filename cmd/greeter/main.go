// Command greeter runs Greeter: the widget, dashboard, realtime hub and API
// in one process. See `greeter help`.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `Usage: greeter <command> [flags]

Commands:
  serve [--demo] [--addr A] [--demo-addr A]   migrate, then serve Greeter
  migrate                                      apply database migrations and exit
  user create-admin --org NAME --email EMAIL   create an organization's admin
  version                                      print the version

Configuration comes from GREETER_* environment variables (see README.md);
flags override them.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Getenv)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "greeter:", err)
		os.Exit(1)
	}
}

// errUsage marks a command line that makes no sense.
var errUsage = errors.New("see `greeter help`")

func run(ctx context.Context, args []string, out io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		fmt.Fprint(out, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], out, getenv)
	case "migrate":
		return migrate(ctx, args[1:], out, getenv)
	case "user":
		if len(args) < 2 || args[1] != "create-admin" {
			return fmt.Errorf("unknown user command: %w", errUsage)
		}
		return createAdmin(ctx, args[2:], out, getenv)
	case "version":
		fmt.Fprintln(out, "greeter", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(out, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q: %w", args[0], errUsage)
}

func newLogger(out io.Writer, production bool, level string) *slog.Logger {
	var lv slog.Level
	// Validate has already checked the level's spelling.
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if production {
		return slog.New(slog.NewJSONHandler(out, opts))
	}
	return slog.New(slog.NewTextHandler(out, opts))
}
