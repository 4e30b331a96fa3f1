package grpcx

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vdsproject/vds/libs/authn"
	"github.com/vdsproject/vds/libs/storage"
)

// RoleName names a storage role.
func RoleName(r int) string {
	switch r {
	case storage.RoleViewer:
		return "viewer"
	case storage.RoleEditor:
		return "editor"
	case storage.RoleOwner:
		return "owner"
	}
	return "none"
}

// Authorize checks that the caller holds at least role min in projectID. A project the caller is not
// a member of answers NotFound (its existence is not revealed); too weak a role is PermissionDenied.
// kind and id name the resource being reached, for the NotFound message.
func Authorize(ctx context.Context, st storage.Storage, projectID string, min int, kind, id string) (*authn.Identity, error) {
	who, err := RequireIdentity(ctx)
	if err != nil {
		return nil, err
	}
	if projectID == "" {
		return nil, NotFound(kind, id)
	}
	if who.ProjectID != "" && who.ProjectID != projectID {
		return nil, NotFound(kind, id)
	}
	m, err := st.GetMember(ctx, projectID, who.UserID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, NotFound(kind, id)
	}
	if err != nil {
		return nil, Internal(ctx, err, "authorization")
	}
	role := m.Role
	if who.APIKeyID != "" && who.Scope < role {
		role = who.Scope // an API key never grants more than its scope
	}
	if role < min {
		return nil, status.Errorf(codes.PermissionDenied, "this needs the %s role in the project; you have %s", RoleName(min), RoleName(role))
	}
	return who, nil
}
