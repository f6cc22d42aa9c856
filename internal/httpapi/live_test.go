package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"greeter/internal/auth"
	"greeter/internal/calls"
	"greeter/internal/clock"
	"greeter/internal/ids"
	"greeter/internal/protocol"
	"greeter/internal/realtime"
	"greeter/internal/store"
)

// testPlatformKey stands in for INTERNAL_API_KEY (openssl rand -base64 32).
const testPlatformKey = "q3Vn0zJ7m1cH8sT2kX9pL4wR6yB5eD0fA1gU7iO3nE8="

// liveEnv is a test server with a real store, a real calls.Hub fed by fake
// connections, and an API clock the test controls.
type liveEnv struct {
	*testEnv
	api    *API
	hub    *calls.Hub
	now    *clock.Fake // the API's clock: rate limits and invite expiry
	dbPath string
}

type liveOptions struct {
	production  bool
	platformKey string
	scale       float64
}

var (
	sharedHashOnce sync.Once
	sharedHash     string
)

// cheapHashPassword is auth.HashPassword at bcrypt's minimum cost, with the
// same length rule: a cost-12 hash takes seconds under the race detector.
func cheapHashPassword(pw string) (string, error) {
	if n := utf8.RuneCountInString(pw); n < auth.MinPasswordLength || n > auth.MaxPasswordLength {
		return "", auth.ErrPasswordLength
	}
	sum := sha256.Sum256([]byte(pw))
	h, err := bcrypt.GenerateFromPassword(
		[]byte(base64.StdEncoding.EncodeToString(sum[:])), bcrypt.MinCost)
	return string(h), err
}

func newLiveEnv(t *testing.T, o liveOptions) *liveEnv {
	t.Helper()
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "greeter.db")

	st, err := store.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}

	sharedHashOnce.Do(func() { sharedHash, err = cheapHashPassword(testPassword) })
	if err != nil {
		t.Fatal(err)
	}
	base := &testEnv{t: t, store: st}
	base.a = base.newTenant("A", "a.test", sharedHash, []string{"https://shop.a.test"})
	base.b = base.newTenant("B", "b.test", sharedHash, []string{"https://b.test"})

	// The hub's clock never moves, so no ring or call times out mid-test.
	hub := calls.NewHub(calls.Options{
		Clock:     clock.NewFake(time.Now()),
		Records:   &storeSink{t: t, st: st},
		Directory: realtime.Directory{Store: st, Origin: "https://greeter.example.test"},
	})
	t.Cleanup(hub.Close)

	env := &liveEnv{testEnv: base, hub: hub, now: clock.NewFake(time.Now()), dbPath: dbPath}
	env.api = New(Deps{
		Store:          st,
		Sessions:       auth.NewSessions(st, time.Now, false),
		PublicURL:      "https://greeter.example.test",
		Hub:            hub,
		Production:     o.production,
		PlatformKey:    o.platformKey,
		RateLimitScale: o.scale,
		HashPassword:   cheapHashPassword,
	})
	env.api.now = env.now.Now

	mux := http.NewServeMux()
	env.api.Register(mux)
	env.srv = httptest.NewServer(mux)
	t.Cleanup(env.srv.Close)
	return env
}

// storeSink writes call-log snapshots straight to the store, so that a test
// reads the row as soon as the loop has processed the change.
type storeSink struct {
	t  *testing.T
	st *store.Store
}

func (s *storeSink) SavePageview(calls.Pageview) {}

func (s *storeSink) SavePresenceIntent(calls.PresenceIntent) {}

func (s *storeSink) Save(r calls.CallRecord) {
	err := s.st.SaveCallLog(context.Background(), store.CallLog{
		ID: r.ID, OrgID: r.OrgID, RequestID: r.RequestID, SiteID: r.SiteID, PoolID: r.PoolID,
		AgentID: r.AgentID, VisitorID: r.VisitorID, Status: r.Status, EndReason: r.EndReason,
		EndedBy: r.EndedBy, PageURL: r.PageURL, RingStartedAt: r.RingStartedAt,
		AnsweredAt: r.AnsweredAt, AnswerSeconds: r.AnswerSeconds, StartedAt: r.StartedAt,
		EndedAt: r.EndedAt, DurationSeconds: r.DurationSeconds, CreatedAt: r.CreatedAt,
	})
	if err != nil {
		s.t.Errorf("unable to save call log %s: %v", r.ID, err)
	}
}

