package calls

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"greeter/internal/clock"
	"greeter/internal/ids"
	"greeter/internal/protocol"
)

// The benchmarks drive a Hub from the outside, as the realtime connections
// do, and wait for frames on benchPeers. They use the real clock: the fake
// one keeps every stopped timer until it is advanced, which would grow with
// b.N. Nothing here waits for a timer.

const benchOrg ids.OrgID = "org-bench"

// benchPeer is a Peer that hands over the next frame of one awaited event
// and drops everything else, so that the peer costs little next to the loop.
type benchPeer struct {
	mu   sync.Mutex
	want string // `{"event":"<name>"` prefix of the awaited frame
	got  chan []byte
}

func newBenchPeer() *benchPeer { return &benchPeer{got: make(chan []byte, 1)} }

// expect arms p for the next frame of event; call it before the command
// that causes the frame.
func (p *benchPeer) expect(event string) {
	p.mu.Lock()
	p.want = `{"event":"` + event + `"`
	p.mu.Unlock()
}

func (p *benchPeer) Send(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.want != "" && len(b) >= len(p.want) && string(b[:len(p.want)]) == p.want {
		p.want = ""
		p.got <- b
	}
}

func (p *benchPeer) Reply(_ int, b []byte) { p.Send(b) }
func (p *benchPeer) Close(int, string)     {}

// wait returns the awaited frame, failing the benchmark after a second.
// The caller's timer is reused so that waiting allocates nothing.
func (p *benchPeer) wait(b *testing.B, timeout *time.Timer) []byte {
	timeout.Reset(time.Second)
	defer timeout.Stop()
	select {
	case f := <-p.got:
		return f
	case <-timeout.C:
		b.Fatal("no awaited frame within a second")
		return nil
	}
}

func newStoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

type benchDirectory struct{}

func (benchDirectory) OrgConfig(context.Context, ids.OrgID) (OrgConfig, error) {
	return OrgConfig{Name: "Bench", RNASeconds: 15, MaxCallMinutes: 120,
		CatchAll: "pool-all",
		Pools: map[ids.PoolID]*PoolConfig{"pool-all": {ID: "pool-all", Name: "All",
			Members: map[ids.AgentID]Member{"agent-ava": {Tier: 1}}}}}, nil
}

type discardRecords struct{}

func (discardRecords) Save(CallRecord)                   {}
func (discardRecords) SavePageview(Pageview)             {}
func (discardRecords) SavePresenceIntent(PresenceIntent) {}
func (discardRecords) SaveStatusChange(StatusChange)     {}

// benchSettings stands for the effective widget settings sent in
// agent:assigned.
var benchSettings = map[string]any{"position": "bottom-right", "size": "medium"}

// newBenchHub starts a hub with one live agent that greets at most
// maxViewers visitors, and returns the agent's peer.
func newBenchHub(b *testing.B, timeout *time.Timer, maxViewers int) (*Hub, *benchPeer) {
	b.Helper()
	hub := NewHub(Options{Clock: clock.Real{}, Records: discardRecords{},
		Directory: benchDirectory{}})
	b.Cleanup(hub.Close)

	agent := newBenchPeer()
	agent.expect(protocol.EventAck)
	benchSubmit(b, hub, AgentConnect{Peer: agent, Agent: AgentInfo{
		ID: "agent-ava", UserID: "user-ava",
		Card:       protocol.AgentCard{ID: "agent-ava", DisplayName: "Ava"},
		MaxViewers: maxViewers, VideosReady: true, Active: true,
	}})
	benchSubmit(b, hub, AgentBack{Peer: agent, Ack: 1})
	agent.wait(b, timeout)
	return hub, agent
}

func benchSubmit(b *testing.B, hub *Hub, cmd Command) {
	if err := hub.Submit(context.Background(), benchOrg, cmd); err != nil {
		b.Fatal(err)
	}
}

func benchJoin(peer Peer, ack int) VisitorJoin {
	return VisitorJoin{Peer: peer, Ack: ack, Visitor: "v-bench", Site: "site-1",
		PageURL: "https://shop.example/products/42", Settings: benchSettings,
		ConnectedAt: time.Now()}
}

