package calls

import (
	"crypto/rand"
	"encoding/base64"
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

const lostMessage = "The other party's connection was lost."

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
	// Until call continuity exists, a lost connection ends the call at once.
	causeAgentLost = endCause{
		reason: "agent_ended", endedBy: "agent",
		visitorReason: "agent_ended", visitorMsg: lostMessage,
	}
	causeVisitorLost = endCause{
		reason: "visitor_ended", endedBy: "visitor",
		agentReason: "visitor_ended", agentMsg: lostMessage,
	}
)

// causeServerStopped ends the calls a stopping server cannot carry over.
// TODO: with call continuity (SPEC §9) active calls are reloaded as
// reconnecting after a restart instead of ending here.
var causeServerStopped = endCause{
	reason: "server_restart", endedBy: "system",
	visitorReason: "server_restart", visitorMsg: "The call ended because the service restarted.",
	agentReason: "server_restart", agentMsg: "The call ended because Greeter restarted.",
}

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

	cl := &call{id: ids.NewCallID(), req: req.id, agent: a, visitor: v, rec: rec}
	l.calls[cl.id] = cl
	a.call, v.call = cl, cl
	l.setStatus(a, StatusInCall, "call_started")
	if v.agent != a {
		l.detach(v)
		l.attach(v, a)
	}
	l.save(rec)
	l.reassignViewers(a, "agent_busy", v)
	maxMinutes := l.cfg.MaxCallMinutes
	cl.maxMinutes = maxMinutes
	cl.maxTimer = l.hub.after(l, time.Duration(maxMinutes)*time.Minute, callExpired{call: cl})

	l.send(v.peer, protocol.EventCallAccepted, map[string]any{
		"requestId":      req.id,
		"callId":         cl.id,
		"agent":          l.card(a, rec.PoolID),
		"reconnectToken": newToken(),
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
		"maxDurationSeconds": maxMinutes * 60,
		"reconnectToken":     newToken(),
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

// endCall ends a call for every reason of SPEC §8.5: the row is completed,
// each connected party gets one call:ended, and the agent goes back to live.
func (l *orgLoop) endCall(cl *call, cause endCause) {
	if cl.ended {
		return
	}
	cl.ended = true
	stop(cl.maxTimer)
	delete(l.calls, cl.id)
	a, v := cl.agent, cl.visitor
	a.call, v.call = nil, nil

	now := l.clock.Now().UTC()
	rec := cl.rec
	rec.Status = RecordCompleted
	rec.EndReason = cause.reason
	rec.EndedBy = cause.endedBy
	rec.EndedAt = &now
	duration := seconds(now.Sub(*rec.StartedAt))
	rec.DurationSeconds = &duration
	l.save(rec)

	if cause.visitorReason != "" {
		l.send(v.peer, protocol.EventCallEnded, map[string]any{
			"callId":  cl.id,
			"reason":  cause.visitorReason,
			"message": cause.visitorMsg,
			"endedBy": cause.endedBy,
		})
	}
	if cause.agentReason != "" {
		l.send(a.peer, protocol.EventCallEnded, map[string]any{
			"callId":    cl.id,
			"callLogId": rec.ID,
			"reason":    cause.agentReason,
			"message":   cause.agentMsg,
			"endedBy":   cause.endedBy,
		})
	}
	l.log.Info("call ended", "call_id", cl.id, "agent_id", a.info.ID,
		"reason", cause.reason, "duration_seconds", duration)

	if a.status == StatusInCall {
		l.setStatus(a, liveStatus(a), "call_ended")
		l.sendState(a)
	}
	l.settle(v)
	l.sweep(a)
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

// newToken returns a reconnect token: 32 random bytes, base64url.
// TODO: tokens are not yet accepted by call:reconnect; call continuity
// (SPEC §9) will store their hashes and resume calls with them.
func newToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("calls: unable to read random bytes: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
