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
		l.reply(c.Peer, c.Ack, protocol.EventVisitorJoin, map[string]any{"visitorId": v.id}, nil)
		l.pageChanged(v, c.PageURL)
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
		pool:        l.cfg.resolve(c.PageURL),
	}
	l.visitors[c.Peer] = v
	l.reply(c.Peer, c.Ack, protocol.EventVisitorJoin, map[string]any{"visitorId": v.id}, nil)

	l.greetOrWait(v)
	l.schedulePageview(v, c.TriggerDelay)
	l.countVisitor(v.pool, 1)
}

// pageChanged handles a repeated join (SPA navigation): the page is updated
// and the pool re-resolved. A viewer whose agent does not serve the new pool
// is re-routed with page_changed; during a request or a call only the URL
// changes (SPEC §7.6).
func (l *orgLoop) pageChanged(v *visitor, pageURL string) {
	v.pageURL = pageURL
	if v.req != nil || v.call != nil {
		return
	}
	l.moveToPool(v, l.cfg.resolve(pageURL), "page_changed")
}

// settle checks the assignment of a visitor whose request or call just
// ended: its page may have moved to another pool meanwhile, or its agent
// left the pool; either way it is routed again.
func (l *orgLoop) settle(v *visitor) {
	if v.peer == nil || v.req != nil || v.call != nil {
		return
	}
	pool := l.cfg.resolve(v.pageURL)
	reason := "page_changed"
	if pool == v.pool {
		reason = "agent_offline"
	}
	l.moveToPool(v, pool, reason)
}

// moveToPool puts v in pool and, when its agent does not serve that pool,
// routes it again, telling it reason.
func (l *orgLoop) moveToPool(v *visitor, pool ids.PoolID, reason string) {
	old := v.pool
	l.setPool(v, pool)
	a := v.agent
	if a != nil && l.cfg.serves(pool, a.info.ID) {
		return
	}
	if a != nil {
		l.detach(v)
		l.rehome(v, a, reason)
		l.sweep(a)
		return
	}
	if old != pool && v.waits() {
		// A waiting visitor now waits for another pool, which may have room.
		l.greetOrWait(v)
	}
}

// setPool changes the pool a visitor's page routes to, keeping the counts
// of visitors per pool.
func (l *orgLoop) setPool(v *visitor, pool ids.PoolID) {
	if v.pool == pool {
		return
	}
	l.countVisitor(v.pool, -1)
	v.pool = pool
	l.countVisitor(pool, 1)
}

func (l *orgLoop) visitorLeave(c VisitorLeave) {
	v := l.visitors[c.Peer]
	if v == nil {
		return
	}
	delete(l.visitors, c.Peer)
	v.peer = nil
	stop(v.pageview)

	if v.req != nil {
		l.endRequest(v.req, RecordAbandoned, "visitor_left", "visitor_left")
	}
	if a := v.agent; a != nil {
		l.detach(v)
		l.sweep(a)
	}
	l.countVisitor(v.pool, -1)
	if cl := v.call; cl != nil {
		// The visitor stays the call's, out of every count, until it
		// resumes or its rejoin window closes (SPEC §9).
		l.partyLost(cl, partyVisitor)
		l.sendState(cl.agent)
	}
}

// pick chooses an agent for a visitor of pool (SPEC §7.2): among the pool's
// members first, then, when none qualifies and the pool overflows, among the
// catch-all pool's. skip, when not nil, is never chosen.
func (l *orgLoop) pick(pool ids.PoolID, purpose routing.Purpose,
	exclude func(ids.AgentID) bool, prefer ids.AgentID, skip *agent) *agent {

	p := l.cfg.pool(pool)
	if p == nil {
		return nil
	}
	if a := l.pickIn(p, purpose, exclude, prefer, skip); a != nil {
		return a
	}
	if p.Overflow && p.ID != l.cfg.CatchAll {
		return l.pickIn(l.cfg.Pools[l.cfg.CatchAll], purpose, exclude, prefer, skip)
	}
	return nil
}

