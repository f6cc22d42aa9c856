package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"greeter/internal/auth"
	"greeter/internal/calls"
	"greeter/internal/ids"
	"greeter/internal/records"
	"greeter/internal/store"
)

const (
	shopOrigin  = "http://shop.test"
	otherOrigin = "http://other.test"
	password    = "correct horse battery"
)

// world is a running server with two organizations, Acme and Globex.
type world struct {
	t        *testing.T
	srv      *httptest.Server
	store    *store.Store
	sessions *auth.Sessions
	hub      *calls.Hub
	rt       *Server
	acme     tenant
	globex   tenant
}

type tenant struct {
	org     store.Org
	site    store.Site
	tokens  map[string]string // email → session token
	agentID map[string]ids.AgentID
}

var (
	hashOnce sync.Once
	pwHash   string
)

// newWorld starts the world; each option may change the realtime server's
// options (a clock, a rate limit scale) before it is built.
func newWorld(t *testing.T, options ...func(*Options)) *world {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "greeter.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	hashOnce.Do(func() { pwHash, err = auth.HashPassword(password) })
	if err != nil {
		t.Fatal(err)
	}

	log := slog.New(slog.DiscardHandler)
	w := &world{t: t, store: st, sessions: auth.NewSessions(st, nil, false)}
	writer, err := records.Open(filepath.Join(t.TempDir(), "journal"), st, log)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	w.srv = httptest.NewServer(mux)
	w.hub = calls.NewHub(calls.Options{Logger: log, Records: writer,
		Directory: Directory{Store: st, Origin: w.srv.URL}})
	opts := Options{
		Hub: w.hub, Store: st, Sessions: w.sessions, Logger: log,
		PublicURL: w.srv.URL, Secret: []byte("0123456789abcdef0123456789abcdef"),
		Settings: func(store.Org, store.Site) (any, time.Duration) {
			return map[string]any{"triggerDelaySeconds": 0}, 0
		},
	}
	for _, o := range options {
		o(&opts)
	}
	rt := New(opts)
	w.rt = rt
	rt.Register(mux)
	t.Cleanup(func() {
		w.srv.Close()
		w.hub.Close()
		rt.Wait()
		writer.Close(context.Background())
		st.Close()
	})

	w.acme = w.tenant("Acme", "acme", shopOrigin, "ava", "ben")
	w.globex = w.tenant("Globex", "globex", otherOrigin, "gil")
	return w
}

// tenant creates an organization with an admin, agents with videos and a
// site that allows origin.
func (w *world) tenant(name, domain, origin string, agents ...string) tenant {
	w.t.Helper()
	ctx := context.Background()
	org, _, err := w.store.CreateOrg(ctx, store.NewOrg{Name: name,
		AdminEmail: "admin@" + domain + ".test", AdminFullName: "Admin", AdminPasswordHash: pwHash})
	if err != nil {
		w.t.Fatal(err)
	}
	site, err := w.store.CreateSite(ctx, store.NewSite{OrgID: org.ID, Name: name,
		AllowedOrigins: []string{origin}})
	if err != nil {
		w.t.Fatal(err)
	}
	tn := tenant{org: org, site: site, tokens: map[string]string{}, agentID: map[string]ids.AgentID{}}
	for _, a := range agents {
		email := a + "@" + domain + ".test"
		u, err := w.store.CreateUser(ctx, store.NewUser{OrgID: org.ID, Email: email,
			FullName: a, Role: store.RoleAgent, PasswordHash: pwHash})
		if err != nil {
			w.t.Fatal(err)
		}
		p, err := w.store.CreateAgentProfile(ctx, store.NewAgentProfile{OrgID: org.ID,
			UserID: u.ID, DisplayName: a, IntroVideo: a + "-intro.webm", LoopVideo: a + "-loop.webm"})
		if err != nil {
			w.t.Fatal(err)
		}
		tn.agentID[a] = p.ID
	}
	for _, name := range append(agents, "admin") {
		tn.tokens[name+"@"+domain+".test"] = w.session(name + "@" + domain + ".test")
	}
	return tn
}

// session opens a session for email directly in the store: a bcrypt
// check per sign-in would make every test slow under -race.
func (w *world) session(email string) string {
	w.t.Helper()
	ctx := context.Background()
	u, err := w.store.UserByEmail(ctx, email)
	if err != nil {
		w.t.Fatal(err)
	}
	token, hash := auth.NewToken()
	now := time.Now().UTC()
	err = w.store.CreateSession(ctx, store.Session{IDHash: hash, UserID: u.ID, CreatedAt: now,
		LastSeenAt: now, ExpiresAt: now.Add(auth.SessionLifetime)})
	if err != nil {
		w.t.Fatal(err)
	}
	return token
}

// client is a test WebSocket client that records every frame it receives.
type client struct {
	t      *testing.T
	name   string
	ws     *websocket.Conn
	mu     sync.Mutex
	cond   *sync.Cond
	frames []wsFrame
	used   []bool // frames already returned by waitFor
	closed bool
	code   websocket.StatusCode
	ack    int
}

type wsFrame struct {
	Event string          `json:"event"`
	Ack   int             `json:"ack"`
	Data  json.RawMessage `json:"data"`
}

