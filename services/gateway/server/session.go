package server

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/vdsproject/vds/gen/vds/auth/v1"
)

// Browser sessions. POST /v1/session signs in with {"email","password"} (AuthService.Login) and
// keeps the tokens in cookies the page's scripts cannot read:
//
//	vds_session  the access token   HttpOnly, SameSite=Strict, Path=/, Secure over TLS
//	vds_refresh  the refresh token  HttpOnly, SameSite=Strict, Path=/v1/, Secure over TLS
//	vds_csrf     a random token     readable by the page, SameSite=Strict, Path=/
//
// A request without Authorization or X-Api-Key that carries vds_session is authenticated by it (the
// token reaches the services as the bearer token). Writes so authenticated (any method but GET, HEAD
// and OPTIONS) must send the X-CSRF-Token header equal to the vds_csrf cookie (double submit);
// otherwise 403. When the access cookie has expired and vds_refresh remains, the gateway refreshes
// the session itself (AuthService.Refresh) and sets new cookies. DELETE /v1/session signs out.
const (
	SessionPath   = "/v1/session"
	SessionCookie = "vds_session"
	RefreshCookie = "vds_refresh"
	CSRFCookie    = "vds_csrf"
	CSRFHeader    = "X-CSRF-Token"
)

type sessionResponse struct {
	User       json.RawMessage `json:"user"`
	CSRFToken  string          `json:"csrfToken"`
	ExpireTime string          `json:"expireTime,omitempty"`
}

// secure reports whether cookies must carry the Secure attribute: the request came over TLS (or,
// behind a trusted proxy, X-Forwarded-Proto says https).
func (g *gateway) secure(r *http.Request) bool {
	return r.TLS != nil || (g.opts.TrustForwardedFor && r.Header.Get("X-Forwarded-Proto") == "https")
}

func (g *gateway) setSessionCookies(w http.ResponseWriter, r *http.Request, access, refresh string, accessExp, refreshExp *timestamppb.Timestamp, csrf string) {
	sec := g.secure(r)
	cookie := func(name, value, path string, exp *timestamppb.Timestamp, httpOnly bool) {
		c := &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: httpOnly, Secure: sec, SameSite: http.SameSiteStrictMode}
		if exp.IsValid() {
			c.Expires = exp.AsTime()
		}
		http.SetCookie(w, c)
	}
	cookie(SessionCookie, access, "/", accessExp, true)
	if refresh != "" {
		cookie(RefreshCookie, refresh, "/v1/", refreshExp, true)
	}
	if csrf != "" {
		cookie(CSRFCookie, csrf, "/", refreshExp, false)
	}
}

func (g *gateway) clearSessionCookies(w http.ResponseWriter, r *http.Request) {
	for _, c := range []struct{ name, path string }{{SessionCookie, "/"}, {RefreshCookie, "/v1/"}, {CSRFCookie, "/"}} {
		http.SetCookie(w, &http.Cookie{Name: c.name, Value: "", Path: c.path, MaxAge: -1, HttpOnly: c.name != CSRFCookie,
			Secure: g.secure(r), SameSite: http.SameSiteStrictMode})
	}
}

func newCSRFToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// signIn serves POST /v1/session.
func (g *gateway) signIn(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&in); err != nil {
		g.invalid(w, r, "body", `must be JSON {"email": "...", "password": "..."}`)
		return
	}
	ctx, err := g.annotate(r, authv1.AuthService_Login_FullMethodName, SessionPath)
	if err != nil {
		g.writeStatus(w, r, status.Convert(err), http.StatusBadRequest)
		return
	}
	resp, err := authv1.NewAuthServiceClient(g.b.conn(Auth)).Login(ctx, &authv1.LoginRequest{Email: in.Email, Password: in.Password})
	if err != nil {
		st := status.Convert(backendError(Auth, err))
		g.writeStatus(w, r, st, httpStatus(st.Code()))
		return
	}
	csrf := newCSRFToken()
	g.setSessionCookies(w, r, resp.GetAccessToken(), resp.GetRefreshToken(), resp.GetAccessExpireTime(), resp.GetRefreshExpireTime(), csrf)
	user, _ := g.json.Marshal(resp.GetUser())
	out := sessionResponse{User: user, CSRFToken: csrf}
	if t := resp.GetAccessExpireTime(); t.IsValid() {
		out.ExpireTime = t.AsTime().UTC().Format(time.RFC3339)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(out)
}

// signOut serves DELETE /v1/session: it ends the session at the auth service (best effort) and
// clears the cookies. It passes through the session middleware, so it needs the CSRF header.
func (g *gateway) signOut(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" {
		if ctx, err := g.annotate(r, authv1.AuthService_Logout_FullMethodName, SessionPath); err == nil {
			req := &authv1.LogoutRequest{}
			if c, err := r.Cookie(RefreshCookie); err == nil {
				req.RefreshToken = c.Value
			}
			authv1.NewAuthServiceClient(g.b.conn(Auth)).Logout(ctx, req)
		}
	}
	g.clearSessionCookies(w, r)
	w.WriteHeader(http.StatusNoContent)
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// session authenticates requests by the session cookie (see SessionPath) and enforces CSRF.
func (g *gateway) session(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" || r.Header.Get("X-Api-Key") != "" ||
			(r.Method == http.MethodPost && r.URL.Path == SessionPath) {
			next.ServeHTTP(w, r) // explicit credentials win; signing in needs no session
			return
		}
		access, _ := r.Cookie(SessionCookie)
		refresh, _ := r.Cookie(RefreshCookie)
		if access == nil && refresh == nil {
			next.ServeHTTP(w, r)
			return
		}
		if !safeMethod(r.Method) {
			c, _ := r.Cookie(CSRFCookie)
			sent := r.Header.Get(CSRFHeader)
			if c == nil || sent == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(sent)) != 1 {
				g.writeStatus(w, r, status.Newf(codes.PermissionDenied,
					"a write authenticated by the session cookie must send the %s header equal to the %s cookie; sign in again (POST %s) if it is missing",
					CSRFHeader, CSRFCookie, SessionPath), http.StatusForbidden)
				return
			}
		}
		token := ""
		if access != nil && access.Value != "" {
			token = access.Value
		} else if refresh != nil && refresh.Value != "" {
			ctx, err := g.annotate(r, authv1.AuthService_Refresh_FullMethodName, SessionPath)
			if err == nil {
				resp, err := authv1.NewAuthServiceClient(g.b.conn(Auth)).Refresh(ctx, &authv1.RefreshRequest{RefreshToken: refresh.Value})
				if err != nil {
					g.clearSessionCookies(w, r)
					g.writeStatus(w, r, status.New(codes.Unauthenticated, "the session has ended: sign in again (POST "+SessionPath+")"), http.StatusUnauthorized)
					return
				}
				g.setSessionCookies(w, r, resp.GetAccessToken(), resp.GetRefreshToken(), resp.GetAccessExpireTime(), resp.GetRefreshExpireTime(), "")
				token = resp.GetAccessToken()
			}
		}
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		next.ServeHTTP(w, r)
	})
}
