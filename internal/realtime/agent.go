package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"greeter/internal/auth"
	"greeter/internal/calls"
	"greeter/internal/ids"
	"greeter/internal/protocol"
	"greeter/internal/store"
)

var jsonMarshal = json.Marshal

func (s *Server) serveAgent(w http.ResponseWriter, r *http.Request) {
	if upgradeRequired(w, r) {
		return
	}
	if !sameOrLoopbackOrigin(r.Header.Get("Origin"), s.origin) {
		writeJSON(w, http.StatusForbidden, map[string]string{
			"error": "Origin not allowed", "code": "FORBIDDEN",
		})
		return
	}
	ctx := r.Context()
	ws, err := accept(w, r, protocol.MaxAgentFrame)
	if err != nil {
		return
	}

	user, err := s.opts.Sessions.Authenticate(ctx, auth.TokenFromRequest(r))
	if err != nil {
		refuse(ws, protocol.CloseUnauthorized, "unauthorized")
		return
	}
	profile, err := s.opts.Store.AgentProfileByUserID(ctx, user.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		refuse(ws, protocol.CloseNotAnAgent, "not_an_agent")
		return
	case err != nil:
		s.opts.Logger.Error("realtime: unable to load agent profile", "err", err)
		refuse(ws, protocol.CloseServerRestarting, "try again")
		return
	case !profile.Active:
		refuse(ws, protocol.CloseAgentRemoved, "agent_removed")
		return
	}

	log := s.opts.Logger.With("org_id", profile.OrgID, "agent_id", profile.ID)
	c := newConn(ws, log, s.limits.agentFrames)
	info := calls.AgentInfo{
		ID:             profile.ID,
		UserID:         user.ID,
		Card:           AgentCard(s.origin, profile),
		MaxViewers:     profile.MaxViewers,
		VideosReady:    profile.IntroVideo != "" && profile.LoopVideo != "",
		Active:         profile.Active,
		PresenceIntent: profile.PresenceIntent,
	}
	// The loop's mirror may predate this agent (a new invite, a profile
	// added back): reload it so the agent's pools are known.
	if err := s.opts.Hub.Reconfigure(ctx, profile.OrgID); err != nil {
		log.Warn("realtime: unable to reload routing for a connecting agent", "err", err)
	}
	if err := s.opts.Hub.Submit(ctx, profile.OrgID, calls.AgentConnect{Peer: c, Agent: info}); err != nil {
		log.Error("realtime: unable to register agent", "err", err)
		c.Close(protocol.CloseServerRestarting, "try again")
		return
	}
	s.readLoop(ctx, c, func(f protocol.Frame) { s.agentFrame(ctx, c, profile.OrgID, f) })

	leaveCtx := context.WithoutCancel(ctx)
	if err := s.opts.Hub.Submit(leaveCtx, profile.OrgID, calls.AgentLeave{Peer: c}); err != nil {
		log.Debug("realtime: unable to report agent leaving", "err", err)
	}
}

func (s *Server) agentFrame(ctx context.Context, c *conn, org ids.OrgID, f protocol.Frame) {
	var cmd calls.Command
	var perr *protocol.Error
	switch f.Event {
	case protocol.EventAgentBack:
		cmd = calls.AgentBack{Peer: c, Ack: f.Ack}
	case protocol.EventAgentAway:
		var d struct {
			Reason *string `json:"reason"`
		}
		perr = protocol.DecodeData(f.Data, &d)
		if perr == nil && d.Reason != nil && *d.Reason != "manual" && *d.Reason != "idle" {
			perr = protocol.Errorf(protocol.CodeInvalidPayload, `reason must be "manual" or "idle".`)
		}
		if perr == nil {
			cmd = calls.AgentAway{Peer: c, Ack: f.Ack, Idle: d.Reason != nil && *d.Reason == "idle"}
		}
	case protocol.EventHeartbeat:
		cmd = calls.Heartbeat{Peer: c}
		if f.Ack > 0 {
			c.Reply(f.Ack, protocol.EncodeAck(f.Ack, struct{}{}, nil))
		}
	case protocol.EventCallAccept:
		var id ids.RequestID
		if id, perr = decodeRequestID(f); perr == nil {
			cmd = calls.CallAccept{Peer: c, Ack: f.Ack, RequestID: id}
		}
	case protocol.EventCallReject:
		var id ids.RequestID
		if id, perr = decodeRequestID(f); perr == nil {
			cmd = calls.CallReject{Peer: c, Ack: f.Ack, RequestID: id}
		}
	case protocol.EventCallEnd:
		var id ids.CallID
		if id, perr = decodeCallID(f); perr == nil {
			cmd = calls.CallEnd{Peer: c, Ack: f.Ack, CallID: id}
		}
	case protocol.EventSignal:
		cmd, perr = decodeSignal(c, f)
	case protocol.EventCallReconnect:
		var token string
		if token, perr = decodeToken(f); perr == nil {
			if !calls.ValidToken(token) {
				reconnectNotFound(c, f)
				return
			}
			cmd = calls.AgentReconnect{Peer: c, Ack: f.Ack, Token: token}
		}
	default:
		perr = protocol.Errorf(protocol.CodeUnknownEvent, "Unknown event "+quote(f.Event)+".")
	}
	if perr != nil {
		s.invalid(c, f, perr)
		return
	}
	s.submit(ctx, c, f, org, cmd)
}

// decodeToken reads the reconnectToken of an agent's call:reconnect.
func decodeToken(f protocol.Frame) (string, *protocol.Error) {
	var d struct {
		ReconnectToken *string `json:"reconnectToken"`
	}
	if perr := protocol.DecodeData(f.Data, &d); perr != nil {
		return "", perr
	}
	if d.ReconnectToken == nil {
		return "", protocol.Errorf(protocol.CodeInvalidPayload, "reconnectToken is required.")
	}
	return *d.ReconnectToken, nil
}

func decodeRequestID(f protocol.Frame) (ids.RequestID, *protocol.Error) {
	var d struct {
		RequestID *string `json:"requestId"`
		Reason    *string `json:"reason"`
	}
	if perr := protocol.DecodeData(f.Data, &d); perr != nil {
		return "", perr
	}
	if d.RequestID == nil || *d.RequestID == "" {
		return "", protocol.Errorf(protocol.CodeInvalidPayload, "requestId is required.")
	}
	if d.Reason != nil && len(*d.Reason) > 100 {
		return "", protocol.Errorf(protocol.CodeInvalidPayload,
			"reason must be at most 100 characters.")
	}
	return ids.RequestID(*d.RequestID), nil
}
