// Package server is the vds gateway: a transparent gRPC front door that routes each call to the
// service that owns it, and an HTTP server with the REST API (grpc-gateway), the OpenAPI document,
// uploads over HTTP (multipart, streamed) and job events as Server-Sent Events.
//
// NewFrontDoor and NewHTTPHandler stand alone: `vds up` builds both with the addresses of the services
// it started, the standalone gateway binary with the addresses from its flags.
package server

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vdsproject/vds/libs/grpcx"
)

// Backend names, as used in Options.Backends and in the --<name>-addr flags.
const (
	Auth         = "auth"
	Ingestion    = "ingestion"
	Profiling    = "profiling"
	ML           = "ml"
	Causal       = "causal"
	Sandbox      = "sandbox"
	Orchestrator = "orchestrator"
)

// BackendNames lists every backend the gateway routes to.
var BackendNames = []string{Auth, Ingestion, Profiling, ML, Causal, Sandbox, Orchestrator}

// Defaults of Options.
const (
	DefaultMaxBodyBytes   = 8 << 20
	DefaultMaxUploadBytes = 2 << 30
	DefaultHeartbeat      = 15 * time.Second
	// UploadChunkBytes is the size of the chunks an HTTP upload is streamed to ingestion in.
	UploadChunkBytes = 1 << 20
)

// Options configure the front door and the HTTP handler.
type Options struct {
	// Backends maps a backend name ("auth", "ingestion", "profiling", "ml", "causal", "sandbox",
	// "orchestrator") to its gRPC address. A missing backend makes its calls fail with Unavailable.
	Backends map[string]string
	// MaxBodyBytes bounds a REST request body (0: DefaultMaxBodyBytes; negative: no limit).
	MaxBodyBytes int64
	// MaxUploadBytes bounds the file of an HTTP upload (0: DefaultMaxUploadBytes; negative: no limit).
	MaxUploadBytes int64
	// CORSOrigins are the browser origins allowed to call the HTTP API ("*" allows any); empty: none.
	CORSOrigins []string
	// RatePerSecond is the sustained request rate allowed per client IP (<= 0: no limit) and Burst the
	// bucket size (0: twice the rate, at least 1).
	RatePerSecond float64
	Burst         int
	// TrustForwardedFor takes the client IP for rate limiting from the first X-Forwarded-For entry
	// (set it only behind a proxy that overwrites that header).
	TrustForwardedFor bool
	// Heartbeat is the interval of comment lines on an idle event stream (0: DefaultHeartbeat).
	Heartbeat time.Duration
	// Web, when set, serves every path outside the API; nil serves the web app embedded in the
	// binary (package webui). NoWeb serves nothing there (API 404s) instead.
	Web   http.Handler
	NoWeb bool
	Log   *slog.Logger
}

func (o *Options) defaults() {
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxUploadBytes == 0 {
		o.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.RatePerSecond > 0 && o.Burst <= 0 {
		o.Burst = max(1, int(2*o.RatePerSecond))
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	o.Log = o.Log.With("service", "gateway")
}

func (o *Options) validate() error {
	for name := range o.Backends {
		if !known(name) {
			return fmt.Errorf("gateway: unknown backend %q (known: %s)", name, strings.Join(BackendNames, ", "))
		}
	}
	if o.RatePerSecond < 0 {
		return fmt.Errorf("gateway: rate limit must not be negative")
	}
	return nil
}

func known(name string) bool {
	for _, n := range BackendNames {
		if n == name {
			return true
		}
	}
	return false
}

// backends holds one client connection per distinct backend address.
type backends struct {
	byName map[string]grpc.ClientConnInterface
	conns  []*grpc.ClientConn
}

func dialBackends(addrs map[string]string) (*backends, error) {
	b := &backends{byName: map[string]grpc.ClientConnInterface{}}
	byAddr := map[string]*grpc.ClientConn{}
	names := make([]string, 0, len(addrs))
	for n := range addrs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		addr := addrs[name]
		if addr == "" {
			continue
		}
		c, ok := byAddr[addr]
		if !ok {
			var err error
			if c, err = grpcx.Dial(addr); err != nil {
				b.close()
				return nil, fmt.Errorf("gateway: backend %s at %s: %w", name, addr, err)
			}
			byAddr[addr] = c
			b.conns = append(b.conns, c)
		}
		b.byName[name] = c
	}
	for _, name := range BackendNames {
		if _, ok := b.byName[name]; !ok {
			b.byName[name] = missingBackend(name)
		}
	}
	return b, nil
}

func (b *backends) conn(name string) grpc.ClientConnInterface { return b.byName[name] }

func (b *backends) close() {
	for _, c := range b.conns {
		c.Close()
	}
}

// missingBackend answers every call with Unavailable naming the backend that is not configured.
type missingBackend string

func (m missingBackend) err() error {
	return status.Errorf(codes.Unavailable, "the %s service is not configured in the gateway (set --%s-addr)", string(m), string(m))
}

func (m missingBackend) Invoke(context.Context, string, any, any, ...grpc.CallOption) error {
	return m.err()
}

func (m missingBackend) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, m.err()
}

// Flags binds the gateway's limits and browser settings to fs, with the values already in o as the
// defaults; the standalone gateway and `vds up` share them (and so their VDS_* variables).
func (o *Options) Flags(fs *flag.FlagSet) {
	fs.Int64Var(&o.MaxBodyBytes, "max-body-bytes", o.MaxBodyBytes, "largest REST request body in bytes")
	fs.Int64Var(&o.MaxUploadBytes, "max-upload-bytes", o.MaxUploadBytes, "largest file accepted by the HTTP upload in bytes")
	fs.Func("cors-origins", "comma-separated browser origins allowed to call the API (* for any); empty: none", func(v string) error {
		o.CORSOrigins = nil
		for _, c := range strings.Split(v, ",") {
			if c = strings.TrimSpace(c); c != "" {
				o.CORSOrigins = append(o.CORSOrigins, c)
			}
		}
		return nil
	})
	fs.Float64Var(&o.RatePerSecond, "rate-limit", o.RatePerSecond, "requests per second allowed per client IP (0: no limit)")
	fs.IntVar(&o.Burst, "rate-burst", o.Burst, "requests a client may make at once before the rate limit applies (0: twice --rate-limit)")
	fs.BoolVar(&o.TrustForwardedFor, "trust-forwarded-for", o.TrustForwardedFor, "take the client IP from X-Forwarded-For (only behind a proxy that sets it)")
}
