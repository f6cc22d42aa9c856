package calls

import (
	"encoding/json"
	"time"

	"greeter/internal/ids"
	"greeter/internal/protocol"
)

// Command is anything a loop processes. The exported ones come from
// connections, already decoded and validated; the unexported ones are timers.
type Command interface{ isCommand() }

// VisitorJoin registers a visitor connection, or updates its page on a
// repeated join.
type VisitorJoin struct {
	Peer        Peer
	Ack         int
	Visitor     ids.VisitorID
	Site        ids.SiteID
	PageURL     string
	Settings    any // effective widget settings, sent in agent:assigned
	ConnectedAt time.Time
	// TriggerDelay is the site's effective widget trigger delay: a page
	// load that lasts it is counted as a pageview (SPEC §10.3).
	TriggerDelay time.Duration
}

// VisitorLeave reports that a visitor connection is gone.
type VisitorLeave struct{ Peer Peer }

// CallRequest is a visitor's wish to talk.
type CallRequest struct {
	Peer            Peer
	Ack             int
	RecordingNotice bool
}

// CallCancel withdraws the visitor's pending request.
type CallCancel struct {
	Peer      Peer
	Ack       int
	RequestID ids.RequestID
	Timeout   bool // the widget gave up waiting
}

// CallEnd ends a call; either participant may send it.
type CallEnd struct {
	Peer   Peer
	Ack    int
	CallID ids.CallID
}

// Signal relays a WebRTC signal to the other participant of a call.
type Signal struct {
	Peer   Peer
	Ack    int
	CallID ids.CallID
	Signal json.RawMessage
}

// AgentInfo is an agent's profile as loaded from the database when it
// connects.
type AgentInfo struct {
	ID          ids.AgentID
	UserID      ids.UserID
	Card        protocol.AgentCard
	MaxViewers  int
	VideosReady bool
	Active      bool
	// PresenceIntent is IntentLive when the agent was last live by its own
	// choice; a restart restores it (SPEC §6.3).
	PresenceIntent string
}

// AgentConnect registers an agent connection (replacing an older one).
type AgentConnect struct {
	Peer  Peer
	Agent AgentInfo
}

// AgentLeave reports that an agent connection is gone.
type AgentLeave struct{ Peer Peer }

// AgentBack asks to go live.
type AgentBack struct {
	Peer Peer
	Ack  int
}

// AgentAway asks to stop taking visitors.
type AgentAway struct {
	Peer Peer
	Ack  int
	Idle bool // the workbench saw no activity, rather than a manual click
}

// Heartbeat says the agent's workbench is alive.
type Heartbeat struct{ Peer Peer }

// CallAccept answers the ring the agent is getting.
type CallAccept struct {
	Peer      Peer
	Ack       int
	RequestID ids.RequestID
}

// CallReject declines the ring the agent is getting.
type CallReject struct {
	Peer      Peer
	Ack       int
	RequestID ids.RequestID
}

// VisitorReconnect resumes a visitor's call on a new connection, as its
// first event instead of a join (SPEC §9).
type VisitorReconnect struct {
	Peer     Peer
	Ack      int
	Token    string // already checked with ValidToken
	Site     ids.SiteID
	PageURL  string
	Settings any // effective widget settings of the new connection
	// Result, when set, receives the outcome; it must have room for one.
	Result chan<- ReconnectResult
}

// ReconnectResult tells a visitor connection whether its resume worked and,
// if so, whose connection it now is.
type ReconnectResult struct {
	OK      bool
	Visitor ids.VisitorID
	Call    ids.CallID
}

// AgentReconnect resumes the call of the agent on its current connection.
type AgentReconnect struct {
	Peer  Peer
	Ack   int
	Token string // already checked with ValidToken
}

// Timers, submitted by the clock.
type (
	ringExpired    struct{ ring *ring }
	requestExpired struct{ req *request }
	callExpired    struct{ call *call }
	callEndingSoon struct{ call *call }
	rejoinExpired  struct {
		call  *call
		party string
		gone  *absence
	}
	statsDue     struct{ agent *agent }
	graceExpired struct {
		agent *agent
		gen   uint64
	}
	staleCheck  struct{}
	pageviewDue struct{ visitor *visitor }
	barrier     struct{ done chan struct{} }
)

func (VisitorJoin) isCommand()      {}
func (VisitorLeave) isCommand()     {}
func (CallRequest) isCommand()      {}
func (CallCancel) isCommand()       {}
func (CallEnd) isCommand()          {}
func (Signal) isCommand()           {}
func (AgentConnect) isCommand()     {}
func (AgentLeave) isCommand()       {}
func (AgentBack) isCommand()        {}
func (AgentAway) isCommand()        {}
func (Heartbeat) isCommand()        {}
func (CallAccept) isCommand()       {}
func (CallReject) isCommand()       {}
func (ringExpired) isCommand()      {}
func (requestExpired) isCommand()   {}
func (callExpired) isCommand()      {}
func (statsDue) isCommand()         {}
func (graceExpired) isCommand()     {}
func (staleCheck) isCommand()       {}
func (pageviewDue) isCommand()      {}
func (barrier) isCommand()          {}
func (VisitorReconnect) isCommand() {}
func (AgentReconnect) isCommand()   {}
func (callEndingSoon) isCommand()   {}
func (rejoinExpired) isCommand()    {}
