package grpcx

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestStopping: a Stopping error is Unavailable and recognized by its ErrorInfo, also after its
// message was rewritten (as a gateway does) with the details kept; a plain Unavailable (a lost
// connection) and other codes are not.
func TestStopping(t *testing.T) {
	err := Stopping("watching job %s stopped: the service is stopping", "job_1")
	if status.Code(err) != codes.Unavailable || !IsStopping(err) {
		t.Fatalf("Stopping: %v, IsStopping %v", err, IsStopping(err))
	}
	p := status.Convert(err).Proto()
	p.Message = "the ingestion service is unavailable: " + p.Message
	if !IsStopping(status.FromProto(p).Err()) {
		t.Error("a rewritten Stopping error with its details is not recognized")
	}
	for _, e := range []error{nil, status.Error(codes.Unavailable, "the service is stopping"), status.Error(codes.Canceled, "x")} {
		if IsStopping(e) {
			t.Errorf("IsStopping(%v) = true", e)
		}
	}
}
