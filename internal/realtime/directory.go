package realtime

import (
	"context"
	"fmt"

	"greeter/internal/calls"
	"greeter/internal/ids"
	"greeter/internal/protocol"
	"greeter/internal/store"
)

// Directory loads an organization's configuration for its call loop: the
// in-memory routing mirror of SPEC §7.6. It implements calls.Directory.
type Directory struct {
	Store  *store.Store
	Origin string // the public origin media URLs are made under
}

// OrgConfig reads org's settings, pools, members, active rules and active
// agent profiles.
func (d Directory) OrgConfig(ctx context.Context, org ids.OrgID) (calls.OrgConfig, error) {
	o, err := d.Store.OrgByID(ctx, org)
	if err != nil {
		return calls.OrgConfig{}, err
	}
	pools, err := d.Store.ListPools(ctx, org)
	if err != nil {
		return calls.OrgConfig{}, err
	}
	members, err := d.Store.ListPoolMembers(ctx, org)
	if err != nil {
		return calls.OrgConfig{}, err
	}
	rules, err := d.Store.ListRules(ctx, org)
	if err != nil {
		return calls.OrgConfig{}, err
	}
	profiles, err := d.Store.ListAgentProfiles(ctx, org)
	if err != nil {
		return calls.OrgConfig{}, err
	}

	cfg := calls.OrgConfig{
		Name:           o.Name,
		Paused:         o.Status == "paused",
		RNASeconds:     o.RNASeconds,
		MaxCallMinutes: o.MaxCallMinutes,
		Pools:          make(map[ids.PoolID]*calls.PoolConfig, len(pools)),
		Agents:         make(map[ids.AgentID]calls.AgentInfo, len(profiles)),
	}
	byID := make(map[ids.AgentID]store.AgentProfile, len(profiles))
	for _, p := range profiles {
		if !p.Active {
			continue
		}
		byID[p.ID] = p
		cfg.Agents[p.ID] = calls.AgentInfo{
			ID:             p.ID,
			UserID:         p.UserID,
			Card:           AgentCard(d.Origin, p),
			MaxViewers:     p.MaxViewers,
			VideosReady:    p.IntroVideo != "" && p.LoopVideo != "",
			Active:         true,
			PresenceIntent: p.PresenceIntent,
		}
	}
	for _, p := range pools {
		cfg.Pools[p.ID] = &calls.PoolConfig{ID: p.ID, Name: p.Name,
			Overflow: p.OverflowToCatchAll, Members: map[ids.AgentID]calls.Member{}}
		if p.IsCatchAll {
			cfg.CatchAll = p.ID
		}
	}
	if cfg.CatchAll == "" {
		return calls.OrgConfig{}, fmt.Errorf("realtime: organization %s has no catch-all pool", org)
	}
	for _, m := range members {
		pool, profile := cfg.Pools[m.PoolID], byID[m.AgentID]
		if pool == nil || profile.ID == "" {
			continue // an inactive profile routes nowhere
		}
		pool.Members[m.AgentID] = calls.Member{Tier: m.PriorityRank,
			Videos: d.memberVideos(m, profile)}
	}
	for _, r := range rules {
		if r.Active {
			cfg.Rules = append(cfg.Rules, r.Routing())
		}
	}
	return cfg, nil
}

// memberVideos is the greeting a pool member shows that pool's visitors:
// each kind the pool sets, the profile's for the others; nil when the pool
// sets none.
func (d Directory) memberVideos(m store.PoolMember, p store.AgentProfile) *protocol.Videos {
	if m.WaveVideo == "" && m.IntroVideo == "" && m.LoopVideo == "" {
		return nil
	}
	pick := func(own, fallback string) string {
		if own != "" {
			return own
		}
		return fallback
	}
	v := Videos(d.Origin, pick(m.WaveVideo, p.WaveVideo),
		pick(m.IntroVideo, p.IntroVideo), pick(m.LoopVideo, p.LoopVideo))
	return &v
}
