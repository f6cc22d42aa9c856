package calls

import (
	"fmt"
	"time"

	"greeter/internal/ids"
	"greeter/internal/protocol"
)

// endCause says how a call ended, for the row and for each party (SPEC §8.5).
// An empty party reason means that party gets no call:ended.
type endCause struct {
	reason, endedBy           string
	visitorReason, visitorMsg string
	agentReason, agentMsg     string
}

var (
	causeAgentEnded = endCause{
		reason: "agent_ended", endedBy: "agent",
		visitorReason: "agent_ended", visitorMsg: "Agent has ended the call",
		agentReason: "agent_ended", agentMsg: "You ended the call.",
	}
	causeVisitorEnded = endCause{
		reason: "visitor_ended", endedBy: "visitor",
		visitorReason: "visitor_ended", visitorMsg: "You ended the call.",
		agentReason: "visitor_ended", agentMsg: "The visitor ended the call.",
	}
	// A party that did not come back within its rejoin window (SPEC §9).
	causeVisitorGone = endCause{
		reason: "reconnect_failed", endedBy: "system",
		agentReason: "reconnect_failed", agentMsg: "The visitor did not come back within 60 seconds.",
	}
	causeAgentGone = endCause{
		reason: "reconnect_failed", endedBy: "system",
		visitorReason: "reconnect_failed",
		visitorMsg:    "Your agent's connection was lost. Please try again.",
	}
)

// causeServerStopped closes, at start-up, a call of a previous run that
// cannot be reloaded (its agent is gone, or its row has no tokens).
var causeServerStopped = endCause{reason: "server_restart", endedBy: "system"}

func causeMaxDuration(minutes int) endCause {
	msg := fmt.Sprintf("The call ended automatically after %d minutes.", minutes)
	return endCause{
		reason: "max_duration", endedBy: "system",
		visitorReason: "max_duration", visitorMsg: msg,
		agentReason: "max_duration", agentMsg: msg,
	}
}

func (l *orgLoop) callAccept(c CallAccept) {
	a := l.byPeer[c.Peer]
	if a == nil || a.ring == nil || a.ring.req.id != c.RequestID {
		l.reply(c.Peer, c.Ack, protocol.EventCallAccept, nil, protocol.ErrCallNotFound)
		return
	}
	r := a.ring
	req, v := r.req, r.req.visitor
	now := l.clock.Now().UTC()

	// The ring resolves and the request becomes a call, in this one step.
	r.done = true
	stop(r.timer)
	stop(req.timer)
	a.ring, req.ring, v.req = nil, nil, nil
	delete(l.requests, req.id)

	rec := r.rec
	rec.Status = RecordAccepted
	rec.AnsweredAt, rec.StartedAt = &now, &now
	answer := seconds(now.Sub(*rec.RingStartedAt))
	rec.AnswerSeconds = &answer

	cl := &call{id: ids.NewCallID(), req: req.id, agent: a, visitor: v, rec: rec,
		maxMinutes: l.cfg.MaxCallMinutes}
	cl.rec.CallID = cl.id
	l.calls[cl.id] = cl
	a.call, v.call = cl, cl
	l.setStatus(a, StatusInCall, "call_started")
	if v.agent != a {
		l.detach(v)
		l.attach(v, a)
	}
	visitorToken := l.mintToken(cl, partyVisitor)
	agentToken := l.mintToken(cl, partyAgent)
	l.save(cl.rec)
	l.reassignViewers(a, "agent_busy", v)
	l.scheduleCallTimers(cl)

	l.send(v.peer, protocol.EventCallAccepted, map[string]any{
		"requestId":      req.id,
		"callId":         cl.id,
		"agent":          l.card(a, rec.PoolID),
		"reconnectToken": visitorToken,
		"ice":            l.hub.opts.ICE(string(v.id)),
		"recording":      false,
	})
	l.reply(c.Peer, c.Ack, protocol.EventCallAccept, map[string]any{"callId": cl.id}, nil)
	l.send(a.peer, protocol.EventCallStarted, map[string]any{
		"requestId":          req.id,
		"callId":             cl.id,
		"callLogId":          rec.ID,
		"visitor":            l.visitorCard(v, rec.PoolID),
		"startedAt":          protocol.Time(now),
		"maxDurationSeconds": cl.maxMinutes * 60,
		"reconnectToken":     agentToken,
		"ice":                l.hub.opts.ICE(string(a.info.UserID)),
		"recordingAllowed":   false,
	})
	l.sendState(a)
	l.log.Info("call started", "call_id", cl.id, "agent_id", a.info.ID,
		"request_id", req.id, "answer_seconds", answer)
}

func (l *orgLoop) callEnd(c CallEnd) {
	cl := l.calls[c.CallID]
	var cause endCause
	switch {
	case cl == nil:
	case cl.agent.peer == c.Peer:
		cause = causeAgentEnded
	case cl.visitor.peer == c.Peer:
		cause = causeVisitorEnded
	}
	if cause.reason == "" {
		l.reply(c.Peer, c.Ack, protocol.EventCallEnd, nil, protocol.ErrCallNotFound)
		return
	}
	l.endCall(cl, cause)
	l.reply(c.Peer, c.Ack, protocol.EventCallEnd, struct{}{}, nil)
}

