package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"greeter/internal/config"
	"greeter/internal/demo"
	"greeter/internal/ids"
	"greeter/internal/store"
)

func newApp(t *testing.T) (*App, *httptest.Server) {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DBPath = filepath.Join(dir, "greeter.db")
	cfg.DataDir = filepath.Join(dir, "data")
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		srv.Close()
		a.Close(context.Background())
	})
	return a, srv
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHealthAndReadiness(t *testing.T) {
	a, srv := newApp(t)
	if code, body := get(t, srv.URL+"/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("healthz: %d %s", code, body)
	}
	if code, body := get(t, srv.URL+"/readyz"); code != 200 || !strings.Contains(body, "true") {
		t.Fatalf("readyz: %d %s", code, body)
	}
	a.Drain()
	code, body := get(t, srv.URL+"/readyz")
	if code != 503 || !strings.Contains(body, "shutting_down") {
		t.Fatalf("readyz while draining: %d %s", code, body)
	}
}

func TestCrossOriginStateChangeIsRefusedAsJSON(t *testing.T) {
	_, srv := newApp(t)
	req, _ := http.NewRequest("POST", srv.URL+"/api/auth/logout", nil)
	req.Header.Set("Origin", "http://evil.test")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 403 || body["code"] != "FORBIDDEN" {
		t.Fatalf("cross-origin POST: %d %v", resp.StatusCode, body)
	}
}

func TestDemoSeedIsIdempotentAndServesVideos(t *testing.T) {
	a, srv := newApp(t)
	ctx := context.Background()
	if err := a.SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.SeedDemo(ctx); err != nil {
		t.Fatalf("second seed: %v", err)
	}

	org, err := a.Store().OrgByName(ctx, demo.OrgName)
	if err != nil {
		t.Fatal(err)
	}
	agents, err := a.Store().ListAgentProfiles(ctx, org.ID)
	if err != nil || len(agents) != 2 {
		t.Fatalf("agents = %v, %v", agents, err)
	}
	for _, p := range agents {
		code, body := get(t, srv.URL+"/media/"+p.LoopVideo)
		if code != 200 || len(body) < 1000 {
			t.Fatalf("%s's loop video: %d, %d bytes", p.DisplayName, code, len(body))
		}
	}
	site, err := a.Store().SiteByKey(ctx, demo.SiteKey)
	if err != nil || len(site.AllowedOrigins) != 2 || site.AllowedOrigins[0] != "http://127.0.0.1:8081" ||
		site.AllowedOrigins[1] != "http://localhost:8081" {
		t.Fatalf("demo site = %+v, %v", site, err)
	}
}

func TestUnknownAPIPathsAnswerJSON(t *testing.T) {
	_, srv := newApp(t)
	code, body := get(t, srv.URL+"/api/nothing-here")
	if code != 404 || !strings.Contains(body, `"code":"NOT_FOUND"`) {
		t.Fatalf("unknown path: %d %s", code, body)
	}
	resp, err := http.Get(srv.URL + "/api/auth/login")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") == "" ||
		!strings.Contains(string(b), "METHOD_NOT_ALLOWED") {
		t.Fatalf("wrong method: %d %q %s", resp.StatusCode, resp.Header.Get("Allow"), b)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/api/agent/end-call", strings.NewReader(`{}`))
	req.Header.Set("Origin", "http://evil.test")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || strings.TrimSpace(string(b)) != `{"error":"Unauthorized"}` {
		t.Fatalf("end-call from a browser origin: %d %s", resp.StatusCode, b)
	}
}

func TestRestartClosesCallLogsACrashLeftOpen(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DBPath = filepath.Join(dir, "greeter.db")
	cfg.DataDir = filepath.Join(dir, "data")
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)

	first, err := New(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	org, admin, err := first.Store().CreateOrg(ctx, store.NewOrg{Name: "Acme",
		AdminEmail: "a@acme.test", AdminFullName: "A", AdminPasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	site, err := first.Store().CreateSite(ctx, store.NewSite{OrgID: org.ID, Name: "Shop",
		AllowedOrigins: []string{"https://shop.test"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	err = first.Store().SaveCallLog(ctx, store.CallLog{ID: "ring", OrgID: org.ID,
		SiteID: site.ID, RequestID: "req_1", VisitorID: "v_1", Status: store.CallPending,
		RingStartedAt: &now, CreatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	profile, err := first.Store().CreateAgentProfile(ctx, store.NewAgentProfile{
		OrgID: org.ID, UserID: admin.ID, DisplayName: "A"})
	if err != nil {
		t.Fatal(err)
	}
	err = first.Store().ApplyStatusChangeEvent(ctx, "event-1", store.StatusChange{ID: "change-1",
		Session: store.AgentSession{ID: "session-1", OrgID: org.ID,
			AgentID: profile.ID, StartedAt: now},
		From: "offline", To: "away", Reason: "connected", At: now})
	if err != nil {
		t.Fatal(err)
	}
	// Two calls of the crashed run: one with both token hashes, which the
	// restart reloads, one without, which it closes.
	for _, l := range []store.CallLog{
		{ID: "live", CallID: "call_live", VisitorTokenHash: strings.Repeat("a", 64),
			AgentTokenHash: strings.Repeat("b", 64)},
		{ID: "old", CallID: "call_old"},
	} {
		l.OrgID, l.SiteID, l.RequestID, l.VisitorID = org.ID, site.ID, "req_"+ids.RequestID(l.ID), "v_2"
		l.AgentID, l.Status, l.PageURL = profile.ID, store.CallAccepted, "https://shop.test/"
		l.RingStartedAt, l.AnsweredAt, l.StartedAt, l.CreatedAt = &now, &now, &now, now
		if err := first.Store().SaveCallLog(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	first.Close(ctx) // as after a crash: the rows and the session were never finished

	second, err := New(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close(ctx)
	row, err := second.Store().CallLog(ctx, org.ID, "ring")
	if err != nil || row.Status != store.CallAbandoned || row.EndReason != "server_restart" {
		t.Fatalf("row after restart = %+v, %v", row, err)
	}
	sessions, err := second.Store().AgentSessions(ctx, org.ID, profile.ID,
		now.Add(-time.Minute), now.Add(time.Minute))
	if err != nil || len(sessions) == 0 || sessions[0].EndedReason != store.SessionServerRestart {
		t.Fatalf("sessions after restart = %+v, %v", sessions, err)
	}
	if row, err := second.Store().CallLog(ctx, org.ID, "old"); err != nil ||
		row.Status != store.CallCompleted || row.EndReason != "server_restart" {
		t.Fatalf("a call without tokens after restart = %+v, %v", row, err)
	}
	// The call with tokens is live again, waiting for both parties.
	if row, err := second.Store().CallLog(ctx, org.ID, "live"); err != nil ||
		row.Status != store.CallAccepted {
		t.Fatalf("the resumable call after restart = %+v, %v", row, err)
	}
	statuses, err := second.hub.AgentStatuses(ctx, org.ID)
	if err != nil || statuses[profile.ID] != "in_call" {
		t.Fatalf("the agent of the reloaded call is %q, %v", statuses[profile.ID], err)
	}
}

func TestJSONAPIErrorsKeepsPathValues(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/echo/{v}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.PathValue("v"))
	})
	rec := httptest.NewRecorder()
	jsonAPIErrors(mux).ServeHTTP(rec, httptest.NewRequest("GET", "/api/echo/hello", nil))
	if rec.Code != 200 || rec.Body.String() != "hello" {
		t.Fatalf("got %d %q, want the path value", rec.Code, rec.Body.String())
	}
}