// fakePeer is a connection as the hub sees it; it keeps every frame.
type fakePeer struct {
	mu     sync.Mutex
	frames []peerFrame
	closed int
}

type peerFrame struct {
	Event string         `json:"event"`
	Data  map[string]any `json:"data"`
}

func (p *fakePeer) Send(b []byte) {
	var f peerFrame
	if err := json.Unmarshal(b, &f); err != nil {
		panic(err)
	}
	p.mu.Lock()
	p.frames = append(p.frames, f)
	p.mu.Unlock()
}

func (p *fakePeer) Reply(_ int, b []byte) { p.Send(b) }

func (p *fakePeer) Close(code int, _ string) {
	p.mu.Lock()
	p.closed = code
	p.mu.Unlock()
}

// events returns the data of every frame of event, in order.
func (p *fakePeer) events(event string) []map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []map[string]any
	for _, f := range p.frames {
		if f.Event == event {
			out = append(out, f.Data)
		}
	}
	return out
}

func (p *fakePeer) closeCode() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// live is one agent's live situation, set up through the hub.
type live struct {
	org       ids.OrgID
	agent     *fakePeer
	visitor   *fakePeer
	callLogID ids.CallLogID
}

func (e *liveEnv) submit(org ids.OrgID, cmd calls.Command) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.hub.Submit(ctx, org, cmd); err != nil {
		e.t.Fatal(err)
	}
	if err := e.hub.Flush(ctx, org); err != nil {
		e.t.Fatal(err)
	}
}

// connectAgent connects the agent of tn's profile p and makes it live.
func (e *liveEnv) connectAgent(tn tenant, p store.AgentProfile) *live {
	e.t.Helper()
	l := &live{org: tn.org.ID, agent: &fakePeer{}}
	e.submit(l.org, calls.AgentConnect{Peer: l.agent, Agent: calls.AgentInfo{
		ID: p.ID, UserID: p.UserID, MaxViewers: 25, VideosReady: true, Active: true,
		Card: protocol.AgentCard{ID: p.ID, DisplayName: p.DisplayName},
	}})
	e.submit(l.org, calls.AgentBack{Peer: l.agent, Ack: 1})
	return l
}

// ringAgent connects the agent and has a visitor request a call, which
// rings it.
func (e *liveEnv) ringAgent(tn tenant, p store.AgentProfile) *live {
	e.t.Helper()
	l := e.connectAgent(tn, p)
	l.visitor = &fakePeer{}
	e.submit(l.org, calls.VisitorJoin{Peer: l.visitor, Ack: 1, Visitor: "v-test",
		Site: tn.site.ID, PageURL: tn.site.AllowedOrigins[0] + "/", ConnectedAt: time.Now()})
	e.submit(l.org, calls.CallRequest{Peer: l.visitor, Ack: 2})
	if len(l.agent.events(protocol.EventCallIncoming)) != 1 {
		e.t.Fatalf("the agent was not rung")
	}
	return l
}

// callAgent puts the agent in an active call with a visitor.
func (e *liveEnv) callAgent(tn tenant, p store.AgentProfile) *live {
	e.t.Helper()
	l := e.ringAgent(tn, p)
	ring := l.agent.events(protocol.EventCallIncoming)[0]
	requestID, _ := ring["requestId"].(string)
	e.submit(l.org, calls.CallAccept{Peer: l.agent, Ack: 2, RequestID: ids.RequestID(requestID)})

	started := l.agent.events(protocol.EventCallStarted)
	if len(started) != 1 {
		e.t.Fatalf("the call did not start")
	}
	id, _ := started[0]["callLogId"].(string)
	l.callLogID = ids.CallLogID(id)
	return l
}