func (l *orgLoop) callExpired(cl *call) {
	if !cl.ended {
		l.endCall(cl, causeMaxDuration(cl.maxMinutes))
	}
}

// endCall ends a call now, for every reason of SPEC §8.5.
func (l *orgLoop) endCall(cl *call, cause endCause) {
	l.endCallAt(cl, cause, l.clock.Now().UTC())
}

// endCallAt ends a call whose end counts from at: the row is completed,
// each connected party gets one call:ended, the tokens die, and the agent
// goes back to live, or offline when its connection is gone for good.
func (l *orgLoop) endCallAt(cl *call, cause endCause, at time.Time) {
	if cl.ended {
		return
	}
	cl.ended = true
	l.stopCallTimers(cl)
	delete(l.calls, cl.id)
	a, v := cl.agent, cl.visitor
	a.call, v.call = nil, nil
	l.retireTokens(cl)

	rec := cl.rec
	rec.Status = RecordCompleted
	rec.EndReason = cause.reason
	rec.EndedBy = cause.endedBy
	rec.EndedAt = &at
	duration := max(0, seconds(at.Sub(*rec.StartedAt)))
	rec.DurationSeconds = &duration
	l.save(rec)

	l.sendEnded(cl, cause)
	l.log.Info("call ended", "call_id", cl.id, "agent_id", a.info.ID,
		"reason", cause.reason, "duration_seconds", duration)

	if a.status == StatusInCall {
		l.setStatus(a, liveStatus(a), "call_ended")
		l.sendState(a)
	}
	l.settle(v)
	if a.peer == nil && a.graceTimer == nil {
		l.dropAgent(a) // its grace ran out while the call waited for it
		return
	}
	l.sweep(a)
}

// sendEnded gives each connected party the call:ended its cause names.
func (l *orgLoop) sendEnded(cl *call, cause endCause) {
	if cause.visitorReason != "" {
		l.send(cl.visitor.peer, protocol.EventCallEnded, map[string]any{
			"callId":  cl.id,
			"reason":  cause.visitorReason,
			"message": cause.visitorMsg,
			"endedBy": cause.endedBy,
		})
	}
	if cause.agentReason != "" {
		l.send(cl.agent.peer, protocol.EventCallEnded, map[string]any{
			"callId":    cl.id,
			"callLogId": cl.rec.ID,
			"reason":    cause.agentReason,
			"message":   cause.agentMsg,
			"endedBy":   cause.endedBy,
		})
	}
}

// scheduleCallTimers starts the maximum-duration timer of a call and the
// warning a minute before it, both counted from the call's start.
func (l *orgLoop) scheduleCallTimers(cl *call) {
	ends := cl.rec.StartedAt.Add(time.Duration(cl.maxMinutes) * time.Minute)
	now := l.clock.Now()
	cl.maxTimer = l.hub.after(l, max(0, ends.Sub(now)), callExpired{call: cl})
	if warn := ends.Add(-endingSoonLead); warn.After(now) {
		cl.warnTimer = l.hub.after(l, warn.Sub(now), callEndingSoon{call: cl})
	}
}

func (l *orgLoop) stopCallTimers(cl *call) {
	stop(cl.maxTimer)
	stop(cl.warnTimer)
	for _, g := range []*absence{cl.visitorGone, cl.agentGone} {
		if g != nil {
			stop(g.timer)
		}
	}
}

// endingSoonLead is how long before the maximum duration both parties are
// warned.
const endingSoonLead = time.Minute

func (l *orgLoop) callEndingSoon(cl *call) {
	if cl.ended {
		return
	}
	ends := cl.rec.StartedAt.Add(time.Duration(cl.maxMinutes) * time.Minute)
	data := map[string]any{
		"callId":      cl.id,
		"endsAt":      protocol.Time(ends),
		"secondsLeft": int(endingSoonLead / time.Second),
		"message":     "This call will end automatically in 1 minute.",
	}
	l.send(cl.visitor.peer, protocol.EventCallEndingSoon, data)
	l.send(cl.agent.peer, protocol.EventCallEndingSoon, data)
}

func (l *orgLoop) signal(c Signal) {
	cl := l.calls[c.CallID]
	var to Peer
	var from string
	switch {
	case cl == nil:
	case cl.agent.peer == c.Peer:
		to, from = cl.visitor.peer, "agent"
	case cl.visitor.peer == c.Peer:
		to, from = cl.agent.peer, "visitor"
	}
	if from == "" {
		l.reply(c.Peer, c.Ack, protocol.EventSignal, nil, protocol.ErrCallNotFound)
		return
	}
	l.send(to, protocol.EventSignal, map[string]any{
		"callId": cl.id,
		"from":   from,
		"signal": c.Signal,
	})
	if c.Ack > 0 {
		l.reply(c.Peer, c.Ack, protocol.EventSignal, struct{}{}, nil)
	}
}