// BenchmarkJoinAssign measures a visitor's round trip through the loop:
// VisitorJoin submitted until its peer has agent:assigned, then VisitorLeave
// (not awaited: the next join queues behind it, so one peer serves every
// iteration). Sub-benchmarks keep other visitors on the agent, because a
// leave sweeps every visitor of the organization.
func BenchmarkJoinAssign(b *testing.B) {
	for _, others := range []int{0, 1000, 10000} {
		b.Run(fmt.Sprintf("others=%d", others), func(b *testing.B) {
			timeout := newStoppedTimer()
			hub, _ := newBenchHub(b, timeout, 1<<30)
			for i := range others {
				benchSubmit(b, hub, benchJoin(newBenchPeer(), i+1))
			}
			if err := hub.Flush(context.Background(), benchOrg); err != nil {
				b.Fatal(err)
			}

			p := newBenchPeer()
			b.ReportAllocs()
			for b.Loop() {
				p.expect(protocol.EventAgentAssigned)
				benchSubmit(b, hub, benchJoin(p, 1))
				p.wait(b, timeout)
				benchSubmit(b, hub, VisitorLeave{Peer: p})
			}
		})
	}
}

// BenchmarkCapacitySweep measures what a freed viewer slot costs when
// visitors wait: one of the agent's 25 viewers leaves (and joins again, at
// the back of the waiting set) until the oldest waiting visitor has
// agent:assigned. The peers rotate, so the same visitor is always the oldest.
func BenchmarkCapacitySweep(b *testing.B) {
	const maxViewers = 25
	for _, waiting := range []int{1, 1000, 5000} {
		b.Run(fmt.Sprintf("waiting=%d", waiting), func(b *testing.B) {
			timeout := newStoppedTimer()
			hub, _ := newBenchHub(b, timeout, maxViewers)
			peers := make([]*benchPeer, maxViewers+waiting)
			for i := range peers {
				peers[i] = newBenchPeer()
				benchSubmit(b, hub, benchJoin(peers[i], 1))
			}
			if err := hub.Flush(context.Background(), benchOrg); err != nil {
				b.Fatal(err)
			}

			i := 0
			b.ReportAllocs()
			for b.Loop() {
				leaving := peers[i%len(peers)]
				oldest := peers[(i+maxViewers)%len(peers)]
				oldest.expect(protocol.EventAgentAssigned)
				benchSubmit(b, hub, VisitorLeave{Peer: leaving})
				oldest.wait(b, timeout)
				benchSubmit(b, hub, benchJoin(leaving, 1))
				i++
			}
		})
	}
}

// BenchmarkCallSetup measures a call through the loop: call:request until
// the agent has call:incoming, call:accept until the visitor has
// call:accepted, then call:end (not awaited). ns/ring is the first half.
func BenchmarkCallSetup(b *testing.B) {
	timeout := newStoppedTimer()
	hub, agent := newBenchHub(b, timeout, 1<<30)
	visitor := newBenchPeer()
	visitor.expect(protocol.EventAgentAssigned)
	benchSubmit(b, hub, benchJoin(visitor, 1))
	visitor.wait(b, timeout)

	var ringing time.Duration
	ack := 1
	b.ReportAllocs()
	for b.Loop() {
		ack++
		start := time.Now()
		agent.expect(protocol.EventCallIncoming)
		benchSubmit(b, hub, CallRequest{Peer: visitor, Ack: ack})
		requestID := field(b, agent.wait(b, timeout), "requestId")
		ringing += time.Since(start)

		visitor.expect(protocol.EventCallAccepted)
		benchSubmit(b, hub, CallAccept{Peer: agent, Ack: ack, RequestID: ids.RequestID(requestID)})
		callID := field(b, visitor.wait(b, timeout), "callId")
		benchSubmit(b, hub, CallEnd{Peer: visitor, Ack: ack, CallID: ids.CallID(callID)})
	}
	b.ReportMetric(float64(ringing.Nanoseconds())/float64(b.N), "ns/ring")
}

// field cuts the string value of the first "name" out of a frame, cheaper
// than decoding the whole frame.
func field(b *testing.B, frame []byte, name string) string {
	key := []byte(`"` + name + `":"`)
	i := bytes.Index(frame, key)
	if i < 0 {
		b.Fatalf("no %s in %s", name, frame)
	}
	rest := frame[i+len(key):]
	return string(rest[:bytes.IndexByte(rest, '"')])
}

// twoAgentDirectory has Ava and Ben in the catch-all pool, each able to
// greet 1,000 visitors (the most SPEC §3.1 allows).
type twoAgentDirectory struct{}

func (twoAgentDirectory) OrgConfig(context.Context, ids.OrgID) (OrgConfig, error) {
	return OrgConfig{Name: "Bench", RNASeconds: 15, MaxCallMinutes: 120,
		CatchAll: "pool-all",
		Pools: map[ids.PoolID]*PoolConfig{"pool-all": {ID: "pool-all", Name: "All",
			Members: map[ids.AgentID]Member{"agent-ava": {Tier: 1}, "agent-ben": {Tier: 1}}}}}, nil
}

