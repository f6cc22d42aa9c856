package calls

import (
	"maps"
	"slices"

	"greeter/internal/ids"
	"greeter/internal/protocol"
	"greeter/internal/routing"
)

func (l *orgLoop) visitorJoin(c VisitorJoin) {
	if v := l.visitors[c.Peer]; v != nil {
		// A repeated join (SPA navigation) only updates the page.
		v.pageURL = c.PageURL
		l.reply(c.Peer, c.Ack, protocol.EventVisitorJoin, map[string]any{"visitorId": v.id}, nil)
		return
	}

	v := &visitor{
		peer:        c.Peer,
		id:          c.Visitor,
		site:        c.Site,
		pageURL:     c.PageURL,
		settings:    c.Settings,
		connectedAt: c.ConnectedAt,
		seq:         l.next(),
	}
	l.visitors[c.Peer] = v
	l.reply(c.Peer, c.Ack, protocol.EventVisitorJoin, map[string]any{"visitorId": v.id}, nil)

	l.greetOrWait(v)
	l.poolVisitorsChanged()
}

func (l *orgLoop) visitorLeave(c VisitorLeave) {
	v := l.visitors[c.Peer]
	if v == nil {
		return
	}
	delete(l.visitors, c.Peer)
	v.peer = nil

	if v.req != nil {
		l.endRequest(v.req, RecordAbandoned, "visitor_left", "visitor_left")
	}
	if v.call != nil {
		l.endCall(v.call, causeVisitorLost)
	}
	if a := v.agent; a != nil {
		l.detach(v)
		l.sweep(a)
	}
	l.poolVisitorsChanged()
}

// candidates lists the live agents that routing may choose from.
func (l *orgLoop) candidates(exclude *agent) []routing.Candidate {
	out := make([]routing.Candidate, 0, len(l.agents))
	for _, a := range l.agents {
		if !a.live() || a == exclude {
			continue
		}
		out = append(out, routing.Candidate{
			ID:           a.info.ID,
			Tier:         a.info.Tier,
			Viewers:      len(a.viewers),
			MaxViewers:   a.info.MaxViewers,
			Ringing:      a.ring != nil,
			LastAssigned: a.lastAssigned,
		})
	}
	return out
}

// pickViewer chooses the agent whose greeting a visitor will watch.
func (l *orgLoop) pickViewer(exclude *agent) *agent {
	id, ok := routing.Pick(l.candidates(exclude), routing.Viewer, nil, "")
	if !ok {
		return nil
	}
	return l.agents[id]
}

// attach makes v a viewer of a.
func (l *orgLoop) attach(v *visitor, a *agent) {
	v.agent, v.shown = a, a
	a.viewers[v] = struct{}{}
	a.lastAssigned = l.clock.Now()
	l.refreshStatus(a)
	l.statsChanged(a)
}

// detach removes v from its agent's viewers. The caller runs the sweep.
func (l *orgLoop) detach(v *visitor) {
	a := v.agent
	if a == nil {
		return
	}
	delete(a.viewers, v)
	v.agent = nil
	l.refreshStatus(a)
	l.statsChanged(a)
}

// moveVisitor makes a the visitor's agent and tells the visitor, naming the
// agent it showed before.
func (l *orgLoop) moveVisitor(v *visitor, a *agent, reason string) {
	prev, shown := v.agent, v.shown
	if prev == a {
		return
	}
	if prev != nil {
		l.detach(v)
	}
	l.attach(v, a)
	if shown == nil || shown == a {
		l.sendAssigned(v)
	} else {
		l.sendReassigned(v, shown, reason)
	}
	if prev != nil {
		l.sweep(prev)
	}
}

// greetOrWait gives a visitor without an agent the best viewer agent, or
// puts it in the waiting set when nobody can take it.
func (l *orgLoop) greetOrWait(v *visitor) {
	if a := l.pickViewer(nil); a != nil {
		l.attach(v, a)
		l.sendAssigned(v)
		return
	}
	l.sendUnavailable(v, "no_agents", nil)
}

// sendUnavailable tells a visitor that nobody can greet it; it joins the
// waiting set.
func (l *orgLoop) sendUnavailable(v *visitor, reason string, prev *agent) {
	v.shown = nil
	l.enterWaiting(v)
	data := map[string]any{"reason": reason}
	if prev != nil {
		data["previousAgentName"] = prev.info.Card.DisplayName
	}
	l.send(v.peer, protocol.EventAgentUnavail, data)
}

func (l *orgLoop) sendAssigned(v *visitor) {
	l.send(v.peer, protocol.EventAgentAssigned, map[string]any{
		"visitorId":          v.id,
		"agent":              v.agent.info.Card,
		"settings":           v.settings,
		"visitorConnectedAt": protocol.Time(v.connectedAt),
	})
}

func (l *orgLoop) sendReassigned(v *visitor, prev *agent, reason string) {
	l.send(v.peer, protocol.EventAgentReassigned, map[string]any{
		"previousAgentId":   prev.info.ID,
		"previousAgentName": prev.info.Card.DisplayName,
		"agent":             v.agent.info.Card,
		"reason":            reason,
		"settings":          v.settings,
	})
}

// reassignViewers moves every viewer of a departing agent (but keep) to
// another agent, or to the waiting set, within this one step (SPEC §7.5).
// Viewers with a pending request or a call are only detached: their request
// decides where they go.
func (l *orgLoop) reassignViewers(a *agent, reason string, keep *visitor) {
	viewers := byAge(slices.Collect(maps.Keys(a.viewers)))
	for _, v := range viewers {
		if v == keep {
			continue
		}
		l.detach(v)
		if v.req != nil || v.call != nil {
			continue
		}
		if b := l.pickViewer(a); b != nil {
			l.attach(v, b)
			l.sendReassigned(v, a, reason)
			continue
		}
		l.sendUnavailable(v, reason, a)
	}
}

// sweep offers capacity that may have appeared at a to waiting requests
// first, then to waiting visitors, oldest first (SPEC §7.4).
func (l *orgLoop) sweep(a *agent) {
	if !a.live() || l.stopping {
		return
	}
	if a.ring == nil {
		if req := l.oldestWaitingRequest(a.info.ID); req != nil {
			l.startRing(req, a)
		}
	}
	if !a.live() {
		return
	}
	for len(a.viewers) < a.info.MaxViewers {
		v := l.oldestWaiting()
		if v == nil {
			return
		}
		l.attach(v, a)
		l.sendAssigned(v)
	}
}

func (l *orgLoop) oldestWaitingRequest(agentID ids.AgentID) *request {
	var oldest *request
	for _, r := range l.requests {
		if r.ring != nil || r.exclude[agentID] {
			continue
		}
		if oldest == nil || r.seq < oldest.seq {
			oldest = r
		}
	}
	return oldest
}

func (l *orgLoop) visitorCard(v *visitor) protocol.VisitorCard {
	return protocol.VisitorCard{
		VisitorID:   v.id,
		PageURL:     v.pageURL,
		ConnectedAt: protocol.Time(v.connectedAt),
		PoolID:      l.cfg.CatchAll.ID,
		PoolName:    l.cfg.CatchAll.Name,
	}
}
