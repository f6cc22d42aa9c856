package calls

import (
	"time"

	"greeter/internal/ids"
	"greeter/internal/protocol"
)

// Presence timings of SPEC §6.3.
const (
	disconnectGrace = 10 * time.Second
	staleAfter      = 120 * time.Second
	staleEvery      = 15 * time.Second
)

func (l *orgLoop) agentConnect(c AgentConnect) {
	a := l.agents[c.Agent.ID]
	// The profile as the connection loaded it is as fresh as the mirror's;
	// later admin changes reach it through reconfigure.
	info := c.Agent
	switch {
	case a != nil && a.peer != nil:
		l.replaceConnection(a, c.Peer, info)
		return
	case a != nil:
		l.resumeFromGrace(a, c.Peer, info)
		return
	}

	a = &agent{viewers: make(map[*visitor]struct{}), info: info, peer: c.Peer,
		lastHeartbeat: l.clock.Now()}
	l.startSession(a)
	l.agents[info.ID] = a
	l.byPeer[c.Peer] = a
	first := !l.seen[info.ID]
	l.seen[info.ID] = true
	l.log.Debug("agent connected", "agent_id", info.ID)

	if first && l.restoresLive(a) {
		l.setStatus(a, StatusIdle, "restart_recovery")
		l.log.Info("agent live again after a restart", "agent_id", info.ID)
		l.sendState(a)
		l.sweep(a)
		return
	}
	l.sendState(a)
}

// restoresLive reports whether a first connection after a restart brings the
// agent back live: its last choice was live, it arrives within the restart
// window, and it passes the going-live checks (SPEC §6.3).
func (l *orgLoop) restoresLive(a *agent) bool {
	ready := l.hub.readySince()
	return a.info.PresenceIntent == IntentLive && !ready.IsZero() &&
		l.clock.Now().Sub(ready) <= restartWindow && l.goLiveError(a) == nil
}

// replaceConnection hands the agent to a second connection at once; the old
// one is closed with 4103 (SPEC §6.3).
func (l *orgLoop) replaceConnection(a *agent, p Peer, info AgentInfo) {
	old := a.peer
	delete(l.byPeer, old)
	a.peer = p
	a.info = info
	l.byPeer[p] = a
	old.Close(protocol.CloseSessionReplaced, "session_replaced")
	if a.call != nil && a.call.agentGone == nil {
		// The old tab held the call's media: the call waits for the agent,
		// and the new tab resumes it with the token (SPEC §9).
		l.partyLost(a.call, partyAgent)
	}
	l.sendState(a)
	if a.ring != nil {
		l.sendIncoming(a.ring)
	}
}

// resumeFromGrace takes back an agent whose connection came back within the
// disconnect grace: status and viewers are as they were, and it is routable
// again.
func (l *orgLoop) resumeFromGrace(a *agent, p Peer, info AgentInfo) {
	stop(a.graceTimer)
	a.graceTimer = nil
	a.graceGen++
	a.peer = p
	a.info = info
	a.lastHeartbeat = l.clock.Now()
	l.byPeer[p] = a
	if a.status == StatusInCall && a.call == nil {
		l.setStatus(a, liveStatus(a), "reconnected") // in_call is never kept without a call
	}
	l.refreshStatus(a)
	l.log.Debug("agent reconnected within the grace", "agent_id", a.info.ID)
	l.sendState(a)
	l.sweep(a)
}

// agentLeave handles a lost agent connection. The agent keeps its status and
// viewers for the disconnect grace but is not routable; a ring in progress
// is withdrawn at once, and its call turns reconnecting, waiting for it.
func (l *orgLoop) agentLeave(c AgentLeave) {
	a := l.byPeer[c.Peer]
	if a == nil || a.peer != c.Peer {
		return
	}
	delete(l.byPeer, c.Peer)
	a.peer = nil
	stop(a.statsTimer)
	a.statsTimer = nil

	req := l.withdrawRing(a, "agent_offline")
	if a.call != nil {
		l.partyLost(a.call, partyAgent)
	}
	if req != nil {
		l.routeRequest(req)
	}
	a.graceGen++
	a.graceTimer = l.hub.after(l, disconnectGrace, graceExpired{agent: a, gen: a.graceGen})
	l.log.Debug("agent connection lost; grace started", "agent_id", a.info.ID)
}

// graceExpired makes an agent that did not come back offline: its viewers
// move on with agent_offline. An agent whose call waits for it stays, held
// by the call, until it resumes or the call's own deadline passes.
func (l *orgLoop) graceExpired(c graceExpired) {
	a := c.agent
	if a.graceGen != c.gen || a.peer != nil || l.agents[a.info.ID] != a {
		return
	}
	a.graceTimer = nil
	if a.call != nil {
		l.reassignViewers(a, "agent_offline", a.call.visitor)
		return
	}
	l.dropAgent(a)
}

// dropAgent takes an agent whose connection is gone for good out of live
// state.
func (l *orgLoop) dropAgent(a *agent) {
	if l.agents[a.info.ID] != a {
		return
	}
	delete(l.agents, a.info.ID)
	l.endSession(a, SessionDisconnect)
	l.reassignViewers(a, "agent_offline", nil)
	l.log.Debug("agent offline", "agent_id", a.info.ID)
}

