package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

const testPublicURL = "http://127.0.0.1:8080"

func newTestServer(t *testing.T) (*Web, *httptest.Server) {
	t.Helper()
	w, err := New(Options{PublicURL: testPublicURL})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	mux := http.NewServeMux()
	w.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return w, srv
}

// get fetches path without following redirects or decompressing.
func get(t *testing.T, srv *httptest.Server, path string, header http.Header) (
	*http.Response, []byte,
) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	client := &http.Client{
		Transport:     &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", path, err)
	}
	return res, body
}

func TestNewRejectsBadPublicURL(t *testing.T) {
	for _, raw := range []string{"", "greeter.example.com", "ftp://x.example.com", "http://"} {
		if _, err := New(Options{PublicURL: raw}); err == nil {
			t.Errorf("New(%q) succeeded, want an error", raw)
		}
	}
}

func TestRootRedirectsToWorkbench(t *testing.T) {
	_, srv := newTestServer(t)

	res, _ := get(t, srv, "/", nil)

	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/workbench" {
		t.Fatalf("GET / = %d %q, want 303 to /workbench", res.StatusCode, res.Header.Get("Location"))
	}
}

func TestDashboardPagesCarrySecurityHeadersAndHooks(t *testing.T) {
	_, srv := newTestServer(t)
	cases := []struct {
		path   string
		script string
		hooks  []string
	}{
		{"/login", "login.js", []string{"email", "password", "login-submit", "login-error"}},
		{"/workbench", "workbench.js", []string{
			"status-pill", "go-live", "go-away", "incoming", "accept", "decline", "countdown",
			"call-stage", "remote-video", "local-video", "end-call", "call-message", "viewer-count",
			"nav", "terminal", "removed", "removed-text", "removed-call",
		}},
		{"/admin/team", "team.js", []string{
			"shell", "nav", "logout", "page-error", "page-notice", "add-me",
			"members", "members-body", "invites", "invites-body",
			"invite-form", "invite-email", "invite-name", "invite-role", "invite-submit",
			"invite-error", "invite-result", "invite-link", "invite-copy",
			"confirm", "confirm-title", "confirm-text", "confirm-warning", "confirm-ok",
			"confirm-cancel",
		}},
		{"/admin/pools", "pools.js", []string{
			"shell", "nav", "logout", "page-error", "page-notice",
			"test-form", "test-url", "test-submit", "test-error", "test-result", "test-page",
			"test-pool", "test-rule", "pool-form", "pool-name", "pool-description",
			"pool-overflow", "pool-submit", "pool-error", "pools", "confirm", "confirm-ok",
			"confirm-cancel",
		}},
		{"/admin/api-keys", "apikeys.js", []string{
			"shell", "nav", "page-error", "key-form", "key-name", "key-submit", "key-error",
			"key-result", "key-value", "key-copy", "key-warning", "keys-body", "confirm",
			"confirm-ok",
		}},
		{"/calls", "calls.js", []string{
			"shell", "nav", "page-error", "calls", "calls-body", "calls-total", "pager",
		}},
		{"/invite/abc-_123", "invite.js", []string{
			"invite-loading", "invite-invalid", "accept-form", "invite-org", "invite-email",
			"invite-role", "full-name", "new-password", "take-calls", "accept-error",
			"accept-submit",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			res, body := get(t, srv, tc.path, nil)

			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			csp := res.Header.Get("Content-Security-Policy")
			for _, want := range []string{
				"script-src 'self'", "media-src 'self' blob:",
				"connect-src 'self' ws://127.0.0.1:8080", "frame-ancestors 'none'",
			} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") {
				t.Errorf("CSP allows inline code: %q", csp)
			}
			if v := res.Header.Get("X-Content-Type-Options"); v != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", v)
			}
			if v := res.Header.Get("Referrer-Policy"); v != "same-origin" {
				t.Errorf("Referrer-Policy %q", v)
			}
			if v := res.Header.Get("X-Frame-Options"); v != "DENY" {
				t.Errorf("X-Frame-Options %q", v)
			}
			for _, id := range tc.hooks {
				if n := bytes.Count(body, []byte(`id="`+id+`"`)); n != 1 {
					t.Errorf("page has #%s %d times, want once", id, n)
				}
			}
			entry := `<script type="module" src="/static/js/` + tc.script + `"></script>`
			if !bytes.Contains(body, []byte(entry)) {
				t.Errorf("page does not load %s", tc.script)
			}
			if bytes.Contains(body, []byte("<script>")) || bytes.Contains(body, []byte(" style=")) {
				t.Error("page has inline script or style, which the CSP would block")
			}
		})
	}
}

