package grpcx_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/prometheus/client_golang/prometheus/testutil"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/telemetry"
)

// fixedFlight answers DoGet with n messages of size bytes each, and counts what it receives in DoPut.
type fixedFlight struct {
	flight.BaseFlightServer
	n, size int
}

func (f *fixedFlight) DoGet(_ *flight.Ticket, s flight.FlightService_DoGetServer) error {
	for i := 0; i < f.n; i++ {
		if err := s.Send(&flight.FlightData{DataBody: make([]byte, f.size)}); err != nil {
			return err
		}
	}
	return nil
}

func (f *fixedFlight) DoPut(s flight.FlightService_DoPutServer) error {
	for {
		if _, err := s.Recv(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// TestFlightBytes: the payload bytes of Flight calls are counted by direction; other calls are not.
func TestFlightBytes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const svc, n, size = "flightprobe", 5, 100_000
	srv := grpcx.NewServer(grpcx.ServerOptions{Name: svc, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	flight.RegisterFlightServiceServer(srv.Server, &fixedFlight{n: n, size: size})
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
	fc := flight.NewFlightServiceClient(conn)
	if _, err := healthpb.NewHealthClient(conn).List(ctx, &healthpb.HealthListRequest{}); err != nil {
		t.Fatal(err)
	}
	get, err := fc.DoGet(ctx, &flight.Ticket{Ticket: []byte("t")})
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for {
		m, err := get.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got += len(m.DataBody)
	}
	if got != n*size {
		t.Fatalf("client read %d bytes, want %d", got, n*size)
	}
	put, err := fc.DoPut(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := put.Send(&flight.FlightData{DataBody: make([]byte, size)}); err != nil {
			t.Fatal(err)
		}
	}
	put.CloseSend()
	for {
		if _, err := put.Recv(); err != nil {
			break
		}
	}
	// Protobuf framing adds a few bytes per message (tag and length, ticket): allow 64 each.
	for _, tc := range []struct {
		dir      string
		min, max float64
	}{
		{"sent", n * size, n * (size + 64)},
		{"received", 3 * size, 3*(size+64) + 64},
	} {
		var v float64
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if v = testutil.ToFloat64(telemetry.FlightBytes.WithLabelValues(svc, tc.dir)); v >= tc.min {
				break
			}
		}
		if v < tc.min || v > tc.max {
			t.Errorf("vds_flight_bytes_total{direction=%q} = %v, want between %v and %v", tc.dir, v, tc.min, tc.max)
		}
	}
}
