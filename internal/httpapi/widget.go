package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"greeter/internal/auth"
	"greeter/internal/store"
)

// WidgetSettings are the widget's look and behaviour (SPEC §12.8).
type WidgetSettings struct {
	Position            string `json:"position"`
	Size                string `json:"size"`
	Theme               string `json:"theme"`
	TriggerDelaySeconds int    `json:"triggerDelaySeconds"`
	AutoHideSeconds     *int   `json:"autoHideSeconds"` // nil: never auto-hide
	Devices             string `json:"devices"`
	ShowMinimizeButton  bool   `json:"showMinimizeButton"`
}

// Allowed values of the enumerated widget settings.
var (
	widgetPositions = []string{"bottom-right", "bottom-left", "top-right", "top-left", "center"}
	widgetSizes     = []string{"small", "medium", "large"}
	widgetThemes    = []string{"dark", "light"}
	widgetDevices   = []string{"all", "desktop", "mobile"}
)

// DefaultWidgetSettings returns the built-in widget settings.
func DefaultWidgetSettings() WidgetSettings {
	return WidgetSettings{
		Position:            "bottom-right",
		Size:                "medium",
		Theme:               "dark",
		TriggerDelaySeconds: 3,
		Devices:             "all",
		ShowMinimizeButton:  true,
	}
}

// EffectiveSettings returns the built-in settings overridden field by field by
// the organization's defaults, then by the site's overrides. Both are partial
// JSON objects; a field with an invalid value is ignored, so the value below
// it stays.
func EffectiveSettings(orgDefaults, siteOverrides json.RawMessage) WidgetSettings {
	s := DefaultWidgetSettings()
	s.apply(orgDefaults)
	s.apply(siteOverrides)
	return s
}

// apply overrides s with the valid fields of a partial settings object.
func (s *WidgetSettings) apply(raw json.RawMessage) {
	var fields map[string]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &fields) != nil {
		return
	}

	for name, v := range fields {
		switch name {
		case "position":
			setEnum(&s.Position, v, widgetPositions)
		case "size":
			setEnum(&s.Size, v, widgetSizes)
		case "theme":
			setEnum(&s.Theme, v, widgetThemes)
		case "devices":
			setEnum(&s.Devices, v, widgetDevices)
		case "triggerDelaySeconds":
			if n, ok := intIn(v, 0, 300); ok {
				s.TriggerDelaySeconds = n
			}
		case "autoHideSeconds":
			if string(v) == "null" {
				s.AutoHideSeconds = nil
			} else if n, ok := intIn(v, 10, 3600); ok {
				s.AutoHideSeconds = &n
			}
		case "showMinimizeButton":
			var b bool
			if json.Unmarshal(v, &b) == nil {
				s.ShowMinimizeButton = b
			}
		}
	}
}

func setEnum(dst *string, raw json.RawMessage, allowed []string) {
	var v string
	if json.Unmarshal(raw, &v) == nil && slices.Contains(allowed, v) {
		*dst = v
	}
}

func intIn(raw json.RawMessage, lo, hi int) (int, bool) {
	var n int
	if json.Unmarshal(raw, &n) != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}

// widgetConfigResponse is the answer of GET /api/widget/config.
type widgetConfigResponse struct {
	Enabled  bool            `json:"enabled"`
	Settings *WidgetSettings `json:"settings,omitempty"`
	WSURL    string          `json:"wsUrl,omitempty"`
}

// widgetConfig handles GET /api/widget/config?siteKey=, the widget's first
// request. CORS headers are sent only for the site's allowed origins.
func (a *API) widgetConfig(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Origin")

	key := r.URL.Query().Get("siteKey")
	if key == "" {
		WriteError(w, http.StatusBadRequest, CodeBadRequest, "siteKey is required")
		return
	}

	site, err := a.store.SiteByKey(r.Context(), key)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !site.Enabled) {
		WriteError(w, http.StatusNotFound, CodeNotFound, "Site not found")
		return
	}
	if err != nil {
		a.internalError(w, r, err)
		return
	}

	org, err := a.store.OrgByID(r.Context(), site.OrgID)
	if err != nil {
		a.internalError(w, r, err)
		return
	}

	origin := r.Header.Get("Origin")
	if auth.OriginAllowed(origin, site.AllowedOrigins) {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		a.markVerified(r, site, origin)
	}

	if org.Status == store.OrgPaused {
		WriteJSON(w, http.StatusOK, widgetConfigResponse{Enabled: false})
		return
	}

	settings := EffectiveSettings(org.WidgetDefaults, site.WidgetOverrides)
	WriteJSON(w, http.StatusOK, widgetConfigResponse{
		Enabled:  true,
		Settings: &settings,
		WSURL:    a.visitorSocketURL(r, key),
	})
}

// markVerified records the first allowed origin the widget loads on, which
// is what the admin's install status waits for. A failure only delays that.
func (a *API) markVerified(r *http.Request, site store.Site, origin string) {
	if site.EmbedVerifiedAt != nil {
		return
	}

	err := a.store.MarkSiteVerified(r.Context(), site.ID, origin, a.now())
	if err != nil {
		a.log.WarnContext(r.Context(), "unable to record the site's first visit",
			slog.String("site_id", string(site.ID)), slog.Any("err", err))
	}
}

// visitorSocketURL is the /ws/visitor URL for a site key, on the public URL
// when one is configured and on the request's host otherwise.
func (a *API) visitorSocketURL(r *http.Request, key string) string {
	scheme, host, prefix := "http", r.Host, ""
	if r.TLS != nil {
		scheme = "https"
	}
	if a.publicURL != nil {
		scheme, host = a.publicURL.Scheme, a.publicURL.Host
		prefix = strings.TrimSuffix(a.publicURL.Path, "/")
	}

	u := url.URL{
		Scheme:   map[string]string{"http": "ws", "https": "wss"}[scheme],
		Host:     host,
		Path:     prefix + "/ws/visitor",
		RawQuery: url.Values{"siteKey": {key}}.Encode(),
	}
	return u.String()
}
