package records

import (
	"time"

	"greeter/internal/calls"
	"greeter/internal/ids"
	"greeter/internal/store"
)

// Journal kinds of the events the writer saves.
const (
	kindCallLog        = "call_log"
	kindPageview       = "pageview"
	kindPresenceIntent = "presence_intent"
	kindStatusChange   = "status_change"
)

// callLogEvent is a call-log snapshot as the journal stores it. The JSON
// names are part of the on-disk format, read back after an upgrade: add
// fields freely, never rename or repurpose one.
type callLogEvent struct {
	ID              ids.CallLogID `json:"id"`
	OrgID           ids.OrgID     `json:"org_id"`
	RequestID       ids.RequestID `json:"request_id"`
	SiteID          ids.SiteID    `json:"site_id"`
	PoolID          ids.PoolID    `json:"pool_id"`
	AgentID         ids.AgentID   `json:"agent_id,omitempty"`
	VisitorID       ids.VisitorID `json:"visitor_id"`
	Status          string        `json:"status"`
	EndReason       string        `json:"end_reason,omitempty"`
	EndedBy         string        `json:"ended_by,omitempty"`
	PageURL         string        `json:"page_url"`
	RingStartedAt   *time.Time    `json:"ring_started_at,omitempty"`
	AnsweredAt      *time.Time    `json:"answered_at,omitempty"`
	AnswerSeconds   *int          `json:"answer_seconds,omitempty"`
	StartedAt       *time.Time    `json:"started_at,omitempty"`
	EndedAt         *time.Time    `json:"ended_at,omitempty"`
	DurationSeconds *int          `json:"duration_seconds,omitempty"`
	CreatedAt       time.Time     `json:"created_at"`
	// The live call's id and its parties' token hashes, while accepted.
	CallID           ids.CallID `json:"call_id,omitempty"`
	VisitorTokenHash string     `json:"visitor_token_hash,omitempty"`
	AgentTokenHash   string     `json:"agent_token_hash,omitempty"`
}

func newCallLogEvent(r calls.CallRecord) callLogEvent {
	return callLogEvent{
		ID:              r.ID,
		OrgID:           r.OrgID,
		RequestID:       r.RequestID,
		SiteID:          r.SiteID,
		PoolID:          r.PoolID,
		AgentID:         r.AgentID,
		VisitorID:       r.VisitorID,
		Status:          r.Status,
		EndReason:       r.EndReason,
		EndedBy:         r.EndedBy,
		PageURL:         r.PageURL,
		RingStartedAt:   r.RingStartedAt,
		AnsweredAt:      r.AnsweredAt,
		AnswerSeconds:   r.AnswerSeconds,
		StartedAt:       r.StartedAt,
		EndedAt:         r.EndedAt,
		DurationSeconds: r.DurationSeconds,
		CreatedAt:       r.CreatedAt,

		CallID:           r.CallID,
		VisitorTokenHash: r.VisitorTokenHash,
		AgentTokenHash:   r.AgentTokenHash,
	}
}

func (e callLogEvent) toStore() store.CallLog {
	return store.CallLog{
		ID:              e.ID,
		OrgID:           e.OrgID,
		RequestID:       e.RequestID,
		SiteID:          e.SiteID,
		PoolID:          e.PoolID,
		AgentID:         e.AgentID,
		VisitorID:       e.VisitorID,
		Status:          e.Status,
		EndReason:       e.EndReason,
		EndedBy:         e.EndedBy,
		PageURL:         e.PageURL,
		RingStartedAt:   e.RingStartedAt,
		AnsweredAt:      e.AnsweredAt,
		AnswerSeconds:   e.AnswerSeconds,
		StartedAt:       e.StartedAt,
		EndedAt:         e.EndedAt,
		DurationSeconds: e.DurationSeconds,
		CreatedAt:       e.CreatedAt,

		CallID:           e.CallID,
		VisitorTokenHash: e.VisitorTokenHash,
		AgentTokenHash:   e.AgentTokenHash,
	}
}

// pageviewEvent is a pageview as the journal stores it; the same rules as
// for callLogEvent apply to its JSON names.
type pageviewEvent struct {
	ID        string        `json:"id"`
	OrgID     ids.OrgID     `json:"org_id"`
	SiteID    ids.SiteID    `json:"site_id"`
	PoolID    ids.PoolID    `json:"pool_id"`
	VisitorID ids.VisitorID `json:"visitor_id"`
	AgentID   ids.AgentID   `json:"agent_id,omitempty"`
	PageURL   string        `json:"page_url"`
	At        time.Time     `json:"at"`
}

func newPageviewEvent(p calls.Pageview) pageviewEvent {
	return pageviewEvent(p)
}

func (e pageviewEvent) toStore() store.Pageview {
	return store.Pageview(e)
}

// presenceIntentEvent is an agent's presence intent as the journal stores it.
type presenceIntentEvent struct {
	OrgID   ids.OrgID   `json:"org_id"`
	AgentID ids.AgentID `json:"agent_id"`
	Intent  string      `json:"intent"`
	At      time.Time   `json:"at"`
}

func newPresenceIntentEvent(i calls.PresenceIntent) presenceIntentEvent {
	return presenceIntentEvent(i)
}

func (e presenceIntentEvent) toStore() store.PresenceIntent {
	return store.PresenceIntent(e)
}

// statusChangeEvent is an agent's status change with its session's snapshot
// as the journal stores it; the same rules as for callLogEvent apply to its
// JSON names.
type statusChangeEvent struct {
	ID      string            `json:"id"`
	Session agentSessionEvent `json:"session"`
	From    string            `json:"from_status"`
	To      string            `json:"to_status"`
	Reason  string            `json:"reason"`
	At      time.Time         `json:"at"`
}

type agentSessionEvent struct {
	ID                  string      `json:"id"`
	OrgID               ids.OrgID   `json:"org_id"`
	AgentID             ids.AgentID `json:"agent_id"`
	StartedAt           time.Time   `json:"started_at"`
	EndedAt             *time.Time  `json:"ended_at,omitempty"`
	EndedReason         string      `json:"ended_reason,omitempty"`
	AwaySeconds         int         `json:"away_seconds"`
	IdleSeconds         int         `json:"idle_seconds"`
	BroadcastingSeconds int         `json:"broadcasting_seconds"`
	InCallSeconds       int         `json:"in_call_seconds"`
}

func newStatusChangeEvent(c calls.StatusChange) statusChangeEvent {
	return statusChangeEvent{
		ID:      c.ID,
		Session: agentSessionEvent(c.Session),
		From:    c.From,
		To:      c.To,
		Reason:  c.Reason,
		At:      c.At,
	}
}

func (e statusChangeEvent) toStore() store.StatusChange {
	return store.StatusChange{
		ID:      e.ID,
		Session: store.AgentSession(e.Session),
		From:    e.From,
		To:      e.To,
		Reason:  e.Reason,
		At:      e.At,
	}
}
