package media

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPutAndServeWithRanges(t *testing.T) {
	lib, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	name, err := lib.Put(strings.NewReader("0123456789"), "webm")
	if err != nil {
		t.Fatal(err)
	}
	again, err := lib.Put(strings.NewReader("0123456789"), "webm")
	if err != nil || again != name {
		t.Fatalf("same content stored as %q and %q (%v)", name, again, err)
	}

	mux := http.NewServeMux()
	mux.Handle("GET /media/{name}", lib)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/media/"+name, nil)
	req.Header.Set("Range", "bytes=2-4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || string(body) != "234" {
		t.Fatalf("range request: %d %q", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Content-Type"); got != "video/webm" {
		t.Fatalf("content type %q", got)
	}

	for _, bad := range []string{"../secret", "abc.webm", name + ".txt"} {
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
