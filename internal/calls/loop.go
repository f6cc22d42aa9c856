package calls

import (
	"fmt"
	"log/slog"
	"maps"
	"math"
	"runtime/debug"
	"slices"
	"sort"
	"time"

	"greeter/internal/clock"
	"greeter/internal/ids"
	"greeter/internal/protocol"
)

// Presence statuses of SPEC §6.1.
const (
	StatusOffline      = "offline"
	StatusAway         = "away"
	StatusIdle         = "idle"
	StatusBroadcasting = "in_simulation"
	StatusInCall       = "in_call"
)

// orgLoop holds the live state of one organization. Only its run goroutine
// touches the fields below events and done.
type orgLoop struct {
	id     ids.OrgID
	hub    *Hub
	clock  clock.Clock
	log    *slog.Logger
	events chan Command
	done   chan struct{}

	cfg      OrgConfig
	agents   map[ids.AgentID]*agent
	byPeer   map[Peer]*agent
	visitors map[Peer]*visitor
	requests map[ids.RequestID]*request
	calls    map[ids.CallID]*call
	waiting  map[ids.PoolID]*waitingSet
	// onPool counts the connected visitors whose pages route to each pool.
	onPool   map[ids.PoolID]int
	seq      uint64 // orders joins and requests, oldest first
	stopping bool   // the server is stopping: nothing new is rung or assigned

	// seen lists the agents that have connected since the server started,
	// for restart recovery (SPEC §6.3).
	seen       map[ids.AgentID]bool
	staleTimer clock.Timer

	// tokens resolves the hash of each live reconnect token to its call and
	// party; ended remembers the tokens of calls that ended, oldest first
	// in endedOrder, for a day (SPEC §9).
	tokens     map[tokenHash]tokenOwner
	ended      map[tokenHash]endedToken
	endedOrder []endedToken
}

type agent struct {
	info          AgentInfo
	peer          Peer   // nil once disconnected
	status        string // changed only by setStatus
	session       *session
	viewers       map[*visitor]struct{}
	ring          *ring
	call          *call
	lastAssigned  time.Time
	lastHeartbeat time.Time
	statsSentAt   time.Time
	statsTimer    clock.Timer
	// graceTimer runs while the agent's connection is lost and it may still
	// come back (SPEC §6.3); graceGen tells a stale expiry from the current.
	graceTimer clock.Timer
	graceGen   uint64
}

type visitor struct {
	peer        Peer
	id          ids.VisitorID
	site        ids.SiteID
	pageURL     string
	settings    any
	connectedAt time.Time
	seq         uint64
	pool        ids.PoolID // where the visitor's page routes
	agent       *agent
	shown       *agent // the agent whose greeting the widget shows, even once detached
	req         *request
	call        *call
	queuedIn    ids.PoolID  // the waiting set holding an entry of the visitor, maybe stale
	pageview    clock.Timer // records the page load once the trigger delay has passed
}

type request struct {
	id              ids.RequestID
	visitor         *visitor
	seq             uint64
	pool            ids.PoolID
	createdAt       time.Time
	exclude         map[ids.AgentID]bool
	ring            *ring
	rang            bool
	recordingNotice bool
	timer           clock.Timer
}

type ring struct {
	req       *request
	agent     *agent
	rec       CallRecord
	expiresAt time.Time
	timer     clock.Timer
	done      bool
}

type call struct {
	id       ids.CallID
	req      ids.RequestID
	agent    *agent
	visitor  *visitor
	rec      CallRecord
	maxTimer clock.Timer
	// maxMinutes is the organization's maximum call duration when the call
	// started; a later change applies to the next call only (SPEC §14.6).
	maxMinutes int
	warnTimer  clock.Timer // call:ending_soon, a minute before the maximum
	ended      bool

	// The hashes of each party's current reconnect token, and, while the
	// call is reconnecting, the absence of the party it waits for.
	visitorToken, agentToken tokenHash
	visitorGone, agentGone   *absence
}

func newOrgLoop(id ids.OrgID, cfg OrgConfig, h *Hub) *orgLoop {
	if cfg.Pools == nil {
		cfg.Pools = map[ids.PoolID]*PoolConfig{}
	}
	return &orgLoop{
		id:       id,
		hub:      h,
		clock:    h.opts.Clock,
		log:      h.opts.Logger.With("org_id", id),
		events:   make(chan Command, 256),
		done:     make(chan struct{}),
		cfg:      cfg,
		agents:   make(map[ids.AgentID]*agent),
		byPeer:   make(map[Peer]*agent),
		visitors: make(map[Peer]*visitor),
		requests: make(map[ids.RequestID]*request),
		calls:    make(map[ids.CallID]*call),
		waiting:  make(map[ids.PoolID]*waitingSet),
		onPool:   make(map[ids.PoolID]int),
		seen:     make(map[ids.AgentID]bool),
		tokens:   make(map[tokenHash]tokenOwner),
		ended:    make(map[tokenHash]endedToken),
	}
}

func (l *orgLoop) run() {
	l.scheduleStaleCheck()
	for {
		select {
		case cmd := <-l.events:
			l.process(cmd)
		case <-l.done:
			l.finish()
			l.stopTimers()
			return
		}
	}
}

