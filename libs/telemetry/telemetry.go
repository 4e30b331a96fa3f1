// Package telemetry is the observability set-up shared by every vds service: the OpenTelemetry
// tracer provider (exporting over OTLP/gRPC when an endpoint is configured), the trace-context
// propagator used on gRPC metadata and NATS headers, and one Prometheus registry with the platform's
// metrics, served over HTTP at /metrics.
//
// Tracing is off unless configured: with no OTLP endpoint the global tracer provider stays what it
// is (a no-op by default, or what a test installed), so spans cost nothing in the embedded default.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// ServiceKey is the span attribute naming the vds service that made a span. Several services share
// one process in `vds up`, so the resource alone cannot tell them apart.
const ServiceKey = attribute.Key("vds.service")

var propagator propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(
	propagation.TraceContext{}, propagation.Baggage{})

// Propagator is the W3C trace-context (and baggage) propagator that vds uses on every hop, whatever
// the global one is.
func Propagator() propagation.TextMapPropagator { return propagator }

// Tracer returns a tracer of the global provider for the named instrumentation scope.
func Tracer(scope string) trace.Tracer { return otel.GetTracerProvider().Tracer(scope) }

// Options configure Setup.
type Options struct {
	// ServiceName becomes the resource's service.name ("vds-ingestion", or "vds" for `vds up`).
	ServiceName string
	// OTLPEndpoint is host:port of an OTLP/gRPC collector; empty leaves tracing off.
	OTLPEndpoint string
	// Insecure sends OTLP without TLS (a collector beside the pod, or on loopback).
	Insecure bool
	// SampleRatio is the fraction of new traces kept (parent-based; default 1).
	SampleRatio float64
}

var setupOnce struct {
	sync.Mutex
	done bool
}

// Setup installs the global propagator and, when an OTLP endpoint is configured, a tracer provider
// exporting to it in batches. It returns a function that flushes and stops the exporter. Only the
// first call of a process installs a provider; later calls return a no-op shutdown.
func Setup(ctx context.Context, o Options) (shutdown func(context.Context) error, err error) {
	otel.SetTextMapPropagator(propagator)
	noop := func(context.Context) error { return nil }
	if o.OTLPEndpoint == "" {
		return noop, nil
	}
	setupOnce.Lock()
	defer setupOnce.Unlock()
	if setupOnce.done {
		return noop, nil
	}
	opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(o.OTLPEndpoint)}
	if o.Insecure {
		opts = append(opts, otlptracegrpc.WithInsecure())
	}
	exp, err := otlptracegrpc.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter for %s: %w", o.OTLPEndpoint, err)
	}
	name := o.ServiceName
	if name == "" {
		name = "vds"
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", name)))
	if err != nil {
		return nil, err
	}
	ratio := o.SampleRatio
	if ratio <= 0 || ratio > 1 {
		ratio = 1
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
	)
	otel.SetTracerProvider(tp)
	setupOnce.done = true
	return tp.Shutdown, nil
}

// ServeMetrics serves /metrics (and a trivial /healthz) on addr until ctx is done. It returns once
// the listener is open, with the address it listens on.
func ServeMetrics(ctx context.Context, addr string) (string, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("metrics listener %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", Handler())
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the listener broke; the process's health checks notice
		}
	}()
	return lis.Addr().String(), nil
}
