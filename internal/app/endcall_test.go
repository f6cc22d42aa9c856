package app

import (
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	_ "modernc.org/sqlite"

	"greeter/internal/auth"
	"greeter/internal/config"
	"greeter/internal/demo"
	"greeter/internal/ids"
	"greeter/internal/store"
)

const platformKey = "platform-key-for-tests-0123456789abcdef"

// wsClient is a bare WebSocket client that hands frames to a channel.
type wsClient struct {
	t      *testing.T
	ws     *websocket.Conn
	frames chan map[string]any
	ack    int
}

func dialWS(t *testing.T, url, origin, token string) *wsClient {
	t.Helper()
	h := http.Header{"Origin": {origin}}
	if token != "" {
		h.Set("Cookie", auth.CookieName+"="+token)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	c := &wsClient{t: t, ws: ws, frames: make(chan map[string]any, 256)}
	go func() {
		defer close(c.frames)
		for {
			_, b, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			var m map[string]any
			if json.Unmarshal(b, &m) == nil {
				c.frames <- m
			}
		}
	}()
	t.Cleanup(func() { ws.CloseNow() })
	return c
}

// expect skips frames until one of event arrives and returns its data.
func (c *wsClient) expect(event string) map[string]any {
	c.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				c.t.Fatalf("connection closed while waiting for %s", event)
			}
			if f["event"] == event {
				d, _ := f["data"].(map[string]any)
				return d
			}
		case <-timeout:
			c.t.Fatalf("no %s", event)
		}
	}
}

// do sends event with an ack and returns the ack's data.
func (c *wsClient) do(event string, data any) map[string]any {
	c.t.Helper()
	c.ack++
	b, _ := json.Marshal(map[string]any{"event": event, "data": data, "ack": c.ack})
	if err := c.ws.Write(context.Background(), websocket.MessageText, b); err != nil {
		c.t.Fatal(err)
	}
	d := c.expect("ack")
	if d["ok"] != true {
		c.t.Fatalf("%s failed: %v", event, d)
	}
	return d
}

// While the database refuses every write, POST /api/agent/end-call still
// answers 200 and both people hear that the call ended over their real
// WebSockets; the call log lands once the database is back, exactly once.
func TestEndCallWhileDatabaseRefusesWrites(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DBPath = filepath.Join(dir, "greeter.db")
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.PublicURL = "http://" + ln.Addr().String()
	cfg.InternalAPIKey = platformKey
	ctx := context.Background()
	a, err := New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(a.Handler())
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		a.Close(context.Background())
	})
	if err := a.SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}

	st := a.Store()
	ava, err := st.UserByEmail(ctx, demo.Agents[0].Email)
	if err != nil {
		t.Fatal(err)
	}
	profile, err := st.AgentProfileByUserID(ctx, ava.ID)
	if err != nil {
		t.Fatal(err)
	}
	token, hash := auth.NewToken()
	now := time.Now().UTC()
	err = st.CreateSession(ctx, store.Session{IDHash: hash, UserID: ava.ID, CreatedAt: now,
		LastSeenAt: now, ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}

	wsBase := "ws://" + ln.Addr().String()
	agent := dialWS(t, wsBase+"/ws/agent", cfg.PublicURL, token)
	agent.expect("agent:state")
	agent.do("agent:back", nil)
	visitor := dialWS(t, wsBase+"/ws/visitor?siteKey="+demo.SiteKey, cfg.DemoOrigin(), "")
	visitor.do("visitor:join", map[string]any{"pageUrl": cfg.DemoOrigin() + "/"})
	visitor.expect("agent:assigned")
	reqID := visitor.do("call:request", nil)["requestId"]
	agent.expect("call:incoming")
	agent.do("call:accept", map[string]any{"requestId": reqID})
	started := agent.expect("call:started")
	visitor.expect("call:accepted")
	logID := ids.CallLogID(started["callLogId"].(string))
	waitForStatus(t, st, profile.OrgID, logID, "accepted")

	// Another connection holds the write lock: every write of Greeter's
	// fails with "database is locked" until it lets go.
	lock := lockDatabase(t, cfg.DBPath)

	body := `{"agentId":"` + string(profile.ID) + `"}`
	req, _ := http.NewRequest("POST", srv.URL+"/api/agent/end-call", strings.NewReader(body))
	req.Header.Set("X-Internal-Api-Key", platformKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("end-call answered %d while the database was locked", resp.StatusCode)
	}
	vEnd, aEnd := visitor.expect("call:ended"), agent.expect("call:ended")
	if vEnd["message"] != "Agent has ended the call" || aEnd["reason"] != "agent_removed" ||
		aEnd["endedBy"] != "api" {
		t.Fatalf("ended: visitor %v agent %v", vEnd, aEnd)
	}
	if row, _ := st.CallLog(ctx, profile.OrgID, logID); row.Status == "completed" {
		t.Fatal("the row landed although the database was locked")
	}

	lock()
	row := waitForStatus(t, st, profile.OrgID, logID, "completed")
	if row.EndReason != "agent_removed" || row.EndedBy != "api" || row.DurationSeconds == nil {
		t.Fatalf("row = %+v", row)
	}
	if n, err := st.CountCallLogs(ctx, profile.OrgID, store.CallLogFilter{}); err != nil || n != 1 {
		t.Fatalf("%d call logs (%v), want exactly 1", n, err)
	}
}

// lockDatabase takes SQLite's write lock from a second connection and
// returns the function that releases it.
func lockDatabase(t *testing.T, path string) func() {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	released := false
	release := func() {
		if released {
			return
		}
		released = true
		conn.ExecContext(context.Background(), "ROLLBACK")
		conn.Close()
		db.Close()
	}
	t.Cleanup(release)
	return release
}

func waitForStatus(t *testing.T, st *store.Store, org ids.OrgID, id ids.CallLogID,
	status string) store.CallLog {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		row, err := st.CallLog(context.Background(), org, id)
		if err == nil && row.Status == status {
			return row
		}
		if time.Now().After(deadline) {
			t.Fatalf("row %s is %q (%v), want %q", id, row.Status, err, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
