package platform

import (
	"context"
	"flag"
	"log/slog"
	"time"

	"github.com/vdsproject/vds/libs/telemetry"
)

// TelemetryConfig is where a process serves its metrics and sends its traces.
type TelemetryConfig struct {
	// MetricsAddr is the listen address of the Prometheus endpoint (/metrics); empty turns it off.
	MetricsAddr string
	// OTLPEndpoint is host:port of an OTLP/gRPC trace collector; empty turns tracing off.
	OTLPEndpoint string
	// OTLPInsecure sends traces without TLS.
	OTLPInsecure bool
}

// Flags binds the telemetry settings (VDS_METRICS_ADDR, VDS_OTLP_ENDPOINT, VDS_OTLP_INSECURE).
func (c *TelemetryConfig) Flags(fs *flag.FlagSet) {
	fs.StringVar(&c.MetricsAddr, "metrics-addr", c.MetricsAddr, "listen address of the Prometheus /metrics endpoint (empty: off)")
	fs.StringVar(&c.OTLPEndpoint, "otlp-endpoint", c.OTLPEndpoint, "host:port of an OTLP/gRPC collector for traces (empty: tracing off)")
	fs.BoolVar(&c.OTLPInsecure, "otlp-insecure", c.OTLPInsecure, "send OTLP traces without TLS")
}

// Start installs tracing and serves metrics until ctx is done; call the returned function on exit
// to flush the last spans.
func (c TelemetryConfig) Start(ctx context.Context, serviceName string, log *slog.Logger) (func(), error) {
	shutdown, err := telemetry.Setup(ctx, telemetry.Options{ServiceName: serviceName, OTLPEndpoint: c.OTLPEndpoint, Insecure: c.OTLPInsecure})
	if err != nil {
		return nil, err
	}
	if c.MetricsAddr != "" {
		addr, err := telemetry.ServeMetrics(ctx, c.MetricsAddr)
		if err != nil {
			shutdown(ctx)
			return nil, err
		}
		log.Info("metrics endpoint", "addr", addr, "path", "/metrics")
	}
	if c.OTLPEndpoint != "" {
		log.Info("tracing to OTLP collector", "endpoint", c.OTLPEndpoint)
	}
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdown(sctx); err != nil {
			log.Warn("flush traces", "err", err)
		}
	}, nil
}
