package grpcx

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vdsproject/vds/libs/storage"
)

// InvalidArgument is a bad-input error naming the field and the reason (with BadRequest details).
func InvalidArgument(field, reason string) error {
	st := status.New(codes.InvalidArgument, fmt.Sprintf("%s: %s", field, reason))
	if d, err := st.WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: reason}}}); err == nil {
		return d.Err()
	}
	return st.Err()
}

// NotFound says a resource does not exist — also used for resources of other tenants, so their
// existence is not revealed.
func NotFound(kind, id string) error {
	st := status.New(codes.NotFound, fmt.Sprintf("%s %q not found", kind, id))
	if d, err := st.WithDetails(&errdetails.ResourceInfo{ResourceType: kind, ResourceName: id, Description: "not found or not visible to you"}); err == nil {
		return d.Err()
	}
	return st.Err()
}

// stoppingReason is the ErrorInfo reason of a Stopping error.
const stoppingReason = "SERVICE_STOPPING"

// Stopping is the Unavailable error of a call that its service ended because it is stopping in
// order (a restart, the end of vds up): nothing failed, and the caller may call again once the
// service is back. It carries an ErrorInfo (reason SERVICE_STOPPING) that IsStopping recognizes
// through a gateway.
func Stopping(format string, args ...any) error {
	st := status.Newf(codes.Unavailable, format, args...)
	if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: stoppingReason, Domain: "vds"}); err == nil {
		return d.Err()
	}
	return st.Err()
}

// IsStopping reports whether err is a Stopping error.
func IsStopping(err error) bool {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unavailable {
		return false
	}
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok && ei.Reason == stoppingReason {
			return true
		}
	}
	return false
}

// ResourceExhausted reports a limit.
func ResourceExhausted(format string, args ...any) error {
	return status.Errorf(codes.ResourceExhausted, format, args...)
}

// FailedPrecondition reports a state problem the caller can fix.
func FailedPrecondition(format string, args ...any) error {
	return status.Errorf(codes.FailedPrecondition, format, args...)
}

// Internal hides details of an unexpected error behind a generic message.
func Internal(ctx context.Context, err error, what string) error {
	if s, ok := status.FromError(err); ok && s.Code() != codes.Unknown {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return status.Error(codes.Canceled, "request cancelled")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	}
	return status.Errorf(codes.Internal, "%s failed; see the service log", what)
}

// FromStorage maps storage errors: ErrNotFound -> NotFound, ErrAlreadyExists -> AlreadyExists.
func FromStorage(ctx context.Context, err error, kind, id string) error {
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return NotFound(kind, id)
	case errors.Is(err, storage.ErrAlreadyExists):
		return status.Errorf(codes.AlreadyExists, "%s %q already exists", kind, id)
	}
	return Internal(ctx, err, "storage")
}
