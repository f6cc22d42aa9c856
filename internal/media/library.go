// Package media stores greeting videos on disk under content-hashed names
// and serves them publicly with range requests and immutable caching. It
// accepts only WebM and MP4 files, told apart by their magic bytes, within
// the size and declared-duration limits of SPEC §13.
package media

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"time"
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

// Limits of a greeting video (SPEC §13, §16.3).
const (
	// MaxVideoBytes is the largest greeting video accepted: 50 MB (MiB).
	MaxVideoBytes = 50 << 20
	// MaxVideoDuration is the longest duration a greeting video may declare.
	MaxVideoDuration = 90 * time.Second
)

// Why Put refused an upload. Returned errors wrap them (or ErrUnsupported,
// ErrMalformed from Probe).
var (
	ErrEmpty    = errors.New("media: empty file")
	ErrTooLarge = errors.New("media: file too large")
	ErrTooLong  = errors.New("media: video too long")
)

// TooLongError is ErrTooLong with the duration the file declares.
type TooLongError struct {
	Duration time.Duration
}

// Error implements error.
func (e *TooLongError) Error() string {
	return fmt.Sprintf("media: video too long: %s declared, at most %s allowed",
		e.Duration.Round(time.Second), MaxVideoDuration)
}

// Is makes errors.Is(err, ErrTooLong) hold.
func (e *TooLongError) Is(target error) bool { return target == ErrTooLong }

// Video is a stored greeting video.
type Video struct {
	Name      string // content-hashed file name, e.g. 3f…a9.webm
	Container string // ContainerWebM or ContainerMP4
	Size      int64
	// Duration is what the container declares, when HasDuration is set.
	Duration    time.Duration
	HasDuration bool
}

// Put stores a greeting video of at most maxBytes read from r. It streams
// the upload to a temporary file while hashing it, then checks the container
// by its magic bytes (never by a client's Content-Type) and the declared
// duration against MaxVideoDuration; only an accepted file gets its
// content-hashed name. Storing the same content twice is harmless.
//
// A read error of r is returned wrapped, so that a caller reading an
// http.MaxBytesReader finds its *http.MaxBytesError.
func (l *Library) Put(r io.Reader, maxBytes int64) (Video, error) {
	tmp, err := os.CreateTemp(l.dir, "upload-*")
	if err != nil {
		return Video{}, fmt.Errorf("media: unable to store an upload: %w", err)
	}
	defer func() {
		// Both only clean up after a refusal or a failure: once committed,
		// the file is closed and its temporary name is gone.
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
	}()

	hash := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, hash), io.LimitReader(r, maxBytes+1))
	switch {
	case err != nil:
		return Video{}, fmt.Errorf("media: unable to read the upload: %w", err)
	case n > maxBytes:
		return Video{}, fmt.Errorf("%w: over %d bytes", ErrTooLarge, maxBytes)
	case n == 0:
		return Video{}, ErrEmpty
	}

	info, err := Probe(tmp, n)
	if err != nil {
		return Video{}, err
	}
	if info.HasDuration && info.Duration > MaxVideoDuration {
		return Video{}, &TooLongError{Duration: info.Duration}
	}

	v := Video{Container: info.Container, Size: n, Duration: info.Duration,
		HasDuration: info.HasDuration}
	v.Name = hex.EncodeToString(hash.Sum(nil)[:16]) + "." + info.Container
	if err := l.commit(tmp, v.Name); err != nil {
		return Video{}, err
	}
	return v, nil
}

// commit makes the temporary file durable under its final name, unless a
// file of the same content is already there.
func (l *Library) commit(tmp *os.File, name string) error {
	path := filepath.Join(l.dir, name)
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	// CreateTemp makes the file private; greeting videos are public, and a
	// reverse proxy may serve the folder itself.
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("media: unable to store %s: %w", name, err)
	}
	// Synced before the rename: the caller records the name in the database
	// next, and a row must never outlive its file across a crash.
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("media: unable to store %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("media: unable to store %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("media: unable to store %s: %w", name, err)
	}
	return nil
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
