package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"greeter/internal/ids"
)

// Organization statuses.
const (
	OrgActive = "active"
	OrgPaused = "paused"
)

// CatchAllPoolName is the name of the pool every organization starts with.
const CatchAllPoolName = "All"

// Org is an organization: the tenant root.
type Org struct {
	ID             ids.OrgID
	Name           string
	Status         string // OrgActive or OrgPaused
	PausedAt       *time.Time
	Timezone       string // IANA name
	RNASeconds     int    // ring-no-answer timeout
	MaxCallMinutes int
	WidgetDefaults json.RawMessage // a partial widget settings object
	CreatedAt      time.Time
}

// NewOrg is what it takes to create an organization and its first admin.
type NewOrg struct {
	Name              string
	AdminEmail        string
	AdminFullName     string
	AdminPasswordHash string
}

// defaultDispositions are the dispositions every organization starts with.
var defaultDispositions = []struct{ name, color string }{
	{"Interested", "#22c55e"},
	{"Not Interested", "#ef4444"},
	{"Callback Requested", "#f59e0b"},
	{"No Answer", "#6b7280"},
	{"Left Voicemail", "#8b5cf6"},
}

const orgColumns = `id, name, status, paused_at, timezone, rna_seconds, max_call_minutes,
	widget_defaults, created_at`

// CreateOrg creates, in one transaction, an organization with default
// settings, its first admin, its catch-all pool and its default dispositions.
func (s *Store) CreateOrg(ctx context.Context, n NewOrg) (Org, User, error) {
	now := time.Now().UTC()
	org := Org{
		ID:             ids.OrgID(ids.NewRow()),
		Name:           strings.TrimSpace(n.Name),
		Status:         OrgActive,
		Timezone:       "UTC",
		RNASeconds:     15,
		MaxCallMinutes: 120,
		WidgetDefaults: json.RawMessage("{}"),
		CreatedAt:      now,
	}
	admin := User{
		ID:           ids.UserID(ids.NewRow()),
		OrgID:        org.ID,
		Email:        normalizeEmail(n.AdminEmail),
		FullName:     strings.TrimSpace(n.AdminFullName),
		Role:         RoleAdmin,
		PasswordHash: n.AdminPasswordHash,
		Active:       true,
		CreatedAt:    now,
	}

	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := insertOrg(ctx, tx, org); err != nil {
			return err
		}
		if err := insertUser(ctx, tx, admin); err != nil {
			return err
		}
		if err := insertCatchAllPool(ctx, tx, org.ID, now); err != nil {
			return err
		}
		return insertDefaultDispositions(ctx, tx, org.ID)
	})
	if err != nil {
		return Org{}, User{}, fmt.Errorf("store: unable to create organization: %w", classify(err))
	}
	return org, admin, nil
}

func insertOrg(ctx context.Context, tx *sql.Tx, o Org) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO organizations (`+orgColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.ID, o.Name, o.Status, nullTime(o.PausedAt), o.Timezone, o.RNASeconds,
		o.MaxCallMinutes, jsonText(o.WidgetDefaults, "{}"), formatTime(o.CreatedAt))
	return err
}

func insertCatchAllPool(ctx context.Context, tx *sql.Tx, orgID ids.OrgID, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO pools
		(id, org_id, name, description, is_catch_all, overflow_to_catch_all, created_at)
		VALUES (?, ?, ?, ?, 1, 0, ?)`,
		ids.NewRow(), orgID, CatchAllPoolName,
		"Receives every visitor that no routing rule sends elsewhere.", formatTime(now))
	return err
}

func insertDefaultDispositions(ctx context.Context, tx *sql.Tx, orgID ids.OrgID) error {
	for i, d := range defaultDispositions {
		_, err := tx.ExecContext(ctx, `INSERT INTO dispositions
			(id, org_id, name, color, value, position, active) VALUES (?, ?, ?, ?, NULL, ?, 1)`,
			ids.NewRow(), orgID, d.name, d.color, i+1)
		if err != nil {
			return err
		}
	}
	return nil
}

