package media

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func openLibrary(t *testing.T) (*Library, string) {
	t.Helper()
	dir := t.TempDir()
	lib, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return lib, dir
}

// files lists the names in dir, to check that a refusal leaves nothing.
func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestPutAndServeWithRanges(t *testing.T) {
	lib, dir := openLibrary(t)
	file := webmWithDuration(4000)
	v, err := lib.Put(bytes.NewReader(file), MaxVideoBytes)
	if err != nil {
		t.Fatal(err)
	}
	if !validName.MatchString(v.Name) || !strings.HasSuffix(v.Name, ".webm") ||
		v.Size != int64(len(file)) || v.Duration != 4*time.Second || !v.HasDuration {
		t.Fatalf("video = %+v", v)
	}
	again, err := lib.Put(bytes.NewReader(file), MaxVideoBytes)
	if err != nil || again.Name != v.Name {
		t.Fatalf("same content stored as %q and %q (%v)", v.Name, again.Name, err)
	}
	if got := files(t, dir); len(got) != 1 || got[0] != v.Name {
		t.Fatalf("library holds %v", got)
	}
	st, err := os.Stat(filepath.Join(dir, v.Name))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("stored with mode %v, want 0644: the files are public", st.Mode())
	}
	mp4, err := lib.Put(bytes.NewReader(mp4With(mvhd0(1000, 1000))), MaxVideoBytes)
	if err != nil || !strings.HasSuffix(mp4.Name, ".mp4") {
		t.Fatalf("mp4 stored as %q (%v)", mp4.Name, err)
	}

	mux := http.NewServeMux()
	mux.Handle("GET /media/{name}", lib)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/media/"+v.Name, nil)
	req.Header.Set("Range", "bytes=2-4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, file[2:5]) {
		t.Fatalf("range request: %d %q", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Content-Type"); got != "video/webm" {
		t.Fatalf("content type %q", got)
	}

	for _, bad := range []string{"../secret", "abc.webm", v.Name + ".txt"} {
		resp, err := http.Get(srv.URL + "/media/" + bad)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%q: status %d, want 404", bad, resp.StatusCode)
		}
	}
}

// failingReader fails after its content, as a client hanging up does.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func TestPutRefusalsLeaveNothingBehind(t *testing.T) {
	hangUp := errors.New("client went away")
	tests := []struct {
		name  string
		body  io.Reader
		limit int64
		err   error
	}{
		{"empty", bytes.NewReader(nil), MaxVideoBytes, ErrEmpty},
		{"over the limit", bytes.NewReader(webmWithDuration(1000)), 40, ErrTooLarge},
		{"text", strings.NewReader("just some text"), MaxVideoBytes, ErrUnsupported},
		{"matroska", bytes.NewReader(ebmlHeader("matroska")), MaxVideoBytes, ErrUnsupported},
		{"webm of 90.5 s", bytes.NewReader(webmWithDuration(90_500)), MaxVideoBytes, ErrTooLong},
		{"mp4 of 2 min", bytes.NewReader(mp4With(mvhd1(1000, 120_000))), MaxVideoBytes, ErrTooLong},
		{"broken webm", bytes.NewReader(webmWithDuration(1000)[:50]), MaxVideoBytes, ErrMalformed},
		{"read error", &failingReader{bytes.NewReader(webmWithDuration(1)), hangUp},
			MaxVideoBytes, hangUp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib, dir := openLibrary(t)
			v, err := lib.Put(tt.body, tt.limit)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Put = %+v, %v; want %v", v, err, tt.err)
			}
			if got := files(t, dir); len(got) != 0 {
				t.Errorf("a refused upload left %v", got)
			}
		})
	}
}

func TestPutAcceptsTheLimitsExactly(t *testing.T) {
	lib, _ := openLibrary(t)
	file := webmWithDuration(90_000)
	v, err := lib.Put(bytes.NewReader(file), int64(len(file)))
	if err != nil || v.Duration != MaxVideoDuration {
		t.Fatalf("a 90 s file of exactly the limit: %+v, %v", v, err)
	}
	rec, err := lib.Put(bytes.NewReader(webmRecorded()), MaxVideoBytes)
	if err != nil || rec.HasDuration {
		t.Fatalf("a file without a declared duration: %+v, %v", rec, err)
	}
}

func TestVideoLimitsAreTheSpecs(t *testing.T) {
	if MaxVideoBytes != 50*1024*1024 || MaxVideoDuration != 90*time.Second {
		t.Fatalf("limits %d bytes, %s", MaxVideoBytes, MaxVideoDuration)
	}
}

// zeros is an endless source of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// Put streams: storing a 32 MB upload allocates a small fraction of it.
func TestPutStreamsWithoutBufferingTheFile(t *testing.T) {
	lib, _ := openLibrary(t)
	const size = 32 << 20
	head := mp4With(mvhd0(1000, 1000))
	body := io.MultiReader(bytes.NewReader(head), io.LimitReader(zeros{}, size-int64(len(head))))

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	v, err := lib.Put(body, MaxVideoBytes)
	runtime.ReadMemStats(&after)
	if err != nil || v.Size != size {
		t.Fatalf("Put = %+v, %v", v, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("storing %d bytes allocated %d bytes", size, alloc)
	}
}
