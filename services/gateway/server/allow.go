package server

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// routeTemplate is one path of the OpenAPI document (generated and gateway routes) with its methods.
type routeTemplate struct {
	segs    []string
	methods []string
}

// routeTable is read from the served OpenAPI document, so it lists exactly the documented routes.
var routeTable = sync.OnceValue(func() []routeTemplate {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if json.Unmarshal(openapiDoc(), &doc) != nil {
		return nil
	}
	var out []routeTemplate
	for p, ops := range doc.Paths {
		rt := routeTemplate{segs: strings.Split(strings.Trim(p, "/"), "/")}
		for m := range ops {
			switch m = strings.ToUpper(m); m {
			case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
				rt.methods = append(rt.methods, m)
			}
		}
		if len(rt.methods) > 0 {
			out = append(out, rt)
		}
	}
	return out
})

// matchSegment reports whether path segment s fits template segment t and how specific the fit is:
// 2 for a literal (or a variable with a literal ":verb", "{id}:predict" for "mdl_1:predict"),
// 1 for a bare variable ("{id}", which would take "mdl_1:predict" whole).
func matchSegment(t, s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	if !strings.HasPrefix(t, "{") {
		return 2, t == s
	}
	end := strings.Index(t, "}")
	if end < 0 {
		return 0, false
	}
	verb := t[end+1:] // ":predict" or ""
	if verb == "" {
		return 1, true
	}
	return 2, strings.HasSuffix(s, verb) && len(s) > len(verb)
}

// allowedMethods are the methods of the most specific documented routes that path fits, or nil
// when it fits none. "/v1/models/m:predict" fits both GET /v1/models/{id} (the id taken whole) and
// POST /v1/models/{id}:predict; the second, with its literal verb, is the route meant.
func allowedMethods(path string) []string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	best, set := -1, map[string]bool{}
	for _, rt := range routeTable() {
		if len(rt.segs) != len(segs) {
			continue
		}
		score, ok := 0, true
		for i := range segs {
			n, fit := matchSegment(rt.segs[i], segs[i])
			if !fit {
				ok = false
				break
			}
			score += n
		}
		if !ok || score < best {
			continue
		}
		if score > best {
			best, set = score, map[string]bool{}
		}
		for _, m := range rt.methods {
			set[m] = true
		}
	}
	if len(set) == 0 {
		return nil
	}
	out := make([]string, 0, len(set))
	for m := range set {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// methodNotAllowed answers 405 with an Allow header when the request's path is a documented route
// that does not take its method (GET on a POST-only route was a 404: the catch-all API handler,
// or a GET route whose variable took "id:verb" whole, answered it). OPTIONS (CORS) and HEAD on a
// GET route pass through, as do paths that are no route (a 404 from the API handler).
func (g *gateway) methodNotAllowed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		allowed := allowedMethods(r.URL.Path)
		if allowed == nil {
			next.ServeHTTP(w, r)
			return
		}
		for _, m := range allowed {
			if m == r.Method || r.Method == http.MethodHead && m == http.MethodGet {
				next.ServeHTTP(w, r)
				return
			}
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		g.writeStatus(w, r, status.Newf(codes.Unimplemented, "method %s is not allowed on %s; it takes %s (see %s)",
			r.Method, r.URL.Path, strings.Join(allowed, ", "), OpenAPIPath), http.StatusMethodNotAllowed)
	})
}
