// Package server implements vds.auth.v1.AuthService: users, sessions, API keys, projects, members
// and the audit log, over the shared metadata store.
package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/vdsproject/vds/gen/vds/auth/v1"
	"github.com/vdsproject/vds/libs/authn"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/ids"
	"github.com/vdsproject/vds/libs/passwords"
	"github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/libs/storage"
)

// Public methods need no credential.
var Public = map[string]bool{
	authv1.AuthService_Register_FullMethodName:      true,
	authv1.AuthService_Login_FullMethodName:         true,
	authv1.AuthService_Refresh_FullMethodName:       true,
	authv1.AuthService_GetPublicKeys_FullMethodName: true,
}

const signingKeyKind = "signing_key"

// Server is the auth service.
type Server struct {
	authv1.UnimplementedAuthServiceServer
	rt         *platform.Runtime
	signer     *authn.Signer
	pub        map[string]ed25519.PublicKey
	Params     passwords.Params
	AccessTTL  time.Duration
	RefreshTTL time.Duration
	Throttle   Throttle

	dummyOnce sync.Once
	dummy     string
}

// Throttle limits failed logins. Failures are kept in the shared store, so the limits hold across
// every auth replica. Within Window, logins are refused without checking the password:
//   - to an account from an address with MaxPerAccount failures at that account from that address
//     (so that five wrong passwords from one place do not lock the account's owner out everywhere);
//   - to an account with MaxPerAccountTotal failures from all addresses (guessing spread over many);
//   - from an address with MaxPerAddress failures over all accounts (a spray).
//
// A limit of 0 is off.
type Throttle struct {
	Window             time.Duration
	MaxPerAccount      int
	MaxPerAccountTotal int
	MaxPerAddress      int
}

// DefaultThrottle: in 15 minutes, 5 failures per account from one address, 100 per account from
// all addresses, 50 per client address.
var DefaultThrottle = Throttle{Window: 15 * time.Minute, MaxPerAccount: 5, MaxPerAccountTotal: 100, MaxPerAddress: 50}

// keys are the login_failures keys of a login to email from addr, with their limits.
func (t Throttle) keys(email, addr string) []struct {
	key string
	max int
} {
	return []struct {
		key string
		max int
	}{{"acct:" + email + "|addr:" + addr, t.MaxPerAccount}, {"acct:" + email, t.MaxPerAccountTotal}, {"addr:" + addr, t.MaxPerAddress}}
}

// New loads (or makes, on first start) the token signing key, shared by all replicas through the store.
func New(ctx context.Context, rt *platform.Runtime) (*Server, error) {
	s := &Server{rt: rt, Params: passwords.Default, AccessTTL: 15 * time.Minute, RefreshTTL: 30 * 24 * time.Hour, Throttle: DefaultThrottle}
	keys, err := rt.Store.ListResources(ctx, storage.ListQuery{Kind: signingKeyKind, Limit: 10})
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		kid := authn.KeyIDOf(priv.Public().(ed25519.PublicKey))
		err = rt.Store.CreateResource(ctx, storage.Resource{Kind: signingKeyKind, ID: kid, Key: "current", State: "active", Data: priv.Seed()})
		if err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
			return nil, err
		}
		if keys, err = rt.Store.ListResources(ctx, storage.ListQuery{Kind: signingKeyKind, Limit: 10}); err != nil {
			return nil, err
		}
	}
	s.pub = map[string]ed25519.PublicKey{}
	for _, k := range keys {
		priv := ed25519.NewKeyFromSeed(k.Data)
		s.pub[k.ID] = priv.Public().(ed25519.PublicKey)
		if s.signer == nil && k.State == "active" {
			s.signer = &authn.Signer{KeyID: k.ID, Key: priv}
		}
	}
	// The auth service verifies its own tokens without a network hop.
	rt.Verifier.Keys = authn.StaticKeys(s.pub)
	return s, nil
}

func (s *Server) audit(ctx context.Context, actor, action, project, target string, details map[string]string) {
	_ = s.rt.Store.AppendAudit(ctx, storage.AuditEvent{ID: ids.New(ids.Audit), Time: time.Now(), ActorID: actor, Action: action,
		ProjectID: project, TargetID: target, ClientAddress: grpcx.ClientAddress(ctx), Details: details})
}