func (l *orgLoop) pickIn(p *PoolConfig, purpose routing.Purpose,
	exclude func(ids.AgentID) bool, prefer ids.AgentID, skip *agent) *agent {

	if p == nil {
		return nil
	}
	cands := make([]routing.Candidate, 0, len(p.Members))
	for id, m := range p.Members {
		a := l.agents[id]
		if a == nil || a == skip || !a.routable() {
			continue
		}
		cands = append(cands, routing.Candidate{
			ID:           id,
			Tier:         m.Tier,
			Viewers:      len(a.viewers),
			MaxViewers:   a.info.MaxViewers,
			Ringing:      a.ring != nil,
			LastAssigned: a.lastAssigned,
		})
	}
	id, ok := routing.Pick(cands, purpose, exclude, prefer)
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

// greetOrWait gives a visitor without an agent the best viewer agent of its
// pool, or puts it in the waiting set when nobody can take it.
func (l *orgLoop) greetOrWait(v *visitor) {
	if a := l.pickViewer(v, nil); a != nil {
		l.attach(v, a)
		l.sendAssigned(v)
		return
	}
	l.sendUnavailable(v, "no_agents", nil)
}

func (l *orgLoop) pickViewer(v *visitor, skip *agent) *agent {
	if l.stopping {
		return nil
	}
	return l.pick(v.pool, routing.Viewer, nil, "", skip)
}

// rehome finds a new agent for a detached viewer whose agent prev can no
// longer greet it, telling it reason (SPEC §7.5).
func (l *orgLoop) rehome(v *visitor, prev *agent, reason string) {
	if b := l.pickViewer(v, prev); b != nil {
		l.attach(v, b)
		l.sendReassigned(v, prev, reason)
		return
	}
	if reason == "page_changed" {
		reason = "no_agents" // agent:unavailable has no page_changed
	}
	l.sendUnavailable(v, reason, prev)
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

// card is the agent as a visitor of pool sees it: with the pool's own
// greeting when the pool sets one (SPEC §5).
func (l *orgLoop) card(a *agent, pool ids.PoolID) protocol.AgentCard {
	c := a.info.Card
	if p := l.cfg.Pools[pool]; p != nil {
		if m, ok := p.Members[a.info.ID]; ok && m.Videos != nil {
			c.Videos = *m.Videos
		}
	}
	return c
}

func (l *orgLoop) sendAssigned(v *visitor) {
	l.send(v.peer, protocol.EventAgentAssigned, map[string]any{
		"visitorId":          v.id,
		"agent":              l.card(v.agent, v.pool),
		"settings":           v.settings,
		"visitorConnectedAt": protocol.Time(v.connectedAt),
	})
}

func (l *orgLoop) sendReassigned(v *visitor, prev *agent, reason string) {
	l.send(v.peer, protocol.EventAgentReassigned, map[string]any{
		"previousAgentId":   prev.info.ID,
		"previousAgentName": prev.info.Card.DisplayName,
		"agent":             l.card(v.agent, v.pool),
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
		l.rehome(v, a, reason)
	}
}

// sweep offers capacity that may have appeared at a to waiting requests
// first, then to waiting visitors, oldest first, of the pools a serves
// (SPEC §7.4).
func (l *orgLoop) sweep(a *agent) {
	if !a.routable() || l.stopping {
		return
	}
	if a.ring == nil {
		if req := l.oldestWaitingRequest(a.info.ID); req != nil {
			l.startRing(req, a)
		}
	}
	if !a.routable() || len(a.viewers) >= a.info.MaxViewers {
		return
	}
	pools := l.cfg.poolsServedBy(a.info.ID)
	for len(a.viewers) < a.info.MaxViewers {
		v := l.oldestWaiting(pools)
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
		if r.ring != nil || r.exclude[agentID] || !l.cfg.serves(r.pool, agentID) {
			continue
		}
		if oldest == nil || r.seq < oldest.seq {
			oldest = r
		}
	}
	return oldest
}

func (l *orgLoop) visitorCard(v *visitor, pool ids.PoolID) protocol.VisitorCard {
	card := protocol.VisitorCard{
		VisitorID:   v.id,
		PageURL:     v.pageURL,
		ConnectedAt: protocol.Time(v.connectedAt),
		PoolID:      pool,
	}
	if p := l.cfg.pool(pool); p != nil {
		card.PoolID, card.PoolName = p.ID, p.Name
	}
	return card
}
