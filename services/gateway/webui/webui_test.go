package webui

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	h := Handler()
	cases := []struct {
		method, path string
		want         int
		contains     string
	}{
		{"GET", "/", 200, "<html"},
		{"GET", "/datasets/ds_1", 200, "<html"}, // client-side route
		{"POST", "/", 405, "method not allowed"},
	}
	if !Built() {
		cases = append(cases, struct {
			method, path string
			want         int
			contains     string
		}{"GET", "/", 200, "make web"})
	} else {
		cases = append(cases, struct {
			method, path string
			want         int
			contains     string
		}{"GET", "/assets/missing.js", 404, "not found"})
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
			if rec.Code != c.want || !strings.Contains(rec.Body.String(), c.contains) {
				t.Fatalf("%s %s: %d %q, want %d containing %q", c.method, c.path, rec.Code, rec.Body.String(), c.want, c.contains)
			}
			if rec.Header().Get("Content-Security-Policy") == "" || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("security headers missing: %v", rec.Header())
			}
		})
	}
}
