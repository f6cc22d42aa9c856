// Package e2e runs whole Greeter installations on loopback and drives them
// from headless Chromium with fake camera and microphone devices: the agent's
// workbench on the dashboard origin and the demo shop, with the embedded
// widget, on another origin.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"greeter/internal/app"
	"greeter/internal/config"
)

const chromiumPath = "/usr/bin/chromium"

// server is one Greeter with the demo organization seeded: the dashboard on
// one port, the demo shop on another (a second origin).
type server struct {
	app     *app.App
	dashURL string // e.g. http://127.0.0.1:41234
	demoURL string
	logs    *syncBuffer
}

// startServer starts Greeter and the demo shop on free loopback ports and
// stops them when the test ends.
func startServer(t *testing.T) *server {
	t.Helper()
	dashLn := listen(t)
	demoLn := listen(t)
	dir := t.TempDir()

	cfg := config.Default()
	cfg.DBPath = filepath.Join(dir, "greeter.db")
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Addr = dashLn.Addr().String()
	cfg.PublicURL = "http://" + dashLn.Addr().String()
	cfg.DemoAddr = demoLn.Addr().String()
	cfg.Demo = true

	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	a, err := app.New(ctx, cfg, logger)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	if err := a.SeedDemo(ctx); err != nil {
		t.Fatalf("SeedDemo: %v", err)
	}

	dash := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 5 * time.Second}
	demo := &http.Server{Handler: a.DemoHandler(), ReadHeaderTimeout: 5 * time.Second}
	go serve(dash, dashLn, logger)
	go serve(demo, demoLn, logger)

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Drain()
		_ = demo.Shutdown(ctx) // the test is over; a slow close changes nothing
		_ = dash.Shutdown(ctx)
		if err := a.Close(ctx); err != nil {
			t.Errorf("closing the app: %v", err)
		}
		if t.Failed() {
			t.Logf("server log (last 20 kB):\n%s", logs.Tail(20000))
		}
	})
	return &server{app: a, dashURL: cfg.PublicURL, demoURL: cfg.DemoOrigin(), logs: logs}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	return ln
}

func serve(srv *http.Server, ln net.Listener, log *slog.Logger) {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("e2e: server stopped", "error", err)
	}
}

// page is one browser tab in its own Chromium process, so that the agent and
// the visitor share no cookies, storage or media devices.
type page struct {
	t       *testing.T
	name    string
	ctx     context.Context
	console *syncBuffer
}

// requireChromium skips the test when Chromium is missing, unless CI is set:
// there a missing browser is a failure, not a reason to skip.
func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("Chromium not found at %s (set CI to make this a failure)", chromiumPath)
		}
		t.Fatalf("Chromium is required when CI is set: %v", err)
	}
}

// newPage starts a browser for one participant. Its console output is kept
// and shown when the test fails.
func newPage(t *testing.T, name string) *page {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})

	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("%s: starting Chromium: %v", name, err)
	}
	p := &page{t: t, name: name, ctx: ctx, console: &syncBuffer{}}
	go p.collectConsole()
	return p
}

func (p *page) collectConsole() {
	for m, err := range chromedp.Console(p.ctx) {
		if err != nil {
			return
		}
		fmt.Fprintf(p.console, "%s %s: %s\n", m.Time.Format("15:04:05.000"), m.Type, m.Text)
	}
}

// do runs actions with a deadline and fails the test on error.
func (p *page) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, what, err)
	}
}

