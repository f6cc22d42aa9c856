package calls

import (
	"time"

	"greeter/internal/ids"
	"greeter/internal/protocol"
	"greeter/internal/routing"
)

// ringGrace lets an accept sent at the last moment still land (SPEC §8.2).
const ringGrace = 100 * time.Millisecond

// ceilingMargin is how long past the widget's give-up the server keeps a
// request before it cancels it itself.
const ceilingMargin = 15 * time.Second

func (l *orgLoop) callRequest(c CallRequest) {
	v := l.visitors[c.Peer]
	if v == nil {
		l.reply(c.Peer, c.Ack, protocol.EventCallRequest, nil, protocol.ErrNotJoined)
		return
	}
	if v.call != nil {
		l.reply(c.Peer, c.Ack, protocol.EventCallRequest, nil,
			protocol.Errorf(protocol.CodeAlreadyInCall, "You are already in a call."))
		return
	}
	if v.req != nil {
		l.reply(c.Peer, c.Ack, protocol.EventCallRequest, l.requestAck(v.req), nil)
		return
	}
	if !l.anyoneCanTakeCalls(v.pool) {
		l.reply(c.Peer, c.Ack, protocol.EventCallRequest, nil, protocol.Errorf(
			protocol.CodeAgentUnavailable,
			"Everyone is helping other visitors right now. Please try again shortly."))
		return
	}

	req := &request{
		id:              ids.NewRequestID(),
		visitor:         v,
		seq:             l.next(),
		pool:            v.pool,
		createdAt:       l.clock.Now(),
		exclude:         make(map[ids.AgentID]bool),
		recordingNotice: c.RecordingNotice,
	}
	v.req = req
	l.requests[req.id] = req
	req.timer = l.hub.after(l, l.giveUp()+ceilingMargin, requestExpired{req: req})
	l.reply(c.Peer, c.Ack, protocol.EventCallRequest, l.requestAck(req), nil)
	l.routeRequest(req)
}

// requestAck is the result of call:request: the request's id and how long
// the widget waits before it gives up, which depends on the ring time.
func (l *orgLoop) requestAck(req *request) map[string]any {
	return map[string]any{"requestId": req.id, "giveUpSeconds": int(l.giveUp() / time.Second)}
}

// anyoneCanTakeCalls reports whether any connected agent serving pool (its
// members, or the catch-all pool's when it overflows) is live or in a call,
// which is when a request is worth creating.
func (l *orgLoop) anyoneCanTakeCalls(pool ids.PoolID) bool {
	for _, a := range l.agents {
		if a.peer != nil && (a.live() || a.status == StatusInCall) &&
			l.cfg.serves(pool, a.info.ID) {
			return true
		}
	}
	return false
}

// routeRequest rings the best agent for req, or leaves it waiting for a
// capacity sweep.
func (l *orgLoop) routeRequest(req *request) {
	if l.stopping {
		return
	}
	v := req.visitor
	var prefer ids.AgentID
	if v.agent != nil {
		prefer = v.agent.info.ID
	}
	excluded := func(id ids.AgentID) bool { return req.exclude[id] }
	a := l.pick(req.pool, routing.Ring, excluded, prefer, nil)
	if a == nil {
		// The request waits. A visitor whose agent is gone keeps its waiting
		// view and is silently detached.
		if a := v.agent; a != nil && !a.routable() {
			l.detach(v)
		}
		return
	}
	l.startRing(req, a)
}

func (l *orgLoop) startRing(req *request, a *agent) {
	now := l.clock.Now()
	r := &ring{
		req:       req,
		agent:     a,
		rec:       l.newRecord(req, a, RecordPending),
		expiresAt: now.Add(time.Duration(l.cfg.RNASeconds) * time.Second),
	}
	a.ring = r
	a.lastAssigned = now
	req.ring = r
	req.rang = true
	l.save(r.rec)
	r.timer = l.hub.after(l, r.expiresAt.Sub(now)+ringGrace, ringExpired{ring: r})

	l.sendIncoming(r)
	l.moveVisitor(req.visitor, a, "agent_busy")
}

func (l *orgLoop) sendIncoming(r *ring) {
	l.send(r.agent.peer, protocol.EventCallIncoming, map[string]any{
		"requestId":     r.req.id,
		"visitor":       l.visitorCard(r.req.visitor, r.req.pool),
		"ringStartedAt": protocol.Time(*r.rec.RingStartedAt),
		"expiresAt":     protocol.Time(r.expiresAt),
		"expiresInMs":   max(0, r.expiresAt.Sub(l.clock.Now()).Milliseconds()),
		"rnaSeconds":    l.cfg.RNASeconds,
	})
}

