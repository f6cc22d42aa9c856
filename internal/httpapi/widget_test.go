package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

func TestEffectiveSettings(t *testing.T) {
	ten, sixty := 10, 60
	def := DefaultWidgetSettings()
	with := func(f func(*WidgetSettings)) WidgetSettings {
		s := DefaultWidgetSettings()
		f(&s)
		return s
	}

	tests := []struct {
		name      string
		org, site string
		want      WidgetSettings
	}{
		{"built-in defaults", "", "", def},
		{"empty objects", "{}", "{}", def},
		{"org overrides defaults", `{"position":"top-left","theme":"light"}`, "{}",
			with(func(s *WidgetSettings) { s.Position, s.Theme = "top-left", "light" })},
		{"site overrides org", `{"position":"top-left","size":"large"}`, `{"position":"center"}`,
			with(func(s *WidgetSettings) { s.Position, s.Size = "center", "large" })},
		{"invalid org value falls back", `{"size":"huge","triggerDelaySeconds":301}`, "", def},
		{"invalid site value keeps org value", `{"devices":"mobile"}`, `{"devices":"tv"}`,
			with(func(s *WidgetSettings) { s.Devices = "mobile" })},
		{"wrong types ignored", `{"theme":1,"showMinimizeButton":"no","triggerDelaySeconds":"5"}`,
			"", def},
		{"fractional delay ignored", `{"triggerDelaySeconds":2.5}`, "", def},
		{"trigger delay bounds", `{"triggerDelaySeconds":0}`, `{"triggerDelaySeconds":300}`,
			with(func(s *WidgetSettings) { s.TriggerDelaySeconds = 300 })},
		{"auto-hide set", `{"autoHideSeconds":60}`, "",
			with(func(s *WidgetSettings) { s.AutoHideSeconds = &sixty })},
		{"auto-hide cleared by site", `{"autoHideSeconds":60}`, `{"autoHideSeconds":null}`, def},
		{"auto-hide out of range", `{"autoHideSeconds":10}`, `{"autoHideSeconds":5}`,
			with(func(s *WidgetSettings) { s.AutoHideSeconds = &ten })},
		{"minimize button off", `{"showMinimizeButton":false}`, "",
			with(func(s *WidgetSettings) { s.ShowMinimizeButton = false })},
		{"not an object", `[1,2]`, `"x"`, def},
		{"broken JSON", `{"position":`, "", def},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EffectiveSettings(json.RawMessage(tt.org), json.RawMessage(tt.site))
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(tt.want)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("got  %s\nwant %s", gotJSON, wantJSON)
			}
		})
	}
}

func TestWidgetConfigCORSOnlyForAllowedOrigins(t *testing.T) {
	env := newTestEnv(t)
	path := "/api/widget/config?siteKey=" + env.a.site.SiteKey

	tests := []struct {
		name   string
		origin string
		allow  bool
	}{
		{"allowed origin", "https://shop.a.test", true},
		{"wildcard subdomain", "https://www.a.dev", true},
		{"wildcard apex", "https://a.dev", false},
		{"scheme mismatch", "http://shop.a.test", false},
		{"port mismatch", "https://shop.a.test:8443", false},
		{"another site's origin", "https://b.test", false},
		{"no origin", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := map[string]string{}
			if tt.origin != "" {
				header["Origin"] = tt.origin
			}
			got := env.do(request{method: "GET", path: path, header: header})
			if got.status != http.StatusOK {
				t.Fatalf("%d %s", got.status, got.body)
			}

			acao := got.header.Get("Access-Control-Allow-Origin")
			if tt.allow && acao != tt.origin {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", acao, tt.origin)
			}
			if !tt.allow && acao != "" {
				t.Errorf("Access-Control-Allow-Origin = %q, want none", acao)
			}
			if got.header.Get("Vary") != "Origin" {
				t.Errorf("Vary = %q", got.header.Get("Vary"))
			}
		})
	}
}

func TestWidgetConfigAnswer(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	env.must(env.store.SetOrgWidgetDefaults(ctx, env.a.org.ID,
		json.RawMessage(`{"theme":"light","autoHideSeconds":120}`)))
	env.must(env.store.SetSiteWidgetOverrides(ctx, env.a.org.ID, env.a.site.ID,
		json.RawMessage(`{"position":"bottom-left","size":"giant"}`)))

	got := env.do(request{method: "GET", path: "/api/widget/config?siteKey=" +
		env.a.site.SiteKey, header: map[string]string{"Origin": "https://shop.a.test"}})
	if got.status != http.StatusOK {
		t.Fatalf("%d %s", got.status, got.body)
	}
	assertJSON(t, "config", got.body, map[string]any{
		"enabled": true,
		"settings": map[string]any{
			"position": "bottom-left", "size": "medium", "theme": "light",
			"triggerDelaySeconds": 3, "autoHideSeconds": 120, "devices": "all",
			"showMinimizeButton": true,
		},
		"wsUrl": "wss://greeter.example.test/ws/visitor?siteKey=" + env.a.site.SiteKey,
	})

	site, err := env.store.SiteByKey(ctx, env.a.site.SiteKey)
	env.must(err)
	if site.EmbedVerifiedAt == nil || site.EmbedVerifiedOrigin != "https://shop.a.test" {
		t.Errorf("install not verified: %v %q", site.EmbedVerifiedAt, site.EmbedVerifiedOrigin)
	}
}

func TestWidgetConfigUnavailableSites(t *testing.T) {
	env := newTestEnv(t)
	ctx := context.Background()
	env.must(env.store.SetSiteEnabled(ctx, env.b.org.ID, env.b.site.ID, false))

	for _, key := range []string{"pk_unknown", env.b.site.SiteKey} {
		got := env.do(request{method: "GET", path: "/api/widget/config?siteKey=" + key,
			header: map[string]string{"Origin": "https://b.test"}})
		wantError(t, got, http.StatusNotFound, CodeNotFound)
		if got.json["error"] != "Site not found" {
			t.Errorf("%s: error = %v", key, got.json["error"])
		}
		if got.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s: CORS header on a 404", key)
		}
	}

	missing := env.do(request{method: "GET", path: "/api/widget/config"})
	wantError(t, missing, http.StatusBadRequest, CodeBadRequest)

	env.must(env.store.SetOrgPaused(ctx, env.a.org.ID, true, time.Now()))
	paused := env.do(request{method: "GET", path: "/api/widget/config?siteKey=" +
		env.a.site.SiteKey, header: map[string]string{"Origin": "https://shop.a.test"}})
	if paused.status != http.StatusOK {
		t.Fatalf("paused: %d %s", paused.status, paused.body)
	}
	assertJSON(t, "paused", paused.body, map[string]any{"enabled": false})
	if paused.header.Get("Access-Control-Allow-Origin") != "https://shop.a.test" {
		t.Error("the paused answer is unreadable by the allowed origin")
	}
}
