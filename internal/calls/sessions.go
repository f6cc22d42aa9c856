package calls

import (
	"time"

	"greeter/internal/ids"
)

// Reasons an agent session ends (SPEC §10.2). A replacement continues the
// session, so SessionReplaced is not used by the loop yet; the schema accepts
// it.
const (
	SessionLogout        = "logout"
	SessionDisconnect    = "disconnect"
	SessionRemoved       = "removed"
	SessionReplaced      = "replaced"
	SessionServerRestart = "server_restart"
)

// AgentSession is a snapshot of one agent session: one connection lifetime,
// its time split by status. The loop sends a new snapshot with every status
// change; the latest one wins.
type AgentSession struct {
	ID                  string
	OrgID               ids.OrgID
	AgentID             ids.AgentID
	StartedAt           time.Time
	EndedAt             *time.Time // nil while the session is open
	EndedReason         string
	AwaySeconds         int
	IdleSeconds         int
	BroadcastingSeconds int
	InCallSeconds       int
}

// StatusChange is one presence transition of SPEC §6.2 and the agent's
// session right after it.
type StatusChange struct {
	ID      string
	Session AgentSession
	From    string
	To      string
	Reason  string
	At      time.Time
}

// StatusSink receives agent sessions and their status changes. A RecordSink
// that also implements it gets them; one that does not records neither.
// SaveStatusChange must not block.
type StatusSink interface {
	SaveStatusChange(StatusChange)
}

// session is the live side of an agent session: when it began, when the
// current status began and how long each status lasted before it.
type session struct {
	id          string
	startedAt   time.Time
	since       time.Time
	spent       map[string]time.Duration
	endedAt     *time.Time
	endedReason string
}

func newSession(now time.Time) *session {
	return &session{id: ids.NewRow(), startedAt: now, since: now,
		spent: make(map[string]time.Duration, 4)}
}

// spend adds the time since the last change to status.
func (s *session) spend(status string, now time.Time) {
	s.spent[status] += now.Sub(s.since)
	s.since = now
}

func (s *session) snapshot(org ids.OrgID, agent ids.AgentID) AgentSession {
	return AgentSession{
		ID:                  s.id,
		OrgID:               org,
		AgentID:             agent,
		StartedAt:           s.startedAt,
		EndedAt:             s.endedAt,
		EndedReason:         s.endedReason,
		AwaySeconds:         seconds(s.spent[StatusAway]),
		IdleSeconds:         seconds(s.spent[StatusIdle]),
		BroadcastingSeconds: seconds(s.spent[StatusBroadcasting]),
		InCallSeconds:       seconds(s.spent[StatusInCall]),
	}
}

// startSession opens the session of a new connection: the agent goes from
// offline to away.
func (l *orgLoop) startSession(a *agent) { l.startSessionFor(a, "connected") }

// startSessionFor opens a session, recording why it opened.
func (l *orgLoop) startSessionFor(a *agent, reason string) {
	a.session = newSession(l.clock.Now().UTC())
	a.status = StatusOffline
	l.setStatus(a, StatusAway, reason)
}

// endSession takes the agent offline and ends its session with reason. The
// caller has already taken it out of live state.
func (l *orgLoop) endSession(a *agent, reason string) {
	if a.session.endedAt != nil {
		return
	}
	now := l.clock.Now().UTC()
	a.session.endedAt, a.session.endedReason = &now, reason
	l.setStatus(a, StatusOffline, reason)
}

// setStatus is the one place an agent's status changes. It charges the time
// since the previous change to the previous status and records the change
// with the session's counters (SPEC §6.2: every transition writes a status
// change and updates the session).
func (l *orgLoop) setStatus(a *agent, to, reason string) {
	from := a.status
	if from == to {
		return
	}
	now := l.clock.Now().UTC()
	a.session.spend(from, now)
	a.status = to
	if l.hub.statuses == nil {
		return
	}
	l.hub.statuses.SaveStatusChange(StatusChange{
		ID:      ids.NewRow(),
		Session: a.session.snapshot(l.id, a.info.ID),
		From:    from,
		To:      to,
		Reason:  reason,
		At:      now,
	})
}

// liveStatus is the live status that fits the agent's viewers.
func liveStatus(a *agent) string {
	if len(a.viewers) > 0 {
		return StatusBroadcasting
	}
	return StatusIdle
}
