package platform

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"

	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	"github.com/vdsproject/vds/libs/authn"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/logging"
	"github.com/vdsproject/vds/libs/storage"
)

// An orderly shutdown of a service with a job watch in progress (WatchJob of a job that is still
// queued: a CLI command or the web app waiting for its analysis) does not wait for the watch — the
// graceful stop's drain used to wait its whole 10 s bound (and a gateway in front, its 5 s) — and
// logs no warning; the watcher is told the service is stopping (grpcx.IsStopping), not that it
// failed.
func TestShutdownEndsJobWatches(t *testing.T) {
	dir, ns, lis := natsAndListener(t)
	const user, project = "usr_watch", "prj_watch"
	type started struct {
		job, token string
		err        error
	}
	ready := make(chan started, 1)
	svc := Service{Name: "probe", Start: func(ctx context.Context, rt *Runtime, _ *grpcx.Server) (func(context.Context) error, error) {
		s := started{}
		s.err = rt.Store.CreateUser(ctx, storage.User{ID: user, Email: "watch@example.com", DisplayName: "watch", CreatedAt: time.Now()})
		if s.err == nil {
			s.err = rt.Store.CreateProject(ctx, storage.Project{ID: project, Name: "watch", CreatedBy: user, CreatedAt: time.Now()},
				storage.Member{ProjectID: project, UserID: user, Role: 3, CreatedAt: time.Now()})
		}
		if s.err == nil {
			// A kind no worker takes: the job stays queued, its watch has no end of its own.
			var j *jobsv1.Job
			if j, s.err = rt.Queue.Submit(ctx, &jobsv1.Job{Kind: "probe-never", ProjectId: project}, &emptypb.Empty{}); s.err == nil {
				s.job = j.Id
				s.token, s.err = authn.MeshToken(rt.MeshKey, "probe", user, project, time.Minute)
			}
		}
		ready <- s
		return nil, nil
	}}
	var logs logging.SyncBuffer
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, svc, Config{Home: dir, NatsURL: ns.URL()}, lis, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	}()
	var st started
	select {
	case st = <-ready:
		if st.err != nil {
			t.Fatal(st.err)
		}
	case err := <-done:
		t.Fatalf("service ended: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("service did not start")
	}
	conn, err := grpcx.Dial(lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	wctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+st.token)
	var stream jobsv1.JobService_WatchJobClient
	for deadline := time.Now().Add(10 * time.Second); ; { // the server may not be serving yet
		if stream, err = jobsv1.NewJobServiceClient(conn).WatchJob(wctx, &jobsv1.WatchJobRequest{JobId: st.job}); err == nil {
			var ev *jobsv1.WatchJobResponse
			if ev, err = stream.Recv(); err == nil {
				if got := ev.GetEvent().GetState(); got != jobsv1.JobState_JOB_STATE_QUEUED {
					t.Fatalf("first event %v, want queued", got)
				}
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("watch: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	recvErr := make(chan error, 1)
	go func() {
		for {
			if _, err := stream.Recv(); err != nil {
				recvErr <- err
				return
			}
		}
	}()

	t0 := time.Now()
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("shutdown took over 15 s")
	}
	took := time.Since(t0)
	t.Logf("shutdown with a watch in progress took %v", took)
	if took > 2*time.Second {
		t.Errorf("shutdown with a watch in progress took %v, want under 2 s", took)
	}
	select {
	case err := <-recvErr:
		if !grpcx.IsStopping(err) {
			t.Errorf("the watch ended with %v, want a Stopping error", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("the watch did not end")
	}
	time.Sleep(300 * time.Millisecond) // a late callback of the NATS close would log by now
	if out := logs.String(); strings.Contains(out, "level=WARN") || strings.Contains(out, "level=ERROR") {
		t.Errorf("an orderly shutdown logged:\n%s", out)
	}
}
