package store

import (
	"context"
	"database/sql"
	"fmt"

	"greeter/internal/ids"
)

// Kinds of greeting video (SPEC §12.3): the muted wave, the intro played
// once with sound, and the loop.
const (
	VideoWave  = "wave"
	VideoIntro = "intro"
	VideoLoop  = "loop"
)

// VideoKinds lists the kinds in the order a greeting plays them.
var VideoKinds = []string{VideoWave, VideoIntro, VideoLoop}

// videoColumns maps a kind to its column in agent_profiles and
// pool_members. Only these fixed names ever reach the SQL text.
var videoColumns = map[string]string{
	VideoWave:  "wave_video",
	VideoIntro: "intro_video",
	VideoLoop:  "loop_video",
}

// AgentMembership is one of an agent's pool memberships, with the pool's
// name and the member's own videos.
type AgentMembership struct {
	PoolMember
	PoolName   string
	IsCatchAll bool
}

// videoColumn returns kind's column, or ErrInvalid for an unknown kind.
func videoColumn(kind string) (string, error) {
	col, ok := videoColumns[kind]
	if !ok {
		return "", fmt.Errorf("%w: video kind %q", ErrInvalid, kind)
	}
	return col, nil
}

// SetAgentVideo sets one kind of an active agent profile's greeting video
// to the media name, or clears it when name is "", and returns the profile
// as it now is. An unknown or removed agent, or one of another organization,
// is ErrAgentNotFound; an unknown kind ErrInvalid.
func (s *Store) SetAgentVideo(
	ctx context.Context, orgID ids.OrgID, agentID ids.AgentID, kind, name string,
) (AgentProfile, error) {
	col, err := videoColumn(kind)
	if err != nil {
		return AgentProfile{}, fmt.Errorf("store: unable to set agent video: %w", err)
	}

	var a AgentProfile
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE agent_profiles SET `+col+` = ?
			WHERE id = ? AND org_id = ? AND active = 1`, name, agentID, orgID)
		if err != nil {
			return err
		}
		if err := mustAffectOne(res); err != nil {
			return ErrAgentNotFound
		}
		a, err = agentInTx(ctx, tx, orgID, agentID)
		return err
	})
	if err != nil {
		return AgentProfile{}, fmt.Errorf("store: unable to set agent video: %w", err)
	}
	return a, nil
}

// SetPoolMemberVideo sets one kind of a pool member's own greeting video,
// which replaces the profile's for visitors of that pool, or clears it when
// name is "", and returns the member as it now is. A pool of another
// organization, or an agent that is not a member, is ErrNotFound; an
// unknown kind ErrInvalid.
func (s *Store) SetPoolMemberVideo(
	ctx context.Context, orgID ids.OrgID, poolID ids.PoolID, agentID ids.AgentID,
	kind, name string,
) (PoolMember, error) {
	col, err := videoColumn(kind)
	if err != nil {
		return PoolMember{}, fmt.Errorf("store: unable to set pool member video: %w", err)
	}

	var m PoolMember
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE pool_members SET `+col+` = ?
			WHERE pool_id = ? AND agent_id = ?
				AND pool_id IN (SELECT id FROM pools WHERE org_id = ?)`,
			name, poolID, agentID, orgID)
		if err != nil {
			return err
		}
		if err := mustAffectOne(res); err != nil {
			return err
		}
		m, err = scanPoolMember(tx.QueryRowContext(ctx, `SELECT `+memberColumns+`
			FROM pool_members WHERE pool_id = ? AND agent_id = ?`, poolID, agentID))
		return err
	})
	if err != nil {
		return PoolMember{}, fmt.Errorf("store: unable to set pool member video: %w", err)
	}
	return m, nil
}

// PoolMember returns one membership of a pool of the organization, or
// ErrNotFound.
func (s *Store) PoolMember(
	ctx context.Context, orgID ids.OrgID, poolID ids.PoolID, agentID ids.AgentID,
) (PoolMember, error) {
	m, err := scanPoolMember(s.db.QueryRowContext(ctx, `SELECT m.pool_id, m.agent_id,
			m.priority_rank, m.wave_video, m.intro_video, m.loop_video
		FROM pool_members m JOIN pools p ON p.id = m.pool_id
		WHERE m.pool_id = ? AND m.agent_id = ? AND p.org_id = ?`, poolID, agentID, orgID))
	if err != nil {
		return PoolMember{}, fmt.Errorf("store: unable to load pool member: %w",
			notFoundIfNoRows(err))
	}
	return m, nil
}

// AgentMemberships returns the pools of the organization that the agent is
// a member of, the catch-all first, then by name, each with the member's
// tier and own videos.
func (s *Store) AgentMemberships(
	ctx context.Context, orgID ids.OrgID, agentID ids.AgentID,
) ([]AgentMembership, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT m.pool_id, m.agent_id, m.priority_rank,
			m.wave_video, m.intro_video, m.loop_video, p.name, p.is_catch_all
		FROM pool_members m JOIN pools p ON p.id = m.pool_id
		WHERE m.agent_id = ? AND p.org_id = ?
		ORDER BY p.is_catch_all DESC, p.name, p.id`, agentID, orgID)
	return collect(rows, err, "list agent memberships", func(row scanner) (AgentMembership, error) {
		var am AgentMembership
		m := &am.PoolMember
		err := row.Scan(&m.PoolID, &m.AgentID, &m.PriorityRank, &m.WaveVideo, &m.IntroVideo,
			&m.LoopVideo, &am.PoolName, &am.IsCatchAll)
		return am, err
	})
}

// Video returns the member's own video of kind, "" when unset.
func (m PoolMember) Video(kind string) string {
	switch kind {
	case VideoWave:
		return m.WaveVideo
	case VideoIntro:
		return m.IntroVideo
	case VideoLoop:
		return m.LoopVideo
	}
	return ""
}

// Video returns the profile's video of kind, "" when unset.
func (a AgentProfile) Video(kind string) string {
	switch kind {
	case VideoWave:
		return a.WaveVideo
	case VideoIntro:
		return a.IntroVideo
	case VideoLoop:
		return a.LoopVideo
	}
	return ""
}

// VideosReady reports whether the profile has what going live needs: an
// intro and a loop (the wave is optional).
func (a AgentProfile) VideosReady() bool {
	return a.IntroVideo != "" && a.LoopVideo != ""
}
