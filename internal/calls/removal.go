package calls

import (
	"context"

	"greeter/internal/ids"
	"greeter/internal/protocol"
)

// Who ended a call from outside it (SPEC §11).
const (
	EndedByAdmin = "admin"
	EndedByAPI   = "api"
)

func causeRemoved(endedBy string) endCause {
	return endCause{
		reason: "agent_removed", endedBy: endedBy,
		visitorReason: "agent_ended", visitorMsg: "Agent has ended the call",
		agentReason: "agent_removed", agentMsg: "Call ended due to agent removal",
	}
}

// removeAgent takes an agent out of live state for good after its profile
// was removed from the database (SPEC §11.1 step 2).
type removeAgent struct {
	agent   ids.AgentID
	endedBy string
	done    chan struct{}
}

// endAgentCall ends the agent's active call, if it has one (SPEC §11.2).
type endAgentCall struct {
	agent   ids.AgentID
	endedBy string
	done    chan bool
}

func (removeAgent) isCommand()  {}
func (endAgentCall) isCommand() {}

// RemoveAgent applies the live effects of removing agent from org: its ring
// is withdrawn and re-routed, its call ends for both parties, its viewers
// move on, and its connection closes with 4101 once call:ended is sent. It
// returns when the organization loop has done all of that.
func (h *Hub) RemoveAgent(ctx context.Context, org ids.OrgID, agent ids.AgentID,
	endedBy string) error {

	l := h.running(org)
	if l == nil {
		return nil // nothing of this organization is live
	}
	done := make(chan struct{})
	if err := h.Submit(ctx, org, removeAgent{agent: agent, endedBy: endedBy, done: done}); err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// EndAgentCall ends agent's active call, leaving the agent connected and
// live. It reports whether there was a call to end.
func (h *Hub) EndAgentCall(ctx context.Context, org ids.OrgID, agent ids.AgentID,
	endedBy string) (bool, error) {

	if h.running(org) == nil {
		return false, nil
	}
	done := make(chan bool, 1)
	if err := h.Submit(ctx, org, endAgentCall{agent: agent, endedBy: endedBy, done: done}); err != nil {
		return false, err
	}
	select {
	case ended := <-done:
		return ended, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// running returns org's loop if it has been started.
func (h *Hub) running(org ids.OrgID) *orgLoop {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.loops[org]
}

func (l *orgLoop) removeAgent(c removeAgent) {
	defer close(c.done)
	a := l.agents[c.agent]
	if a == nil {
		return
	}
	peer := a.peer
	delete(l.agents, a.info.ID)
	delete(l.byPeer, peer)
	l.endSession(a, SessionRemoved)
	a.info.Active = false

	req := l.withdrawRing(a, "agent_removed")
	if a.call != nil {
		l.endCall(a.call, causeRemoved(c.endedBy))
	}
	a.peer = nil
	l.reassignViewers(a, "agent_offline", nil)
	if req != nil {
		l.routeRequest(req)
	}
	stop(a.statsTimer)
	stop(a.graceTimer)
	a.graceGen++
	if peer != nil {
		// Close sends what is queued, call:ended included, before closing.
		peer.Close(protocol.CloseAgentRemoved, "agent_removed")
	}
	l.log.Info("agent removed", "agent_id", a.info.ID, "ended_by", c.endedBy)
}

func (l *orgLoop) endAgentCall(c endAgentCall) {
	a := l.agents[c.agent]
	if a == nil || a.call == nil {
		c.done <- false
		return
	}
	l.endCall(a.call, causeRemoved(c.endedBy))
	c.done <- true
}

// agentStatuses asks a loop for the presence of its connected agents.
type agentStatuses struct{ done chan map[ids.AgentID]string }

func (agentStatuses) isCommand() {}

// AgentStatuses returns the live status of every connected agent of org;
// an agent missing from the map is offline.
func (h *Hub) AgentStatuses(ctx context.Context, org ids.OrgID) (map[ids.AgentID]string, error) {
	if h.running(org) == nil {
		return map[ids.AgentID]string{}, nil
	}
	done := make(chan map[ids.AgentID]string, 1)
	if err := h.Submit(ctx, org, agentStatuses{done: done}); err != nil {
		return nil, err
	}
	select {
	case m := <-done:
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *orgLoop) agentStatuses(c agentStatuses) {
	m := make(map[ids.AgentID]string, len(l.agents))
	for id, a := range l.agents {
		m[id] = a.status
	}
	c.done <- m
}