// closeRing resolves a ring without a call and writes its row.
func (l *orgLoop) closeRing(r *ring, status, endReason string) {
	r.done = true
	stop(r.timer)
	r.agent.ring = nil
	r.req.ring = nil
	r.rec.Status = status
	r.rec.EndReason = endReason
	l.save(r.rec)
}

// withdrawRing takes back a's ring when a leaves routing and returns the
// request, which the caller re-routes once a's viewers have moved.
func (l *orgLoop) withdrawRing(a *agent, endReason string) *request {
	r := a.ring
	if r == nil {
		return nil
	}
	l.closeRing(r, RecordRejected, endReason)
	l.send(a.peer, protocol.EventCallCancelled,
		map[string]any{"requestId": r.req.id, "reason": "withdrawn"})
	r.req.exclude[a.info.ID] = true
	return r.req
}

func (l *orgLoop) ringExpired(r *ring) {
	if r.done {
		return
	}
	a, req := r.agent, r.req
	l.closeRing(r, RecordMissed, "ring_no_answer")
	req.exclude[a.info.ID] = true
	l.send(a.peer, protocol.EventCallCancelled,
		map[string]any{"requestId": req.id, "reason": "ring_no_answer"})
	l.send(a.peer, protocol.EventAgentMarkedAway, map[string]any{
		"reason":  "ring_no_answer",
		"message": "You were set to Away because an incoming call was not answered.",
	})
	l.log.Info("ring not answered", "agent_id", a.info.ID, "request_id", req.id)
	l.goAway(a, "ring_no_answer")
	l.routeRequest(req)
}

func (l *orgLoop) callReject(c CallReject) {
	a := l.byPeer[c.Peer]
	if a == nil || a.ring == nil || a.ring.req.id != c.RequestID {
		l.reply(c.Peer, c.Ack, protocol.EventCallReject, nil, protocol.ErrCallNotFound)
		return
	}
	req := a.ring.req
	l.closeRing(a.ring, RecordRejected, "declined")
	req.exclude[a.info.ID] = true
	l.reply(c.Peer, c.Ack, protocol.EventCallReject, struct{}{}, nil)
	l.routeRequest(req)
	l.sweep(a)
}

func (l *orgLoop) callCancel(c CallCancel) {
	v := l.visitors[c.Peer]
	if v == nil {
		l.reply(c.Peer, c.Ack, protocol.EventCallCancel, nil, protocol.ErrNotJoined)
		return
	}
	if c.RequestID != "" && (v.req == nil || v.req.id != c.RequestID) {
		l.reply(c.Peer, c.Ack, protocol.EventCallCancel, nil, protocol.ErrCallNotFound)
		return
	}
	if v.req != nil {
		reason := "visitor_cancelled"
		if c.Timeout {
			reason = "widget_timeout"
		}
		l.endRequest(v.req, RecordCancelled, reason, reason)
	}
	l.reply(c.Peer, c.Ack, protocol.EventCallCancel, struct{}{}, nil)
}

func (l *orgLoop) requestExpired(req *request) {
	if l.requests[req.id] != req {
		return
	}
	l.endRequest(req, RecordCancelled, "request_timeout", "request_timeout")
}

// endRequest ends a request without a call. A ringing agent hears why; a
// request that never rang anyone leaves one row with no agent.
func (l *orgLoop) endRequest(req *request, status, endReason, agentReason string) {
	stop(req.timer)
	delete(l.requests, req.id)
	v := req.visitor
	v.req = nil

	if r := req.ring; r != nil {
		a := r.agent
		l.closeRing(r, status, endReason)
		l.send(a.peer, protocol.EventCallCancelled,
			map[string]any{"requestId": req.id, "reason": agentReason})
		defer l.sweep(a)
	} else if !req.rang {
		rec := l.newRecord(req, nil, status)
		rec.EndReason = endReason
		l.save(rec)
	}

	if v.peer != nil && v.agent == nil && v.call == nil {
		l.setPool(v, l.cfg.resolve(v.pageURL))
		l.greetOrWait(v)
		return
	}
	l.settle(v)
}
