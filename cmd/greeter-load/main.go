// Command greeter-load is Greeter's load generator. Over loopback it signs
// agents in and puts them live, opens idle visitor connections and holds
// them, and times sequential calls between a visitor and those agents. It
// reports the connections held, the server's memory per connection (from
// /proc/<pid>/status) and the latency of routing and call setup.
//
// Every phase is bounded in count (-visitors, -calls) and in time (-duration).
// See docs/benchmarks.md for how the published numbers were taken.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const usage = `Usage: greeter-load [flags]

Opens -visitors idle visitor connections to a running Greeter, holds them for
-hold, and times -calls sequential calls against the -agents, who go live.
Give -pid to measure the server's memory. Each connection is a file on both
sides: start the server from a shell where ` + "`ulimit -n 65536`" + ` ran (this
command raises its own limit as far as it may).

`

// config is the command line.
type config struct {
	url         string
	origin      string
	siteKey     string
	visitors    int
	agents      []string
	password    string
	calls       int
	hold        time.Duration
	pid         int
	duration    time.Duration
	concurrency int
	stepTimeout time.Duration
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "greeter-load:", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, cfg, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "greeter-load:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, errOut io.Writer) (config, error) {
	cfg := config{hold: 10 * time.Second, duration: 5 * time.Minute}
	var agents string
	fs := flag.NewFlagSet("greeter-load", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() {
		fmt.Fprint(errOut, usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.url, "url", "http://127.0.0.1:8080", "Greeter's public URL")
	fs.StringVar(&cfg.origin, "origin", "http://127.0.0.1:8081",
		"Origin of the visitors' page (an allowed origin of the site)")
	fs.StringVar(&cfg.siteKey, "site-key", "pk_demo00000000000000000000", "public site key")
	fs.IntVar(&cfg.visitors, "visitors", 1000, "idle visitor connections to open and hold")
	fs.StringVar(&agents, "agents", "ava@demo.greeter.test,ben@demo.greeter.test",
		"comma-separated agent emails to sign in and put live (empty: none)")
	fs.StringVar(&cfg.password, "password", "greeter-demo", "the agents' password")
	fs.IntVar(&cfg.calls, "calls", 100, "sequential calls to time")
	fs.Var((*seconds)(&cfg.hold), "hold",
		"how long to hold the idle connections once open, calls included (seconds or 1m)")
	fs.IntVar(&cfg.pid, "pid", 0, "server process id, to read its VmRSS (0: do not measure)")
	fs.Var((*seconds)(&cfg.duration), "duration",
		"hard cap on the run (seconds or a duration); closing afterwards takes ≤ 25 s more")
	fs.IntVar(&cfg.concurrency, "concurrency", 64, "connections opened at the same time")
	fs.DurationVar(&cfg.stepTimeout, "step-timeout", 10*time.Second,
		"longest wait for any one answer from the server")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	for _, a := range strings.Split(agents, ",") {
		if a = strings.TrimSpace(a); a != "" {
			cfg.agents = append(cfg.agents, a)
		}
	}
	return cfg, cfg.validate()
}

func (c config) validate() error {
	for _, raw := range []string{c.url, c.origin} {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%q is not an http(s) URL", raw)
		}
	}
	switch {
	case c.visitors < 0 || c.calls < 0:
		return errors.New("-visitors and -calls must not be negative")
	case c.calls > 0 && len(c.agents) == 0:
		return errors.New("-calls needs at least one agent (-agents)")
	case c.concurrency < 1:
		return errors.New("-concurrency must be at least 1")
	case c.duration <= 0 || c.hold < 0 || c.stepTimeout <= 0:
		return errors.New("-duration and -step-timeout must be positive, -hold not negative")
	}
	return nil
}

// seconds is a duration flag that also takes a bare number of seconds.
type seconds time.Duration

func (s *seconds) String() string { return time.Duration(*s).String() }

func (s *seconds) Set(v string) error {
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		*s = seconds(time.Duration(n * float64(time.Second)))
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return errors.New("want seconds or a duration such as 90s or 2m")
	}
	*s = seconds(d)
	return nil
}

// run drives the phases in order and prints the report, also when the hard
// cap cuts a phase short.
func run(ctx context.Context, cfg config, out, progress io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	start := time.Now()
	rep := &report{cfg: cfg, started: start}

	rep.fileLimit = raiseFileLimit(uint64(cfg.visitors) + 256)
	checkServerFileLimit(cfg, progress)
	d := newDialer()

	rings := make(chan ring, 64)
	agents, err := connectAgents(ctx, d, cfg, rings, progress)
	if err != nil {
		return err
	}

	rep.before = sampleServer(cfg.pid)
	say(progress, "opening %d idle visitor connections…", cfg.visitors)
	idle := openVisitors(ctx, d, cfg)
	rep.idle = idle
	holdStart := time.Now()
	sleep(ctx, 2*time.Second) // let the server settle before measuring it
	rep.afterOpen = sampleServer(cfg.pid)
	say(progress, "%d idle visitors joined; holding them", len(idle.routings))

	if cfg.calls > 0 {
		say(progress, "timing %d sequential calls…", cfg.calls)
		rep.calls = runCalls(ctx, d, cfg, rings)
	}
	sleep(ctx, time.Until(holdStart.Add(cfg.hold)))
	rep.endOfHold = sampleServer(cfg.pid)
	say(progress, "end of the hold")
	rep.heldAtEnd = stillOpen(idle.clients)
	rep.dropped = closeReasons(idle.clients)
	rep.capped = ctx.Err() != nil && time.Since(start) >= cfg.duration

	say(progress, "closing the idle connections…")
	closeAll(idle.clients)
	sleep(context.Background(), 3*time.Second)
	rep.afterClose = sampleServer(cfg.pid)
	closeAll(agentClients(agents))

	rep.print(out)
	return nil
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// say prints a progress line with the time of day, which lines it up with
// the server's log.
func say(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}
