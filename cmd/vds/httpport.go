package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// httpPortError is the error of a call to a --server address where an HTTP/1 server answers (the
// gateway's REST port, or any web server): gRPC reads the HTTP reply as an HTTP/2 frame and fails
// with "http2: frame too large", which says nothing to the user. It is an Unavailable status.
type httpPortError struct{ msg string }

func (e *httpPortError) Error() string { return e.msg }

// GRPCStatus makes it a gRPC status for status.FromError (and explain).
func (e *httpPortError) GRPCStatus() *status.Status { return status.New(codes.Unavailable, e.msg) }

// isHTTPReply reports whether err is gRPC's error for an HTTP/1 reply to its HTTP/2 preface.
func isHTTPReply(err error) bool {
	return err != nil && strings.Contains(err.Error(), "http2: frame too large")
}

// httpPortHint says that addr looks like the HTTP gateway's address and which is the gRPC one:
// known is the gRPC address of the `vds up` of --home ("" when unknown).
func httpPortHint(addr, known string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "--server %s answered in HTTP/1, not gRPC: it looks like the address of the HTTP gateway (REST API, web app), "+
		"but --server takes the gRPC front door's address. `vds up` prints both: the line \"gRPC front door:\" is the one for --server "+
		"(by default 127.0.0.1:7070; the gateway is http://127.0.0.1:8080)", addr)
	host, port, err := net.SplitHostPort(addr)
	switch {
	case known != "" && known != addr:
		fmt.Fprintf(&b, "; the last vds up with this --home served gRPC at %s: --server %s", known, known)
	case err == nil && port == "8080":
		fmt.Fprintf(&b, "; try --server %s", net.JoinHostPort(host, "7070"))
	}
	return &httpPortError{b.String()}
}

// frontDoorDefault is where `vds up` serves gRPC by default.
const frontDoorDefault = "127.0.0.1:7070"

// serverTakes says what --server takes, in every error about its address.
const serverTakes = "--server takes HOST:PORT, the address of the gRPC front door that `vds up` prints as \"gRPC front door:\" (by default " + frontDoorDefault + ")"

// checkServerAddr refuses a --server that is not HOST:PORT before anything is dialled: gRPC would
// take "nonsense" as a DNS name on port 443 and fail with "name resolver error: produced zero
// addresses", which does not say what --server takes.
func checkServerAddr(addr string) error {
	if strings.Contains(addr, "://") {
		return usageError{fmt.Sprintf("%s, not a URL: %q", serverTakes, addr)}
	}
	what := fmt.Sprintf("%s, not %q", serverTakes, addr)
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		if !strings.Contains(addr, ":") {
			return usageError{what + fmt.Sprintf(": the port is missing (for example %s)", net.JoinHostPort(addr, "7070"))}
		}
		return usageError{what}
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return usageError{what + fmt.Sprintf(": the port %q is not a number from 1 to 65535", port)}
	}
	if strings.ContainsAny(host, " /") {
		return usageError{what + fmt.Sprintf(": %q is not a host name or IP address", host)}
	}
	return nil
}

// isUnresolved reports whether err is gRPC's error for a --server host that does not resolve.
func isUnresolved(err error) bool {
	return err != nil && strings.Contains(err.Error(), "produced zero addresses")
}

// unresolvedHint says that the host of addr could not be resolved and what --server takes.
func unresolvedHint(addr string) error {
	host, _, _ := net.SplitHostPort(addr)
	return &httpPortError{fmt.Sprintf("--server %s: the host %q could not be resolved to an address; %s", addr, host, serverTakes)}
}

// httpPortInterceptors turn the "http2: frame too large" error of every call to addr into
// httpPortHint's explanation, and gRPC's "name resolver error: produced zero addresses" (a host
// that does not resolve) into unresolvedHint's.
func httpPortInterceptors(addr, known string) []grpc.DialOption {
	fix := func(err error) error {
		if isHTTPReply(err) {
			return httpPortHint(addr, known)
		}
		if isUnresolved(err) {
			return unresolvedHint(addr)
		}
		return err
	}
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return fix(invoker(ctx, method, req, reply, cc, opts...))
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			s, err := streamer(ctx, desc, cc, method, opts...)
			if err != nil {
				return nil, fix(err)
			}
			return &hintStream{ClientStream: s, fix: fix}, nil
		}),
	}
}

// hintStream applies fix to the errors of a stream's messages (a stream is opened lazily: the
// connection's error comes with the first message).
type hintStream struct {
	grpc.ClientStream
	fix func(error) error
}

func (s *hintStream) SendMsg(m any) error { return s.fix(s.ClientStream.SendMsg(m)) }
func (s *hintStream) RecvMsg(m any) error { return s.fix(s.ClientStream.RecvMsg(m)) }
func (s *hintStream) CloseSend() error    { return s.fix(s.ClientStream.CloseSend()) }
