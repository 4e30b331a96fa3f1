package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vdsproject/vds/libs/config"
	"github.com/vdsproject/vds/libs/logging"
	gatewaysrv "github.com/vdsproject/vds/services/gateway/server"
	"github.com/vdsproject/vds/services/mesh"
)

// platformFlags are the settings shared by `vds up` and the embedded platform of `vds analyze`.
type platformFlags struct {
	home, databaseURL, objectStore, natsURL string
	logFormat, logLevel                     string
}

func (p *platformFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&p.home, "home", config.DefaultHome(), "state directory (database, objects, NATS data, keys, credentials)")
	fs.StringVar(&p.databaseURL, "database-url", "", "metadata store: postgres://… or sqlite:///path (default: SQLite under --home)")
	fs.StringVar(&p.databaseURL, "postgres-url", "", "PostgreSQL metadata store, postgres://… (an alias of --database-url)")
	fs.StringVar(&p.objectStore, "object-store", "", "object store URL: file:///dir or s3://bucket (default: a folder under --home)")
	fs.StringVar(&p.natsURL, "nats-url", "", "external NATS server with JetStream (default: an embedded server under --home)")
	fs.StringVar(&p.logFormat, "log-format", "text", "log format: json or text")
	fs.StringVar(&p.logLevel, "log-level", "info", "log level: debug, info, warn, error")
}

func (p *platformFlags) options(log *slog.Logger) (mesh.Options, error) {
	home, err := filepath.Abs(p.home)
	if err != nil {
		return mesh.Options{}, err
	}
	return mesh.Options{Home: home, DatabaseURL: p.databaseURL, ObjectStore: p.objectStore, NatsURL: p.natsURL, Log: log, Bootstrap: true}, nil
}

func cmdUp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("up", "vds up — run every vds service in one process, over real loopback gRPC; "+
		"the services' own settings (README, Configuration) are not flags of vds up: set them as VDS_* environment variables, "+
		"for example VDS_TRAIN_WORKERS=2 vds up", stderr)
	var pf platformFlags
	pf.bind(fs)
	grpcAddr := fs.String("grpc-addr", "127.0.0.1:7070", "gRPC front door listen address (the SDK and CLI connect here)")
	httpAddr := fs.String("http-addr", "127.0.0.1:8080", "HTTP gateway listen address (REST, OpenAPI, web app)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return serviceSettingError(err)
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("vds up takes no arguments, got %q", pos)}
	}
	if err := logging.Check(pf.logFormat, pf.logLevel); err != nil {
		return usageError{err.Error()}
	}
	log := logging.New(stderr, pf.logFormat, pf.logLevel)
	o, err := pf.options(log)
	if err != nil {
		return err
	}
	o.GRPCAddr, o.HTTPAddr = *grpcAddr, *httpAddr
	p, err := mesh.Up(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "vds is up (home %s)\n", o.Home)
	fmt.Fprintf(stdout, "  gateway (REST, OpenAPI, web app): %s\n", p.HTTPURL)
	fmt.Fprintf(stdout, "  gRPC front door:                  %s\n", p.GRPCAddr)
	names := make([]string, 0, len(p.Services))
	for n := range p.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(stdout, "  %-12s service:               %s\n", n, p.Services[n])
	}
	if p.Creds != nil {
		fmt.Fprintf(stdout, "  local admin %s; its password and a CLI API key are in %s\n", p.Creds.Email, mesh.CredentialsPath(o.Home))
	}
	fmt.Fprintln(stdout, "Try: vds analyze FILE --target COLUMN --server", p.GRPCAddr)
	fmt.Fprintln(stdout, "Press Ctrl-C to stop.")
	if f, ok := stdout.(*os.File); ok {
		_ = f.Sync()
	}
	select {
	case <-ctx.Done():
		log.Info("shutting down")
		return p.Stop()
	case err := <-p.Done():
		return err
	}
}

// serviceSettingError explains an unknown vds up flag that is a service's setting: under vds up,
// those reach the services only as VDS_* environment variables.
func serviceSettingError(err error) error {
	var ue usageError
	const unknown = "flag provided but not defined: --"
	if !errors.As(err, &ue) || !strings.HasPrefix(ue.msg, unknown) {
		return err
	}
	name := strings.TrimPrefix(strings.TrimPrefix(ue.msg, unknown), "-")
	owners := map[string]func(*flag.FlagSet){"gateway": (&gatewaysrv.Options{}).Flags}
	for _, s := range mesh.Services() {
		if s.Flags != nil {
			owners[s.Name] = s.Flags
		}
	}
	svcs := make([]string, 0, len(owners))
	for svc := range owners {
		svcs = append(svcs, svc)
	}
	sort.Strings(svcs) // a setting two services share is named after the first, every time
	for _, svc := range svcs {
		fs := flag.NewFlagSet(svc, flag.ContinueOnError)
		owners[svc](fs)
		if fs.Lookup(name) != nil {
			return usageError{fmt.Sprintf("--%s is a setting of the %s service, not a flag of vds up; set it as an environment variable: %s=VALUE vds up",
				name, svc, config.EnvName(name))}
		}
	}
	return err
}
