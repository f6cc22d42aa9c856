// Package media stores greeting videos on disk under content-hashed names
// and serves them publicly with range requests and immutable caching.
package media

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
)

// Library is a folder of media files named by their content.
type Library struct {
	dir string
}

// validName matches the names Put makes: a hash and a known extension.
var validName = regexp.MustCompile(`^[0-9a-f]{32}\.(webm|mp4)$`)

// Open returns the library in dir, creating the folder when needed.
func Open(dir string) (*Library, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("media: unable to create %s: %w", dir, err)
	}
	return &Library{dir: dir}, nil
}

// Put stores the content of r with extension ext ("webm" or "mp4") and
// returns its name. Storing the same content twice is harmless.
func (l *Library) Put(r io.Reader, ext string) (string, error) {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return "", fmt.Errorf("media: unable to read upload: %w", err)
	}
	sum := sha256.Sum256(buf.Bytes())
	name := hex.EncodeToString(sum[:16]) + "." + ext
	if !validName.MatchString(name) {
		return "", fmt.Errorf("media: unsupported extension %q", ext)
	}

	path := filepath.Join(l.dir, name)
	if _, err := os.Stat(path); err == nil {
		return name, nil
	}
	tmp, err := os.CreateTemp(l.dir, "upload-*")
	if err != nil {
		return "", fmt.Errorf("media: unable to store %s: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return "", fmt.Errorf("media: unable to store %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("media: unable to store %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("media: unable to store %s: %w", name, err)
	}
	return name, nil
}

// ServeHTTP serves GET /media/{name}. Names are content hashes, so a file
// never changes and may be cached for good; any origin may load it.
func (l *Library) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !validName.MatchString(name) {
		http.NotFound(w, r)
		return
	}
	f, err := os.Open(filepath.Join(l.dir, name))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		http.Error(w, "unable to read file", http.StatusInternalServerError)
		return
	}

	h := w.Header()
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	h.Set("X-Content-Type-Options", "nosniff")
	if filepath.Ext(name) == ".webm" {
		h.Set("Content-Type", "video/webm")
	} else {
		h.Set("Content-Type", "video/mp4")
	}
	http.ServeContent(w, r, name, info.ModTime(), f)
}