// process applies one command. A panic is logged and answered as an internal
// error; handlers validate before they change anything, so state stays whole.
func (l *orgLoop) process(cmd Command) {
	defer func() {
		if r := recover(); r != nil {
			l.log.Error("calls: command panicked", "command", fmt.Sprintf("%T", cmd),
				"panic", r, "stack", string(debug.Stack()))
			if p, ack := peerAndAck(cmd); p != nil {
				l.reply(p, ack, "", nil, protocol.ErrInternal)
			}
		}
	}()

	switch c := cmd.(type) {
	case VisitorJoin:
		l.visitorJoin(c)
	case VisitorLeave:
		l.visitorLeave(c)
	case CallRequest:
		l.callRequest(c)
	case CallCancel:
		l.callCancel(c)
	case CallEnd:
		l.callEnd(c)
	case Signal:
		l.signal(c)
	case AgentConnect:
		l.agentConnect(c)
	case AgentLeave:
		l.agentLeave(c)
	case AgentBack:
		l.agentBack(c)
	case AgentAway:
		l.agentAway(c)
	case Heartbeat:
		if a := l.byPeer[c.Peer]; a != nil {
			a.lastHeartbeat = l.clock.Now()
		}
	case reconfigure:
		l.reconfigure(c)
	case graceExpired:
		l.graceExpired(c)
	case staleCheck:
		l.staleCheck()
	case pageviewDue:
		l.pageviewDue(c.visitor)
	case CallAccept:
		l.callAccept(c)
	case CallReject:
		l.callReject(c)
	case ringExpired:
		l.ringExpired(c.ring)
	case requestExpired:
		l.requestExpired(c.req)
	case callExpired:
		l.callExpired(c.call)
	case callEndingSoon:
		l.callEndingSoon(c.call)
	case VisitorReconnect:
		l.visitorReconnect(c)
	case AgentReconnect:
		l.agentReconnect(c)
	case rejoinExpired:
		l.rejoinExpired(c)
	case restoreCall:
		l.restoreCall(c)
	case callICE:
		l.callICE(c)
	case statsDue:
		c.agent.statsTimer = nil
		l.sendStats(c.agent)
	case barrier:
		close(c.done)
	case removeAgent:
		l.removeAgent(c)
	case logoutAgent:
		l.logoutAgent(c)
	case endAgentCall:
		l.endAgentCall(c)
	case agentStatuses:
		l.agentStatuses(c)
	}
}

func peerAndAck(cmd Command) (Peer, int) {
	switch c := cmd.(type) {
	case VisitorJoin:
		return c.Peer, c.Ack
	case CallRequest:
		return c.Peer, c.Ack
	case CallCancel:
		return c.Peer, c.Ack
	case CallEnd:
		return c.Peer, c.Ack
	case Signal:
		return c.Peer, c.Ack
	case AgentBack:
		return c.Peer, c.Ack
	case AgentAway:
		return c.Peer, c.Ack
	case CallAccept:
		return c.Peer, c.Ack
	case CallReject:
		return c.Peer, c.Ack
	case VisitorReconnect:
		return c.Peer, c.Ack
	case AgentReconnect:
		return c.Peer, c.Ack
	}
	return nil, 0
}

// finish closes, when the server stops, what it cannot carry over: rings
// and requests end as abandoned and sessions end, all with reason
// server_restart. Active calls are left as they are: their rows stay
// accepted, with their token hashes, and the next start reloads them as
// reconnecting (SPEC §9, §18.2).
func (l *orgLoop) finish() {
	l.stopping = true
	for _, req := range l.requests {
		l.endRequest(req, RecordAbandoned, "server_restart", "server_restart")
	}
	for _, a := range byAgentID(slices.Collect(maps.Values(l.agents))) {
		l.endSession(a, SessionServerRestart)
	}
}

// stopTimers cancels every pending timer when the loop stops.
func (l *orgLoop) stopTimers() {
	for _, r := range l.requests {
		stop(r.timer)
		if r.ring != nil {
			stop(r.ring.timer)
		}
	}
	for _, c := range l.calls {
		l.stopCallTimers(c)
	}
	for _, a := range l.agents {
		stop(a.statsTimer)
		stop(a.graceTimer)
	}
	for _, v := range l.visitors {
		stop(v.pageview)
	}
	stop(l.staleTimer)
}

func stop(t clock.Timer) {
	if t != nil {
		t.Stop()
	}
}

// send queues a frame to p, if p is still connected.
func (l *orgLoop) send(p Peer, event string, data any) {
	if p != nil {
		p.Send(protocol.Encode(event, data))
	}
}

// reply answers a command: in the ack when the client asked for one,
// otherwise (only on failure) with an error event.
func (l *orgLoop) reply(p Peer, ack int, event string, result any, err *protocol.Error) {
	if ack > 0 {
		p.Reply(ack, protocol.EncodeAck(ack, result, err))
		return
	}
	if err != nil {
		p.Send(protocol.EncodeError(err, event))
	}
}

// live reports whether the agent's status is idle or broadcasting. An agent
// inside the disconnect grace keeps its live status, and its viewers, but is
// not routable.
func (a *agent) live() bool {
	return a.status == StatusIdle || a.status == StatusBroadcasting
}

// routable reports whether routing may give the agent viewers and rings:
// live and connected (SPEC §6.1).
func (a *agent) routable() bool {
	return a.peer != nil && a.live()
}

// next returns the next sequence number for ordering joins and requests.
func (l *orgLoop) next() uint64 {
	l.seq++
	return l.seq
}

func seconds(d time.Duration) int { return int(math.Round(d.Seconds())) }

// byAge sorts visitors by join order.
func byAge(vs []*visitor) []*visitor {
	sort.Slice(vs, func(i, j int) bool { return vs[i].seq < vs[j].seq })
	return vs
}

func (l *orgLoop) settingsPayload() any {
	return map[string]any{
		"rnaSeconds":       l.cfg.RNASeconds,
		"maxCallMinutes":   l.cfg.MaxCallMinutes,
		"cobrowseMode":     "off",
		"recordingEnabled": false,
	}
}

// giveUp is how long the widget waits for an answer before it gives up.
func (l *orgLoop) giveUp() time.Duration {
	return max(45*time.Second, time.Duration(l.cfg.RNASeconds+5)*time.Second)
}
