package calls

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"greeter/internal/clock"
	"greeter/internal/ids"
	"greeter/internal/protocol"
	"greeter/internal/routing"
)

var (
	stressSeed   = flag.Uint64("stress.seed", 0, "replay the stress test with this seed")
	stressEvents = flag.Int("stress.events", 100_000, "events in the stress test")
)

// orgsDirectory holds one test configuration per organization.
type orgsDirectory map[ids.OrgID]*testDirectory

func (d orgsDirectory) OrgConfig(ctx context.Context, org ids.OrgID) (OrgConfig, error) {
	return d[org].OrgConfig(ctx, org)
}

// stress drives three organizations with random events and checks the
// invariants of SPEC §6-§8 after every one.
type stress struct {
	t      *testing.T
	rng    *rand.Rand
	clock  *clock.Fake
	hub    *Hub
	recs   *recordSink
	dir    orgsDirectory
	orgs   []ids.OrgID
	agents map[ids.OrgID][]ids.AgentID
	peers  map[ids.AgentID]*fakePeer // current connection of each agent, nil when none
	orgOf  map[ids.AgentID]ids.OrgID

	visitors  map[ids.OrgID][]*fakePeer // connected visitors
	requested map[Peer]bool             // visitors that ever asked for a call
	ack       int
	event     string // the last event, for failure messages
}

const (
	stressVisitors = 1000
	stressAgents   = 20
)

func TestStressRandomEventsKeepTheInvariants(t *testing.T) {
	seed := *stressSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	events := *stressEvents
	if testing.Short() {
		events = 10_000
	}
	t.Logf("seed %d (replay with -stress.seed=%d)", seed, seed)
	s := newStress(t, seed)
	defer func() {
		if t.Failed() {
			t.Logf("failed with seed %d after event %q; replay with go test -run %s ./internal/calls -stress.seed=%d",
				seed, s.event, t.Name(), seed)
		}
	}()
	for i := range events {
		s.step()
		s.check()
		if t.Failed() {
			t.Fatalf("invariant broken at event %d (%s)", i, s.event)
		}
	}
	s.hub.Close()
	s.restartNobodyReturns()
	s.checkRecords()
	s.checkSessions()
}

// restartNobodyReturns starts a new hub on the same records, as the next run
// of the server would, reloads the calls the stopped hub left active, and
// lets their rejoin windows pass with nobody coming back: each ends, so no
// row is left open (SPEC §9, §10.1).
func (s *stress) restartNobodyReturns() {
	s.recs.mu.Lock()
	var active []CallRecord
	for _, r := range s.recs.rows {
		if r.Status == RecordAccepted {
			active = append(active, r)
		}
	}
	s.recs.mu.Unlock()

	h := NewHub(Options{Clock: s.clock, Records: s.recs, Directory: s.dir})
	defer h.Close()
	ctx := context.Background()
	if err := h.Restore(ctx, active, s.clock.Now()); err != nil {
		s.t.Fatal(err)
	}
	s.clock.Advance(visitorRejoinWindow)
	for _, org := range s.orgs {
		if err := h.Flush(ctx, org); err != nil {
			s.t.Fatal(err)
		}
	}
	s.t.Logf("%d calls active at the stop were reloaded and ended", len(active))
}

