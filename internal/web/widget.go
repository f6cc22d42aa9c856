package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
)

// loaderPlaceholder is the object literal in widget/loader.js that New
// replaces with the map of module names to hashed file names.
const loaderPlaceholder = "{/*GREETER_ASSETS*/}"

// Cache policies of the widget files: the loader's URL is fixed in customers'
// pages, so it is cached briefly; everything else has a content-hashed name.
const (
	loaderCacheControl    = "public, max-age=300"
	immutableCacheControl = "public, max-age=31536000, immutable"
)

// prepareWidget hashes the widget modules, names them "<module>.<hash>.js"
// and writes those names into the loader.
func (w *Web) prepareWidget() error {
	entries, err := fs.ReadDir(widgetFS, "widget")
	if err != nil {
		return fmt.Errorf("web: unable to read widget files: %w", err)
	}

	w.widget = make(map[string]*asset)
	w.widgetMap = make(map[string]string)
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || name == "loader.js" || path.Ext(name) != ".js" {
			continue
		}
		body, err := widgetFS.ReadFile("widget/" + name)
		if err != nil {
			return fmt.Errorf("web: unable to read widget/%s: %w", name, err)
		}
		a, err := newAsset(name, body)
		if err != nil {
			return err
		}
		module := strings.TrimSuffix(name, ".js")
		hashed := module + "." + a.hash[:12] + ".js"
		w.widget[hashed] = a
		w.widgetMap[module] = hashed
	}

	loader, err := buildLoader(w.widgetMap)
	if err != nil {
		return err
	}
	w.loader = loader
	return nil
}

// buildLoader returns loader.js with the hashed module names filled in.
func buildLoader(modules map[string]string) (*asset, error) {
	src, err := widgetFS.ReadFile("widget/loader.js")
	if err != nil {
		return nil, fmt.Errorf("web: unable to read widget/loader.js: %w", err)
	}
	if bytes.Count(src, []byte(loaderPlaceholder)) != 1 {
		return nil, fmt.Errorf("web: loader.js must contain %s exactly once", loaderPlaceholder)
	}

	names := make([]string, 0, len(modules))
	for m := range modules {
		names = append(names, m)
	}
	sort.Strings(names) // stable output, so the loader's ETag is stable too
	ordered := make(map[string]string, len(modules))
	for _, m := range names {
		ordered[m] = modules[m]
	}
	table, err := json.Marshal(ordered)
	if err != nil {
		return nil, fmt.Errorf("web: unable to encode widget modules: %w", err)
	}

	body := bytes.Replace(src, []byte(loaderPlaceholder), table, 1)
	return newAsset("loader.js", body)
}

// WidgetModules returns the hashed file name of each widget module, keyed by
// module name ("greeting", "call"). The files are served below /widget/v1/.
func (w *Web) WidgetModules() map[string]string {
	out := make(map[string]string, len(w.widgetMap))
	for k, v := range w.widgetMap {
		out[k] = v
	}
	return out
}

// setWidgetCORS lets any site load the widget's scripts. They hold no data;
// the config endpoint and the WebSocket enforce the allowed origins.
func setWidgetCORS(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
}

// handleLoader serves the loader script that customers embed.
func (w *Web) handleLoader(rw http.ResponseWriter, r *http.Request) {
	setWidgetCORS(rw.Header())
	w.loader.serve(rw, r, loaderCacheControl)
}

// handleWidgetAsset serves a content-hashed widget module.
func (w *Web) handleWidgetAsset(rw http.ResponseWriter, r *http.Request) {
	a, ok := w.widget[r.PathValue("file")]
	if !ok {
		http.NotFound(rw, r)
		return
	}
	setWidgetCORS(rw.Header())
	a.serve(rw, r, immutableCacheControl)
}