func userPB(u storage.User) *authv1.User {
	return &authv1.User{Id: u.ID, Email: u.Email, DisplayName: u.DisplayName, CreateTime: timestamppb.New(u.CreatedAt)}
}

func validEmail(e string) bool {
	a, err := mail.ParseAddress(e)
	return err == nil && a.Address == e && len(e) <= 254
}

// CreateUser registers a user with a personal project (used by Register and the local bootstrap).
func (s *Server) CreateUser(ctx context.Context, email, password, name string) (storage.User, storage.Project, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if !validEmail(email) {
		return storage.User{}, storage.Project{}, grpcx.InvalidArgument("email", "must be an e-mail address like name@example.com")
	}
	if len(password) < 10 || len(password) > 1024 {
		return storage.User{}, storage.Project{}, grpcx.InvalidArgument("password", "must be 10 to 1024 characters long")
	}
	hash, err := passwords.Hash(password, s.Params)
	if err != nil {
		return storage.User{}, storage.Project{}, grpcx.Internal(ctx, err, "register")
	}
	if name == "" {
		name = strings.Split(email, "@")[0]
	}
	now := time.Now()
	u := storage.User{ID: ids.New(ids.User), Email: email, DisplayName: name, PasswordHash: hash, CreatedAt: now}
	if err := s.rt.Store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) {
			return storage.User{}, storage.Project{}, status.Error(codes.AlreadyExists, "this e-mail address cannot be registered; log in instead, or use another address")
		}
		return storage.User{}, storage.Project{}, grpcx.Internal(ctx, err, "register")
	}
	p := storage.Project{ID: ids.New(ids.Project), Name: name + "'s project", CreatedBy: u.ID, CreatedAt: now}
	if err := s.rt.Store.CreateProject(ctx, p, storage.Member{ProjectID: p.ID, UserID: u.ID, Role: storage.RoleOwner, CreatedAt: now}); err != nil {
		return storage.User{}, storage.Project{}, grpcx.Internal(ctx, err, "register")
	}
	s.audit(ctx, u.ID, "user.registered", p.ID, u.ID, nil)
	return u, p, nil
}

func (s *Server) Register(ctx context.Context, req *authv1.RegisterRequest) (*authv1.RegisterResponse, error) {
	u, p, err := s.CreateUser(ctx, req.Email, req.Password, req.DisplayName)
	if err != nil {
		return nil, err
	}
	return &authv1.RegisterResponse{User: userPB(u), Project: &authv1.Project{Id: p.ID, Name: p.Name, Role: authv1.Role_ROLE_OWNER, CreateTime: timestamppb.New(p.CreatedAt)}}, nil
}

func randomSecret(prefix string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) issue(ctx context.Context, u storage.User, sess storage.Session) (access string, accessExp time.Time, err error) {
	now := time.Now()
	accessExp = now.Add(s.AccessTTL)
	access, err = s.signer.Sign(authn.Claims{Subject: u.ID, Email: u.Email, SessionID: sess.ID, IssuedAt: now.Unix(), ExpiresAt: accessExp.Unix()})
	return access, accessExp, err
}

var errBadLogin = status.Error(codes.Unauthenticated, "wrong e-mail address or password")

// dummyHash is a hash with the current parameters of a random password, verified when the account
// does not exist, so that an unknown address costs the same time as a wrong password.
func (s *Server) dummyHash() string {
	s.dummyOnce.Do(func() {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		s.dummy, _ = passwords.Hash(base64.RawURLEncoding.EncodeToString(b), s.Params)
	})
	return s.dummy
}

// throttled refuses a login while the account or the address has too many recent failures. The
// answer is the same whether or not the account exists.
func (s *Server) throttled(ctx context.Context, email, addr string, now time.Time) error {
	t := s.Throttle
	if t.Window <= 0 {
		return nil
	}
	since := now.Add(-t.Window)
	var wait time.Duration
	for _, c := range t.keys(email, addr) {
		if c.max <= 0 {
			continue
		}
		n, err := s.rt.Store.CountLoginFailures(ctx, c.key, since)
		if err != nil {
			return grpcx.Internal(ctx, err, "login")
		}
		if n < c.max {
			continue
		}
		// A login is allowed again once fewer than max failures are in the window: when the
		// max-th newest failure leaves it (the wait was the whole window, however old the failures).
		ts, err := s.rt.Store.LoginFailureTimes(ctx, c.key, since)
		if err != nil {
			return grpcx.Internal(ctx, err, "login")
		}
		w := t.Window
		if len(ts) >= c.max {
			w = throttleWait(ts[len(ts)-c.max], t.Window, now)
		}
		wait = max(wait, w)
	}
	if wait == 0 {
		return nil
	}
	// RetryInfo carries the wait for clients; the gateway turns it into Retry-After (whole seconds,
	// rounded up).
	st := status.Newf(codes.ResourceExhausted, "too many failed logins for this account or from this address: wait %s and try again",
		(wait + time.Second - 1).Truncate(time.Second))
	if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(wait)}); err == nil {
		return d.Err()
	}
	return st.Err()
}

