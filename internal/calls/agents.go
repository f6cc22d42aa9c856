package calls

import (
	"time"

	"greeter/internal/protocol"
)

func (l *orgLoop) agentConnect(c AgentConnect) {
	a := l.agents[c.Agent.ID]
	if a != nil && a.peer != nil {
		// A second connection of the same agent takes over at once.
		old := a.peer
		delete(l.byPeer, old)
		a.peer = c.Peer
		a.info = c.Agent
		l.byPeer[c.Peer] = a
		old.Close(protocol.CloseSessionReplaced, "session_replaced")
		if a.call != nil {
			// The old tab held the call's media. Until call continuity
			// lets the new tab resume it, the call ends as if the agent's
			// connection was lost, and the agent is live again.
			l.endCall(a.call, causeAgentLost)
		}
		l.sendState(a)
		if a.ring != nil {
			l.sendIncoming(a.ring)
		}
		return
	}

	if a == nil {
		a = &agent{viewers: make(map[*visitor]struct{})}
		l.agents[c.Agent.ID] = a
	}
	a.info = c.Agent
	a.peer = c.Peer
	a.status = StatusAway
	a.lastHeartbeat = l.clock.Now()
	l.byPeer[c.Peer] = a
	l.log.Debug("agent connected", "agent_id", a.info.ID)
	l.sendState(a)
}

// agentLeave handles a lost agent connection. Until call continuity exists,
// the agent goes offline at once and its call ends.
func (l *orgLoop) agentLeave(c AgentLeave) {
	a := l.byPeer[c.Peer]
	if a == nil || a.peer != c.Peer {
		return
	}
	delete(l.byPeer, c.Peer)
	a.peer = nil
	a.status = StatusOffline

	req := l.withdrawRing(a, "agent_offline")
	if a.call != nil {
		l.endCall(a.call, causeAgentLost)
	}
	l.reassignViewers(a, "agent_offline", nil)
	if req != nil {
		l.routeRequest(req)
	}
	stop(a.statsTimer)
	delete(l.agents, a.info.ID)
	l.log.Debug("agent disconnected", "agent_id", a.info.ID)
}

func (l *orgLoop) agentBack(c AgentBack) {
	a := l.byPeer[c.Peer]
	if a == nil {
		return
	}
	var perr *protocol.Error
	switch {
	case a.call != nil:
		perr = protocol.Errorf(protocol.CodeInvalidState, "You are in a call.")
	case l.cfg.Paused:
		perr = protocol.Errorf(protocol.CodeOrgPaused, "Your organization is paused.")
	case !a.info.Active:
		perr = protocol.Errorf(protocol.CodeAgentInactive, "Your agent profile is not active.")
	case !a.info.VideosReady:
		perr = protocol.Errorf(protocol.CodeVideosMissing,
			"Add your intro and loop videos before going live.")
	}
	if perr != nil {
		l.reply(c.Peer, c.Ack, protocol.EventAgentBack, nil, perr)
		return
	}
	if a.live() {
		l.reply(c.Peer, c.Ack, protocol.EventAgentBack, map[string]any{"status": a.status}, nil)
		return
	}

	// TODO: store presence_intent so a restart can restore live agents
	// (SPEC §6.3); it comes with restart recovery.
	a.status = StatusIdle
	a.lastHeartbeat = l.clock.Now()
	l.refreshStatus(a)
	l.reply(c.Peer, c.Ack, protocol.EventAgentBack, map[string]any{"status": a.status}, nil)
	l.sendState(a)
	l.sweep(a)
}

func (l *orgLoop) agentAway(c AgentAway) {
	a := l.byPeer[c.Peer]
	if a == nil {
		return
	}
	if a.call != nil {
		l.reply(c.Peer, c.Ack, protocol.EventAgentAway, nil,
			protocol.Errorf(protocol.CodeInvalidState, "You cannot go away during a call."))
		return
	}
	if a.live() {
		l.goAway(a)
	}
	l.reply(c.Peer, c.Ack, protocol.EventAgentAway, map[string]any{"status": a.status}, nil)
}

// goAway takes a live agent out of routing: its ring is withdrawn, its
// viewers move on, and the withdrawn request is rung elsewhere.
func (l *orgLoop) goAway(a *agent) {
	a.status = StatusAway
	req := l.withdrawRing(a, "agent_away")
	l.reassignViewers(a, "agent_away", nil)
	if req != nil {
		l.routeRequest(req)
	}
	l.sendState(a)
}

// refreshStatus switches a live agent between idle and broadcasting as its
// viewer count changes, and announces the change.
func (l *orgLoop) refreshStatus(a *agent) {
	if !a.live() {
		return
	}
	want := StatusIdle
	if len(a.viewers) > 0 {
		want = StatusBroadcasting
	}
	if a.status != want {
		a.status = want
		l.sendState(a)
	}
}

func (l *orgLoop) sendState(a *agent) {
	if a.peer == nil {
		return
	}
	var ringing, active any
	if r := a.ring; r != nil {
		ringing = map[string]any{
			"requestId":   r.req.id,
			"expiresInMs": max(0, r.expiresAt.Sub(l.clock.Now()).Milliseconds()),
		}
	}
	if c := a.call; c != nil {
		active = map[string]any{"callId": c.id, "state": "active"}
	}
	avatar := a.info.Card.AvatarURL
	l.send(a.peer, protocol.EventAgentState, map[string]any{
		"agentId":      a.info.ID,
		"orgId":        l.id,
		"status":       a.status,
		"viewers":      len(a.viewers),
		"poolVisitors": len(l.visitors),
		"ringing":      ringing,
		"activeCall":   active,
		"settings":     l.settingsPayload(),
		"profile": map[string]any{
			"displayName": a.info.Card.DisplayName,
			"avatarUrl":   avatar,
			"videosReady": a.info.VideosReady,
		},
	})
	a.statsSentAt = l.clock.Now()
}

// statsChanged sends stats:update now, or schedules it so that an agent
// gets at most one a second.
func (l *orgLoop) statsChanged(a *agent) {
	if a.peer == nil || a.statsTimer != nil {
		return
	}
	wait := time.Second - l.clock.Now().Sub(a.statsSentAt)
	if wait <= 0 {
		l.sendStats(a)
		return
	}
	a.statsTimer = l.hub.after(l, wait, statsDue{agent: a})
}

func (l *orgLoop) sendStats(a *agent) {
	if a.peer == nil {
		return
	}
	a.statsSentAt = l.clock.Now()
	l.send(a.peer, protocol.EventStatsUpdate, map[string]any{
		"viewers":      len(a.viewers),
		"poolVisitors": len(l.visitors),
	})
}

// poolVisitorsChanged tells live agents that the number of visitors on
// their pools' pages changed. Every agent is in the catch-all pool, which
// receives every visitor.
func (l *orgLoop) poolVisitorsChanged() {
	for _, a := range l.agents {
		if a.peer != nil && a.status != StatusAway {
			l.statsChanged(a)
		}
	}
}
