// Command gateway runs the vds gateway alone: the gRPC front door (one address for every service,
// Arrow Flight included) and the HTTP server (REST API, OpenAPI, uploads, job events), in front of
// services whose addresses come from --<service>-addr. It stops gracefully on SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/vdsproject/vds/libs/config"
	"github.com/vdsproject/vds/libs/logging"
	"github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/services/gateway/server"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("gateway", flag.ExitOnError)
	httpAddr := fs.String("http-addr", "127.0.0.1:8080", "HTTP listen address (REST API, OpenAPI, uploads, event streams)")
	grpcAddr := fs.String("grpc-addr", "127.0.0.1:7070", "gRPC front door listen address")
	addrs := map[string]*string{}
	for _, name := range server.BackendNames {
		addrs[name] = fs.String(name+"-addr", "", "gRPC address of the "+name+" service")
	}
	o := server.Options{Backends: map[string]string{}, MaxBodyBytes: server.DefaultMaxBodyBytes, MaxUploadBytes: server.DefaultMaxUploadBytes, RatePerSecond: 50}
	o.Flags(fs)
	logFormat := fs.String("log-format", "json", "log format: json or text")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	var tel platform.TelemetryConfig
	tel.Flags(fs)
	fs.Usage = config.Usage(fs, "vds gateway: gRPC front door and REST/HTTP server")
	if err := config.Parse(fs, args); err != nil {
		return err
	}
	if err := logging.Check(*logFormat, *logLevel); err != nil {
		return err
	}
	log := logging.New(os.Stderr, *logFormat, *logLevel)

	o.Log = log
	for name, a := range addrs {
		if *a != "" {
			o.Backends[name] = *a
		}
	}
	for _, name := range server.BackendNames {
		if o.Backends[name] == "" {
			log.Warn("backend not configured: its calls will fail with Unavailable", "backend", name, "flag", "--"+name+"-addr")
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	stopTel, err := tel.Start(ctx, "vds-gateway", log)
	if err != nil {
		return err
	}
	defer stopTel()

	front, err := server.NewFrontDoor(o)
	if err != nil {
		return err
	}
	// The HTTP handler's context ends when shutdown begins: event streams close at once, the
	// requests in flight finish, then the backend connections close.
	hctx, hcancel := context.WithCancel(context.Background())
	defer hcancel()
	h, err := server.NewHTTPHandler(hctx, o)
	if err != nil {
		return err
	}
	gl, err := net.Listen("tcp", *grpcAddr)
	if err != nil {
		return fmt.Errorf("gRPC listen: %w", err)
	}
	hl, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		gl.Close()
		return fmt.Errorf("HTTP listen: %w", err)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	hs.RegisterOnShutdown(hcancel)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return front.Serve(gl) })
	g.Go(func() error {
		if err := hs.Serve(hl); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		shutdown(log, front, hs)
		return nil
	})
	log.Info("gateway started", "grpc_addr", gl.Addr().String(), "http_addr", hl.Addr().String())
	err = g.Wait()
	log.Info("gateway stopped")
	return err
}

// shutdown drains both servers for up to 10 s, then closes what is left.
func shutdown(log *slog.Logger, front *grpc.Server, hs *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { front.GracefulStop(); close(done) }()
	if err := hs.Shutdown(ctx); err != nil {
		log.Warn("HTTP shutdown timed out; closing connections", "err", err)
		hs.Close()
	}
	select {
	case <-done:
	case <-ctx.Done():
		log.Warn("gRPC shutdown timed out; closing streams")
		front.Stop()
		<-done
	}
}
