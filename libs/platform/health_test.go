package platform

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/jobs"
	"github.com/vdsproject/vds/libs/logging"
	"github.com/vdsproject/vds/libs/natsembed"
)

// A service is SERVING on its gRPC health only while it has NATS: it turns NOT_SERVING when the
// server goes away and SERVING again when it is back on the same address.
func TestHealthFollowsNATS(t *testing.T) {
	dir, ns, lis := natsAndListener(t)
	u, _ := url.Parse(ns.URL())
	port, _ := strconv.Atoi(u.Port())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	svc := Service{Name: "probe", Start: func(context.Context, *Runtime, *grpcx.Server) (func(context.Context) error, error) { return nil, nil }}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- Serve(sctx, svc, Config{Home: dir, NatsURL: ns.URL()}, lis, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	defer func() { stop(); <-done }()

	conn, err := grpcx.Dial(lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	waitFor := func(want healthpb.HealthCheckResponse_ServingStatus) {
		t.Helper()
		var got healthpb.HealthCheckResponse_ServingStatus
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
			if err == nil {
				if got = r.Status; got == want {
					return
				}
			}
		}
		t.Fatalf("health = %v, want %v", got, want)
	}
	waitFor(healthpb.HealthCheckResponse_SERVING)
	ns.Shutdown()
	waitFor(healthpb.HealthCheckResponse_NOT_SERVING)
	ns2, err := natsembed.Start(filepath.Join(dir, "nats"), port)
	if err != nil {
		t.Fatal(err)
	}
	defer ns2.Shutdown()
	waitFor(healthpb.HealthCheckResponse_SERVING)
}

// An orderly shutdown of an idle service with job workers (pulling work and job events) is quick —
// the pulls end with the context instead of after their wait, the NATS drain is bounded — and logs
// no warning (the close of the NATS connection is not a lost connection).
func TestIdleShutdownIsQuickAndQuiet(t *testing.T) {
	dir := t.TempDir()
	ns, err := natsembed.Start(filepath.Join(dir, "nats"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	svc := Service{Name: "probe", Start: func(_ context.Context, rt *Runtime, _ *grpcx.Server) (func(context.Context) error, error) {
		return func(ctx context.Context) error {
			g, gctx := errgroup.WithContext(ctx)
			for _, kind := range []string{"probe-a", "probe-b"} {
				g.Go(func() error {
					return rt.Queue.Work(gctx, kind, 2, func(context.Context, *jobs.Task) error { return nil })
				})
			}
			g.Go(func() error {
				return rt.Queue.OnSucceeded(gctx, "probe-follow", "probe-a", func(context.Context, *jobsv1.Job) error { return nil })
			})
			close(started)
			return g.Wait()
		}, nil
	}}
	var logs logging.SyncBuffer
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, svc, Config{Home: dir, NatsURL: ns.URL()}, lis, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("service ended: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("service did not start")
	}
	time.Sleep(700 * time.Millisecond) // the pulls are waiting
	t0 := time.Now()
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown took over 10 s")
	}
	took := time.Since(t0)
	t.Logf("shutdown took %v", took)
	if took > 1500*time.Millisecond {
		t.Errorf("idle shutdown took %v, want under 1.5 s", took)
	}
	time.Sleep(300 * time.Millisecond) // a late callback of the NATS close would log by now
	if strings.Contains(logs.String(), "level=WARN") || strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("an orderly shutdown logged:\n%s", logs.String())
	}
}

// natsAndListener starts an embedded NATS server in a temporary home (shut down when the test
// ends) and a loopback listener for a service: the set-up of the tests that Serve one service.
func natsAndListener(t *testing.T) (dir string, ns *natsembed.Server, lis net.Listener) {
	t.Helper()
	dir = t.TempDir()
	ns, err := natsembed.Start(filepath.Join(dir, "nats"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	lis, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return dir, ns, lis
}
