package calls

import (
	"time"

	"greeter/internal/ids"
)

// Call-log statuses of SPEC §10.1.
const (
	RecordPending   = "pending"
	RecordAccepted  = "accepted"
	RecordCompleted = "completed"
	RecordRejected  = "rejected"
	RecordMissed    = "missed"
	RecordCancelled = "cancelled"
	RecordAbandoned = "abandoned"
)

// CallRecord is a full snapshot of one call-log row (one ring attempt). The
// loop sends a new snapshot on every change; saving one is idempotent.
type CallRecord struct {
	ID              ids.CallLogID
	OrgID           ids.OrgID
	RequestID       ids.RequestID
	SiteID          ids.SiteID
	PoolID          ids.PoolID
	AgentID         ids.AgentID // empty when nobody was rung
	VisitorID       ids.VisitorID
	Status          string
	EndReason       string
	EndedBy         string
	PageURL         string
	RingStartedAt   *time.Time
	AnsweredAt      *time.Time
	AnswerSeconds   *int
	StartedAt       *time.Time
	EndedAt         *time.Time
	DurationSeconds *int
	CreatedAt       time.Time

	// CallID and the hex SHA-256 of each party's current reconnect token are
	// set while the row is accepted, so that a restart can reload the call
	// (SPEC §9); the hashes are cleared when it completes. They are never
	// shown or logged.
	CallID           ids.CallID
	VisitorTokenHash string
	AgentTokenHash   string
}

// newRecord starts a row for req; agent may be nil for a request that rang
// nobody.
func (l *orgLoop) newRecord(req *request, a *agent, status string) CallRecord {
	now := l.clock.Now().UTC()
	v := req.visitor
	rec := CallRecord{
		ID:        ids.CallLogID(ids.NewRow()),
		OrgID:     l.id,
		RequestID: req.id,
		SiteID:    v.site,
		PoolID:    req.pool,
		VisitorID: v.id,
		Status:    status,
		PageURL:   v.pageURL,
		CreatedAt: now,
	}
	if a != nil {
		rec.AgentID = a.info.ID
		rec.RingStartedAt = &now
	}
	return rec
}

func (l *orgLoop) save(rec CallRecord) {
	if l.hub.opts.Records != nil {
		l.hub.opts.Records.Save(rec)
	}
}

// Pageview is one visitor page load that lasted the trigger delay (SPEC
// §10.3). AgentID is empty for a missed opportunity: nobody greeted it.
type Pageview struct {
	ID        string
	OrgID     ids.OrgID
	SiteID    ids.SiteID
	PoolID    ids.PoolID
	VisitorID ids.VisitorID
	AgentID   ids.AgentID
	PageURL   string
	At        time.Time
}

// Presence intents: what an agent last asked to be (SPEC §6.3).
const (
	IntentLive = "live"
	IntentAway = "away"
)

// PresenceIntent is an agent's manual choice of being live or away, kept so
// that a restart can restore it.
type PresenceIntent struct {
	OrgID   ids.OrgID
	AgentID ids.AgentID
	Intent  string
	At      time.Time
}

func (l *orgLoop) savePageview(p Pageview) {
	if l.hub.opts.Records != nil {
		l.hub.opts.Records.SavePageview(p)
	}
}

func (l *orgLoop) saveIntent(a *agent, intent string) {
	a.info.PresenceIntent = intent
	if l.hub.opts.Records != nil {
		l.hub.opts.Records.SavePresenceIntent(PresenceIntent{
			OrgID: l.id, AgentID: a.info.ID, Intent: intent, At: l.clock.Now().UTC(),
		})
	}
}
