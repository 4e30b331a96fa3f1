// Package webui serves the vds web app embedded in the binary. `make web` builds web/ (Vite) into
// dist/; without that build (a fresh clone, no npm) a placeholder page says how to build it, so the
// Go build never depends on npm.
package webui

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed all:dist placeholder.html
var files embed.FS

// Built reports whether the web app was built into this binary (dist/index.html exists).
func Built() bool {
	_, err := fs.Stat(files, "dist/index.html")
	return err == nil
}

// contentSecurityPolicy keeps the page to its own origin. Vega compiles chart expressions with
// Function(), hence 'unsafe-eval'; charts and inline styles of Vega's tooltips need the rest.
const contentSecurityPolicy = "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// Handler serves the web app: files of dist/ by path (hashed assets cached for a year), and
// index.html for every other GET so client-side routes survive a reload. Without a build, it
// serves the placeholder page.
func Handler() http.Handler {
	dist, _ := fs.Sub(files, "dist")
	built := Built()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if !built {
			h.Set("Cache-Control", "no-store")
			http.ServeFileFS(w, r, files, "placeholder.html")
			return
		}
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name != "" && name != "index.html" {
			if st, err := fs.Stat(dist, name); err == nil && !st.IsDir() {
				if strings.HasPrefix(name, "assets/") {
					h.Set("Cache-Control", "public, max-age=31536000, immutable")
				} else {
					h.Set("Cache-Control", "no-cache")
				}
				http.ServeFileFS(w, r, dist, name)
				return
			}
			if path.Ext(name) != "" { // a missing file, not a client-side route
				http.NotFound(w, r)
				return
			}
		}
		h.Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, dist, "index.html")
	})
}