func newStress(t *testing.T, seed uint64) *stress {
	fc := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	s := &stress{
		t: t, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), clock: fc,
		recs:   &recordSink{rows: map[ids.CallLogID]CallRecord{}},
		dir:    orgsDirectory{},
		orgs:   []ids.OrgID{"org-a", "org-b", "org-c"},
		agents: map[ids.OrgID][]ids.AgentID{}, peers: map[ids.AgentID]*fakePeer{},
		orgOf: map[ids.AgentID]ids.OrgID{}, visitors: map[ids.OrgID][]*fakePeer{},
		requested: map[Peer]bool{},
	}
	for i := range stressAgents {
		org := s.orgs[i%len(s.orgs)]
		id := ids.AgentID(fmt.Sprintf("agent-%s-%d", org, i))
		s.agents[org] = append(s.agents[org], id)
		s.orgOf[id] = org
	}
	for _, org := range s.orgs {
		d := newTestDirectory()
		d.edit(func(c *OrgConfig) {
			c.Pools["pool-sales"] = &PoolConfig{ID: "pool-sales", Name: "Sales",
				Overflow: s.rng.IntN(2) == 0, Members: map[ids.AgentID]Member{}}
			c.Rules = []routing.Rule{{ID: "rule-pricing", PoolID: "pool-sales", Active: true,
				Conditions: []routing.Condition{{Type: routing.TypePath,
					Match: routing.MatchStartsWith, Value: "/pricing"}}}}
			for _, id := range s.agents[org] {
				c.Agents[id] = AgentInfo{ID: id, UserID: ids.UserID("u-" + id),
					Card:       protocol.AgentCard{ID: id, DisplayName: string(id)},
					MaxViewers: 1 + s.rng.IntN(60), VideosReady: true, Active: true}
				c.Pools[c.CatchAll].Members[id] = Member{Tier: 1 + s.rng.IntN(3)}
				if s.rng.IntN(2) == 0 {
					c.Pools["pool-sales"].Members[id] = Member{Tier: 1 + s.rng.IntN(3)}
				}
			}
		})
		s.dir[org] = d
	}
	s.hub = NewHub(Options{Clock: fc, Records: s.recs, Directory: s.dir})
	t.Cleanup(s.hub.Close)
	return s
}

func (s *stress) submit(org ids.OrgID, cmd Command) {
	if err := s.hub.Submit(context.Background(), org, cmd); err != nil {
		s.t.Fatal(err)
	}
	if err := s.hub.Flush(context.Background(), org); err != nil {
		s.t.Fatal(err)
	}
}

func (s *stress) nextAck() int { s.ack++; return s.ack }

func (s *stress) loop(org ids.OrgID) *orgLoop { return s.hub.running(org) }

var stressPages = []string{"/", "/pricing", "/pricing/team", "/about", "/blog/post"}