// leave disconnects the agent and visitor of l, leaving the loop clean.
func (e *liveEnv) leave(l *live) {
	e.t.Helper()
	if started := l.agent.events(protocol.EventCallStarted); len(started) > 0 {
		// A connection lost mid-call would leave the call waiting for its
		// party to come back (SPEC §9): end it first. A call already ended
		// is answered CALL_NOT_FOUND, which changes nothing.
		id, _ := started[len(started)-1]["callId"].(string)
		e.submit(l.org, calls.CallEnd{Peer: l.agent, Ack: 99, CallID: ids.CallID(id)})
	}
	if l.visitor != nil {
		e.submit(l.org, calls.VisitorLeave{Peer: l.visitor})
	}
	e.submit(l.org, calls.AgentLeave{Peer: l.agent})
}

// status returns the agent's live status ("offline" when not connected).
func (e *liveEnv) status(org ids.OrgID, agent ids.AgentID) string {
	e.t.Helper()
	m, err := e.hub.AgentStatuses(context.Background(), org)
	if err != nil {
		e.t.Fatal(err)
	}
	if s, ok := m[agent]; ok {
		return s
	}
	return calls.StatusOffline
}

// assertCallEnded checks that l's call ended as SPEC §8.5 says for a removal
// or an API end, with endedBy on the row.
func (e *liveEnv) assertCallEnded(l *live, endedBy string) {
	e.t.Helper()
	v := l.visitor.events(protocol.EventCallEnded)
	a := l.agent.events(protocol.EventCallEnded)
	if len(v) != 1 || v[0]["reason"] != "agent_ended" ||
		v[0]["message"] != "Agent has ended the call" {
		e.t.Errorf("visitor call:ended = %v", v)
	}
	if len(a) != 1 || a[0]["reason"] != "agent_removed" ||
		a[0]["message"] != "Call ended due to agent removal" {
		e.t.Errorf("agent call:ended = %v", a)
	}

	row, err := e.store.CallLog(context.Background(), l.org, l.callLogID)
	if err != nil {
		e.t.Fatal(err)
	}
	if row.Status != store.CallCompleted || row.EndReason != "agent_removed" ||
		row.EndedBy != endedBy || row.EndedAt == nil || row.DurationSeconds == nil {
		e.t.Errorf("row = status %s, reason %s, ended by %s, ended at %v, duration %v",
			row.Status, row.EndReason, row.EndedBy, row.EndedAt, row.DurationSeconds)
	}
}

// assertCallActive checks that l's call goes on untouched.
func (e *liveEnv) assertCallActive(l *live, agent ids.AgentID) {
	e.t.Helper()
	if n := len(l.visitor.events(protocol.EventCallEnded)) +
		len(l.agent.events(protocol.EventCallEnded)); n != 0 {
		e.t.Errorf("%d call:ended frames were sent", n)
	}
	if s := e.status(l.org, agent); s != calls.StatusInCall {
		e.t.Errorf("agent status = %s, want in_call", s)
	}
	row, err := e.store.CallLog(context.Background(), l.org, l.callLogID)
	if err != nil || row.Status != store.CallAccepted {
		e.t.Errorf("row = %s, %v; want accepted", row.Status, err)
	}
}

// rawRequest sends a request with headers set exactly as given (names keep
// their letter case) and returns the answer.
func (e *liveEnv) rawRequest(method, path, body string, header map[string]string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, err := http.NewRequest(method, e.srv.URL+path, rd)
	e.must(err)
	for k, v := range header {
		r.Header[k] = []string{v} // not canonicalized on purpose
	}

	resp, err := e.srv.Client().Do(r)
	e.must(err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	e.must(err)

	out := response{status: resp.StatusCode, header: resp.Header, body: raw, resp: resp}
	_ = json.Unmarshal(raw, &out.json)
	return out
}

// orgKey stores a new API key for tn and returns the full key.
func (e *liveEnv) orgKey(tn tenant) (string, store.APIKey) {
	e.t.Helper()
	full, keyID, hash := auth.NewAPIKey()
	k, err := e.store.CreateAPIKey(context.Background(), store.NewAPIKey{
		OrgID: tn.org.ID, Name: "test", KeyID: keyID, SecretHash: hash,
		CreatedBy: tn.admin.ID, CreatedAt: time.Now(),
	})
	e.must(err)
	return full, k
}