func (w *world) dial(name, path, origin, token string) *client {
	w.t.Helper()
	return w.dialFrom("127.0.0.1", name, path, origin, token)
}

// dialFrom connects from the loopback source address ip (127.0.0.x), which
// is the client IP that the server's limits see.
func (w *world) dialFrom(ip, name, path, origin, token string) *client {
	w.t.Helper()
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	if token != "" {
		h.Set("Cookie", auth.CookieName+"="+token)
	}
	url := "ws" + strings.TrimPrefix(w.srv.URL, "http") + path
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h,
		HTTPClient: &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}})
	if err != nil {
		w.t.Fatalf("%s: dial %s: %v", name, path, err)
	}
	ws.SetReadLimit(4 << 20)
	c := &client{t: w.t, name: name, ws: ws}
	c.cond = sync.NewCond(&c.mu)
	go c.readLoop()
	w.t.Cleanup(func() { ws.CloseNow() })
	return c
}

func (w *world) visitor(name string, tn tenant) *client {
	return w.visitorFrom("127.0.0.1", name, tn)
}

func (w *world) visitorFrom(ip, name string, tn tenant) *client {
	return w.dialFrom(ip, name, "/ws/visitor?siteKey="+tn.site.SiteKey,
		tn.site.AllowedOrigins[0], "")
}

func (w *world) agent(name string, tn tenant) *client {
	c := w.dial(name, "/ws/agent", w.srv.URL, tn.tokens[name+"@"+domainOf(tn)+".test"])
	c.expect("agent:state")
	return c
}

func domainOf(tn tenant) string { return strings.ToLower(tn.org.Name) }

func (c *client) readLoop() {
	for {
		_, b, err := c.ws.Read(context.Background())
		c.mu.Lock()
		if err != nil {
			c.closed = true
			c.code = websocket.CloseStatus(err)
			c.cond.Broadcast()
			c.mu.Unlock()
			return
		}
		var f wsFrame
		if jerr := json.Unmarshal(b, &f); jerr != nil {
			c.t.Errorf("%s: server sent invalid JSON %q", c.name, b)
		}
		c.frames = append(c.frames, f)
		c.used = append(c.used, false)
		c.cond.Broadcast()
		c.mu.Unlock()
	}
}

// waitFor blocks until match finds a frame it has not returned before, in
// arrival order, or fails after 5 s.
func (c *client) waitFor(what string, match func(wsFrame) bool) wsFrame {
	c.t.Helper()
	deadline := time.AfterFunc(5*time.Second, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer deadline.Stop()
	start := time.Now()

	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		for i, f := range c.frames {
			if !c.used[i] && match(f) {
				c.used[i] = true
				return f
			}
		}
		if c.closed || time.Since(start) >= 5*time.Second {
			c.t.Fatalf("%s: no %s (closed=%v code=%d); frames %s", c.name, what, c.closed,
				c.code, c.events())
		}
		c.cond.Wait()
	}
}

func (c *client) events() string {
	var names []string
	for i, f := range c.frames {
		if !c.used[i] {
			names = append(names, f.Event)
		}
	}
	return "[" + strings.Join(names, " ") + "]"
}

// expect returns the data of the next unread frame of event.
func (c *client) expect(event string) map[string]any {
	c.t.Helper()
	f := c.waitFor(event, func(f wsFrame) bool { return f.Event == event })
	return decode(c.t, f.Data)
}

func decode(t *testing.T, b json.RawMessage) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// send writes a raw text frame.
func (c *client) sendRaw(s string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		c.t.Fatalf("%s: write: %v", c.name, err)
	}
}

// call sends event with data and an ack number and returns the ack's data.
func (c *client) call(event string, data any) map[string]any {
	c.t.Helper()
	c.ack++
	n := c.ack
	b, _ := json.Marshal(map[string]any{"event": event, "data": data, "ack": n})
	c.sendRaw(string(b))
	f := c.waitFor(fmt.Sprintf("ack %d", n), func(f wsFrame) bool {
		return f.Event == "ack" && f.Ack == n
	})
	return decode(c.t, f.Data)
}

// must sends event and fails unless the ack is ok.
func (c *client) must(event string, data any) map[string]any {
	c.t.Helper()
	d := c.call(event, data)
	if d["ok"] != true {
		c.t.Fatalf("%s: %s failed: %v", c.name, event, d)
	}
	return d
}

// fails sends event and checks the ack's error code.
func (c *client) fails(event string, data any, code string) {
	c.t.Helper()
	d := c.call(event, data)
	e, _ := d["error"].(map[string]any)
	if d["ok"] != false || e["code"] != code {
		c.t.Fatalf("%s: %s = %v, want %s", c.name, event, d, code)
	}
	if msg, _ := e["message"].(string); msg == "" {
		c.t.Fatalf("%s: %s error without a message", c.name, event)
	}
}

func (c *client) waitClosed() websocket.StatusCode {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	c.mu.Lock()
	defer c.mu.Unlock()
	for !c.closed {
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: still open", c.name)
		}
		c.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
		c.mu.Lock()
	}
	return c.code
}
