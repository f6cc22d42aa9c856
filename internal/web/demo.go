package web

import (
	"bytes"
	"html/template"
	"net/http"
	"strings"
)

// demoPages are the fake customer website's templates. They are embedded, so
// a parse error is a programming error that the package tests catch.
var demoPages = template.Must(template.ParseFS(templateFS,
	"templates/demo/layout.html", "templates/demo/home.html", "templates/demo/pricing.html"))

// demoData is what the demo templates receive.
type demoData struct {
	LoaderURL string // absolute URL of the widget loader
	SiteKey   string
	Page      string // "home" or "pricing", for the active nav link
}

// DemoPage returns a handler for "Northwind Bikes", a small shop website that
// embeds the widget exactly as a customer would: one async script tag with the
// site key. It serves "/" and "/pricing" and is meant to run on its own port,
// so that the widget runs on another origin than the dashboard.
func DemoPage(publicURL, siteKey string) http.Handler {
	data := demoData{
		LoaderURL: strings.TrimRight(publicURL, "/") + "/widget/v1/loader.js",
		SiteKey:   siteKey,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", demoHandler("home.html", data, "home"))
	mux.HandleFunc("GET /pricing", demoHandler("pricing.html", data, "pricing"))
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func demoHandler(name string, data demoData, page string) http.HandlerFunc {
	data.Page = page
	return func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		if err := demoPages.ExecuteTemplate(&buf, name, data); err != nil {
			http.Error(w, "Internal Server Error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(buf.Bytes()) // a failed write means the client went away
	}
}