// Only the invitation page is public; it has no token to leak in its markup
// and nothing of the invitation: the script asks the API.
func TestInvitePageHoldsNoInvitation(t *testing.T) {
	_, srv := newTestServer(t)

	res, body := get(t, srv, "/invite/secret-token-value", nil)

	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	if bytes.Contains(body, []byte("secret-token-value")) {
		t.Error("the page repeats the token")
	}
	if res.Header.Get("Referrer-Policy") != "same-origin" {
		t.Error("the token could leak through the Referer header")
	}
	for _, path := range []string{"/invite/", "/invite/a/b", "/admin/nope"} {
		if res, _ := get(t, srv, path, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, res.StatusCode)
		}
	}
}

// The console pages leave the redirects for a missing session or missing
// admin rights to the shared start-up code, and the workbench keeps its
// terminal screens (the browser tests see them work).
func TestConsoleModulesUseTheSharedStartUp(t *testing.T) {
	w, _ := newTestServer(t)
	for _, name := range []string{"js/team.js", "js/apikeys.js", "js/calls.js",
		"js/pools.js"} {
		a, ok := w.static[name]
		if !ok {
			t.Fatalf("%s is missing", name)
		}
		if !bytes.Contains(a.body, []byte("await startPage({ current: ")) {
			t.Errorf("%s does not start with startPage", name)
		}
	}
	page := w.static["js/page.js"].body
	for _, want := range []string{"location.replace('/login')", "location.replace('/workbench')"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("page.js lacks %s", want)
		}
	}
	wb := w.static["js/workbench.js"].body
	for _, want := range []string{"case 4101:", "showRemoved()", "case 4100:",
		"location.replace('/login')", "agent_removed"} {
		if !bytes.Contains(wb, []byte(want)) {
			t.Errorf("workbench.js lacks %s", want)
		}
	}
}

