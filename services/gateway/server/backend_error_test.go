package server

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vdsproject/vds/libs/grpcx"
)

// TestBackendErrorKeepsStopping: the front door names the backend in an Unavailable status and
// keeps its details, so that a caller still tells a backend stopping in order (grpcx.Stopping) from
// one that failed.
func TestBackendErrorKeepsStopping(t *testing.T) {
	err := backendError("ingestion", grpcx.Stopping("watching job job_1 stopped: the service is stopping"))
	if msg := status.Convert(err).Message(); !strings.HasPrefix(msg, "the ingestion service is unavailable: watching job job_1 stopped") {
		t.Errorf("message %q", msg)
	}
	if !grpcx.IsStopping(err) {
		t.Errorf("%v lost its Stopping details", err)
	}
	if plain := backendError("ingestion", status.Error(codes.Unavailable, "connection error: x")); grpcx.IsStopping(plain) ||
		status.Convert(plain).Message() != "the ingestion service is unavailable: cannot connect to it; retry later" {
		t.Errorf("plain Unavailable: %v", plain)
	}
}
