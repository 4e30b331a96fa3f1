package jobs

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/vdsproject/vds/libs/telemetry"
)

const tracerScope = "github.com/vdsproject/vds/libs/jobs"

// Span attributes of job spans.
const (
	attrJobID   = attribute.Key("vds.job.id")
	attrJobKind = attribute.Key("vds.job.kind")
	attrAttempt = attribute.Key("vds.job.attempt")
)

type headerCarrier nats.Header

func (h headerCarrier) Get(k string) string { return nats.Header(h).Get(k) }
func (h headerCarrier) Set(k, v string)     { nats.Header(h).Set(k, v) }
func (h headerCarrier) Keys() []string {
	out := make([]string, 0, len(h))
	for k := range h {
		out = append(out, k)
	}
	return out
}

var _ propagation.TextMapCarrier = headerCarrier{}

// injectTrace carries the trace context of ctx in NATS message headers (W3C traceparent).
func injectTrace(ctx context.Context, h nats.Header) {
	telemetry.Propagator().Inject(ctx, headerCarrier(h))
}

// extractTrace continues the trace of a message in the worker.
func extractTrace(ctx context.Context, h nats.Header) context.Context {
	if h == nil {
		return ctx
	}
	return telemetry.Propagator().Extract(ctx, headerCarrier(h))
}

// startSubmitSpan starts the producer span of publishing a job: the worker's span is its child,
// so the hop over NATS shows in the trace.
func startSubmitSpan(ctx context.Context, kind, id string) (context.Context, trace.Span) {
	return telemetry.Tracer(tracerScope).Start(ctx, "jobs.submit "+kind, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attrJobKind.String(kind), attrJobID.String(id),
			attribute.String("messaging.system", "nats"), attribute.String("messaging.destination.name", workPrefix+kind)))
}

// startRunSpan starts the consumer span of one delivery, continuing the trace carried in h.
func startRunSpan(ctx context.Context, h nats.Header, kind, id string, attempt int) (context.Context, trace.Span) {
	ctx = extractTrace(ctx, h)
	return telemetry.Tracer(tracerScope).Start(ctx, "jobs.run "+kind, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attrJobKind.String(kind), attrJobID.String(id), attrAttempt.Int(attempt),
			attribute.String("messaging.system", "nats")))
}

// Outcomes of a job attempt, as recorded in metrics and on the run span.
const (
	outcomeSucceeded   = "succeeded"
	outcomeFailed      = "failed"
	outcomeRetried     = "retried"
	outcomeCancelled   = "cancelled"
	outcomeInterrupted = "interrupted"
)

// endRun records the outcome of an attempt in metrics and on its span, and ends the span.
func endRun(span trace.Span, kind, outcome string, start time.Time, err error) {
	telemetry.Jobs.WithLabelValues(kind, outcome).Inc()
	telemetry.JobDuration.WithLabelValues(kind, outcome).Observe(time.Since(start).Seconds())
	span.SetAttributes(attribute.String("vds.job.outcome", outcome))
	if err != nil && outcome != outcomeCancelled {
		span.RecordError(err)
		span.SetStatus(codes.Error, errorText(err))
	}
	span.End()
}