func TestSecurePublicURLAllowsWSS(t *testing.T) {
	w, err := New(Options{PublicURL: "https://greeter.example.com/"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(w.csp, "connect-src 'self' wss://greeter.example.com;") {
		t.Fatalf("CSP %q does not allow the wss origin", w.csp)
	}
}

func TestStaticFilesServeWithRevalidation(t *testing.T) {
	w, srv := newTestServer(t)
	if len(w.static) == 0 {
		t.Fatal("no static files embedded")
	}
	for name, a := range w.static {
		t.Run(name, func(t *testing.T) {
			res, body := get(t, srv, "/static/"+name, nil)

			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			if ct := res.Header.Get("Content-Type"); ct != a.contentType {
				t.Errorf("Content-Type %q, want %q", ct, a.contentType)
			}
			if cc := res.Header.Get("Cache-Control"); cc != "no-cache" {
				t.Errorf("Cache-Control %q", cc)
			}
			if !bytes.Equal(body, a.body) {
				t.Error("body differs from the embedded file")
			}

			again, _ := get(t, srv, "/static/"+name,
				http.Header{"If-None-Match": {res.Header.Get("ETag")}})
			if again.StatusCode != http.StatusNotModified {
				t.Errorf("conditional GET = %d, want 304", again.StatusCode)
			}
		})
	}

	if res, _ := get(t, srv, "/static/js/nope.js", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown static file = %d, want 404", res.StatusCode)
	}
}

// The dashboard modules import each other by relative name; every import
// must name an embedded file.
func TestStaticModuleImportsResolve(t *testing.T) {
	w, _ := newTestServer(t)
	imp := regexp.MustCompile(`from '\./([a-z-]+\.js)'`)
	for name, a := range w.static {
		for _, m := range imp.FindAllSubmatch(a.body, -1) {
			if _, ok := w.static["js/"+string(m[1])]; !ok {
				t.Errorf("%s imports missing module %s", name, m[1])
			}
		}
	}
	if _, ok := w.static["js/heartbeat-worker.js"]; !ok {
		t.Error("the heartbeat worker is missing")
	}
}

func TestLoaderNamesTheHashedModules(t *testing.T) {
	w, srv := newTestServer(t)

	res, body := get(t, srv, "/widget/v1/loader.js", nil)

	if res.StatusCode != http.StatusOK {
		t.Fatalf("loader status %d", res.StatusCode)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
		t.Errorf("loader Content-Type %q", ct)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("loader Cache-Control %q", cc)
	}
	if v := res.Header.Get("Access-Control-Allow-Origin"); v != "*" {
		t.Errorf("loader CORS %q", v)
	}
	if bytes.Contains(body, []byte(loaderPlaceholder)) {
		t.Error("loader still holds the placeholder")
	}

	modules := w.WidgetModules()
	for _, module := range []string{"greeting", "call"} {
		hashed := modules[module]
		if !regexp.MustCompile(`^` + module + `\.[0-9a-f]{12}\.js$`).MatchString(hashed) {
			t.Fatalf("module %s has hashed name %q", module, hashed)
		}
		if !bytes.Contains(body, []byte(`"`+module+`":"`+hashed+`"`)) {
			t.Errorf("loader does not name %s", hashed)
		}

		res, _ := get(t, srv, "/widget/v1/"+hashed, nil)
		if res.StatusCode != http.StatusOK {
			t.Errorf("%s status %d", hashed, res.StatusCode)
		}
		if cc := res.Header.Get("Cache-Control"); cc != immutableCacheControl {
			t.Errorf("%s Cache-Control %q", hashed, cc)
		}
		if v := res.Header.Get("Access-Control-Allow-Origin"); v != "*" {
			t.Errorf("%s CORS %q", hashed, v)
		}
	}

	for _, path := range []string{"/widget/v1/greeting.js", "/widget/v1/call.000000000000.js"} {
		if res, _ := get(t, srv, path, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, res.StatusCode)
		}
	}
}

func TestWidgetServesGzipWhenAccepted(t *testing.T) {
	w, srv := newTestServer(t)
	path := "/widget/v1/" + w.WidgetModules()["greeting"]

	res, body := get(t, srv, path, http.Header{"Accept-Encoding": {"gzip, br"}})

	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", res.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(plain, []byte("export function mount")) {
		t.Error("decompressed body is not the greeting module")
	}
}

func TestWidgetSizeBudgets(t *testing.T) {
	w, _ := newTestServer(t)
	modules := w.WidgetModules()
	budgets := []struct {
		name  string
		body  []byte
		limit int
	}{
		{"loader.js", w.loader.body, 10 * 1024},
		{"greeting", w.widget[modules["greeting"]].body, 30 * 1024},
		{"call", w.widget[modules["call"]].body, 30 * 1024},
	}
	for _, b := range budgets {
		gz, err := gzipBytes(b.body)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes, %d gzipped", b.name, len(b.body), len(gz))
		if len(gz) > b.limit {
			t.Errorf("%s is %d bytes gzipped, over its budget of %d", b.name, len(gz), b.limit)
		}
	}
}

func TestDemoPageEmbedsTheWidget(t *testing.T) {
	srv := httptest.NewServer(DemoPage("http://127.0.0.1:8080/", "pk_demo00000000000000000000"))
	t.Cleanup(srv.Close)
	tag := `<script async src="http://127.0.0.1:8080/widget/v1/loader.js" ` +
		`data-site-key="pk_demo00000000000000000000"></script>`

	for _, path := range []string{"/", "/pricing"} {
		res, body := get(t, srv, path, nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", path, res.StatusCode)
		}
		if !bytes.Contains(body, []byte(tag)) {
			t.Errorf("GET %s lacks the embed snippet %s", path, tag)
		}
		if !bytes.Contains(body, []byte("Northwind")) {
			t.Errorf("GET %s is not the demo shop", path)
		}
	}

	_, home := get(t, srv, "/", nil)
	if !bytes.Contains(home, []byte(`href="/pricing"`)) {
		t.Error("home page does not link to /pricing")
	}
	if res, _ := get(t, srv, "/nope", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown demo page = %d, want 404", res.StatusCode)
	}
}
