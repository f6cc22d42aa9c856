package calls

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"greeter/internal/clock"
	"greeter/internal/ids"
	"greeter/internal/protocol"
)

// fakePeer records what the loop sends to one connection.
type fakePeer struct {
	name   string
	mu     sync.Mutex
	frames []frame
	read   int
	closed int
}

type frame struct {
	Event string          `json:"event"`
	Ack   int             `json:"ack"`
	Data  json.RawMessage `json:"data"`
}

func (p *fakePeer) Send(b []byte) {
	var f frame
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

// records collects call-log snapshots by row id.
type recordSink struct {
	mu        sync.Mutex
	rows      map[ids.CallLogID]CallRecord
	all       []CallRecord
	pageviews []Pageview
	intents   []PresenceIntent
	changes   []StatusChange
}

func (s *recordSink) Save(r CallRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows[r.ID] = r
	s.all = append(s.all, r)
}

func (s *recordSink) SavePageview(p Pageview) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageviews = append(s.pageviews, p)
}

func (s *recordSink) SavePresenceIntent(i PresenceIntent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.intents = append(s.intents, i)
}

func (s *recordSink) SaveStatusChange(c StatusChange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changes = append(s.changes, c)
}

func (s *recordSink) byStatus(status string) []CallRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []CallRecord
	for _, r := range s.rows {
		if r.Status == status {
			out = append(out, r)
		}
	}
	return out
}

// testDirectory is an organization's configuration that a test edits, as an
// admin edits the database; Reconfigure then hands the loop a deep copy.
type testDirectory struct {
	mu  sync.Mutex
	cfg OrgConfig
}

func (d *testDirectory) OrgConfig(context.Context, ids.OrgID) (OrgConfig, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.cfg
	c.Rules = slices.Clone(d.cfg.Rules)
	c.Agents = maps.Clone(d.cfg.Agents)
	c.Pools = make(map[ids.PoolID]*PoolConfig, len(d.cfg.Pools))
	for id, p := range d.cfg.Pools {
		cp := *p
		cp.Members = maps.Clone(p.Members)
		c.Pools[id] = &cp
	}
	return c, nil
}

// edit changes the configuration under the lock.
func (d *testDirectory) edit(fn func(c *OrgConfig)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fn(&d.cfg)
}

func newTestDirectory() *testDirectory {
	return &testDirectory{cfg: OrgConfig{
		Name: "Acme", RNASeconds: 15, MaxCallMinutes: 120,
		CatchAll: "pool-all",
		Pools: map[ids.PoolID]*PoolConfig{
			"pool-all": {ID: "pool-all", Name: "All", Members: map[ids.AgentID]Member{}},
		},
		Agents: map[ids.AgentID]AgentInfo{},
	}}
}

type env struct {
	t     *testing.T
	hub   *Hub
	clock *clock.Fake
	recs  *recordSink
	dir   *testDirectory
	org   ids.OrgID
	ack   int
	peers map[string]*fakePeer // live agents by name
}

// peerOf returns the connection of a live agent by name.
func (e *env) peerOf(name string) *fakePeer {
	e.t.Helper()
	p := e.peers[name]
	if p == nil {
		e.t.Fatalf("no live agent %s", name)
	}
	return p
}

func newEnv(t *testing.T) *env {
	t.Helper()
	fc := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	recs := &recordSink{rows: map[ids.CallLogID]CallRecord{}}
	dir := newTestDirectory()
	hub := NewHub(Options{Clock: fc, Records: recs, Directory: dir})
	t.Cleanup(hub.Close)
	return &env{t: t, hub: hub, clock: fc, recs: recs, dir: dir, org: "org-1",
		peers: map[string]*fakePeer{}}
}

// reconfigure applies what the test changed in the directory, as an admin
// handler does after its change commits.
func (e *env) reconfigure(fn func(c *OrgConfig)) {
	e.t.Helper()
	e.dir.edit(fn)
	if err := e.hub.Reconfigure(context.Background(), e.org); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) submit(cmd Command) {
	e.t.Helper()
	if err := e.hub.Submit(context.Background(), e.org, cmd); err != nil {
		e.t.Fatal(err)
	}
}

// sync waits until the loop has processed everything submitted so far.
func (e *env) sync() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.hub.Flush(ctx, e.org); err != nil {
		e.t.Fatalf("loop did not drain: %v", err)
	}
}

// advance moves the fake clock and lets the loop process the timers.
func (e *env) advance(d time.Duration) {
	e.t.Helper()
	e.sync() // timers start from what was submitted before
	e.clock.Advance(d)
	e.sync()
}