// eval evaluates a JavaScript expression (promises are awaited) into T.
func eval[T any](p *page, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// mustEval is eval that fails the test on error.
func mustEval[T any](p *page, expr string) T {
	p.t.Helper()
	v, err := eval[T](p, expr)
	if err != nil {
		p.t.Fatalf("%s: evaluating %s: %v", p.name, expr, err)
	}
	return v
}

// waitFor polls a boolean JavaScript expression until it is true or the
// timeout passes; the expression may also return a string explaining why not
// yet, which ends up in the failure message.
func (p *page) waitFor(desc string, timeout time.Duration, expr string) {
	p.t.Helper()
	last := ""
	ok := poll(timeout, func() bool {
		v, err := eval[any](p, expr)
		if err != nil {
			last = err.Error()
			return false
		}
		if b, isBool := v.(bool); isBool {
			last = fmt.Sprint(b)
			return b
		}
		last = fmt.Sprint(v)
		return false
	})
	if !ok {
		p.t.Fatalf("%s: timed out after %s waiting for %s (last: %s)", p.name, timeout, desc, last)
	}
}

// poll calls cond every 100 ms until it is true or the timeout passes.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// clickShadow clicks, with a real mouse event, the element that a selector
// finds inside the widget's shadow root, so that the page gets a genuine user
// activation (the widget unlocks sound on it).
func (p *page) clickShadow(selector string) {
	p.t.Helper()
	expr := fmt.Sprintf(`(() => {
		const host = document.querySelector('#greeter-widget');
		const el = host && host.shadowRoot.querySelector(%q);
		if (!el) return null;
		el.scrollIntoView({block: 'center'});
		const r = el.getBoundingClientRect();
		if (r.width === 0 || r.height === 0) return null;
		return [r.left + r.width / 2, r.top + r.height / 2];
	})()`, selector)
	var xy []float64
	ok := poll(10*time.Second, func() bool {
		v, err := eval[[]float64](p, expr)
		xy = v
		return err == nil && len(xy) == 2
	})
	if !ok {
		p.t.Fatalf("%s: widget element %s never became clickable", p.name, selector)
	}
	p.do("click "+selector, chromedp.MouseClickXY(xy[0], xy[1]))
}

// click clicks the first element a CSS selector finds, waiting up to 10 s
// for it to exist and be enabled. It clicks from inside the page, in one
// step, so that a list redrawn meanwhile cannot leave it holding a node that
// is gone.
func (p *page) click(selector string) {
	p.t.Helper()
	expr := fmt.Sprintf(`(() => {
		const el = document.querySelector(%q);
		if (!el || el.disabled) return false;
		el.click();
		return true;
	})()`, selector)
	p.waitFor("to click "+selector, 10*time.Second, expr)
}

// snap saves a screenshot named after the page and step into the directory
// named by GREETER_E2E_SHOTS, when that is set; it is for looking at the UI.
func (p *page) snap(step string) {
	dir := os.Getenv("GREETER_E2E_SHOTS")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Logf("%s: screenshot %s: %v", p.name, step, err)
		return
	}
	name := filepath.Join(dir, p.t.Name()+"-"+p.name+"-"+step+".png")
	if err := os.WriteFile(name, png, 0o644); err != nil {
		p.t.Logf("%s: screenshot %s: %v", p.name, step, err)
	}
}

// artifacts saves a screenshot and the console log of every page into a new
// temporary directory when the test has failed, and logs where.
func artifacts(t *testing.T, pages ...*page) {
	t.Helper()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		dir, err := os.MkdirTemp("", "greeter-e2e-*")
		if err != nil {
			t.Logf("no artifacts: %v", err)
			return
		}
		for _, p := range pages {
			ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
			cancel()
			if err == nil {
				_ = os.WriteFile(filepath.Join(dir, p.name+".png"), png, 0o644)
			}
			_ = os.WriteFile(filepath.Join(dir, p.name+"-console.log"), p.console.Bytes(), 0o644)
			t.Logf("%s console (last 4 kB):\n%s", p.name, p.console.Tail(4000))
		}
		t.Logf("screenshots and console logs saved in %s", dir)
	})
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes returns a copy of everything written so far.
func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// Tail returns at most the last n bytes, cut at a line start.
func (b *syncBuffer) Tail(n int) string {
	s := string(b.Bytes())
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}
