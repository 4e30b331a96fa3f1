package jobs

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestWatchError: a watch that ends with a plain error becomes a status: the caller's own end as
// Canceled / DeadlineExceeded, NATS going away as Unavailable naming the job and saying it goes on;
// a status passes unchanged and a clean end stays nil.
func TestWatchError(t *testing.T) {
	live := context.Background()
	cancelled, cancel := context.WithCancel(live)
	cancel()
	expired, cancel2 := context.WithTimeout(live, 0)
	defer cancel2()
	<-expired.Done()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		code codes.Code
		msg  string
	}{
		{"ok", live, nil, codes.OK, ""},
		{"caller cancelled", cancelled, context.Canceled, codes.Canceled, ""},
		{"caller's deadline", expired, errors.New("nats: timeout"), codes.DeadlineExceeded, ""},
		{"nats closed", live, nats.ErrConnectionClosed, codes.Unavailable, "watching job job_1 stopped (nats: connection closed); the job goes on: watch it again"},
		{"nats draining", live, nats.ErrConnectionDraining, codes.Unavailable, "the job goes on"},
		{"a status", live, status.Error(codes.NotFound, "job not found"), codes.NotFound, "job not found"},
	} {
		err := watchError(tc.ctx, "job_1", tc.err)
		if tc.code == codes.OK {
			if err != nil {
				t.Errorf("%s: %v, want nil", tc.name, err)
			}
			continue
		}
		st, ok := status.FromError(err)
		if !ok || st.Code() != tc.code || !strings.Contains(st.Message(), tc.msg) {
			t.Errorf("%s: %v, want %v containing %q", tc.name, err, tc.code, tc.msg)
		}
	}
}