// goLiveError is why the agent may not go live, or nil (SPEC §6.2).
func (l *orgLoop) goLiveError(a *agent) *protocol.Error {
	switch {
	case a.call != nil:
		return protocol.Errorf(protocol.CodeInvalidState, "You are in a call.")
	case l.cfg.Paused:
		return protocol.Errorf(protocol.CodeOrgPaused, "Your organization is paused.")
	case !a.info.Active:
		return protocol.Errorf(protocol.CodeAgentInactive, "Your agent profile is not active.")
	case !a.info.VideosReady:
		return protocol.Errorf(protocol.CodeVideosMissing,
			"Add your intro and loop videos before going live.")
	}
	return nil
}

func (l *orgLoop) agentBack(c AgentBack) {
	a := l.byPeer[c.Peer]
	if a == nil {
		return
	}
	if perr := l.goLiveError(a); perr != nil {
		l.reply(c.Peer, c.Ack, protocol.EventAgentBack, nil, perr)
		return
	}
	if a.live() {
		l.reply(c.Peer, c.Ack, protocol.EventAgentBack, map[string]any{"status": a.status}, nil)
		return
	}

	l.setStatus(a, liveStatus(a), "agent_back")
	a.lastHeartbeat = l.clock.Now()
	l.saveIntent(a, IntentLive)
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
		reason := "manual"
		if c.Idle {
			reason = "idle"
		}
		l.saveIntent(a, IntentAway)
		l.goAway(a, reason)
	}
	l.reply(c.Peer, c.Ack, protocol.EventAgentAway, map[string]any{"status": a.status}, nil)
}

// goAway takes a live agent out of routing: its ring is withdrawn, its
// viewers move on, and the withdrawn request is rung elsewhere. reason is
// the status change's.
func (l *orgLoop) goAway(a *agent, reason string) {
	l.setStatus(a, StatusAway, reason)
	req := l.withdrawRing(a, "agent_away")
	l.reassignViewers(a, "agent_away", nil)
	if req != nil {
		l.routeRequest(req)
	}
	l.sendState(a)
}

// markAway sets a live agent away on the server's initiative and tells it
// why with agent:marked_away. change is the reason its status change
// records, reason the one agent:marked_away names.
func (l *orgLoop) markAway(a *agent, change, reason, message string) {
	l.send(a.peer, protocol.EventAgentMarkedAway, map[string]any{
		"reason": reason, "message": message,
	})
	l.goAway(a, change)
}

func (l *orgLoop) scheduleStaleCheck() {
	l.staleTimer = l.hub.after(l, staleEvery, staleCheck{})
}

// staleCheck sets away the live agents whose workbench has not sent a
// heartbeat for staleAfter, broadcasting or not. An agent in a call is never
// stale.
func (l *orgLoop) staleCheck() {
	now := l.clock.Now()
	for _, a := range l.agents {
		if a.peer != nil && a.live() && a.call == nil && now.Sub(a.lastHeartbeat) > staleAfter {
			l.log.Info("agent stale; set away", "agent_id", a.info.ID)
			l.markAway(a, "stale", "idle",
				"You were set to Away because your workbench stopped responding.")
		}
	}
	l.scheduleStaleCheck()
}

// refreshStatus switches a live agent between idle and broadcasting as its
// viewer count changes, and announces the change.
func (l *orgLoop) refreshStatus(a *agent) {
	if !a.live() {
		return
	}
	want, reason := StatusIdle, "last_viewer"
	if len(a.viewers) > 0 {
		want, reason = StatusBroadcasting, "first_viewer"
	}
	if a.status != want {
		l.setStatus(a, want, reason)
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
		active = map[string]any{"callId": c.id, "state": c.state()}
	}
	l.send(a.peer, protocol.EventAgentState, map[string]any{
		"agentId":      a.info.ID,
		"orgId":        l.id,
		"status":       a.status,
		"viewers":      len(a.viewers),
		"poolVisitors": l.poolVisitors(a),
		"ringing":      ringing,
		"activeCall":   active,
		"settings":     l.settingsPayload(),
		"profile": map[string]any{
			"displayName": a.info.Card.DisplayName,
			"avatarUrl":   a.info.Card.AvatarURL,
			"videosReady": a.info.VideosReady,
			"pools":       len(l.cfg.poolsServedBy(a.info.ID)),
		},
	})
	a.statsSentAt = l.clock.Now()
}

// poolVisitors counts the connected visitors on pages routed to any pool the
// agent is a member of.
func (l *orgLoop) poolVisitors(a *agent) int {
	n := 0
	for id, p := range l.cfg.Pools {
		if _, ok := p.Members[a.info.ID]; ok {
			n += l.onPool[id]
		}
	}
	return n
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
		"poolVisitors": l.poolVisitors(a),
	})
}

// countVisitor changes the number of visitors on pool's pages and tells the
// pool's connected agents.
func (l *orgLoop) countVisitor(pool ids.PoolID, delta int) {
	l.onPool[pool] += delta
	p := l.cfg.Pools[pool]
	if p == nil {
		return
	}
	for id := range p.Members {
		if a := l.agents[id]; a != nil && a.peer != nil {
			l.statsChanged(a)
		}
	}
}
