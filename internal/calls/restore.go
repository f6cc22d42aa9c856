package calls

import (
	"context"
	"time"

	"greeter/internal/ids"
)

// restoreCall reloads one call that a previous run left accepted.
type restoreCall struct {
	rec CallRecord
	at  time.Time
}

// callICE asks a loop for the IceConfig of the party a token belongs to.
type callICE struct {
	hash tokenHash
	done chan any // receives nil when the token is not a live one
}

func (restoreCall) isCommand() {}
func (callICE) isCommand()     {}

// Restore reloads the calls a previous run left accepted (their rows, as
// the journal last wrote them) into their organizations' loops, as
// reconnecting and waiting for both parties, with both rejoin windows
// counted from at, the moment the server becomes ready (SPEC §9). A call
// that cannot be reloaded (no tokens, or its agent is no longer active) is
// closed with reason server_restart. It returns once every loop has done so.
func (h *Hub) Restore(ctx context.Context, recs []CallRecord, at time.Time) error {
	orgs := map[ids.OrgID]bool{}
	for _, r := range recs {
		if err := h.Submit(ctx, r.OrgID, restoreCall{rec: r, at: at}); err != nil {
			return err
		}
		orgs[r.OrgID] = true
	}
	for org := range orgs {
		if err := h.Flush(ctx, org); err != nil {
			return err
		}
	}
	return nil
}

// CallICE returns the IceConfig for the party holding token, a reconnect
// token of an active call (SPEC §15, Media), and false for any other token.
func (h *Hub) CallICE(ctx context.Context, token string) (any, bool, error) {
	if !ValidToken(token) {
		return nil, false, nil
	}
	hash := hashToken(token)
	org, ok := h.tokenOrgs.Load(hash)
	if !ok {
		return nil, false, nil
	}
	done := make(chan any, 1)
	if err := h.Submit(ctx, org.(ids.OrgID), callICE{hash: hash, done: done}); err != nil {
		return nil, false, err
	}
	select {
	case cfg := <-done:
		return cfg, cfg != nil, nil
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

func (l *orgLoop) callICE(c callICE) {
	o, ok := l.tokens[c.hash]
	switch {
	case !ok:
		c.done <- nil
	case o.party == partyVisitor:
		c.done <- l.hub.opts.ICE(string(o.call.visitor.id))
	default:
		c.done <- l.hub.opts.ICE(string(o.call.agent.info.UserID))
	}
}

func (l *orgLoop) restoreCall(c restoreCall) {
	rec := c.rec
	vh, okVisitor := parseTokenHash(rec.VisitorTokenHash)
	ah, okAgent := parseTokenHash(rec.AgentTokenHash)
	info, known := l.cfg.Agents[rec.AgentID]
	if !okVisitor || !okAgent || !known || !info.Active || rec.StartedAt == nil ||
		rec.CallID == "" || l.agents[rec.AgentID] != nil || l.calls[rec.CallID] != nil {
		l.closeUnrestorable(rec, c.at)
		return
	}

	a := &agent{info: info, viewers: make(map[*visitor]struct{}), lastHeartbeat: l.clock.Now()}
	l.startSessionFor(a, "call_restored")
	l.agents[info.ID] = a
	l.seen[info.ID] = true
	v := &visitor{id: rec.VisitorID, site: rec.SiteID, pageURL: rec.PageURL,
		connectedAt: rec.CreatedAt, seq: l.next(), pool: l.cfg.resolve(rec.PageURL)}
	cl := &call{id: rec.CallID, req: rec.RequestID, agent: a, visitor: v, rec: rec,
		maxMinutes: l.cfg.MaxCallMinutes, visitorToken: vh, agentToken: ah}
	l.calls[cl.id] = cl
	a.call, v.call = cl, cl
	l.setStatus(a, StatusInCall, "call_restored")
	for h, party := range map[tokenHash]string{vh: partyVisitor, ah: partyAgent} {
		l.tokens[h] = tokenOwner{call: cl, party: party}
		l.hub.indexToken(h, l.id)
	}
	l.holdFor(cl, partyAgent, c.at, agentRejoinWindow)
	l.holdFor(cl, partyVisitor, c.at, visitorRejoinWindow)
	l.scheduleCallTimers(cl)
	l.log.Info("call reloaded after a restart; waiting for both parties", "call_id", cl.id,
		"agent_id", info.ID)
}

// closeUnrestorable completes the row of a call that cannot go on after a
// restart, as ended by the restart at at.
func (l *orgLoop) closeUnrestorable(rec CallRecord, at time.Time) {
	rec.Status = RecordCompleted
	rec.EndReason, rec.EndedBy = causeServerStopped.reason, causeServerStopped.endedBy
	rec.EndedAt = &at
	rec.VisitorTokenHash, rec.AgentTokenHash = "", ""
	if rec.StartedAt != nil {
		d := max(0, seconds(at.Sub(*rec.StartedAt)))
		rec.DurationSeconds = &d
	}
	l.save(rec)
	l.log.Info("call closed after a restart", "call_log_id", rec.ID,
		"reason", rec.EndReason)
}
