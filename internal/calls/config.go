package calls

import (
	"greeter/internal/ids"
	"greeter/internal/protocol"
	"greeter/internal/routing"
)

// OrgConfig is an organization's configuration as its loop routes with it:
// the in-memory mirror of SPEC §7.6. The Directory loads it from the
// database when the loop starts and again after every admin change.
type OrgConfig struct {
	Name           string
	Paused         bool
	RNASeconds     int
	MaxCallMinutes int

	CatchAll ids.PoolID
	Pools    map[ids.PoolID]*PoolConfig
	Rules    []routing.Rule            // the active rules; Resolve orders them
	Agents   map[ids.AgentID]AgentInfo // the active agent profiles
}

// PoolConfig is one pool and its members.
type PoolConfig struct {
	ID       ids.PoolID
	Name     string
	Overflow bool // try the catch-all pool when no member can take a visitor
	Members  map[ids.AgentID]Member
}

// Member is an agent's place in a pool.
type Member struct {
	Tier int // priority_rank: 1 is tried first
	// Videos is the greeting the agent shows to this pool's visitors, with
	// the profile's videos filling any kind the pool does not set; nil when
	// the pool sets none.
	Videos *protocol.Videos
}

// pool returns the pool with id, or the catch-all pool when there is none
// (it was deleted).
func (c *OrgConfig) pool(id ids.PoolID) *PoolConfig {
	if p := c.Pools[id]; p != nil {
		return p
	}
	return c.Pools[c.CatchAll]
}

// resolve returns the pool a page URL routes to (SPEC §7.1).
func (c *OrgConfig) resolve(pageURL string) ids.PoolID {
	page, err := routing.ParsePage(pageURL)
	if err != nil {
		return c.CatchAll
	}
	if _, poolID, ok := routing.Resolve(page, c.Rules); ok {
		if _, exists := c.Pools[ids.PoolID(poolID)]; exists {
			return ids.PoolID(poolID)
		}
	}
	return c.CatchAll
}

// serves reports whether agent may take the visitors of pool: it is a
// member, or the pool overflows to the catch-all pool and the agent is in
// that one.
func (c *OrgConfig) serves(pool ids.PoolID, agent ids.AgentID) bool {
	p := c.pool(pool)
	if p == nil {
		return false
	}
	if _, ok := p.Members[agent]; ok {
		return true
	}
	if p.Overflow && p.ID != c.CatchAll {
		_, ok := c.Pools[c.CatchAll].Members[agent]
		return ok
	}
	return false
}

// poolsServedBy lists the pools whose visitors agent may take.
func (c *OrgConfig) poolsServedBy(agent ids.AgentID) []ids.PoolID {
	var out []ids.PoolID
	for id := range c.Pools {
		if c.serves(id, agent) {
			out = append(out, id)
		}
	}
	return out
}

// memberOf reports whether agent is a member of pool (overflow aside).
func (c *OrgConfig) memberOf(pool ids.PoolID, agent ids.AgentID) bool {
	p := c.Pools[pool]
	if p == nil {
		return false
	}
	_, ok := p.Members[agent]
	return ok
}
