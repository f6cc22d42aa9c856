package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

//go:embed templates
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

//go:embed widget
var widgetFS embed.FS

// asset is one file prepared for serving: its bytes, a gzip copy when that is
// smaller, and a strong ETag derived from the content.
type asset struct {
	body        []byte
	gzipped     []byte // nil when compression does not pay off
	hash        string // hex SHA-256 of body
	contentType string
}

// newAsset hashes and compresses body once.
func newAsset(name string, body []byte) (*asset, error) {
	sum := sha256.Sum256(body)
	a := &asset{
		body:        body,
		hash:        hex.EncodeToString(sum[:]),
		contentType: contentTypeOf(name),
	}

	gz, err := gzipBytes(body)
	if err != nil {
		return nil, fmt.Errorf("web: unable to compress %s: %w", name, err)
	}
	if len(gz) < len(body)*9/10 {
		a.gzipped = gz
	}
	return a, nil
}

// gzipBytes compresses b at the best compression level.
func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// contentTypeOf returns the media type for a file name, with a charset for text.
func contentTypeOf(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".html":
		return "text/html; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// etag is the quoted strong validator of the asset.
func (a *asset) etag() string { return `"` + a.hash[:20] + `"` }

// serve writes the asset with the given Cache-Control, answering conditional
// requests with 304 and using the gzip copy when the client accepts it.
func (a *asset) serve(w http.ResponseWriter, r *http.Request, cacheControl string) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", cacheControl)
	h.Set("ETag", a.etag())
	h.Set("X-Content-Type-Options", "nosniff")
	if a.gzipped != nil {
		h.Add("Vary", "Accept-Encoding")
	}

	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, a.etag()) {
		w.WriteHeader(http.StatusNotModified)
		return
	}

	body := a.body
	if a.gzipped != nil && acceptsGzip(r) {
		body = a.gzipped
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body) // a failed write means the client went away
	}
}

// etagMatches reports whether an If-None-Match header names tag.
func etagMatches(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == tag || t == "*" {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(name) != "gzip" {
			continue
		}
		return strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0"
	}
	return false
}

// loadStatic prepares every dashboard file below static/, keyed by its path
// relative to that directory ("js/workbench.js").
func loadStatic() (map[string]*asset, error) {
	files := make(map[string]*asset)
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		a, err := newAsset(p, body)
		if err != nil {
			return err
		}
		files[strings.TrimPrefix(p, "static/")] = a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: unable to load static files: %w", err)
	}
	return files, nil
}

// handleStatic serves dashboard CSS and JavaScript. The module files import
// each other by plain relative names, so they are not renamed by hash; instead
// browsers revalidate them on every use (no-cache) against the ETag.
func (w *Web) handleStatic(rw http.ResponseWriter, r *http.Request) {
	a, ok := w.static[r.PathValue("path")]
	if !ok {
		http.NotFound(rw, r)
		return
	}
	a.serve(rw, r, "no-cache")
}
