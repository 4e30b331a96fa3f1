package authn

import (
	"context"
)

// Identity is the verified caller of a request. It comes only from a verified credential.
type Identity struct {
	UserID    string
	Email     string
	SessionID string
	// Service is set when a service acts for the user (mesh token).
	Service string
	// ProjectID restricts the caller to one project (API keys and mesh tokens); empty means any
	// project the user is a member of.
	ProjectID string
	// APIKeyID and Scope are set for API keys.
	APIKeyID string
	Scope    int
	// Token is the raw credential, forwarded on calls made on the caller's behalf.
	Token string
	// TokenHeader is the metadata key the credential came in ("authorization" or "x-api-key").
	TokenHeader string
}

type ctxKey struct{}

// WithIdentity attaches id to ctx.
func WithIdentity(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the caller, or nil for an unauthenticated context.
func FromContext(ctx context.Context) *Identity {
	id, _ := ctx.Value(ctxKey{}).(*Identity)
	return id
}