// throttleWait is how long after now the failure at at leaves a window of the given length: a
// failure counts while it is at or after now - window, so it leaves just after at + window.
func throttleWait(at time.Time, window time.Duration, now time.Time) time.Duration {
	return max(at.Add(window).Sub(now)+time.Microsecond, time.Microsecond)
}

func (s *Server) Login(ctx context.Context, req *authv1.LoginRequest) (*authv1.LoginResponse, error) {
	email := strings.ToLower(strings.TrimSpace(req.Email))
	addr := grpcx.ClientAddress(ctx)
	now := time.Now()
	if err := s.throttled(ctx, email, addr, now); err != nil {
		s.audit(ctx, "", "login.throttled", "", "", map[string]string{"email": email})
		return nil, err
	}
	u, err := s.rt.Store.GetUserByEmail(ctx, email)
	hash := u.PasswordHash
	if err != nil {
		hash = s.dummyHash() // same work whether or not the account exists
	}
	ok, rehash, verr := passwords.Verify(req.Password, hash, s.Params)
	if err != nil || verr != nil || !ok {
		for _, k := range s.Throttle.keys(email, addr) {
			if ferr := s.rt.Store.AddLoginFailure(ctx, k.key, now); ferr != nil {
				return nil, grpcx.Internal(ctx, ferr, "login")
			}
		}
		s.audit(ctx, u.ID, "login.failed", "", u.ID, map[string]string{"email_known": boolStr(err == nil)})
		return nil, errBadLogin
	}
	// The account's counts (from this address and in all) start again; the address's count stays.
	for _, k := range s.Throttle.keys(email, addr)[:2] {
		_ = s.rt.Store.ClearLoginFailures(ctx, k.key, now.Add(-max(s.Throttle.Window, time.Hour)))
	}
	if rehash {
		if h, err := passwords.Hash(req.Password, s.Params); err == nil {
			_, _ = s.rt.Store.UpdateUser(ctx, u.ID, func(o storage.User) (storage.User, error) { o.PasswordHash = h; return o, nil })
		}
	}
	refresh := randomSecret("vdsr_")
	sess := storage.Session{ID: ids.New(ids.Session), UserID: u.ID, RefreshHash: authn.HashSecret(refresh), CreatedAt: now, ExpiresAt: now.Add(s.RefreshTTL), LastUsedAt: now}
	if err := s.rt.Store.CreateSession(ctx, sess); err != nil {
		return nil, grpcx.Internal(ctx, err, "login")
	}
	access, exp, err := s.issue(ctx, u, sess)
	if err != nil {
		return nil, grpcx.Internal(ctx, err, "login")
	}
	s.audit(ctx, u.ID, "login", "", u.ID, nil)
	return &authv1.LoginResponse{AccessToken: access, RefreshToken: refresh, AccessExpireTime: timestamppb.New(exp),
		RefreshExpireTime: timestamppb.New(sess.ExpiresAt), User: userPB(u)}, nil
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func (s *Server) Refresh(ctx context.Context, req *authv1.RefreshRequest) (*authv1.RefreshResponse, error) {
	bad := status.Error(codes.Unauthenticated, "refresh token is invalid, expired or revoked: log in again")
	sess, err := s.rt.Store.GetSessionByRefreshHash(ctx, authn.HashSecret(req.RefreshToken))
	if err != nil {
		return nil, bad
	}
	next := randomSecret("vdsr_")
	now := time.Now()
	sess, err = s.rt.Store.UpdateSession(ctx, sess.ID, func(o storage.Session) (storage.Session, error) {
		if !o.RevokedAt.IsZero() || now.After(o.ExpiresAt) || o.RefreshHash != authn.HashSecret(req.RefreshToken) {
			return o, bad
		}
		o.RefreshHash, o.LastUsedAt = authn.HashSecret(next), now // rotation: the old refresh token dies
		return o, nil
	})
	if err != nil {
		return nil, bad
	}
	u, err := s.rt.Store.GetUser(ctx, sess.UserID)
	if err != nil {
		return nil, bad
	}
	access, exp, err := s.issue(ctx, u, sess)
	if err != nil {
		return nil, grpcx.Internal(ctx, err, "refresh")
	}
	return &authv1.RefreshResponse{AccessToken: access, RefreshToken: next, AccessExpireTime: timestamppb.New(exp), RefreshExpireTime: timestamppb.New(sess.ExpiresAt)}, nil
}

func (s *Server) Logout(ctx context.Context, req *authv1.LogoutRequest) (*authv1.LogoutResponse, error) {
	who, err := grpcx.RequireIdentity(ctx)
	if err != nil {
		return nil, err
	}
	sid := who.SessionID
	if req.RefreshToken != "" {
		sess, err := s.rt.Store.GetSessionByRefreshHash(ctx, authn.HashSecret(req.RefreshToken))
		if err != nil || sess.UserID != who.UserID {
			return &authv1.LogoutResponse{}, nil
		}
		sid = sess.ID
	}
	if sid == "" {
		return nil, status.Error(codes.FailedPrecondition, "this credential is not a login session (API keys are revoked with RevokeApiKey)")
	}
	now := time.Now()
	if _, err := s.rt.Store.UpdateSession(ctx, sid, func(o storage.Session) (storage.Session, error) {
		if o.UserID != who.UserID {
			return o, storage.ErrNotFound
		}
		o.RevokedAt = now
		return o, nil
	}); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, grpcx.Internal(ctx, err, "logout")
	}
	s.revoked(sid, now)
	s.audit(ctx, who.UserID, "logout", "", sid, nil)
	return &authv1.LogoutResponse{}, nil
}