// step applies one random event.
func (s *stress) step() {
	org := s.orgs[s.rng.IntN(len(s.orgs))]
	vs := s.visitors[org]
	pickVisitor := func() *fakePeer { return vs[s.rng.IntN(len(vs))] }
	agents := s.agents[org]
	id := agents[s.rng.IntN(len(agents))]
	peer := s.peers[id]

	switch r := s.rng.IntN(100); {
	case r < 20 && s.total() < stressVisitors:
		p := &fakePeer{name: "visitor"}
		s.event = "join"
		s.submit(org, VisitorJoin{Peer: p, Ack: s.nextAck(),
			Visitor: ids.VisitorID(fmt.Sprintf("v-%d", s.ack)), Site: "site-1",
			PageURL:     "https://shop.example" + stressPages[s.rng.IntN(len(stressPages))],
			ConnectedAt: s.clock.Now(), TriggerDelay: 3 * time.Second})
		s.visitors[org] = append(vs, p)
	case r < 27 && len(vs) > 0:
		i := s.rng.IntN(len(vs))
		s.event = "visitor leave"
		s.submit(org, VisitorLeave{Peer: vs[i]})
		s.visitors[org] = slices.Delete(vs, i, i+1)
	case r < 32 && len(vs) > 0:
		s.event = "navigate"
		s.submit(org, VisitorJoin{Peer: pickVisitor(), Ack: s.nextAck(),
			PageURL: "https://shop.example" + stressPages[s.rng.IntN(len(stressPages))]})
	case r < 42 && len(vs) > 0:
		p := pickVisitor()
		s.requested[p] = true
		s.event = "call request"
		s.submit(org, CallRequest{Peer: p, Ack: s.nextAck()})
	case r < 46 && len(vs) > 0:
		s.event = "call cancel"
		s.submit(org, CallCancel{Peer: pickVisitor(), Ack: s.nextAck(), Timeout: s.rng.IntN(2) == 0})
	case r < 50:
		s.event = "call end"
		if c := s.anyCall(org); c != nil {
			p := c.visitor.peer
			if s.rng.IntN(2) == 0 && c.agent.peer != nil {
				p = c.agent.peer
			}
			if p != nil {
				s.submit(org, CallEnd{Peer: p, Ack: s.nextAck(), CallID: c.id})
			}
		}
	case r < 58 && peer != nil:
		a := s.loop(org).agents[id]
		s.event = "accept or reject"
		if a != nil && a.ring != nil {
			req := a.ring.req.id
			if s.rng.IntN(3) == 0 {
				s.submit(org, CallReject{Peer: peer, Ack: s.nextAck(), RequestID: req})
			} else {
				s.submit(org, CallAccept{Peer: peer, Ack: s.nextAck(), RequestID: req})
			}
		}
	case r < 63:
		s.event = "agent connect"
		p := &fakePeer{name: string(id)}
		info, _ := s.dir[org].OrgConfig(context.Background(), org)
		s.submit(org, AgentConnect{Peer: p, Agent: info.Agents[id]})
		s.peers[id] = p
	case r < 66 && peer != nil:
		s.event = "agent leave"
		s.submit(org, AgentLeave{Peer: peer})
		s.peers[id] = nil
	case r < 74 && peer != nil:
		s.event = "agent back"
		s.submit(org, AgentBack{Peer: peer, Ack: s.nextAck()})
	case r < 77 && peer != nil:
		s.event = "agent away"
		s.submit(org, AgentAway{Peer: peer, Ack: s.nextAck(), Idle: s.rng.IntN(2) == 0})
	case r < 85 && peer != nil:
		s.event = "heartbeat"
		s.submit(org, Heartbeat{Peer: peer})
	case r < 87:
		s.event = "reconfigure"
		s.reconfigure(org)
	default:
		d := time.Duration(s.rng.IntN(8000)) * time.Millisecond
		s.event = "advance " + d.String()
		s.clock.Advance(d)
		for _, o := range s.orgs {
			if s.loop(o) != nil {
				if err := s.hub.Flush(context.Background(), o); err != nil {
					s.t.Fatal(err)
				}
			}
		}
	}
}

func (s *stress) total() int {
	n := 0
	for _, vs := range s.visitors {
		n += len(vs)
	}
	return n
}

