package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/vdsproject/vds/gen/vds/auth/v1"
	"github.com/vdsproject/vds/libs/grpcx"
)

// authBackend is a real gRPC AuthService with one account (ada@example.com / right-password) whose
// refresh token "rt-1" refreshes to access token "at-2".
type authBackend struct {
	authv1.UnimplementedAuthServiceServer
	logouts chan string
}

func (a *authBackend) Login(_ context.Context, r *authv1.LoginRequest) (*authv1.LoginResponse, error) {
	switch r.Email {
	case "throttled@example.com": // as the auth service throttles: the wait also as RetryInfo
		st, _ := status.New(codes.ResourceExhausted, "too many failed logins: wait 2m0s and try again").
			WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(90500 * time.Millisecond)})
		return nil, st.Err()
	case "":
		return nil, grpcx.InvalidArgument("email", "is required")
	}
	if r.Email != "ada@example.com" || r.Password != "right-password" {
		return nil, status.Error(codes.Unauthenticated, "wrong email or password")
	}
	return &authv1.LoginResponse{AccessToken: "at-1", RefreshToken: "rt-1",
		AccessExpireTime: timestamppb.New(time.Now().Add(15 * time.Minute)), RefreshExpireTime: timestamppb.New(time.Now().Add(24 * time.Hour)),
		User: &authv1.User{Id: "usr_ada", Email: r.Email}}, nil
}

func (a *authBackend) Refresh(_ context.Context, r *authv1.RefreshRequest) (*authv1.RefreshResponse, error) {
	if r.RefreshToken != "rt-1" {
		return nil, status.Error(codes.Unauthenticated, "refresh token is not valid")
	}
	return &authv1.RefreshResponse{AccessToken: "at-2", RefreshToken: "rt-2",
		AccessExpireTime: timestamppb.New(time.Now().Add(15 * time.Minute)), RefreshExpireTime: timestamppb.New(time.Now().Add(24 * time.Hour))}, nil
}

func (a *authBackend) Logout(ctx context.Context, r *authv1.LogoutRequest) (*authv1.LogoutResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	a.logouts <- strings.Join(md.Get("authorization"), ",") + "|" + r.RefreshToken
	return &authv1.LogoutResponse{}, nil
}

func startAuth(t *testing.T) (*authBackend, string) {
	a := &authBackend{logouts: make(chan string, 4)}
	s := grpc.NewServer()
	authv1.RegisterAuthServiceServer(s, a)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(s.Stop)
	return a, l.Addr().String()
}

