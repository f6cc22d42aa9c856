package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"greeter/internal/ids"
)

// Site is a website that embeds the widget with its public site key.
type Site struct {
	ID                  ids.SiteID
	OrgID               ids.OrgID
	Name                string
	SiteKey             string
	AllowedOrigins      []string // scheme://host[:port], or with a leading "*." host
	Enabled             bool
	WidgetOverrides     json.RawMessage // a partial widget settings object
	EmbedVerifiedAt     *time.Time
	EmbedVerifiedOrigin string
	CreatedAt           time.Time
}

// NewSite is what it takes to add a site. An empty SiteKey gets a fresh one.
type NewSite struct {
	OrgID          ids.OrgID
	Name           string
	SiteKey        string
	AllowedOrigins []string
}

const siteColumns = `id, org_id, name, site_key, allowed_origins, enabled, widget_overrides,
	embed_verified_at, embed_verified_origin, created_at`

// CreateSite adds an enabled site to an organization.
func (s *Store) CreateSite(ctx context.Context, n NewSite) (Site, error) {
	site := Site{
		ID:              ids.SiteID(ids.NewRow()),
		OrgID:           n.OrgID,
		Name:            strings.TrimSpace(n.Name),
		SiteKey:         n.SiteKey,
		AllowedOrigins:  n.AllowedOrigins,
		Enabled:         true,
		WidgetOverrides: json.RawMessage("{}"),
		CreatedAt:       time.Now().UTC(),
	}
	if site.SiteKey == "" {
		site.SiteKey = ids.NewSiteKey()
	}
	if site.AllowedOrigins == nil {
		site.AllowedOrigins = []string{}
	}

	origins, err := json.Marshal(site.AllowedOrigins)
	if err != nil {
		return Site{}, fmt.Errorf("store: unable to create site: %w", err)
	}

	_, err = s.db.ExecContext(ctx, `INSERT INTO sites (`+siteColumns+`)
		VALUES (?, ?, ?, ?, ?, 1, ?, NULL, NULL, ?)`,
		site.ID, site.OrgID, site.Name, site.SiteKey, string(origins),
		string(site.WidgetOverrides), formatTime(site.CreatedAt))
	if err != nil {
		return Site{}, fmt.Errorf("store: unable to create site: %w", classify(err))
	}
	return site, nil
}

// SiteByKey returns the site with this public key, enabled or not.
func (s *Store) SiteByKey(ctx context.Context, key string) (Site, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+siteColumns+` FROM sites WHERE site_key = ?`, key)
	site, err := scanSite(row)
	if err != nil {
		return Site{}, fmt.Errorf("store: unable to load site: %w", notFoundIfNoRows(err))
	}
	return site, nil
}

// SetSiteOrigins replaces the origins a site's widget may be embedded on.
func (s *Store) SetSiteOrigins(
	ctx context.Context, orgID ids.OrgID, siteID ids.SiteID, origins []string,
) error {
	if origins == nil {
		origins = []string{}
	}
	text, err := json.Marshal(origins)
	if err != nil {
		return fmt.Errorf("store: unable to set site origins: %w", err)
	}

	res, err := s.db.ExecContext(ctx, `UPDATE sites SET allowed_origins = ?
		WHERE id = ? AND org_id = ?`, string(text), siteID, orgID)
	if err == nil {
		err = mustAffectOne(res)
	}
	if err != nil {
		return fmt.Errorf("store: unable to set site origins: %w", classify(err))
	}
	return nil
}

// MarkSiteVerified records the first origin the widget was seen on. Later
// calls change nothing, so that it is cheap to call on every visit.
func (s *Store) MarkSiteVerified(
	ctx context.Context, siteID ids.SiteID, origin string, at time.Time,
) error {
	_, err := s.db.ExecContext(ctx, `UPDATE sites
		SET embed_verified_at = ?, embed_verified_origin = ?
		WHERE id = ? AND embed_verified_at IS NULL`, formatTime(at), origin, siteID)
	if err != nil {
		return fmt.Errorf("store: unable to mark site verified: %w", classify(err))
	}
	return nil
}

func scanSite(row scanner) (Site, error) {
	var (
		site      Site
		origins   string
		overrides string
	)
	err := row.Scan(&site.ID, &site.OrgID, &site.Name, &site.SiteKey, &origins, &site.Enabled,
		&overrides, nullTimeCol{&site.EmbedVerifiedAt},
		nullStringCol[string]{&site.EmbedVerifiedOrigin}, timeCol{&site.CreatedAt})
	if err != nil {
		return Site{}, err
	}

	if err := json.Unmarshal([]byte(origins), &site.AllowedOrigins); err != nil {
		return Site{}, fmt.Errorf("store: bad allowed_origins of site %s: %w", site.ID, err)
	}
	site.WidgetOverrides = json.RawMessage(overrides)
	return site, nil
}

// SetSiteEnabled enables or disables a site's widget.
func (s *Store) SetSiteEnabled(
	ctx context.Context, orgID ids.OrgID, siteID ids.SiteID, enabled bool,
) error {
	res, err := s.db.ExecContext(ctx, `UPDATE sites SET enabled = ? WHERE id = ? AND org_id = ?`,
		enabled, siteID, orgID)
	if err == nil {
		err = mustAffectOne(res)
	}
	if err != nil {
		return fmt.Errorf("store: unable to set site enabled: %w", classify(err))
	}
	return nil
}

// SetSiteWidgetOverrides replaces a site's widget overrides, a partial
// settings object that the caller has validated.
func (s *Store) SetSiteWidgetOverrides(
	ctx context.Context, orgID ids.OrgID, siteID ids.SiteID, overrides json.RawMessage,
) error {
	res, err := s.db.ExecContext(ctx, `UPDATE sites SET widget_overrides = ?
		WHERE id = ? AND org_id = ?`, jsonText(overrides, "{}"), siteID, orgID)
	if err == nil {
		err = mustAffectOne(res)
	}
	if err != nil {
		return fmt.Errorf("store: unable to set widget overrides: %w", classify(err))
	}
	return nil
}
