package grpcx

import (
	"context"
	"net"
	"strings"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/vdsproject/vds/libs/authn"
	"github.com/vdsproject/vds/libs/ids"
	"github.com/vdsproject/vds/libs/storage"
)

// ClientAddress is the caller's IP: the last x-forwarded-for entry (appended by the gateway's front
// door, the only way in from outside), else the gRPC peer's address.
func ClientAddress(ctx context.Context) string {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if xff := md.Get("x-forwarded-for"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			if a := strings.TrimSpace(parts[len(parts)-1]); a != "" {
				return a
			}
		}
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		if host, _, err := net.SplitHostPort(p.Addr.String()); err == nil {
			return host
		}
		return p.Addr.String()
	}
	return "unknown"
}

// Audit records a security event done by the caller in ctx (for example "dataset.deleted") in the
// audit log that project owners read with ListAuditEvents.
func Audit(ctx context.Context, st storage.Storage, action, projectID, targetID string, details map[string]string) error {
	actor := ""
	if who := authn.FromContext(ctx); who != nil {
		actor = who.UserID
		if who.APIKeyID != "" {
			if details == nil {
				details = map[string]string{}
			}
			details["api_key_id"] = who.APIKeyID
		}
	}
	return st.AppendAudit(ctx, storage.AuditEvent{ID: ids.New(ids.Audit), Time: time.Now(), ActorID: actor, Action: action,
		ProjectID: projectID, TargetID: targetID, ClientAddress: ClientAddress(ctx), Details: details})
}