func cookieOf(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestSession(t *testing.T) {
	t.Parallel()
	auth, authAddr := startAuth(t)
	f := newFixture(t, func(o *Options) { o.Backends[Auth] = authAddr })

	signIn := func(t *testing.T, body string) (*http.Response, []byte) {
		req := mustReq("POST", f.httpURL+SessionPath, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return do(t, req)
	}

	t.Run("wrong password is 401 with the auth message", func(t *testing.T) {
		resp, body := signIn(t, `{"email":"ada@example.com","password":"nope"}`)
		checkStatus(t, resp, body, 401, codes.Unauthenticated, "wrong email or password")
		if resp.Header.Get("Www-Authenticate") == "" || cookieOf(resp, SessionCookie) != nil {
			t.Errorf("headers %v", resp.Header)
		}
	})
	t.Run("malformed body is 400 naming the body", func(t *testing.T) {
		resp, body := signIn(t, `email=ada`)
		checkStatus(t, resp, body, 400, codes.InvalidArgument, "body")
	})

	resp, body := signIn(t, `{"email":"ada@example.com","password":"right-password"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("sign in: %d %s", resp.StatusCode, body)
	}
	var out struct {
		CSRFToken string `json:"csrfToken"`
		User      struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.User.ID != "usr_ada" || len(out.CSRFToken) != 64 {
		t.Fatalf("sign-in body %s (%v)", body, err)
	}
	if strings.Contains(string(body), "at-1") || strings.Contains(string(body), "rt-1") {
		t.Errorf("tokens leak into the body the page can read: %s", body)
	}
	sess, refresh, csrf := cookieOf(resp, SessionCookie), cookieOf(resp, RefreshCookie), cookieOf(resp, CSRFCookie)
	if sess == nil || refresh == nil || csrf == nil {
		t.Fatalf("cookies %v", resp.Cookies())
	}
	t.Run("cookie attributes", func(t *testing.T) {
		for _, c := range []*http.Cookie{sess, refresh} {
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure {
				t.Errorf("%s: HttpOnly %v SameSite %v Secure %v (plain HTTP: not Secure)", c.Name, c.HttpOnly, c.SameSite, c.Secure)
			}
		}
		if sess.Value != "at-1" || refresh.Value != "rt-1" || refresh.Path != "/v1/" {
			t.Errorf("session %q refresh %q path %q", sess.Value, refresh.Value, refresh.Path)
		}
		if csrf.HttpOnly || csrf.Value != out.CSRFToken || csrf.SameSite != http.SameSiteStrictMode {
			t.Errorf("csrf cookie %+v, body token %q", csrf, out.CSRFToken)
		}
	})

	cases := []struct {
		name, method, path string
		cookies            []*http.Cookie
		csrfHeader         string
		bearer             string
		want               int
		code               codes.Code
		msg                string
		seenAuth           string // Authorization the backend saw
	}{
		{"read with the cookie", "GET", "/v1/jobs/job_c", []*http.Cookie{sess}, "", "", 200, 0, "", "Bearer at-1"},
		{"bearer wins over the cookie", "GET", "/v1/jobs/job_b", []*http.Cookie{sess}, "", "tok-x", 200, 0, "", "Bearer tok-x"},
		{"write without CSRF header", "POST", "/v1/jobs/j1:cancel", []*http.Cookie{sess, csrf}, "", "", 403, codes.PermissionDenied, CSRFHeader, ""},
		{"write with a wrong CSRF header", "POST", "/v1/jobs/j1:cancel", []*http.Cookie{sess, csrf}, "0123", "", 403, codes.PermissionDenied, CSRFHeader, ""},
		{"write with CSRF header but no CSRF cookie", "POST", "/v1/jobs/j1:cancel", []*http.Cookie{sess}, out.CSRFToken, "", 403, codes.PermissionDenied, CSRFHeader, ""},
		// The fake backend does not implement CancelJob: 501 shows the request got through.
		{"write with the CSRF header", "POST", "/v1/jobs/j1:cancel", []*http.Cookie{sess, csrf}, out.CSRFToken, "", 501, codes.Unimplemented, "CancelJob", ""},
		{"bearer write needs no CSRF", "POST", "/v1/jobs/j1:cancel", []*http.Cookie{sess}, "", "tok-x", 501, codes.Unimplemented, "CancelJob", ""},
		{"upload with cookie needs CSRF", "POST", "/v1/projects/prj_1/datasets:upload", []*http.Cookie{sess, csrf}, "", "", 403, codes.PermissionDenied, CSRFHeader, ""},
		{"expired access cookie refreshes", "GET", "/v1/jobs/job_r", []*http.Cookie{refresh}, "", "", 200, 0, "", "Bearer at-2"},
		{"bad refresh cookie is 401", "GET", "/v1/jobs/job_r", []*http.Cookie{{Name: RefreshCookie, Value: "stolen"}}, "", "", 401, codes.Unauthenticated, "sign in again", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body *strings.Reader
			if c.method == "POST" {
				body = strings.NewReader("{}")
			} else {
				body = strings.NewReader("")
			}
			req := mustReq(c.method, f.httpURL+c.path, body)
			for _, ck := range c.cookies {
				req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
			}
			if c.csrfHeader != "" {
				req.Header.Set(CSRFHeader, c.csrfHeader)
			}
			if c.bearer != "" {
				req.Header.Set("Authorization", "Bearer "+c.bearer)
			}
			resp, b := do(t, req)
			if c.code != 0 {
				checkStatus(t, resp, b, c.want, c.code, c.msg)
			} else if resp.StatusCode != c.want {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
			if c.seenAuth != "" {
				if got := f.be.seen("GetJob", "authorization"); got != c.seenAuth {
					t.Errorf("backend saw Authorization %q, want %q", got, c.seenAuth)
				}
			}
			if c.name == "expired access cookie refreshes" {
				if n := cookieOf(resp, SessionCookie); n == nil || n.Value != "at-2" {
					t.Errorf("refreshed session cookie not set: %v", resp.Cookies())
				}
			}
		})
	}

	t.Run("sign out needs CSRF, then clears the cookies", func(t *testing.T) {
		req := mustReq("DELETE", f.httpURL+SessionPath, nil)
		req.AddCookie(&http.Cookie{Name: SessionCookie, Value: sess.Value})
		req.AddCookie(&http.Cookie{Name: CSRFCookie, Value: csrf.Value})
		resp, b := do(t, req)
		checkStatus(t, resp, b, 403, codes.PermissionDenied, CSRFHeader)

		req = mustReq("DELETE", f.httpURL+SessionPath, nil)
		req.AddCookie(&http.Cookie{Name: SessionCookie, Value: sess.Value})
		req.AddCookie(&http.Cookie{Name: RefreshCookie, Value: refresh.Value})
		req.AddCookie(&http.Cookie{Name: CSRFCookie, Value: csrf.Value})
		req.Header.Set(CSRFHeader, csrf.Value)
		resp, _ = do(t, req)
		if resp.StatusCode != 204 {
			t.Fatalf("sign out: %d", resp.StatusCode)
		}
		if c := cookieOf(resp, SessionCookie); c == nil || c.MaxAge >= 0 {
			t.Errorf("session cookie not cleared: %v", resp.Cookies())
		}
		select {
		case got := <-auth.logouts:
			if got != "Bearer at-1|rt-1" {
				t.Errorf("Logout got %q", got)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Logout not called")
		}
	})
}

func TestSessionCookieSecureOverTLS(t *testing.T) {
	t.Parallel()
	_, authAddr := startAuth(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h, err := NewHTTPHandler(ctx, Options{Backends: map[string]string{Auth: authAddr}})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", SessionPath, strings.NewReader(`{"email":"ada@example.com","password":"right-password"}`))
	req.TLS = &tls.ConnectionState{}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, rec.Body)
	}
	for _, name := range []string{SessionCookie, RefreshCookie, CSRFCookie} {
		if c := cookieOf(resp, name); c == nil || !c.Secure {
			t.Errorf("%s not Secure over TLS: %v", name, c)
		}
	}
}

func TestWebAppServedOutsideAPI(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	resp, body := do(t, mustReq("GET", f.httpURL+"/datasets/ds_1", nil))
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<html") || resp.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, body)
	}
	// API paths keep their JSON errors.
	resp, body = do(t, mustReq("GET", f.httpURL+"/v1/nothing/here", nil))
	checkStatus(t, resp, body, 404, codes.NotFound, "no API route")
}

// TestLoginThrottleAndErrorBodies: a throttled login is 429 with Retry-After (the RetryInfo delay,
// rounded up to whole seconds) on both the session route and the REST route, and error bodies are
// {code, message, details} with no null placeholders.
func TestLoginThrottleAndErrorBodies(t *testing.T) {
	t.Parallel()
	_, authAddr := startAuth(t)
	f := newFixture(t, func(o *Options) { o.Backends[Auth] = authAddr })
	post := func(path, body string) (*http.Response, []byte) {
		req := mustReq("POST", f.httpURL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return do(t, req)
	}
	for _, path := range []string{SessionPath, "/v1/auth:login"} {
		resp, body := post(path, `{"email":"throttled@example.com","password":"x"}`)
		checkStatus(t, resp, body, 429, codes.ResourceExhausted, "wait 2m0s")
		if got := resp.Header.Get("Retry-After"); got != "91" {
			t.Errorf("%s: Retry-After %q, want 91 (90.5 s rounded up)", path, got)
		}
		if !strings.Contains(string(body), `"retryDelay":"90.500s"`) {
			t.Errorf("%s: body %s lacks the RetryInfo detail", path, body)
		}
	}
	resp, body := post("/v1/auth:login", `{"email":"","password":"x"}`)
	checkStatus(t, resp, body, 400, codes.InvalidArgument, "email: is required")
	if strings.Contains(string(body), "null") || strings.Contains(string(body), "localizedMessage") {
		t.Errorf("400 body carries placeholders: %s", body)
	}
	var got struct {
		Details []map[string]any `json:"details"`
	}
	if err := json.Unmarshal(body, &got); err != nil || len(got.Details) != 1 || got.Details[0]["@type"] != "type.googleapis.com/google.rpc.BadRequest" {
		t.Errorf("400 details %+v (%v) in %s", got.Details, err, body)
	}
	if resp.Header.Get("Retry-After") != "" {
		t.Errorf("a 400 has Retry-After %q", resp.Header.Get("Retry-After"))
	}
	// No details: still a list, not null.
	resp, body = post(SessionPath, `{"email":"ada@example.com","password":"nope"}`)
	checkStatus(t, resp, body, 401, codes.Unauthenticated, "wrong email or password")
	if !strings.Contains(string(body), `"details":[]`) {
		t.Errorf("401 body %s, want an empty details list", body)
	}
}
