// Package grpcx is the shared gRPC set-up of every vds service: servers with health, reflection,
// recovery, logging, tracing and authentication; clients that carry the caller's credential and trace.
package grpcx

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/vdsproject/vds/libs/authn"
	"github.com/vdsproject/vds/libs/telemetry"
)

// ServerOptions configure NewServer.
type ServerOptions struct {
	Name string
	Log  *slog.Logger
	Auth *Authenticator
	// MaxRecvBytes bounds one inbound message (default 8 MiB).
	MaxRecvBytes int
}

// Server is a gRPC server with its health service.
type Server struct {
	*grpc.Server
	Health *health.Server
	name   string
	log    *slog.Logger
	// stopping is closed when Serve begins to stop, before it drains the calls in flight.
	stopping chan struct{}
	// drained is closed when Serve returns.
	drained chan struct{}
}

// NewServer builds a server with the standard interceptors; register services, then Serve.
func NewServer(o ServerOptions) *Server {
	if o.MaxRecvBytes == 0 {
		o.MaxRecvBytes = 8 << 20
	}
	unary := []grpc.UnaryServerInterceptor{metricsUnary(o.Name), recoverUnary(o.Log), logUnary(o.Log)}
	stream := []grpc.StreamServerInterceptor{metricsStream(o.Name), recoverStream(o.Log), logStream(o.Log)}
	if o.Auth != nil {
		unary = append(unary, o.Auth.UnaryInterceptor())
		stream = append(stream, o.Auth.StreamInterceptor())
	}
	s := grpc.NewServer(
		grpc.StatsHandler(ServerStatsHandler(o.Name)),
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
		grpc.MaxRecvMsgSize(o.MaxRecvBytes),
	)
	h := health.NewServer()
	healthpb.RegisterHealthServer(s, h)
	reflection.Register(s)
	return &Server{Server: s, Health: h, name: o.Name, log: o.Log, stopping: make(chan struct{}), drained: make(chan struct{})}
}

// Stopping is closed when Serve begins to stop, before it drains the calls in flight. The handler
// of a stream that has no end of its own (a watch) ends on it, so that the drain does not wait
// for it until its bound (and a gateway in front, for its own).
func (s *Server) Stopping() <-chan struct{} { return s.stopping }

// Drained is closed when Serve has returned: the calls in flight have ended, or were cut off at the
// drain's bound. A service's own shutdown work that the calls use (pools, scratch folders, records
// being written) waits for it.
func (s *Server) Drained() <-chan struct{} { return s.drained }

// Serve serves on lis until ctx is done, then stops gracefully (draining in-flight calls for up to
// 10 s) and marks the service not serving first; Stopping is closed before the drain, Drained
// when Serve returns.
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	defer close(s.drained)
	s.Health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	errc := make(chan error, 1)
	go func() { errc <- s.Server.Serve(lis) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	close(s.stopping)
	s.Health.Shutdown()
	done := make(chan struct{})
	go func() { s.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.Stop()
	}
	return nil
}

// ServerStatsHandler traces the calls a server serves: one span per call, a child of the caller's
// span when its metadata carries a W3C trace context, tagged with the serving vds service. Health
// checks are not traced.
func ServerStatsHandler(service string) stats.Handler {
	return flightBytes{service: service, Handler: otelgrpc.NewServerHandler(
		otelgrpc.WithPropagators(telemetry.Propagator()),
		otelgrpc.WithSpanAttributes(telemetry.ServiceKey.String(service)),
		otelgrpc.WithFilter(filters.Not(filters.HealthCheck())),
	)}
}

// flightPrefix is the method prefix of Arrow Flight, whose payload bytes are counted.
const flightPrefix = "/arrow.flight.protocol.FlightService/"

type flightMethodKey struct{}

// flightBytes counts the payload bytes of Arrow Flight calls (telemetry.FlightBytes) and passes
// every event on to the tracing handler.
type flightBytes struct {
	stats.Handler
	service string
}

func (f flightBytes) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	ctx = f.Handler.TagRPC(ctx, info)
	if strings.HasPrefix(info.FullMethodName, flightPrefix) {
		ctx = context.WithValue(ctx, flightMethodKey{}, true)
	}
	return ctx
}

