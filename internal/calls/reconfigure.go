package calls

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"greeter/internal/ids"
)

// reconfigure hands a freshly loaded configuration to a loop.
type reconfigure struct {
	cfg  OrgConfig
	done chan struct{}
}

func (reconfigure) isCommand() {}

// Reconfigure makes org's loop see the organization's configuration as the
// database now holds it: pools, rules, memberships, tiers, agent profiles
// (names, capacities, videos) and call settings (SPEC §7.6). Admin handlers
// call it after their change commits; it returns once the loop has applied
// it, so the next routing decision sees the change.
func (h *Hub) Reconfigure(ctx context.Context, org ids.OrgID) error {
	if h.running(org) == nil {
		return nil // the loop loads the configuration when it starts
	}
	cfg, err := h.opts.Directory.OrgConfig(ctx, org)
	if err != nil {
		return fmt.Errorf("calls: unable to reload organization %s: %w", org, err)
	}
	done := make(chan struct{})
	if err := h.Submit(ctx, org, reconfigure{cfg: cfg, done: done}); err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// reconfigure applies a new configuration. Assignments that are still valid
// stay; viewers whose agent no longer serves their pool are reassigned; a
// ring to an agent who left the request's pool is withdrawn; and every live
// agent is swept, since capacity may have appeared anywhere.
func (l *orgLoop) reconfigure(c reconfigure) {
	defer close(c.done)
	old := l.cfg
	l.cfg = c.cfg
	if l.cfg.Pools == nil {
		l.cfg.Pools = map[ids.PoolID]*PoolConfig{}
	}

	for _, a := range l.agents {
		if p, ok := l.cfg.Agents[a.info.ID]; ok {
			p.UserID = a.info.UserID
			a.info = p
		}
	}
	if l.cfg.Paused && !old.Paused {
		l.pause()
	}

	// Viewers first, oldest join first, so that moves are deterministic.
	for _, v := range byAge(slices.Collect(maps.Values(l.visitors))) {
		pool := l.cfg.resolve(v.pageURL)
		reason := "page_changed"
		if _, kept := l.cfg.Pools[v.pool]; !kept || pool == v.pool {
			reason = "agent_offline" // pool deleted, or the agent left it
		}
		if v.req != nil || v.call != nil {
			l.setPool(v, pool)
			continue
		}
		l.moveToPool(v, pool, reason)
	}

	for _, req := range byRequestAge(slices.Collect(maps.Values(l.requests))) {
		if _, kept := l.cfg.Pools[req.pool]; !kept {
			req.pool = l.cfg.CatchAll
		}
		if r := req.ring; r != nil && !l.cfg.serves(req.pool, r.agent.info.ID) {
			l.withdrawRing(r.agent, "agent_offline")
			l.routeRequest(req)
		}
	}

	settingsChanged := old.RNASeconds != l.cfg.RNASeconds ||
		old.MaxCallMinutes != l.cfg.MaxCallMinutes
	for _, a := range byAgentID(slices.Collect(maps.Values(l.agents))) {
		if a.peer == nil {
			continue
		}
		if settingsChanged || profileChanged(old, l.cfg, a.info.ID) {
			l.sendState(a)
		}
		l.statsChanged(a)
		l.sweep(a)
	}
}

// pause sets every live agent away when the organization is paused.
func (l *orgLoop) pause() {
	for _, a := range byAgentID(slices.Collect(maps.Values(l.agents))) {
		if a.peer != nil && a.live() {
			l.markAway(a, "org_paused", "org_paused", "Your organization is paused.")
		}
	}
}

func profileChanged(old, cur OrgConfig, id ids.AgentID) bool {
	a, b := old.Agents[id], cur.Agents[id]
	return a.Card.DisplayName != b.Card.DisplayName || a.VideosReady != b.VideosReady ||
		a.MaxViewers != b.MaxViewers || len(old.poolsServedBy(id)) != len(cur.poolsServedBy(id))
}

func byRequestAge(rs []*request) []*request {
	slices.SortFunc(rs, func(a, b *request) int { return cmp.Compare(a.seq, b.seq) })
	return rs
}

func byAgentID(as []*agent) []*agent {
	slices.SortFunc(as, func(a, b *agent) int { return cmp.Compare(a.info.ID, b.info.ID) })
	return as
}

// schedulePageview counts the visitor's page load once it has lasted the
// trigger delay (SPEC §10.3).
func (l *orgLoop) schedulePageview(v *visitor, delay time.Duration) {
	wait := max(0, v.connectedAt.Add(delay).Sub(l.clock.Now()))
	v.pageview = l.hub.after(l, wait, pageviewDue{visitor: v})
}

// pageviewDue records the pageview with the agent greeting the visitor now,
// or none: a missed opportunity. Visitors gone by then and paused
// organizations are not counted.
func (l *orgLoop) pageviewDue(v *visitor) {
	v.pageview = nil
	if v.peer == nil || l.cfg.Paused {
		return
	}
	pv := Pageview{
		ID:        ids.NewRow(),
		OrgID:     l.id,
		SiteID:    v.site,
		PoolID:    v.pool,
		VisitorID: v.id,
		PageURL:   v.pageURL,
		At:        l.clock.Now().UTC(),
	}
	if v.agent != nil {
		pv.AgentID = v.agent.info.ID
	}
	l.savePageview(pv)
}
