package calls

import (
	"context"

	"greeter/internal/ids"
	"greeter/internal/protocol"
)

// logoutAgent takes a signed-out agent offline at once (SPEC §6.2).
type logoutAgent struct {
	agent ids.AgentID
	done  chan struct{}
}

func (logoutAgent) isCommand() {}

// LogoutAgent applies a sign-out to live state: the agent is offline at
// once, without the disconnect grace. Its ring is withdrawn and rung
// elsewhere, a call of it ends as the agent's own end, its viewers move on
// with agent_offline, and its connection closes with 4100, since the session
// it was opened with is gone. It returns when the loop has done all that.
func (h *Hub) LogoutAgent(ctx context.Context, org ids.OrgID, agent ids.AgentID) error {
	if h.running(org) == nil {
		return nil
	}
	done := make(chan struct{})
	if err := h.Submit(ctx, org, logoutAgent{agent: agent, done: done}); err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *orgLoop) logoutAgent(c logoutAgent) {
	defer close(c.done)
	a := l.agents[c.agent]
	if a == nil {
		return
	}
	peer := a.peer
	delete(l.agents, a.info.ID)
	delete(l.byPeer, peer)
	l.endSession(a, SessionLogout)

	req := l.withdrawRing(a, "agent_offline")
	if a.call != nil {
		l.endCall(a.call, causeAgentEnded)
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
		peer.Close(protocol.CloseUnauthorized, "signed_out")
	}
	l.log.Info("agent signed out", "agent_id", a.info.ID)
}
