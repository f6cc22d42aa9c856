// Package protocol defines Greeter's realtime wire format: frames, event
// names, error codes, close codes and the shared payload objects of SPEC §4-§5.
//
// Both the connection layer (internal/realtime) and the organization loops
// (internal/calls) speak it; neither has to know about the other.
package protocol

// Event names, as they appear in the "event" field of a frame.
const (
	EventAck   = "ack"
	EventError = "error"

	EventVisitorJoin     = "visitor:join"
	EventAgentAssigned   = "agent:assigned"
	EventAgentReassigned = "agent:reassigned"
	EventAgentUnavail    = "agent:unavailable"
	EventOrgPaused       = "org:paused"

	EventAgentState      = "agent:state"
	EventAgentBack       = "agent:back"
	EventAgentAway       = "agent:away"
	EventAgentMarkedAway = "agent:marked_away"
	EventHeartbeat       = "heartbeat"
	EventStatsUpdate     = "stats:update"

	EventCallRequest         = "call:request"
	EventCallIncoming        = "call:incoming"
	EventCallAccept          = "call:accept"
	EventCallAccepted        = "call:accepted"
	EventCallStarted         = "call:started"
	EventCallReject          = "call:reject"
	EventCallCancel          = "call:cancel"
	EventCallCancelled       = "call:cancelled"
	EventCallEnd             = "call:end"
	EventCallEnded           = "call:ended"
	EventCallReconnect       = "call:reconnect"
	EventCallReconnectFailed = "call:reconnect_failed"
	EventCallReconnecting    = "call:reconnecting"
	EventCallReconnected     = "call:reconnected"
	EventCallEndingSoon      = "call:ending_soon"

	EventSignal = "webrtc:signal"
)

// Error codes of SPEC §4.5.
const (
	CodeInvalidPayload   = "INVALID_PAYLOAD"
	CodeUnknownEvent     = "UNKNOWN_EVENT"
	CodePayloadTooLarge  = "PAYLOAD_TOO_LARGE"
	CodeRateLimited      = "RATE_LIMITED"
	CodeNotJoined        = "NOT_JOINED"
	CodeCallNotFound     = "CALL_NOT_FOUND"
	CodeAlreadyInCall    = "VISITOR_ALREADY_IN_CALL"
	CodeAgentUnavailable = "AGENT_UNAVAILABLE"
	CodeInvalidState     = "INVALID_STATE"
	CodeOrgPaused        = "ORG_PAUSED"
	CodeAgentInactive    = "AGENT_INACTIVE"
	CodeVideosMissing    = "VIDEOS_MISSING"
	CodeInternal         = "INTERNAL_ERROR"
)

// WebSocket close codes of SPEC §4.4, plus the standard ones Greeter uses.
const (
	CloseServerRestarting  = 4000
	CloseConnectionLost    = 4001
	CloseRateLimited       = 4008
	CloseUnauthorized      = 4100
	CloseAgentRemoved      = 4101
	CloseSiteUnavailable   = 4102
	CloseSessionReplaced   = 4103
	CloseOriginNotAllowed  = 4104
	CloseOrgPaused         = 4105
	CloseGeoBlocked        = 4106
	CloseProtocolViolation = 4107
	CloseNotAnAgent        = 4108
	CloseMessageTooBig     = 1009
)

// Size limits of SPEC §4.3.
const (
	MaxVisitorFrame = 1 << 20
	MaxAgentFrame   = 64 << 10
	MaxControlData  = 8 << 10
	MaxSignalData   = 64 << 10
	MaxURLLength    = 2048
)

// Error is a protocol error: a code from §4.5 and a human message.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// RetryAfterSeconds says when to try again; only RATE_LIMITED has it.
	RetryAfterSeconds int `json:"retryAfterSeconds,omitempty"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf builds an Error.
func Errorf(code, message string) *Error { return &Error{Code: code, Message: message} }

// RateLimited is the RATE_LIMITED error for an event refused by a rate
// limit, retryable after the given number of seconds (at least 1).
func RateLimited(retryAfterSeconds int) *Error {
	return &Error{Code: CodeRateLimited, Message: "Too many requests. Try again later.",
		RetryAfterSeconds: max(1, retryAfterSeconds)}
}

// Common errors whose message never changes.
var (
	ErrCallNotFound = Errorf(CodeCallNotFound, "That call or request was not found.")
	ErrNotJoined    = Errorf(CodeNotJoined, "Send visitor:join first.")
	ErrInternal     = Errorf(CodeInternal, "Something went wrong. Nothing was changed.")
)
