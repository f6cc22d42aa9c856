package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"greeter/internal/ids"
)

// Presence intents: what an agent last chose, kept across restarts.
const (
	PresenceLive = "live"
	PresenceAway = "away"
)

// DefaultMaxViewers is how many visitors an agent's greeting plays for at once
// unless the admin says otherwise.
const DefaultMaxViewers = 25

// AgentProfile is what makes a user an agent: the card and greeting videos
// visitors see, and how many visitors may watch at once.
type AgentProfile struct {
	ID             ids.AgentID
	UserID         ids.UserID
	OrgID          ids.OrgID
	DisplayName    string
	Avatar         string
	WaveVideo      string
	IntroVideo     string
	LoopVideo      string
	MaxViewers     int
	Active         bool
	DeactivatedAt  *time.Time
	DeactivatedBy  ids.UserID
	PresenceIntent string // PresenceLive or PresenceAway
	CreatedAt      time.Time
}

// NewAgentProfile is what it takes to make a user an agent. A MaxViewers of 0
// means DefaultMaxViewers.
type NewAgentProfile struct {
	OrgID       ids.OrgID
	UserID      ids.UserID
	DisplayName string
	WaveVideo   string
	IntroVideo  string
	LoopVideo   string
	MaxViewers  int
}

const agentColumns = `id, user_id, org_id, display_name, avatar, wave_video, intro_video,
	loop_video, max_viewers, active, deactivated_at, deactivated_by, presence_intent, created_at`

// CreateAgentProfile gives a user of the organization an agent profile and,
// in the same transaction, puts it in the catch-all pool at tier 1. A user of
// another organization is ErrNotFound; a user who already has a profile is
// ErrConflict.
func (s *Store) CreateAgentProfile(ctx context.Context, n NewAgentProfile) (AgentProfile, error) {
	a := AgentProfile{
		ID:             ids.AgentID(ids.NewRow()),
		UserID:         n.UserID,
		OrgID:          n.OrgID,
		DisplayName:    strings.TrimSpace(n.DisplayName),
		WaveVideo:      n.WaveVideo,
		IntroVideo:     n.IntroVideo,
		LoopVideo:      n.LoopVideo,
		MaxViewers:     n.MaxViewers,
		Active:         true,
		PresenceIntent: PresenceAway,
		CreatedAt:      time.Now().UTC(),
	}
	if a.MaxViewers == 0 {
		a.MaxViewers = DefaultMaxViewers
	}

	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return insertAgentProfile(ctx, tx, a)
	})
	if err != nil {
		return AgentProfile{}, fmt.Errorf("store: unable to create agent profile: %w", classify(err))
	}
	return a, nil
}

// insertAgentProfile stores a new active profile and puts it in the
// organization's catch-all pool at tier 1.
func insertAgentProfile(ctx context.Context, tx *sql.Tx, a AgentProfile) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO agent_profiles (`+agentColumns+`)
		VALUES (?, ?, ?, ?, '', ?, ?, ?, ?, 1, NULL, NULL, ?, ?)`,
		a.ID, a.UserID, a.OrgID, a.DisplayName, a.WaveVideo, a.IntroVideo, a.LoopVideo,
		a.MaxViewers, a.PresenceIntent, formatTime(a.CreatedAt))
	if err != nil {
		return err
	}
	return joinCatchAll(ctx, tx, a.OrgID, a.ID)
}

// joinCatchAll puts an agent in its organization's catch-all pool at tier 1.
func joinCatchAll(ctx context.Context, tx *sql.Tx, orgID ids.OrgID, agentID ids.AgentID) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO pool_members (pool_id, agent_id, priority_rank)
		SELECT id, ?, 1 FROM pools WHERE org_id = ? AND is_catch_all = 1`, agentID, orgID)
	return err
}