// revoked makes a session revocation take effect here at once and tells every other service.
func (s *Server) revoked(sid string, at time.Time) {
	s.rt.Verifier.Revoke(sid, at.Add(grpcx.MaxAccessTTL))
	if err := grpcx.PublishRevocation(s.rt.NC, sid, at); err != nil {
		s.rt.Log.Warn("announce revocation (services will see it at their next store poll)", "err", err)
	}
}

func (s *Server) WhoAmI(ctx context.Context, _ *authv1.WhoAmIRequest) (*authv1.WhoAmIResponse, error) {
	who, err := grpcx.RequireIdentity(ctx)
	if err != nil {
		return nil, err
	}
	u, err := s.rt.Store.GetUser(ctx, who.UserID)
	if err != nil {
		return nil, status.Error(codes.Unauthenticated, "the account of this credential no longer exists")
	}
	out := &authv1.WhoAmIResponse{User: userPB(u)}
	ps, err := s.rt.Store.ListProjects(ctx, u.ID)
	if err != nil {
		return nil, grpcx.Internal(ctx, err, "whoami")
	}
	for _, p := range ps {
		if who.ProjectID != "" && p.ID != who.ProjectID {
			continue
		}
		out.Projects = append(out.Projects, projectPB(p))
	}
	if who.APIKeyID != "" {
		if k, err := s.rt.Store.GetAPIKey(ctx, who.APIKeyID); err == nil {
			out.ApiKey = keyPB(k)
		}
	}
	return out, nil
}

func projectPB(p storage.ProjectRole) *authv1.Project {
	return &authv1.Project{Id: p.ID, Name: p.Name, Role: authv1.Role(p.Role), CreateTime: timestamppb.New(p.CreatedAt)}
}

func keyPB(k storage.APIKey) *authv1.ApiKey {
	out := &authv1.ApiKey{Id: k.ID, ProjectId: k.ProjectID, Name: k.Name, Prefix: k.Prefix, Scope: authv1.Scope(k.Scope), CreateTime: timestamppb.New(k.CreatedAt)}
	if !k.LastUsedAt.IsZero() {
		out.LastUseTime = timestamppb.New(k.LastUsedAt)
	}
	if !k.RevokedAt.IsZero() {
		out.RevokeTime = timestamppb.New(k.RevokedAt)
	}
	return out
}

