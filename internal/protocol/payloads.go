package protocol

import (
	"encoding/json"
	"time"

	"greeter/internal/ids"
)

// TimeFormat is how timestamps travel: RFC 3339, UTC, milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Time is a timestamp that marshals in TimeFormat.
type Time time.Time

// MarshalJSON writes the time in UTC with milliseconds.
func (t Time) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Time(t).UTC().Format(TimeFormat))
}

// Videos are the greeting video URLs of an agent card.
type Videos struct {
	Wave  *string `json:"wave"`
	Intro string  `json:"intro"`
	Loop  string  `json:"loop"`
}

// AgentCard is what a visitor sees of an agent. It always comes from the
// database, never from a client.
type AgentCard struct {
	ID          ids.AgentID `json:"id"`
	DisplayName string      `json:"displayName"`
	AvatarURL   *string     `json:"avatarUrl"`
	Videos      Videos      `json:"videos"`
}

// VisitorCard is what an agent sees of a visitor.
type VisitorCard struct {
	VisitorID   ids.VisitorID `json:"visitorId"`
	PageURL     string        `json:"pageUrl"`
	Country     *string       `json:"country"`
	Region      *string       `json:"region"`
	City        *string       `json:"city"`
	ConnectedAt Time          `json:"connectedAt"`
	PoolID      ids.PoolID    `json:"poolId"`
	PoolName    string        `json:"poolName"`
}

// Signal is a WebRTC offer, answer or ICE candidate, relayed as it came after
// its shape was checked.
type Signal struct {
	Type      string          `json:"type"`
	SDP       *string         `json:"sdp,omitempty"`
	Candidate json.RawMessage `json:"candidate,omitempty"`
}

// Candidate is an ICE candidate inside a Signal.
type Candidate struct {
	Candidate        *string `json:"candidate"`
	SDPMid           *string `json:"sdpMid"`
	SDPMLineIndex    *int    `json:"sdpMLineIndex"`
	UsernameFragment *string `json:"usernameFragment"`
}

// Validate checks the shape of a signal (SPEC §5: anything else is invalid).
func (s Signal) Validate() *Error {
	switch s.Type {
	case "offer", "answer":
		if s.SDP == nil || *s.SDP == "" {
			return Errorf(CodeInvalidPayload, "signal.sdp must be a non-empty string.")
		}
		if s.Candidate != nil {
			return Errorf(CodeInvalidPayload, "signal.candidate is only for type candidate.")
		}
	case "candidate":
		if s.SDP != nil {
			return Errorf(CodeInvalidPayload, "signal.sdp is only for offers and answers.")
		}
		if len(s.Candidate) == 0 {
			return Errorf(CodeInvalidPayload, "signal.candidate must be an object or null.")
		}
		if string(s.Candidate) == "null" {
			return nil
		}
		var c Candidate
		if err := DecodeData(s.Candidate, &c); err != nil || s.Candidate[0] != '{' {
			return Errorf(CodeInvalidPayload, "signal.candidate must be an object or null.")
		}
		if c.Candidate == nil {
			return Errorf(CodeInvalidPayload, "signal.candidate.candidate must be a string.")
		}
	default:
		return Errorf(CodeInvalidPayload,
			`signal.type must be "offer", "answer" or "candidate".`)
	}
	return nil
}