// countdown is closed once n awaited frames have arrived across many peers.
type countdown struct {
	left atomic.Int64
	done chan struct{}
}

// viewerPeer reports each agent:reassigned it receives to the countdown
// armed at that moment.
type viewerPeer struct {
	benchPeer
	moves *atomic.Pointer[countdown]
}

var reassignedPrefix = []byte(`{"event":"` + protocol.EventAgentReassigned + `"`)

func (p *viewerPeer) Send(b []byte) {
	if bytes.HasPrefix(b, reassignedPrefix) {
		if c := p.moves.Load(); c != nil && c.left.Add(-1) == 0 {
			close(c.done)
		}
		return
	}
	p.benchPeer.Send(b)
}

func (p *viewerPeer) Reply(_ int, b []byte) { p.Send(b) }

// BenchmarkReassignOnAccept measures SPEC §7.5's budget: an agent with 1,000
// viewers accepts a call from one of them, and the other 999 move to the
// second agent. ns/op covers request, ring, accept, every move and the end
// of the call; ns/reassign-all is from submitting call:accept until the last
// of the 999 viewers has its agent:reassigned frame. The agents swap roles
// every iteration, so the same 1,000 visitors serve the whole run.
func BenchmarkReassignOnAccept(b *testing.B) {
	const viewers = 1000
	timeout := newStoppedTimer()
	hub := NewHub(Options{Clock: clock.Real{}, Records: discardRecords{},
		Directory: twoAgentDirectory{}})
	b.Cleanup(hub.Close)

	agents := map[ids.AgentID]*benchPeer{}
	for i, id := range []ids.AgentID{"agent-ava", "agent-ben"} {
		p := newBenchPeer()
		agents[id] = p
		p.expect(protocol.EventAck)
		benchSubmit(b, hub, AgentConnect{Peer: p, Agent: AgentInfo{
			ID: id, UserID: ids.UserID("user-" + id),
			Card:       protocol.AgentCard{ID: id, DisplayName: string(id)},
			MaxViewers: viewers, VideosReady: true, Active: true,
		}})
		benchSubmit(b, hub, AgentBack{Peer: p, Ack: i + 1})
		p.wait(b, timeout)
	}

	// Ben goes away while the visitors join, so that Ava greets all of them.
	ben := agents["agent-ben"]
	ben.expect(protocol.EventAck)
	benchSubmit(b, hub, AgentAway{Peer: ben, Ack: 10})
	ben.wait(b, timeout)
	moves := &atomic.Pointer[countdown]{}
	visitors := make([]*viewerPeer, viewers)
	for i := range visitors {
		visitors[i] = &viewerPeer{benchPeer: *newBenchPeer(), moves: moves}
		benchSubmit(b, hub, benchJoin(visitors[i], 1))
	}
	ben.expect(protocol.EventAck)
	benchSubmit(b, hub, AgentBack{Peer: ben, Ack: 11})
	ben.wait(b, timeout)

	busy := agents["agent-ava"]
	onBusy := visitors // the viewers of the agent about to take a call
	var onOther []*viewerPeer
	var reassigning time.Duration
	ack := 100
	b.ReportAllocs()
	for b.Loop() {
		ack++
		caller := onBusy[0]
		busy.expect(protocol.EventCallIncoming)
		benchSubmit(b, hub, CallRequest{Peer: caller, Ack: ack})
		requestID := field(b, busy.wait(b, timeout), "requestId")

		c := &countdown{done: make(chan struct{})}
		c.left.Store(int64(len(onBusy) - 1))
		moves.Store(c)
		caller.expect(protocol.EventCallAccepted)
		start := time.Now()
		benchSubmit(b, hub, CallAccept{Peer: busy, Ack: ack, RequestID: ids.RequestID(requestID)})
		timeout.Reset(time.Second)
		select {
		case <-c.done:
		case <-timeout.C:
			b.Fatalf("%d viewers not reassigned within a second", c.left.Load())
		}
		reassigning += time.Since(start)
		timeout.Stop()
		callID := field(b, caller.wait(b, timeout), "callId")
		benchSubmit(b, hub, CallEnd{Peer: caller, Ack: ack, CallID: ids.CallID(callID)})

		// The moved viewers are now the other agent's; the caller stays.
		moved := append(onOther, onBusy[1:]...)
		onOther, onBusy = onBusy[:1:1], moved
		for id, p := range agents {
			if p != busy {
				busy = agents[id]
				break
			}
		}
	}
	b.ReportMetric(float64(reassigning.Nanoseconds())/float64(b.N), "ns/reassign-all")
}