func (s *Server) ChangePassword(ctx context.Context, req *authv1.ChangePasswordRequest) (*authv1.ChangePasswordResponse, error) {
	who, err := grpcx.RequireIdentity(ctx)
	if err != nil {
		return nil, err
	}
	if who.APIKeyID != "" || who.Service != "" {
		return nil, status.Error(codes.PermissionDenied, "passwords can only be changed from a login session")
	}
	if len(req.NewPassword) < 10 || len(req.NewPassword) > 1024 {
		return nil, grpcx.InvalidArgument("new_password", "must be 10 to 1024 characters long")
	}
	u, err := s.rt.Store.GetUser(ctx, who.UserID)
	if err != nil {
		return nil, grpcx.Internal(ctx, err, "change password")
	}
	if ok, _, _ := passwords.Verify(req.OldPassword, u.PasswordHash, s.Params); !ok {
		return nil, grpcx.InvalidArgument("old_password", "is wrong")
	}
	h, err := passwords.Hash(req.NewPassword, s.Params)
	if err != nil {
		return nil, grpcx.Internal(ctx, err, "change password")
	}
	if _, err := s.rt.Store.UpdateUser(ctx, u.ID, func(o storage.User) (storage.User, error) { o.PasswordHash = h; return o, nil }); err != nil {
		return nil, grpcx.Internal(ctx, err, "change password")
	}
	// Every other session of the account ends: whoever knew the old password is logged out.
	now := time.Now()
	ended, err := s.rt.Store.RevokeUserSessions(ctx, u.ID, who.SessionID, now)
	if err != nil {
		return nil, grpcx.Internal(ctx, err, "change password")
	}
	for _, sid := range ended {
		s.revoked(sid, now)
	}
	s.audit(ctx, u.ID, "password.changed", "", u.ID, map[string]string{"sessions_ended": fmt.Sprint(len(ended))})
	return &authv1.ChangePasswordResponse{}, nil
}

// CreateKey makes an API key (used by CreateApiKey and the local bootstrap); it returns the secret once.
func (s *Server) CreateKey(ctx context.Context, userID, projectID, name string, scope int) (storage.APIKey, string, error) {
	secret := randomSecret("vdsk_")
	k := storage.APIKey{ID: ids.New(ids.APIKey), ProjectID: projectID, UserID: userID, Name: name, Prefix: secret[:12], Hash: authn.HashSecret(secret), Scope: scope, CreatedAt: time.Now()}
	if err := s.rt.Store.CreateAPIKey(ctx, k); err != nil {
		return storage.APIKey{}, "", err
	}
	s.audit(ctx, userID, "api_key.created", projectID, k.ID, map[string]string{"scope": grpcx.RoleName(scope)})
	return k, secret, nil
}

func (s *Server) CreateApiKey(ctx context.Context, req *authv1.CreateApiKeyRequest) (*authv1.CreateApiKeyResponse, error) {
	scope := int(req.Scope)
	if scope < 1 || scope > 3 {
		return nil, grpcx.InvalidArgument("scope", "must be SCOPE_READ, SCOPE_WRITE or SCOPE_ADMIN")
	}
	who, err := grpcx.Authorize(ctx, s.rt.Store, req.ProjectId, max(scope, storage.RoleEditor), "project", req.ProjectId)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(req.Name) == "" {
		return nil, grpcx.InvalidArgument("name", "is required (say what the key is for)")
	}
	k, secret, err := s.CreateKey(ctx, who.UserID, req.ProjectId, req.Name, scope)
	if err != nil {
		return nil, grpcx.Internal(ctx, err, "create API key")
	}
	return &authv1.CreateApiKeyResponse{ApiKey: keyPB(k), Key: secret}, nil
}

func (s *Server) ListApiKeys(ctx context.Context, req *authv1.ListApiKeysRequest) (*authv1.ListApiKeysResponse, error) {
	if _, err := grpcx.Authorize(ctx, s.rt.Store, req.ProjectId, storage.RoleOwner, "project", req.ProjectId); err != nil {
		return nil, err
	}
	ks, err := s.rt.Store.ListAPIKeys(ctx, req.ProjectId)
	if err != nil {
		return nil, grpcx.Internal(ctx, err, "list API keys")
	}
	out := &authv1.ListApiKeysResponse{}
	for _, k := range ks {
		out.ApiKeys = append(out.ApiKeys, keyPB(k))
	}
	return out, nil
}

