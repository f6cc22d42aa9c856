// Package routing chooses a visitor's pool and agent: rules send a page to a
// pool (SPEC §7.1), and Pick chooses an agent of it (§7.2). It is pure: it
// sees a snapshot of rules or candidates and returns a choice, with no I/O
// and no clock of its own, so every rule of the spec is tested table-driven.
package routing

import (
	"time"

	"greeter/internal/ids"
)

// Purpose says what an agent is being picked for.
type Purpose int

const (
	// Viewer picks an agent whose greeting the visitor will watch.
	Viewer Purpose = iota
	// Ring picks an agent to ring for a call request.
	Ring
)

// Candidate is one live agent of the pool as the organization loop sees it.
// The caller passes only agents that are connected, outside any grace
// period and live (idle or broadcasting).
type Candidate struct {
	ID           ids.AgentID
	Tier         int // priority_rank in the pool; 1 is tried first
	Viewers      int
	MaxViewers   int
	Ringing      bool      // already being rung for another request
	LastAssigned time.Time // zero when never assigned
}

// Pick returns the agent to use, or false when no candidate qualifies.
// exclude, when non-nil, removes agents (those who declined or missed this
// request). prefer, for a ring, is the visitor's current agent: it wins if it
// qualifies, whatever its tier.
func Pick(cands []Candidate, purpose Purpose, exclude func(ids.AgentID) bool,
	prefer ids.AgentID) (ids.AgentID, bool) {

	eligible := make([]Candidate, 0, len(cands))
	for _, c := range cands {
		if exclude != nil && exclude(c.ID) {
			continue
		}
		if purpose == Viewer && c.Viewers >= c.MaxViewers {
			continue
		}
		if purpose == Ring && c.Ringing {
			continue
		}
		if purpose == Ring && prefer != "" && c.ID == prefer {
			return c.ID, true
		}
		eligible = append(eligible, c)
	}
	if len(eligible) == 0 {
		return "", false
	}

	tier := eligible[0].Tier
	for _, c := range eligible {
		tier = min(tier, c.Tier)
	}
	var best *Candidate
	for i := range eligible {
		c := &eligible[i]
		if c.Tier == tier && (best == nil || better(c, best)) {
			best = c
		}
	}
	return best.ID, true
}

// better reports whether a should be chosen over b within one tier: idle
// agents without viewers first, least recently assigned first; otherwise the
// fewest viewers, then least recently assigned. Ties go to the lower id.
func better(a, b *Candidate) bool {
	aIdle, bIdle := a.Viewers == 0, b.Viewers == 0
	if aIdle != bIdle {
		return aIdle
	}
	if a.Viewers != b.Viewers {
		return a.Viewers < b.Viewers
	}
	if !a.LastAssigned.Equal(b.LastAssigned) {
		return a.LastAssigned.Before(b.LastAssigned)
	}
	return a.ID < b.ID
}