func (f flightBytes) HandleRPC(ctx context.Context, s stats.RPCStats) {
	if ctx.Value(flightMethodKey{}) != nil {
		switch p := s.(type) {
		case *stats.InPayload:
			telemetry.FlightBytes.WithLabelValues(f.service, "received").Add(float64(p.WireLength))
		case *stats.OutPayload:
			telemetry.FlightBytes.WithLabelValues(f.service, "sent").Add(float64(p.WireLength))
		}
	}
	f.Handler.HandleRPC(ctx, s)
}

// ClientStatsHandler traces outgoing calls and puts the trace context into their metadata.
func ClientStatsHandler() stats.Handler {
	return otelgrpc.NewClientHandler(
		otelgrpc.WithPropagators(telemetry.Propagator()),
		otelgrpc.WithFilter(filters.Not(filters.HealthCheck())),
	)
}

// MetricsStreamInterceptor counts the calls of a server that has no other vds interceptors (the
// gateway's front door).
func MetricsStreamInterceptor(service string) grpc.StreamServerInterceptor {
	return metricsStream(service)
}

// metricsUnary and metricsStream count calls and their durations (see telemetry.RPCs). They run
// first in the chain, so a call refused by authentication or ended by a panic is counted too.
func metricsUnary(service string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := h(ctx, req)
		observeRPC(service, info.FullMethod, start, err)
		return resp, err
	}
}

func metricsStream(service string) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		start := time.Now()
		err := h(srv, ss)
		observeRPC(service, info.FullMethod, start, err)
		return err
	}
}

func observeRPC(service, method string, start time.Time, err error) {
	if method == "/grpc.health.v1.Health/Check" || method == "/grpc.health.v1.Health/Watch" {
		return
	}
	telemetry.RPCs.WithLabelValues(service, method, status.Code(err).String()).Inc()
	telemetry.RPCDuration.WithLabelValues(service, method).Observe(time.Since(start).Seconds())
}

func recoverUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(ctx, "panic in handler", "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error; see the service log")
			}
		}()
		return h(ctx, req)
	}
}

func recoverStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(ss.Context(), "panic in handler", "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error; see the service log")
			}
		}()
		return h(srv, ss)
	}
}

func logUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := h(ctx, req)
		logCall(ctx, log, info.FullMethod, start, err)
		return resp, err
	}
}

func logStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		start := time.Now()
		err := h(srv, ss)
		logCall(ss.Context(), log, info.FullMethod, start, err)
		return err
	}
}

func logCall(ctx context.Context, log *slog.Logger, method string, start time.Time, err error) {
	code := status.Code(err)
	lvl := slog.LevelDebug
	if code == codes.Internal || code == codes.Unknown {
		lvl = slog.LevelError
	} else if err != nil {
		lvl = slog.LevelInfo
	}
	if method == "/grpc.health.v1.Health/Check" {
		return
	}
	log.Log(ctx, lvl, "rpc", "method", method, "code", code.String(), "ms", time.Since(start).Milliseconds())
}

// Dial connects to a peer service. Calls carry the trace context and, when the context holds an
// identity, the caller's credential (so the peer authorizes the same user).
func Dial(addr string) (*grpc.ClientConn, error) {
	return grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(ClientStatsHandler()),
		grpc.WithChainUnaryInterceptor(forwardUnary),
		grpc.WithChainStreamInterceptor(forwardStream),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)),
	)
}

// Forward puts the identity's credential into outgoing metadata unless a credential is already set.
func Forward(ctx context.Context) context.Context {
	id := authn.FromContext(ctx)
	if id == nil || id.Token == "" {
		return ctx
	}
	if md, ok := metadata.FromOutgoingContext(ctx); ok && (len(md.Get("authorization")) > 0 || len(md.Get("x-api-key")) > 0) {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, id.TokenHeader, id.Token)
}

func forwardUnary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, inv grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return inv(Forward(ctx), method, req, reply, cc, opts...)
}

func forwardStream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, str grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return str(Forward(ctx), desc, cc, method, opts...)
}

// AsUser returns a context whose outgoing calls act for userID in projectID through a mesh token
// minted by service svc (for background jobs, where no user request is in flight).
func AsUser(ctx context.Context, meshKey []byte, svc, userID, projectID string) (context.Context, error) {
	tok, err := authn.MeshToken(meshKey, svc, userID, projectID, 15*time.Minute)
	if err != nil {
		return nil, err
	}
	return authn.WithIdentity(ctx, &authn.Identity{UserID: userID, ProjectID: projectID, Service: svc,
		Token: "Bearer " + tok, TokenHeader: "authorization"}), nil
}
