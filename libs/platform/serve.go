package platform

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/nats-io/nats.go"
	"golang.org/x/sync/errgroup"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/vdsproject/vds/libs/config"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/logging"
)

// Service describes one deployable: its name, the methods that need no credential, its own flags,
// and how to start it on a runtime and server. Start registers handlers and returns the background
// work (job workers) to run while the server serves; run may be nil.
type Service struct {
	Name   string
	Public map[string]bool
	// Peers lists the services it calls, by name (their addresses come from --<name>-addr).
	Peers []string
	Flags func(fs *flag.FlagSet)
	Start func(ctx context.Context, rt *Runtime, srv *grpcx.Server) (run func(context.Context) error, err error)
}

// Serve runs svc on lis until ctx is done: it opens the runtime, registers the service, serves gRPC,
// runs the workers, and shuts down gracefully (draining calls, returning unfinished jobs to the queue).
func Serve(ctx context.Context, svc Service, cfg Config, lis net.Listener, log *slog.Logger) error {
	log = log.With("service", svc.Name)
	rt, err := Open(ctx, svc.Name, cfg, log, svc.Public)
	if err != nil {
		return fmt.Errorf("%s: %w", svc.Name, err)
	}
	defer rt.Close()
	srv := rt.NewServer()
	run, err := svc.Start(ctx, rt, srv)
	if err != nil {
		return fmt.Errorf("%s: %w", svc.Name, err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Serve(gctx, lis) })
	watchNATS(rt, srv, log)
	if run != nil {
		g.Go(func() error {
			if err := run(gctx); err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("%s workers: %w", svc.Name, err)
			}
			return nil
		})
	}
	log.Info("service started", "addr", lis.Addr().String())
	return g.Wait()
}

// watchNATS reports the service NOT_SERVING on its gRPC health while its NATS connection is down
// (it can neither take nor submit jobs then), and SERVING again once it reconnects, so readiness
// probes take the replica out of rotation instead of letting its calls fail.
func watchNATS(rt *Runtime, srv *grpcx.Server, log *slog.Logger) {
	rt.NC.SetDisconnectErrHandler(func(nc *nats.Conn, err error) {
		if rt.closing.Load() || nc.IsClosed() || nc.IsDraining() {
			// Our own orderly close (shutdown): nothing was lost.
			log.Debug("NATS connection closed")
			return
		}
		log.Warn("NATS connection lost: not serving until it is back", "err", err)
		srv.Health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	})
	rt.NC.SetReconnectHandler(func(*nats.Conn) {
		log.Info("NATS connection back: serving")
		srv.Health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	})
}

// Main is the entry point of a standalone service binary.
func Main(svc Service) {
	fs := flag.NewFlagSet(svc.Name, flag.ExitOnError)
	var cfg Config
	cfg.Home = config.DefaultHome()
	cfg.Flags(fs)
	addr := fs.String("listen", "127.0.0.1:0", "gRPC listen address")
	var tel TelemetryConfig
	tel.Flags(fs)
	peers := map[string]*string{}
	for _, p := range svc.Peers {
		peers[p] = fs.String(p+"-addr", "", "gRPC address of the "+p+" service")
	}
	if svc.Flags != nil {
		svc.Flags(fs)
	}
	fs.Usage = config.Usage(fs, "vds "+svc.Name+" service")
	if err := config.Parse(fs, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := logging.Check(cfg.LogFormat, cfg.LogLevel); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	cfg.Peers = map[string]string{}
	for name, a := range peers {
		cfg.Peers[name] = *a
	}
	log := logging.New(os.Stderr, cfg.LogFormat, cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	shutdownTel, err := tel.Start(ctx, "vds-"+svc.Name, log)
	if err != nil {
		log.Error("telemetry", "err", err)
		os.Exit(1)
	}
	defer shutdownTel()
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Error("listen", "addr", *addr, "err", err)
		os.Exit(1)
	}
	if err := Serve(ctx, svc, cfg, lis, log); err != nil {
		log.Error("service stopped", "err", err)
		os.Exit(1)
	}
}
