package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"greeter/internal/demo"
	"greeter/internal/ids"
	"greeter/internal/store"
)

// A burst of calls in every state, then SIGKILL and a restart: every call
// log ends final and counted once, and what the people on the calls saw
// happen is what the log says (SPEC §10.4). The second run holds the
// database's write lock from another connection for 30 s in the middle of
// the burst and kills the server while it is still held, so everything of
// those 30 s is only in the journal when the server dies.
func TestCrashDuringACallBurstLosesNothing(t *testing.T) {
	for _, locked := range []bool{false, true} {
		name := "killed"
		if locked {
			name = "killed while the database refuses writes"
		}
		t.Run(name, func(t *testing.T) { runCrashBurst(t, locked) })
	}
}

const (
	burstAgents   = 20
	burstVisitors = 200
)

// burst is what the clients saw of the calls before the crash.
type burst struct {
	mu      sync.Mutex
	started map[string]bool   // call-log ids of call:started
	ended   map[string]string // call-log id → call:ended reason, as the agent saw it
	rng     *rand.Rand
}

func (b *burst) intn(n int) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rng.IntN(n)
}

func runCrashBurst(t *testing.T, locked bool) {
	p := newProcess(t)
	p.start()
	agents := addBurstAgents(t, p, burstAgents-2)

	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	b := &burst{started: map[string]bool{}, ended: map[string]string{},
		rng: rand.New(rand.NewPCG(seed, seed))}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, cookie := range agents {
		go b.runAgent(ctx, t, p, cookie)
	}

	spread := 6 * time.Second
	if locked {
		spread = 40 * time.Second
	}
	go b.runVisitors(ctx, p, spread)

	if locked {
		time.Sleep(3 * time.Second)
		release := lockDatabase(t, filepath.Join(p.dir, "greeter.db"))
		time.Sleep(30 * time.Second)
		p.kill()
		release()
	} else {
		time.Sleep(8 * time.Second)
		p.kill()
	}
	cancel()

	b.mu.Lock()
	started, ended := len(b.started), len(b.ended)
	b.mu.Unlock()
	t.Logf("before the crash: %d calls started, %d ended", started, ended)
	if started < 10 || ended < 5 {
		t.Fatalf("the burst made too few calls to mean anything: %d started, %d ended",
			started, ended)
	}

	p.start()
	rows := finalRows(t, p)
	b.check(t, rows)
}

// addBurstAgents invites n more agents through the API, gives each the demo
// greeting through the upload API, and returns every agent's session.
func addBurstAgents(t *testing.T, p *process, n int) []*http.Cookie {
	t.Helper()
	admin := p.signInCookie(demo.AdminEmail)
	intro := fetchDemoVideo(t, p, "intro")
	loop := fetchDemoVideo(t, p, "loop")

	cookies := []*http.Cookie{p.signInCookie(avaEmail), p.signInCookie("ben@demo.greeter.test")}
	for i := range n {
		email := fmt.Sprintf("agent%d@demo.greeter.test", i)
		var inv struct {
			InviteURL string `json:"inviteUrl"`
		}
		p.api(admin, "POST", "/api/invites", "application/json",
			fmt.Sprintf(`{"email":%q,"fullName":"Agent %d","role":"agent"}`, email, i), &inv)
		token := inv.InviteURL[strings.LastIndex(inv.InviteURL, "/")+1:]

		var me struct {
			Agent struct {
				ID string `json:"id"`
			} `json:"agent"`
		}
		cookie := p.api(nil, "POST", "/api/invites/"+token+"/accept", "application/json",
			fmt.Sprintf(`{"fullName":"Agent %d","password":%q}`, i, demo.Password), &me)
		p.api(cookie, "PUT", "/api/agents/"+me.Agent.ID+"/videos/intro", "video/webm",
			string(intro), nil)
		p.api(cookie, "PUT", "/api/agents/"+me.Agent.ID+"/videos/loop", "video/webm",
			string(loop), nil)
		cookies = append(cookies, cookie)
	}
	return cookies
}

