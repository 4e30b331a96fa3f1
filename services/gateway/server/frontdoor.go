package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the "proto" codec used for non-proxied messages
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/vdsproject/vds/libs/grpcx"
)

// FlightService is the Arrow Flight service, served by ingestion.
const FlightService = "arrow.flight.protocol.FlightService"

// packageRoutes maps a proto package to the backend that serves its services. Every service serves
// vds.jobs.v1 and vds.lineage.v1 over the shared records; the gateway sends them to ingestion.
var packageRoutes = map[string]string{
	"vds.auth.v1":         Auth,
	"vds.datasets.v1":     Ingestion,
	"vds.jobs.v1":         Ingestion,
	"vds.lineage.v1":      Ingestion,
	"vds.profiling.v1":    Profiling,
	"vds.ml.v1":           ML,
	"vds.causal.v1":       Causal,
	"vds.sandbox.v1":      Sandbox,
	"vds.orchestrator.v1": Orchestrator,
}

// Route returns the backend that serves the fully qualified gRPC service name (such as
// "vds.jobs.v1.JobService"), or "" when no backend does.
func Route(service string) string {
	if service == FlightService {
		return Ingestion
	}
	i := strings.LastIndexByte(service, '.')
	if i <= 0 {
		return ""
	}
	return packageRoutes[service[:i]]
}

// RoutedServices lists the gRPC services the front door forwards (every vds service known to this
// binary, plus Arrow Flight), sorted.
func RoutedServices() []string {
	out := []string{FlightService}
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if _, ok := packageRoutes[string(fd.Package())]; !ok {
			return true
		}
		for i := 0; i < fd.Services().Len(); i++ {
			out = append(out, string(fd.Services().Get(i).FullName()))
		}
		return true
	})
	sort.Strings(out)
	return out
}

// NewFrontDoor returns a gRPC server that forwards every call, by its service name, to the backend
// that serves it (see Route): unary and streaming in both directions, messages as opaque bytes,
// request metadata (authorization, x-api-key, trace context…) passed on, response headers, trailers
// and status passed back. The server answers grpc.health.v1.Health itself. Register nothing else on it.
//
// Backend connections are made lazily and go idle with the process's other idle gRPC connections.
func NewFrontDoor(o Options) (*grpc.Server, error) {
	o.defaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	b, err := dialBackends(o.Backends)
	if err != nil {
		return nil, err
	}
	p := &proxy{b: b, services: strings.Join(RoutedServices(), ", "), oneRequest: oneRequestMethods(), opts: o}
	s := grpc.NewServer(
		grpc.StatsHandler(grpcx.ServerStatsHandler("gateway")), // the gateway's span; backends' spans are its children
		grpc.StreamInterceptor(grpcx.MetricsStreamInterceptor("gateway")),
		grpc.ForceServerCodecV2(rawCodec{}),
		grpc.UnknownServiceHandler(p.handle),
		grpc.MaxRecvMsgSize(64<<20),
	)
	h := health.NewServer()
	healthpb.RegisterHealthServer(s, h)
	return s, nil
}

type proxy struct {
	b        *backends
	services string
	// oneRequest holds the full method names ("/pkg.Service/Method") whose caller sends exactly one
	// message (unary and server-streaming calls of the routed services known to this binary).
	oneRequest map[string]bool
	opts       Options
}

// oneRequestMethods lists the routed methods that are not client-streaming.
func oneRequestMethods() map[string]bool {
	out := map[string]bool{}
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if _, ok := packageRoutes[string(fd.Package())]; !ok {
			return true
		}
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				if md := sd.Methods().Get(j); !md.IsStreamingClient() {
					out["/"+string(sd.FullName())+"/"+string(md.Name())] = true
				}
			}
		}
		return true
	})
	return out
}

// proxyDesc lets one stream carry any kind of call: grpc-go sends and receives messages the same way
// for all four, and the client's own framing decides how many there are.
var proxyDesc = &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}

func (p *proxy) handle(_ any, ss grpc.ServerStream) error {
	method, ok := grpc.MethodFromServerStream(ss)
	if !ok {
		return status.Error(codes.Internal, "front door: no method in stream")
	}
	svc, _, _ := strings.Cut(strings.TrimPrefix(method, "/"), "/")
	backend := Route(svc)
	if backend == "" {
		return status.Errorf(codes.Unimplemented, "unknown service %q; this gateway serves: %s", svc, p.services)
	}
	conn := p.b.conn(backend)

	ctx, cancel := context.WithCancel(ss.Context())
	defer cancel()
	ctx = metadata.NewOutgoingContext(ctx, outgoingMD(ss.Context()))
	cs, err := conn.NewStream(ctx, proxyDesc, method, grpc.ForceCodecV2(rawCodec{}))
	if err != nil {
		p.opts.Log.WarnContext(ss.Context(), "backend call failed to start", "backend", backend, "method", method, "err", err)
		return backendError(backend, err)
	}

	if p.oneRequest[method] {
		// One request message: forward it and half-close here, then stream the answer back in this
		// goroutine (no helper goroutines or channel hand-overs on the common unary path). The
		// caller's cancellation cancels ctx, which ends the backend call and its RecvMsg.
		if err := forwardOne(ss, cs); err != nil {
			cancel()
			return status.Convert(err).Err()
		}
		return p.finish(ss, cs, backend, method, forwardBackendToClient(cs, ss))
	}

	up := make(chan error, 1)
	down := make(chan error, 1)
	go func() { up <- forwardClientToBackend(ss, cs) }()
	go func() { down <- forwardBackendToClient(cs, ss) }()
	for {
		select {
		case err := <-up:
			if err != nil {
				// The caller's side broke (cancelled, or a malformed message): abandon the backend call.
				cancel()
				return status.Convert(err).Err()
			}
			up = nil // the caller half-closed; wait for the backend to finish
		case err := <-down:
			return p.finish(ss, cs, backend, method, err)
		}
	}
}