// OrgIDs lists the id of every organization.
func (s *Store) OrgIDs(ctx context.Context) ([]ids.OrgID, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM organizations ORDER BY id`)
	return collect(rows, err, "list organizations", func(r scanner) (ids.OrgID, error) {
		var id ids.OrgID
		return id, r.Scan(&id)
	})
}

// OrgByID returns an organization.
func (s *Store) OrgByID(ctx context.Context, id ids.OrgID) (Org, error) {
	row := s.db.QueryRowContext(ctx,
		`SELECT `+orgColumns+` FROM organizations WHERE id = ?`, id)
	o, err := scanOrg(row)
	if err != nil {
		return Org{}, fmt.Errorf("store: unable to load organization: %w", notFoundIfNoRows(err))
	}
	return o, nil
}

// OrgByName returns the oldest organization with this exact name. Names are
// not unique; this exists so that demo seeding can be idempotent.
func (s *Store) OrgByName(ctx context.Context, name string) (Org, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+orgColumns+` FROM organizations
		WHERE name = ? ORDER BY created_at, id LIMIT 1`, name)
	o, err := scanOrg(row)
	if err != nil {
		return Org{}, fmt.Errorf("store: unable to load organization: %w", notFoundIfNoRows(err))
	}
	return o, nil
}

func scanOrg(row scanner) (Org, error) {
	var (
		o        Org
		defaults string
	)
	err := row.Scan(&o.ID, &o.Name, &o.Status, nullTimeCol{&o.PausedAt}, &o.Timezone,
		&o.RNASeconds, &o.MaxCallMinutes, &defaults, timeCol{&o.CreatedAt})
	if err != nil {
		return Org{}, err
	}
	o.WidgetDefaults = json.RawMessage(defaults)
	return o, nil
}

// SetCallSettings changes the organization's ring-no-answer timeout (10-60 s)
// and maximum call duration (30-240 min). Values out of range are ErrInvalid.
func (s *Store) SetCallSettings(
	ctx context.Context, orgID ids.OrgID, rnaSeconds, maxCallMinutes int,
) error {
	res, err := s.db.ExecContext(ctx, `UPDATE organizations
		SET rna_seconds = ?, max_call_minutes = ? WHERE id = ?`,
		rnaSeconds, maxCallMinutes, orgID)
	if err == nil {
		err = mustAffectOne(res)
	}
	if err != nil {
		return fmt.Errorf("store: unable to set call settings: %w", classify(err))
	}
	return nil
}

// OrgSettingsChanges is an edit of an organization's settings; nil fields
// stay as they are.
type OrgSettingsChanges struct {
	Name           *string // trimmed before it is stored
	Timezone       *string // an IANA name the caller has checked
	RNASeconds     *int
	MaxCallMinutes *int
}

// UpdateOrgSettings applies every non-nil field of c with one UPDATE in one
// transaction and returns the organization as stored: either every field
// changes or none does. The caller validates; a value the schema refuses (a
// name or call setting out of range) is ErrInvalid, an unknown organization
// ErrNotFound.
func (s *Store) UpdateOrgSettings(
	ctx context.Context, orgID ids.OrgID, c OrgSettingsChanges,
) (Org, error) {
	var o Org
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		row := tx.QueryRowContext(ctx,
			`SELECT `+orgColumns+` FROM organizations WHERE id = ?`, orgID)
		var err error
		if o, err = scanOrg(row); err != nil {
			return notFoundIfNoRows(err)
		}
		if c.Name != nil {
			o.Name = strings.TrimSpace(*c.Name)
		}
		if c.Timezone != nil {
			o.Timezone = *c.Timezone
		}
		if c.RNASeconds != nil {
			o.RNASeconds = *c.RNASeconds
		}
		if c.MaxCallMinutes != nil {
			o.MaxCallMinutes = *c.MaxCallMinutes
		}

		_, err = tx.ExecContext(ctx, `UPDATE organizations
			SET name = ?, timezone = ?, rna_seconds = ?, max_call_minutes = ?
			WHERE id = ?`,
			o.Name, o.Timezone, o.RNASeconds, o.MaxCallMinutes, orgID)
		return err
	})
	if err != nil {
		return Org{}, fmt.Errorf("store: unable to update organization settings: %w",
			classify(err))
	}
	return o, nil
}

// SetOrgPaused pauses (recording when) or resumes an organization.
func (s *Store) SetOrgPaused(
	ctx context.Context, orgID ids.OrgID, paused bool, at time.Time,
) error {
	status, pausedAt := OrgActive, any(nil)
	if paused {
		status, pausedAt = OrgPaused, formatTime(at)
	}

	res, err := s.db.ExecContext(ctx, `UPDATE organizations SET status = ?, paused_at = ?
		WHERE id = ?`, status, pausedAt, orgID)
	if err == nil {
		err = mustAffectOne(res)
	}
	if err != nil {
		return fmt.Errorf("store: unable to set organization status: %w", classify(err))
	}
	return nil
}

// SetOrgWidgetDefaults replaces the organization's widget defaults, a partial
// settings object that the caller has validated.
func (s *Store) SetOrgWidgetDefaults(
	ctx context.Context, orgID ids.OrgID, defaults json.RawMessage,
) error {
	res, err := s.db.ExecContext(ctx, `UPDATE organizations SET widget_defaults = ?
		WHERE id = ?`, jsonText(defaults, "{}"), orgID)
	if err == nil {
		err = mustAffectOne(res)
	}
	if err != nil {
		return fmt.Errorf("store: unable to set widget defaults: %w", classify(err))
	}
	return nil
}
