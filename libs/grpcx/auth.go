package grpcx

import (
	"context"
	"errors"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/vdsproject/vds/libs/authn"
	"github.com/vdsproject/vds/libs/storage"
)

// Authenticator turns request credentials into an authn.Identity.
type Authenticator struct {
	Verifier *authn.Verifier
	// Store resolves API keys by hash.
	Store storage.Storage
	// Public lists full method names that need no credential (login, health...).
	Public map[string]bool
}

// IsPublic reports whether a method needs no credential.
func (a *Authenticator) IsPublic(method string) bool {
	if a.Public[method] {
		return true
	}
	return strings.HasPrefix(method, "/grpc.health.v1.Health/") || strings.HasPrefix(method, "/grpc.reflection.")
}

// Authenticate verifies the credential in ctx's incoming metadata.
func (a *Authenticator) Authenticate(ctx context.Context) (*authn.Identity, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if vals := md.Get("x-api-key"); len(vals) > 0 && vals[0] != "" {
		return a.apiKey(ctx, vals[0])
	}
	vals := md.Get("authorization")
	if len(vals) == 0 {
		return nil, authn.ErrNoCredential
	}
	tok, ok := strings.CutPrefix(vals[0], "Bearer ")
	if !ok {
		tok, ok = strings.CutPrefix(vals[0], "bearer ")
	}
	if !ok || tok == "" {
		return nil, authn.ErrNoCredential
	}
	if strings.HasPrefix(tok, "vdsk_") { // an API key sent as a bearer token
		return a.apiKey(ctx, tok)
	}
	c, err := a.Verifier.Verify(ctx, tok)
	if err != nil {
		return nil, err
	}
	return &authn.Identity{UserID: c.Subject, Email: c.Email, SessionID: c.SessionID, Service: c.Service,
		ProjectID: c.ProjectID, Token: "Bearer " + tok, TokenHeader: "authorization"}, nil
}

func (a *Authenticator) apiKey(ctx context.Context, key string) (*authn.Identity, error) {
	if a.Store == nil || !strings.HasPrefix(key, "vdsk_") {
		return nil, authn.ErrInvalidToken
	}
	k, err := a.Store.GetAPIKeyByHash(ctx, authn.HashSecret(key))
	if err != nil || !k.RevokedAt.IsZero() {
		return nil, authn.ErrInvalidToken
	}
	if time.Since(k.LastUsedAt) > time.Minute { // last use, updated at most once a minute
		_, _ = a.Store.UpdateAPIKey(ctx, k.ID, func(o storage.APIKey) (storage.APIKey, error) { o.LastUsedAt = time.Now(); return o, nil })
	}
	return &authn.Identity{UserID: k.UserID, ProjectID: k.ProjectID, APIKeyID: k.ID, Scope: k.Scope, Token: key, TokenHeader: "x-api-key"}, nil
}

func (a *Authenticator) check(ctx context.Context, method string) (context.Context, error) {
	id, err := a.Authenticate(ctx)
	if err != nil {
		if a.IsPublic(method) {
			return ctx, nil
		}
		if errors.Is(err, authn.ErrNoCredential) {
			return nil, status.Error(codes.Unauthenticated, err.Error())
		}
		return nil, status.Error(codes.Unauthenticated, "invalid or expired credential: sign in again, or use a valid API key (vds up keeps one in credentials.json under its --home)")
	}
	return authn.WithIdentity(ctx, id), nil
}

// UnaryInterceptor authenticates unary calls.
func (a *Authenticator) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		ctx, err := a.check(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return h(ctx, req)
	}
}

// StreamInterceptor authenticates streaming calls.
func (a *Authenticator) StreamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		ctx, err := a.check(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		return h(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
	}
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrappedStream) Context() context.Context { return w.ctx }

// RequireIdentity returns the caller or Unauthenticated.
func RequireIdentity(ctx context.Context) (*authn.Identity, error) {
	id := authn.FromContext(ctx)
	if id == nil {
		return nil, status.Error(codes.Unauthenticated, authn.ErrNoCredential.Error())
	}
	return id, nil
}
