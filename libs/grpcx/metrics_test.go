package grpcx_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/telemetry"
)

// TestRPCMetrics serves real calls (a unary one and a stream) and reads the counters and the
// duration histogram back from the /metrics endpoint as Prometheus would scrape them.
func TestRPCMetrics(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv := grpcx.NewServer(grpcx.ServerOptions{Name: "metricsprobe", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ctx, lis)
	conn, err := grpcx.Dial(lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	for i := 0; i < 3; i++ {
		if _, err := hc.List(ctx, &healthpb.HealthListRequest{}); err != nil {
			t.Fatal(err)
		}
		// Health checks are probes, not traffic: they are not counted.
		if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
	if _, err := st.Recv(); err != nil {
		t.Fatal(err)
	}
	st.CloseSend()
	if _, err := st.Recv(); err != io.EOF {
		t.Fatalf("stream end: %v", err)
	}

	addr, err := telemetry.ServeMetrics(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		`vds_rpc_requests_total{code="OK",method="/grpc.health.v1.Health/List",service="metricsprobe"} 3`:                               false,
		`vds_rpc_duration_seconds_count{method="/grpc.health.v1.Health/List",service="metricsprobe"} 3`:                                 false,
		`vds_rpc_requests_total{code="OK",method="/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",service="metricsprobe"} 1`: false,
	}
	// The stream's interceptor returns just after the client sees EOF: poll briefly.
	var body string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("/metrics: %s", resp.Status)
		}
		body = string(b)
		all := true
		for line := range want {
			want[line] = strings.Contains(body, line)
			all = all && want[line]
		}
		if all {
			break
		}
	}
	for line, ok := range want {
		if !ok {
			t.Errorf("/metrics lacks %s", line)
		}
	}
	if strings.Contains(body, `method="/grpc.health.v1.Health/Check"`) {
		t.Error("health checks are counted as RPCs")
	}
	for _, name := range []string{"go_goroutines", "process_open_fds"} {
		if !strings.Contains(body, "# HELP "+name) {
			t.Errorf("/metrics does not describe %s", name)
		}
	}
}