// AgentProfileByUserID returns the profile of a user, active or not. It is
// meant for a signed-in user, whose organization the caller already trusts.
func (s *Store) AgentProfileByUserID(
	ctx context.Context, userID ids.UserID,
) (AgentProfile, error) {
	row := s.db.QueryRowContext(ctx,
		`SELECT `+agentColumns+` FROM agent_profiles WHERE user_id = ?`, userID)
	a, err := scanAgent(row)
	if err != nil {
		return AgentProfile{}, fmt.Errorf("store: unable to load agent profile: %w",
			notFoundIfNoRows(err))
	}
	return a, nil
}

// AgentProfile returns an agent profile of the organization, active or not.
func (s *Store) AgentProfile(
	ctx context.Context, orgID ids.OrgID, agentID ids.AgentID,
) (AgentProfile, error) {
	row := s.db.QueryRowContext(ctx,
		`SELECT `+agentColumns+` FROM agent_profiles WHERE id = ? AND org_id = ?`, agentID, orgID)
	a, err := scanAgent(row)
	if err != nil {
		return AgentProfile{}, fmt.Errorf("store: unable to load agent profile: %w",
			notFoundIfNoRows(err))
	}
	return a, nil
}

// AgentProfileByID returns an agent profile of any organization, active or
// not. It is meant for the platform key of the internal API, which reaches
// every organization; everything else uses AgentProfile.
func (s *Store) AgentProfileByID(ctx context.Context, agentID ids.AgentID) (AgentProfile, error) {
	row := s.db.QueryRowContext(ctx,
		`SELECT `+agentColumns+` FROM agent_profiles WHERE id = ?`, agentID)
	a, err := scanAgent(row)
	if err != nil {
		return AgentProfile{}, fmt.Errorf("store: unable to load agent profile: %w",
			notFoundIfNoRows(err))
	}
	return a, nil
}

// ListAgentProfiles returns the organization's active agent profiles by name.
func (s *Store) ListAgentProfiles(ctx context.Context, orgID ids.OrgID) ([]AgentProfile, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+agentColumns+` FROM agent_profiles
		WHERE org_id = ? AND active = 1 ORDER BY display_name, id`, orgID)
	return collect(rows, err, "list agent profiles", scanAgent)
}

// SetAgentVideos replaces the three greeting videos of an agent profile.
func (s *Store) SetAgentVideos(
	ctx context.Context, orgID ids.OrgID, agentID ids.AgentID, wave, intro, loop string,
) error {
	res, err := s.db.ExecContext(ctx, `UPDATE agent_profiles
		SET wave_video = ?, intro_video = ?, loop_video = ? WHERE id = ? AND org_id = ?`,
		wave, intro, loop, agentID, orgID)
	if err == nil {
		err = mustAffectOne(res)
	}
	if err != nil {
		return fmt.Errorf("store: unable to set agent videos: %w", classify(err))
	}
	return nil
}

// SetPresenceIntent records whether the agent last chose to be live or away.
func (s *Store) SetPresenceIntent(
	ctx context.Context, orgID ids.OrgID, agentID ids.AgentID, intent string,
) error {
	res, err := s.db.ExecContext(ctx, `UPDATE agent_profiles
		SET presence_intent = ? WHERE id = ? AND org_id = ?`, intent, agentID, orgID)
	if err == nil {
		err = mustAffectOne(res)
	}
	if err != nil {
		return fmt.Errorf("store: unable to set presence intent: %w", classify(err))
	}
	return nil
}

func scanAgent(row scanner) (AgentProfile, error) {
	var a AgentProfile
	err := row.Scan(&a.ID, &a.UserID, &a.OrgID, &a.DisplayName, &a.Avatar, &a.WaveVideo,
		&a.IntroVideo, &a.LoopVideo, &a.MaxViewers, &a.Active, nullTimeCol{&a.DeactivatedAt},
		nullStringCol[ids.UserID]{&a.DeactivatedBy}, &a.PresenceIntent, timeCol{&a.CreatedAt})
	return a, err
}
