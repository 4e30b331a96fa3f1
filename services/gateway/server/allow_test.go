package server

import (
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
)

// TestErrorBodyOneShape: a unary route and a server stream refused before its first message answer
// the same error body, a bare google.rpc.Status {"code", "message", "details"} with the status of the
// code (the stream's was grpc-gateway's {"error": {…}}, so the web app's errorOf showed "404 Not Found"
// instead of the server's sentence). A stream that runs still sends {"result": …} lines.
func TestErrorBodyOneShape(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	var bodies []string
	for _, path := range []string{"/v1/jobs/missing_1", "/v1/jobs/missing_1:watch"} {
		resp, b := do(t, mustReq("GET", f.httpURL+path, nil))
		bodies = append(bodies, string(b))
		checkStatus(t, resp, b, 404, codes.NotFound, "missing_1")
		var body map[string]json.RawMessage
		if err := json.Unmarshal(b, &body); err != nil {
			t.Fatalf("%s: %v: %s", path, err, b)
		}
		keys := make([]string, 0, len(body))
		for k := range body {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if !reflect.DeepEqual(keys, []string{"code", "details", "message"}) {
			t.Errorf("GET %s: error body %s, want {\"code\", \"message\", \"details\"}", path, b)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("GET %s: Content-Type %q", path, ct)
		}
	}
	if bodies[0] != bodies[1] {
		t.Errorf("the unary and the stream route answer the same error differently:\n%s\n%s", bodies[0], bodies[1])
	}
	resp, b := do(t, mustReq("GET", f.httpURL+"/v1/jobs/job_3:watch", nil))
	if resp.StatusCode != 200 || strings.Count(string(b), `{"result":`) != 3 {
		t.Fatalf("stream: %d %s", resp.StatusCode, b)
	}
}

// TestMethodNotAllowed: a documented route asked with a method it does not take is 405 with an
// Allow header (it was 404 "no API route", or GET /v1/jobs/{id} taking "j1:cancel" as the id);
// other paths are still 404 and the routes' own methods are untouched.
func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *Options) { o.NoWeb = true })
	for _, c := range []struct{ method, path, allow string }{
		{"GET", "/v1/jobs/j1:cancel", "POST"},
		{"GET", "/v1/models/mdl_1:predict", "POST"},
		{"GET", "/v1/projects/prj_1:execute", "POST"},
		{"GET", "/v1/conversations/c1/runs", "POST"},
		{"GET", "/v1/projects/prj_1/datasets:upload", "POST"},
		{"GET", "/v1/session", "DELETE, POST"},
		{"PUT", "/v1/jobs/j1", "GET"},
		{"DELETE", "/v1/projects/prj_1/apiKeys", "GET, POST"},
	} {
		resp, b := do(t, mustReq(c.method, f.httpURL+c.path, nil))
		checkStatus(t, resp, b, http.StatusMethodNotAllowed, codes.Unimplemented, "method "+c.method+" is not allowed on "+c.path+"; it takes "+c.allow)
		if got := resp.Header.Get("Allow"); got != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
		}
	}
	resp, b := do(t, mustReq("GET", f.httpURL+"/v1/nothing/here", nil))
	checkStatus(t, resp, b, 404, codes.NotFound, "no API route for GET /v1/nothing/here")
	for _, path := range []string{"/v1/jobs/j1", "/v1/jobs/job_3:watch"} {
		if resp, b := do(t, mustReq("GET", f.httpURL+path, nil)); resp.StatusCode != 200 {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, b)
		}
	}
}