func (s *Server) RevokeApiKey(ctx context.Context, req *authv1.RevokeApiKeyRequest) (*authv1.RevokeApiKeyResponse, error) {
	k, err := s.rt.Store.GetAPIKey(ctx, req.ApiKeyId)
	if err != nil {
		return nil, grpcx.FromStorage(ctx, err, "api key", req.ApiKeyId)
	}
	who, err := grpcx.Authorize(ctx, s.rt.Store, k.ProjectID, storage.RoleOwner, "api key", req.ApiKeyId)
	if err != nil {
		return nil, err
	}
	if _, err := s.rt.Store.UpdateAPIKey(ctx, k.ID, func(o storage.APIKey) (storage.APIKey, error) {
		if o.RevokedAt.IsZero() {
			o.RevokedAt = time.Now()
		}
		return o, nil
	}); err != nil {
		return nil, grpcx.Internal(ctx, err, "revoke API key")
	}
	s.audit(ctx, who.UserID, "api_key.revoked", k.ProjectID, k.ID, nil)
	return &authv1.RevokeApiKeyResponse{}, nil
}

func (s *Server) CreateProject(ctx context.Context, req *authv1.CreateProjectRequest) (*authv1.CreateProjectResponse, error) {
	who, err := grpcx.RequireIdentity(ctx)
	if err != nil {
		return nil, err
	}
	if who.APIKeyID != "" || who.Service != "" {
		return nil, status.Error(codes.PermissionDenied, "projects are created from a login session, not with an API key")
	}
	name := strings.TrimSpace(req.Name)
	if name == "" || len(name) > 200 {
		return nil, grpcx.InvalidArgument("name", "must be 1 to 200 characters")
	}
	now := time.Now()
	p := storage.Project{ID: ids.New(ids.Project), Name: name, CreatedBy: who.UserID, CreatedAt: now}
	if err := s.rt.Store.CreateProject(ctx, p, storage.Member{ProjectID: p.ID, UserID: who.UserID, Role: storage.RoleOwner, CreatedAt: now}); err != nil {
		return nil, grpcx.Internal(ctx, err, "create project")
	}
	s.audit(ctx, who.UserID, "project.created", p.ID, p.ID, nil)
	return &authv1.CreateProjectResponse{Project: projectPB(storage.ProjectRole{Project: p, Role: storage.RoleOwner})}, nil
}

