package app

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// A write error means the client left; nobody is left to tell.
	_ = json.NewEncoder(w).Encode(v)
}

// jsonAPIErrors answers requests under /api/ that match no route, or no
// method of a route, with the API's JSON error shape instead of the mux's
// plain text, keeping its status and Allow header.
func jsonAPIErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			mux.ServeHTTP(w, r)
			return
		}
		// Handler only finds the route; ServeHTTP must serve it, since it
		// is what sets the path values ({id}) on the request.
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}

		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if allow := rec.Header().Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		body := map[string]string{"error": "No such API endpoint", "code": "NOT_FOUND"}
		if rec.Code == http.StatusMethodNotAllowed {
			body = map[string]string{"error": "Method not allowed", "code": "METHOD_NOT_ALLOWED"}
		}
		writeJSON(w, rec.Code, body)
	})
}