func (e *env) nextAck() int {
	e.ack++
	return e.ack
}

// profile adds an agent to the directory, in the catch-all pool at tier 1
// unless it is already somewhere, and returns its profile.
func (e *env) profile(name string, videos bool) AgentInfo {
	info := AgentInfo{
		ID: ids.AgentID("agent-" + name), UserID: ids.UserID("user-" + name),
		Card:       protocol.AgentCard{ID: ids.AgentID("agent-" + name), DisplayName: name},
		MaxViewers: 25, VideosReady: videos, Active: true,
	}
	e.dir.edit(func(c *OrgConfig) {
		if _, known := c.Agents[info.ID]; known {
			info = c.Agents[info.ID]
			info.VideosReady = videos
		} else {
			c.Pools[c.CatchAll].Members[info.ID] = Member{Tier: 1}
		}
		c.Agents[info.ID] = info
	})
	return info
}

// agent connects an agent as its workbench does: the connection reloads the
// organization's configuration first.
func (e *env) agent(name string, videos bool) *fakePeer {
	info := e.profile(name, videos)
	if err := e.hub.Reconfigure(context.Background(), e.org); err != nil {
		e.t.Fatal(err)
	}
	p := &fakePeer{name: name}
	e.submit(AgentConnect{Peer: p, Agent: info})
	return p
}

func (e *env) live(name string) *fakePeer {
	p := e.agent(name, true)
	e.peers[name] = p
	e.submit(AgentBack{Peer: p, Ack: e.nextAck()})
	e.sync()
	return p
}

func (e *env) visitor(name string) *fakePeer {
	p := &fakePeer{name: name}
	e.submit(VisitorJoin{Peer: p, Ack: e.nextAck(), Visitor: ids.VisitorID("v-" + name),
		Site: "site-1", PageURL: "https://shop.example/" + name, ConnectedAt: e.clock.Now()})
	e.sync()
	return p
}

// next returns the next unread frame of event on p, failing when none came.
func (e *env) next(p *fakePeer, event string) map[string]any {
	e.t.Helper()
	m := e.tryNext(p, event)
	if m == nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		e.t.Fatalf("%s: no %s frame; got %s", p.name, event, eventsOf(p.frames[p.read:]))
	}
	return m
}

// last returns the last unread frame of event on p, failing when none came.
func (e *env) last(p *fakePeer, event string) map[string]any {
	e.t.Helper()
	m := e.next(p, event)
	for more := e.tryNext(p, event); more != nil; more = e.tryNext(p, event) {
		m = more
	}
	return m
}

// tryNext returns the next unread frame of event on p, or nil.
func (e *env) tryNext(p *fakePeer, event string) map[string]any {
	e.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := p.read; i < len(p.frames); i++ {
		if p.frames[i].Event == event {
			p.read = i + 1
			var m map[string]any
			if err := json.Unmarshal(p.frames[i].Data, &m); err != nil {
				e.t.Fatal(err)
			}
			return m
		}
	}
	return nil
}

// none fails when p has an unread frame of event.
func (e *env) none(p *fakePeer, event string) {
	e.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.frames[p.read:] {
		if f.Event == event {
			e.t.Fatalf("%s: unexpected %s: %s", p.name, event, f.Data)
		}
	}
}

// ack returns the ack frame data for number n on p.
func (e *env) ackData(p *fakePeer, n int) map[string]any {
	e.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.frames {
		if f.Event == protocol.EventAck && f.Ack == n {
			var m map[string]any
			if err := json.Unmarshal(f.Data, &m); err != nil {
				e.t.Fatal(err)
			}
			return m
		}
	}
	e.t.Fatalf("%s: no ack %d; got %s", p.name, n, eventsOf(p.frames))
	return nil
}

func (e *env) ackOK(p *fakePeer, n int) map[string]any {
	e.t.Helper()
	d := e.ackData(p, n)
	if d["ok"] != true {
		e.t.Fatalf("%s: ack %d failed: %v", p.name, n, d)
	}
	return d
}

func (e *env) ackErr(p *fakePeer, n int, code string) {
	e.t.Helper()
	d := e.ackData(p, n)
	errObj, _ := d["error"].(map[string]any)
	if d["ok"] != false || errObj["code"] != code {
		e.t.Fatalf("%s: ack %d = %v, want error %s", p.name, n, d, code)
	}
}

func eventsOf(fs []frame) string {
	s := "["
	for _, f := range fs {
		s += fmt.Sprintf(" %s", f.Event)
	}
	return s + " ]"
}

func reqID_(s string) ids.RequestID { return ids.RequestID(s) }
func callID_(s string) ids.CallID   { return ids.CallID(s) }
