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
		PoolID:    l.cfg.CatchAll.ID,
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