func (s *stress) anyCall(org ids.OrgID) *call {
	l := s.loop(org)
	if l == nil || len(l.calls) == 0 {
		return nil
	}
	keys := make([]ids.CallID, 0, len(l.calls))
	for k := range l.calls {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return l.calls[keys[s.rng.IntN(len(keys))]]
}

// reconfigure makes a random admin change that never lowers a capacity: a
// tier, a membership, the overflow switch, a higher capacity or the rule.
func (s *stress) reconfigure(org ids.OrgID) {
	agents := s.agents[org]
	id := agents[s.rng.IntN(len(agents))]
	s.dir[org].edit(func(c *OrgConfig) {
		sales := c.Pools["pool-sales"]
		switch s.rng.IntN(5) {
		case 0:
			if _, ok := sales.Members[id]; ok {
				delete(sales.Members, id)
			} else {
				sales.Members[id] = Member{Tier: 1 + s.rng.IntN(3)}
			}
		case 1:
			c.Pools[c.CatchAll].Members[id] = Member{Tier: 1 + s.rng.IntN(3)}
		case 2:
			sales.Overflow = !sales.Overflow
		case 3:
			info := c.Agents[id]
			info.MaxViewers += s.rng.IntN(5)
			c.Agents[id] = info
		case 4:
			c.Rules[0].Conditions[0].Value = []string{"/pricing", "/about", "/blog"}[s.rng.IntN(3)]
		}
	})
	if err := s.hub.Reconfigure(context.Background(), org); err != nil {
		s.t.Fatal(err)
	}
}

// check verifies the invariants in every organization. The loops are idle:
// every command was flushed and the fake clock fires nothing by itself.
func (s *stress) check() {
	for _, org := range s.orgs {
		if l := s.loop(org); l != nil {
			s.checkLoop(org, l)
		}
	}
}

func (s *stress) checkLoop(org ids.OrgID, l *orgLoop) {
	t := s.t
	t.Helper()
	for id, a := range l.agents {
		if s.orgOf[id] != org {
			t.Errorf("%s holds agent %s of %s", org, id, s.orgOf[id])
		}
		if a.call != nil && (l.calls[a.call.id] != a.call || a.call.agent != a || a.status != StatusInCall) {
			t.Errorf("agent %s: call %s is not its one active call (status %s)", id, a.call.id, a.status)
		}
		if a.status == StatusInCall && a.call == nil {
			t.Errorf("agent %s is in_call without a call", id)
		}
		if a.ring != nil && (a.call != nil || !a.routable() || a.ring.req.ring != a.ring ||
			l.requests[a.ring.req.id] != a.ring.req) {
			t.Errorf("agent %s: ring for %s is inconsistent", id, a.ring.req.id)
		}
		plain := 0
		for v := range a.viewers {
			if v.agent != a || v.peer == nil {
				t.Errorf("agent %s: viewer %s is not attached to it", id, v.id)
			}
			switch {
			case a.status == StatusInCall && v != a.call.visitor:
				t.Errorf("agent %s in a call still has viewer %s", id, v.id)
			case a.status != StatusInCall && !a.live():
				t.Errorf("agent %s is %s yet has viewer %s", id, a.status, v.id)
			}
			if v.req == nil && v.call == nil && !l.cfg.serves(v.pool, id) {
				t.Errorf("agent %s greets %s of a pool it does not serve (%s)", id, v.id, v.pool)
			}
			if !s.requested[v.peer] {
				plain++
			}
		}
		if plain > a.info.MaxViewers {
			t.Errorf("agent %s has %d viewers assigned as such, capacity %d", id, plain, a.info.MaxViewers)
		}
	}
	callOf := map[ids.AgentID]ids.CallID{}
	for cid, c := range l.calls {
		if prev, dup := callOf[c.agent.info.ID]; dup {
			t.Errorf("agent %s is in two calls: %s and %s", c.agent.info.ID, prev, cid)
		}
		callOf[c.agent.info.ID] = cid
		if c.visitor.call != c {
			t.Errorf("call %s: its visitor does not hold it", cid)
		}
	}
	roomIn := map[ids.PoolID]*agent{} // who could greet one more visitor of a pool
	for id := range l.cfg.Pools {
		roomIn[id] = l.pick(id, routing.Viewer, nil, "", nil)
	}
	for _, v := range l.visitors {
		if v.agent != nil && l.agents[v.agent.info.ID] != v.agent {
			t.Errorf("visitor %s is assigned to %s, who is not of this organization's live state",
				v.id, v.agent.info.ID)
		}
		if v.req != nil && (v.req.visitor != v || l.requests[v.req.id] != v.req) {
			t.Errorf("visitor %s: request %s is inconsistent", v.id, v.req.id)
		}
		if v.waits() {
			if a := roomIn[v.pool]; a != nil {
				t.Errorf("visitor %s waits although %s could greet it", v.id, a.info.ID)
			}
		}
	}
	for _, req := range l.requests {
		if req.ring != nil {
			continue
		}
		excluded := func(id ids.AgentID) bool { return req.exclude[id] }
		if a := l.pick(req.pool, routing.Ring, excluded, "", nil); a != nil {
			t.Errorf("request %s waits although %s could be rung", req.id, a.info.ID)
		}
	}
}

// checkRecords verifies, once the hub has stopped, that every call-log row
// went through one lifecycle and ended exactly once (SPEC §10.1).
func (s *stress) checkRecords() {
	s.recs.mu.Lock()
	defer s.recs.mu.Unlock()
	history := map[ids.CallLogID][]string{}
	for _, r := range s.recs.all {
		history[r.ID] = append(history[r.ID], r.Status)
	}
	final := map[string]bool{RecordCompleted: true, RecordRejected: true, RecordMissed: true,
		RecordCancelled: true, RecordAbandoned: true}
	counts := map[string]int{}
	for id, h := range history {
		ends := 0
		for _, st := range h {
			if final[st] {
				ends++
			}
		}
		last := h[len(h)-1]
		counts[last]++
		valid := ends == 1 && final[last] &&
			(slices.Equal(h, []string{RecordPending, last}) ||
				slices.Equal(h, []string{RecordPending, RecordAccepted, RecordCompleted}) ||
				(len(h) == 1 && (last == RecordCancelled || last == RecordAbandoned)))
		if !valid {
			s.t.Errorf("call log %s went through %v", id, h)
		}
	}
	s.t.Logf("%d call-log rows: %v", len(history), counts)
	if counts[RecordCompleted] == 0 || counts[RecordMissed] == 0 || counts[RecordRejected] == 0 {
		s.t.Errorf("the run did not exercise every outcome: %v", counts)
	}
}

// checkSessions verifies, once the hub has stopped, that every session
// started in away and ended exactly once, and that its status changes chain:
// each starts where the previous one ended, at no earlier time, with
// counters that never go down (SPEC §6.2, §10.2).
func (s *stress) checkSessions() {
	s.recs.mu.Lock()
	defer s.recs.mu.Unlock()
	bySession := map[string][]StatusChange{}
	for _, c := range s.recs.changes {
		bySession[c.Session.ID] = append(bySession[c.Session.ID], c)
	}
	ends := map[string]int{}
	for id, cs := range bySession {
		if first := cs[0]; first.From != StatusOffline || first.To != StatusAway {
			s.t.Errorf("session %s starts %s>%s", id, first.From, first.To)
		}
		for i := 1; i < len(cs); i++ {
			s.checkLink(id, cs[i-1], cs[i])
		}
		last := cs[len(cs)-1]
		if last.To != StatusOffline || last.Session.EndedAt == nil ||
			last.Session.EndedReason != last.Reason {
			s.t.Errorf("session %s was not ended: last change %+v", id, last)
		}
		ends[last.Session.EndedReason]++
	}
	s.t.Logf("%d agent sessions, %d status changes, ended: %v", len(bySession),
		len(s.recs.changes), ends)
	if ends[SessionDisconnect] == 0 || ends[SessionServerRestart] == 0 {
		s.t.Errorf("the run did not end sessions both ways: %v", ends)
	}
}

// checkLink verifies that change b follows change a within one session.
func (s *stress) checkLink(id string, a, b StatusChange) {
	if b.From != a.To {
		s.t.Errorf("session %s: %s>%s follows %s>%s", id, b.From, b.To, a.From, a.To)
	}
	if a.To == StatusOffline || a.Session.EndedAt != nil {
		s.t.Errorf("session %s changes again after it ended: %+v", id, b)
	}
	if b.At.Before(a.At) || b.Session.AgentID != a.Session.AgentID ||
		b.Session.OrgID != a.Session.OrgID || !b.Session.StartedAt.Equal(a.Session.StartedAt) {
		s.t.Errorf("session %s: %+v does not follow %+v", id, b, a)
	}
	x, y := a.Session, b.Session
	if y.AwaySeconds < x.AwaySeconds || y.IdleSeconds < x.IdleSeconds ||
		y.BroadcastingSeconds < x.BroadcastingSeconds || y.InCallSeconds < x.InCallSeconds {
		s.t.Errorf("session %s: counters went down from %+v to %+v", id, x, y)
	}
}