// api makes one dashboard call, fails the test unless it succeeds, decodes
// the answer into out and returns the session cookie it set, if any.
func (p *process) api(cookie *http.Cookie, method, path, contentType, body string,
	out any) *http.Cookie {

	p.t.Helper()
	req, err := http.NewRequest(method, p.dash+path, strings.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		p.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			p.t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	for _, c := range resp.Cookies() {
		if c.Name == "greeter_session" {
			return c
		}
	}
	return nil
}

// fetchDemoVideo downloads Ava's greeting video of one kind.
func fetchDemoVideo(t *testing.T, p *process, kind string) []byte {
	t.Helper()
	admin := p.signInCookie(avaEmail)
	var v struct {
		Profile map[string]*string `json:"profile"`
	}
	var me struct {
		Agent struct {
			ID string `json:"id"`
		} `json:"agent"`
	}
	p.api(admin, "GET", "/api/me", "application/json", "", &me)
	p.api(admin, "GET", "/api/agents/"+me.Agent.ID+"/videos", "application/json", "", &v)
	url := v.Profile[kind]
	if url == nil {
		t.Fatalf("Ava has no %s video", kind)
	}
	resp, err := http.Get(*url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || len(b) == 0 {
		t.Fatalf("downloading %s: %d, %v", *url, resp.StatusCode, err)
	}
	return b
}

// runAgent goes live and answers rings at random: mostly accepts (and then
// sometimes ends the call), sometimes declines, sometimes lets it ring out.
func (b *burst) runAgent(ctx context.Context, t *testing.T, p *process, cookie *http.Cookie) {
	a, err := dialPeer(ctx, p.dash+"/ws/agent", p.dash, cookie)
	if err != nil {
		t.Errorf("agent socket: %v", err)
		return
	}
	defer a.close()
	a.send("agent:back", map[string]any{})
	for f := range a.frames {
		switch f.Event {
		case "call:incoming":
			switch r := b.intn(100); {
			case r < 85:
				a.send("call:accept", map[string]any{"requestId": f.field("requestId")})
			case r < 95:
				a.send("call:reject", map[string]any{"requestId": f.field("requestId")})
			}
		case "call:started":
			id := f.field("callLogId")
			b.mu.Lock()
			b.started[id] = true
			b.mu.Unlock()
			if b.intn(10) < 7 {
				go func(callID string) {
					time.Sleep(time.Duration(b.intn(800)) * time.Millisecond)
					a.send("call:end", map[string]any{"callId": callID})
				}(f.field("callId"))
			}
		case "call:ended":
			b.mu.Lock()
			b.ended[f.field("callLogId")] = f.field("reason")
			b.mu.Unlock()
		case "agent:marked_away":
			a.send("agent:back", map[string]any{})
		}
	}
}

// runVisitors starts the burst's visitors spread over a duration; each asks
// for a call, and some cancel, end their call or leave.
func (b *burst) runVisitors(ctx context.Context, p *process, spread time.Duration) {
	every := spread / burstVisitors
	for range burstVisitors {
		if ctx.Err() != nil {
			return
		}
		go b.runVisitor(ctx, p)
		time.Sleep(every)
	}
}

func (b *burst) runVisitor(ctx context.Context, p *process) {
	v, err := dialPeer(ctx, p.dash+"/ws/visitor?siteKey="+demo.SiteKey, p.demo, nil)
	if err != nil {
		return // a visitor refused during the crash is fine
	}
	defer v.close()
	v.send("visitor:join", map[string]any{"pageUrl": p.demo + "/"})
	v.send("call:request", map[string]any{})
	giveUp := time.After(time.Duration(1000+b.intn(8000)) * time.Millisecond)
	for {
		select {
		case f, ok := <-v.frames:
			if !ok {
				return
			}
			switch f.Event {
			case "call:accepted":
				if b.intn(10) < 7 {
					time.Sleep(time.Duration(b.intn(800)) * time.Millisecond)
					v.send("call:end", map[string]any{"callId": f.field("callId")})
				}
			case "call:ended":
				return
			}
		case <-giveUp:
			if b.intn(3) == 0 {
				v.send("call:cancel", map[string]any{"reason": "visitor"})
			}
		case <-ctx.Done():
			return
		}
	}
}

// lockDatabase takes SQLite's write lock from a connection of its own and
// returns the function that lets it go.
func lockDatabase(t *testing.T, path string) func() {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("taking the write lock: %v", err)
	}
	return func() {
		_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		conn.Close()
		db.Close()
	}
}

// finalRows waits until no call log of the demo organization is pending or
// accepted any more, and returns them all.
func finalRows(t *testing.T, p *process) []store.CallLog {
	t.Helper()
	st, org := p.demoStore(t)
	var rows []store.CallLog
	var err error
	var open []string
	final := poll(120*time.Second, func() bool {
		rows, err = allCallLogs(st, org)
		if err != nil {
			return false
		}
		open = open[:0]
		for _, r := range rows {
			if r.Status == store.CallPending || r.Status == store.CallAccepted {
				open = append(open, string(r.ID)+" "+r.Status)
			}
		}
		return len(open) == 0
	})
	if !final {
		t.Fatalf("after the restart %d call logs stayed open: %v\nlog:\n%s",
			len(open), open, p.logTail())
	}
	return rows
}

// check compares the log with what the clients saw.
func (b *burst) check(t *testing.T, rows []store.CallLog) {
	t.Helper()
	byID := map[string]store.CallLog{}
	answered := map[ids.RequestID]int{}
	statuses := map[string]int{}
	for _, r := range rows {
		byID[string(r.ID)] = r
		statuses[r.Status]++
		if r.AnsweredAt != nil {
			answered[r.RequestID]++
		}
		if r.Status == store.CallCompleted &&
			(r.StartedAt == nil || r.EndedAt == nil || r.DurationSeconds == nil) {
			t.Errorf("completed row %s lacks its times: %+v", r.ID, r)
		}
	}
	t.Logf("%d call logs after the restart: %v", len(rows), statuses)

	for req, n := range answered {
		if n > 1 {
			t.Errorf("request %s was answered %d times", req, n)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for id := range b.started {
		if r, ok := byID[id]; !ok || r.Status != store.CallCompleted {
			t.Errorf("call %s started before the crash; its row is %+v (found %v)", id, r, ok)
		}
	}
	for id, reason := range b.ended {
		if r := byID[id]; r.EndReason != reason {
			t.Errorf("call %s ended with %s before the crash; its row says %q",
				id, reason, r.EndReason)
		}
	}
}

// allCallLogs reads every call log of the organization, page by page.
func allCallLogs(st *store.Store, org ids.OrgID) ([]store.CallLog, error) {
	var all []store.CallLog
	for {
		page, err := st.ListCallLogs(context.Background(), org, store.CallLogFilter{
			Limit: store.MaxCallLogLimit, Offset: len(all)})
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < store.MaxCallLogLimit {
			return all, nil
		}
	}
}