// finish ends a forwarded call with the backend's trailer and status (err from the backend side:
// io.EOF on success).
func (p *proxy) finish(ss grpc.ServerStream, cs grpc.ClientStream, backend, method string, err error) error {
	ss.SetTrailer(cs.Trailer())
	if errors.Is(err, io.EOF) {
		return nil
	}
	switch {
	case grpcx.IsStopping(err): // an orderly stop of the backend: nothing failed
		p.opts.Log.InfoContext(ss.Context(), "backend stopping", "backend", backend, "method", method, "err", err)
	case status.Code(err) == codes.Unavailable:
		p.opts.Log.WarnContext(ss.Context(), "backend unavailable", "backend", backend, "method", method, "err", err)
	}
	return backendError(backend, err)
}

// forwardOne forwards the caller's single request message and half-closes the backend call. A
// backend that has already ended the call (io.EOF on send) is not an error here: its status comes
// from the receiving side.
func forwardOne(ss grpc.ServerStream, cs grpc.ClientStream) error {
	f := &frame{}
	if err := ss.RecvMsg(f); err != nil {
		if errors.Is(err, io.EOF) {
			return status.Error(codes.InvalidArgument, "the call sent no request message")
		}
		return err
	}
	if err := cs.SendMsg(f); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if err := cs.CloseSend(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

func forwardClientToBackend(ss grpc.ServerStream, cs grpc.ClientStream) error {
	for {
		f := &frame{}
		if err := ss.RecvMsg(f); err != nil {
			if errors.Is(err, io.EOF) {
				return cs.CloseSend()
			}
			return err
		}
		if err := cs.SendMsg(f); err != nil {
			// io.EOF means the backend ended the call; its status comes from the receiving side.
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

func forwardBackendToClient(cs grpc.ClientStream, ss grpc.ServerStream) error {
	if md, err := cs.Header(); err == nil && len(md) > 0 {
		if err := ss.SendHeader(md); err != nil {
			return err
		}
	}
	for {
		f := &frame{}
		if err := cs.RecvMsg(f); err != nil {
			return err // io.EOF on success, else the backend's status
		}
		if err := ss.SendMsg(f); err != nil {
			return err
		}
	}
}

// backendError names the backend in an Unavailable status (a refused connection says nothing of
// which service it was); other statuses pass unchanged.
func backendError(backend string, err error) error {
	st := status.Convert(err)
	if st.Code() != codes.Unavailable || strings.Contains(st.Message(), backend+" service") {
		return st.Err()
	}
	msg := st.Message()
	if strings.Contains(msg, "connection error") || strings.Contains(msg, "transport:") {
		msg = "cannot connect to it; retry later" // the transport error would reveal internal addresses
	}
	// The backend's details (a Stopping error's reason) go on to the caller.
	sp := st.Proto()
	sp.Message = fmt.Sprintf("the %s service is unavailable: %s", backend, msg)
	return status.FromProto(sp).Err()
}

// outgoingMD is the caller's metadata minus what belongs to the transport, with the caller's address
// appended to x-forwarded-for.
func outgoingMD(ctx context.Context) metadata.MD {
	in, _ := metadata.FromIncomingContext(ctx)
	out := metadata.MD{}
	for k, v := range in {
		switch {
		case strings.HasPrefix(k, ":"), strings.HasPrefix(k, "grpc-"),
			k == "content-type", k == "user-agent", k == "te", k == "connection", k == "host":
			continue
		}
		out[k] = append([]string(nil), v...)
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		if host, _, err := net.SplitHostPort(p.Addr.String()); err == nil {
			if xff := out.Get("x-forwarded-for"); len(xff) > 0 {
				out.Set("x-forwarded-for", strings.Join(xff, ", ")+", "+host)
			} else {
				out.Set("x-forwarded-for", host)
			}
		}
	}
	return out
}

// frame is one message as bytes on the wire. Unmarshal takes a reference to gRPC's buffers and
// Marshal hands it back, so a forwarded message is never copied.
type frame struct{ data mem.BufferSlice }

// rawCodec passes frames through untouched and falls back to protobuf for everything else (the
// front door's own health service).
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if f, ok := v.(*frame); ok {
		d := f.data
		f.data = nil
		return d, nil
	}
	return protoCodec().Marshal(v)
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if f, ok := v.(*frame); ok {
		data.Ref()
		f.data = data
		return nil
	}
	return protoCodec().Unmarshal(data, v)
}

func protoCodec() encoding.CodecV2 {
	c := encoding.GetCodecV2("proto")
	if c == nil {
		panic("gateway: the proto codec is not registered")
	}
	return c
}