func (s *Server) ListProjects(ctx context.Context, _ *authv1.ListProjectsRequest) (*authv1.ListProjectsResponse, error) {
	who, err := grpcx.RequireIdentity(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := s.rt.Store.ListProjects(ctx, who.UserID)
	if err != nil {
		return nil, grpcx.Internal(ctx, err, "list projects")
	}
	out := &authv1.ListProjectsResponse{}
	for _, p := range ps {
		if who.ProjectID == "" || who.ProjectID == p.ID {
			out.Projects = append(out.Projects, projectPB(p))
		}
	}
	return out, nil
}

func (s *Server) GetProject(ctx context.Context, req *authv1.GetProjectRequest) (*authv1.GetProjectResponse, error) {
	who, err := grpcx.Authorize(ctx, s.rt.Store, req.ProjectId, storage.RoleViewer, "project", req.ProjectId)
	if err != nil {
		return nil, err
	}
	p, err := s.rt.Store.GetProject(ctx, req.ProjectId)
	if err != nil {
		return nil, grpcx.FromStorage(ctx, err, "project", req.ProjectId)
	}
	m, _ := s.rt.Store.GetMember(ctx, p.ID, who.UserID)
	return &authv1.GetProjectResponse{Project: projectPB(storage.ProjectRole{Project: p, Role: m.Role})}, nil
}

func (s *Server) AddMember(ctx context.Context, req *authv1.AddMemberRequest) (*authv1.AddMemberResponse, error) {
	who, err := grpcx.Authorize(ctx, s.rt.Store, req.ProjectId, storage.RoleOwner, "project", req.ProjectId)
	if err != nil {
		return nil, err
	}
	if req.Role < 1 || req.Role > 3 {
		return nil, grpcx.InvalidArgument("role", "must be ROLE_VIEWER, ROLE_EDITOR or ROLE_OWNER")
	}
	u, err := s.rt.Store.GetUserByEmail(ctx, req.Email)
	if err != nil {
		return nil, grpcx.NotFound("user", req.Email)
	}
	if err := s.rt.Store.PutMember(ctx, storage.Member{ProjectID: req.ProjectId, UserID: u.ID, Role: int(req.Role), CreatedAt: time.Now()}); err != nil {
		return nil, grpcx.Internal(ctx, err, "add member")
	}
	s.audit(ctx, who.UserID, "member.added", req.ProjectId, u.ID, map[string]string{"role": grpcx.RoleName(int(req.Role))})
	return &authv1.AddMemberResponse{Member: &authv1.Member{User: userPB(u), Role: req.Role}}, nil
}

func (s *Server) RemoveMember(ctx context.Context, req *authv1.RemoveMemberRequest) (*authv1.RemoveMemberResponse, error) {
	who, err := grpcx.Authorize(ctx, s.rt.Store, req.ProjectId, storage.RoleOwner, "project", req.ProjectId)
	if err != nil {
		return nil, err
	}
	ms, err := s.rt.Store.ListMembers(ctx, req.ProjectId)
	if err != nil {
		return nil, grpcx.Internal(ctx, err, "remove member")
	}
	owners := 0
	for _, m := range ms {
		if m.Role == storage.RoleOwner {
			owners++
		}
	}
	if m, err := s.rt.Store.GetMember(ctx, req.ProjectId, req.UserId); err == nil && m.Role == storage.RoleOwner && owners == 1 {
		return nil, status.Error(codes.FailedPrecondition, "cannot remove the last owner of a project; make someone else owner first")
	}
	if err := s.rt.Store.DeleteMember(ctx, req.ProjectId, req.UserId); err != nil {
		return nil, grpcx.FromStorage(ctx, err, "member", req.UserId)
	}
	s.audit(ctx, who.UserID, "member.removed", req.ProjectId, req.UserId, nil)
	return &authv1.RemoveMemberResponse{}, nil
}

func (s *Server) ListMembers(ctx context.Context, req *authv1.ListMembersRequest) (*authv1.ListMembersResponse, error) {
	if _, err := grpcx.Authorize(ctx, s.rt.Store, req.ProjectId, storage.RoleViewer, "project", req.ProjectId); err != nil {
		return nil, err
	}
	ms, err := s.rt.Store.ListMembers(ctx, req.ProjectId)
	if err != nil {
		return nil, grpcx.Internal(ctx, err, "list members")
	}
	out := &authv1.ListMembersResponse{}
	for _, m := range ms {
		u, err := s.rt.Store.GetUser(ctx, m.UserID)
		if err != nil {
			continue
		}
		out.Members = append(out.Members, &authv1.Member{User: userPB(u), Role: authv1.Role(m.Role)})
	}
	return out, nil
}

func (s *Server) ListAuditEvents(ctx context.Context, req *authv1.ListAuditEventsRequest) (*authv1.ListAuditEventsResponse, error) {
	if _, err := grpcx.Authorize(ctx, s.rt.Store, req.ProjectId, storage.RoleOwner, "project", req.ProjectId); err != nil {
		return nil, err
	}
	var before time.Time
	if req.PageToken != "" {
		if t, err := time.Parse(time.RFC3339Nano, req.PageToken); err == nil {
			before = t
		}
	}
	evs, err := s.rt.Store.ListAudit(ctx, req.ProjectId, int(req.PageSize), before)
	if err != nil {
		return nil, grpcx.Internal(ctx, err, "list audit events")
	}
	out := &authv1.ListAuditEventsResponse{}
	for _, e := range evs {
		out.Events = append(out.Events, &authv1.AuditEvent{Id: e.ID, Time: timestamppb.New(e.Time), ActorId: e.ActorID, Action: e.Action,
			ProjectId: e.ProjectID, TargetId: e.TargetID, ClientAddress: e.ClientAddress, Details: e.Details})
	}
	if len(evs) > 0 && len(evs) == int(req.PageSize) {
		out.NextPageToken = evs[len(evs)-1].Time.Format(time.RFC3339Nano)
	}
	return out, nil
}

func (s *Server) GetPublicKeys(context.Context, *authv1.GetPublicKeysRequest) (*authv1.GetPublicKeysResponse, error) {
	out := &authv1.GetPublicKeysResponse{}
	for id, k := range s.pub {
		out.Keys = append(out.Keys, &authv1.PublicKey{KeyId: id, Algorithm: "Ed25519", PublicKey: k})
	}
	return out, nil
}
