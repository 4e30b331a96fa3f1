package platform

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/natsembed"
)

// A service is SERVING on its gRPC health only while it has NATS: it turns NOT_SERVING when the
// server goes away and SERVING again when it is back on the same address.
func TestHealthFollowsNATS(t *testing.T) {
	dir := t.TempDir()
	ns, err := natsembed.Start(filepath.Join(dir, "nats"), 0)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(ns.URL())
	port, _ := strconv.Atoi(u.Port())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
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
