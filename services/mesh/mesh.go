// Package mesh runs the whole vds platform in one process, as `vds up` and the end-to-end tests do:
// an embedded NATS server with JetStream, the metadata store and object store under one home folder,
// every service on its own loopback gRPC listener (real gRPC between them, as deployed), and the
// gateway's gRPC front door and HTTP server in front.
package mesh

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/vdsproject/vds/libs/config"
	"github.com/vdsproject/vds/libs/natsembed"
	"github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/libs/storage/sqlstore"
	authsrv "github.com/vdsproject/vds/services/auth/server"
	causalsrv "github.com/vdsproject/vds/services/causal/server"
	gatewaysrv "github.com/vdsproject/vds/services/gateway/server"
	ingestsrv "github.com/vdsproject/vds/services/ingestion/server"
	mlsrv "github.com/vdsproject/vds/services/ml/server"
	orchsrv "github.com/vdsproject/vds/services/orchestrator/server"
	profsrv "github.com/vdsproject/vds/services/profiling/server"
	sandboxsrv "github.com/vdsproject/vds/services/sandbox/server"
)

// Services lists every deployable that `vds up` runs, auth first.
func Services() []platform.Service {
	return []platform.Service{authsrv.Service(), ingestsrv.Service(), profsrv.Service(), mlsrv.Service(),
		causalsrv.Service(), sandboxsrv.Service(), orchsrv.Service()}
}

// Options configure Up.
type Options struct {
	Home string
	// GRPCAddr and HTTPAddr are the front door's listen addresses ("127.0.0.1:0" picks free ports).
	GRPCAddr    string
	HTTPAddr    string
	DatabaseURL string       // empty: SQLite under Home
	ObjectStore string       // empty: a folder under Home
	NatsURL     string       // empty: an embedded NATS server under Home
	Log         *slog.Logger // nil: discard the logs
	// Bootstrap creates a local admin and an API key on first start (see Credentials).
	Bootstrap bool
}

// Platform is a running mesh.
type Platform struct {
	GRPCAddr string
	HTTPURL  string
	Services map[string]string
	Creds    *Credentials
	lock     *os.File
	cancel   context.CancelFunc
	done     chan error
}

// ErrLocked is returned when another process runs a platform on the same home.
var ErrLocked = errors.New("another vds platform is running with this home")

// Up starts the platform and returns once every service is serving.
func Up(ctx context.Context, o Options) (*Platform, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(o.Home, 0o700); err != nil {
		return nil, fmt.Errorf("home %s: %w", o.Home, err)
	}
	lock, err := os.OpenFile(filepath.Join(o.Home, "vds.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("%w (%s)", ErrLocked, o.Home)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p := &Platform{Services: map[string]string{}, lock: lock, cancel: cancel, done: make(chan error, 1)}
	fail := func(err error) (*Platform, error) {
		cancel()
		lock.Close()
		return nil, err
	}
	var ns *natsembed.Server
	if o.NatsURL == "" {
		if ns, err = natsembed.Start(filepath.Join(o.Home, "nats"), 0); err != nil {
			return fail(err)
		}
		o.NatsURL = ns.URL()
	}
	svcs := Services()
	// Each service's own settings take their VDS_* environment variables, as the standalone binaries do.
	for _, s := range svcs {
		if s.Flags == nil {
			continue
		}
		fs := flag.NewFlagSet(s.Name, flag.ContinueOnError)
		s.Flags(fs)
		if err := config.ApplyEnv(fs); err != nil {
			return fail(fmt.Errorf("%s service: %w", s.Name, err))
		}
	}
	listeners := map[string]net.Listener{}
	for _, s := range svcs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fail(err)
		}
		listeners[s.Name] = l
		p.Services[s.Name] = l.Addr().String()
	}
	cfg := platform.Config{Home: o.Home, DatabaseURL: o.DatabaseURL, ObjectStore: o.ObjectStore, NatsURL: o.NatsURL,
		AuthAddr: p.Services["auth"], Peers: p.Services}
	// Migrate once, before seven services open the store at the same moment (with SQLite they would
	// otherwise queue on its single writer lock).
	mcfg := cfg
	mcfg.Defaults()
	st, err := sqlstore.Open(ctx, mcfg.DatabaseURL)
	if err != nil {
		return fail(fmt.Errorf("metadata store: %w", err))
	}
	st.Close()
	g, gctx := errgroup.WithContext(runCtx)
	startErr := make(chan error, 1)
	for _, s := range svcs {
		g.Go(func() error {
			err := platform.Serve(gctx, s, cfg, listeners[s.Name], o.Log)
			if err != nil {
				select { // the first service that fails to start tells waitHealthy why
				case startErr <- err:
				default:
				}
			}
			return err
		})
	}
	// The gateway: gRPC front door and REST/HTTP.
	// The gateway's limits take their VDS_* variables as the standalone gateway's flags do; a local
	// platform allows more requests per client (the web app loads many charts at once).
	gwOpts := gatewaysrv.Options{Backends: p.Services, Log: o.Log, MaxBodyBytes: gatewaysrv.DefaultMaxBodyBytes,
		MaxUploadBytes: gatewaysrv.DefaultMaxUploadBytes, RatePerSecond: 200, Burst: 400}
	gfs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	gwOpts.Flags(gfs)
	if err := config.ApplyEnv(gfs); err != nil {
		return fail(fmt.Errorf("gateway: %w", err))
	}
	front, err := gatewaysrv.NewFrontDoor(gwOpts)
	if err != nil {
		return fail(err)
	}
	gl, err := net.Listen("tcp", orDefault(o.GRPCAddr, "127.0.0.1:0"))
	if err != nil {
		return fail(fmt.Errorf("gRPC front door: %w", err))
	}
	p.GRPCAddr = gl.Addr().String()
	h, err := gatewaysrv.NewHTTPHandler(gctx, gwOpts)
	if err != nil {
		return fail(err)
	}
	hl, err := net.Listen("tcp", orDefault(o.HTTPAddr, "127.0.0.1:0"))
	if err != nil {
		return fail(fmt.Errorf("HTTP gateway: %w", err))
	}
	p.HTTPURL = "http://" + hl.Addr().String()
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	g.Go(func() error { return serveGRPC(gctx, front, gl) })
	g.Go(func() error {
		go func() {
			<-gctx.Done()
			sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
			defer c()
			hs.Shutdown(sctx)
		}()
		if err := hs.Serve(hl); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	go func() {
		err := g.Wait()
		if ns != nil {
			ns.Shutdown()
		}
		lock.Close()
		p.done <- err
	}()
	if err := waitHealthy(ctx, p.Services, startErr); err != nil {
		p.Stop()
		return nil, err
	}
	if o.Bootstrap {
		if p.Creds, err = bootstrap(ctx, o.Home, p); err != nil {
			p.Stop()
			return nil, err
		}
	}
	return p, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func serveGRPC(ctx context.Context, s *grpc.Server, l net.Listener) error {
	go func() {
		<-ctx.Done()
		done := make(chan struct{})
		go func() { s.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			s.Stop()
		}
	}()
	return s.Serve(l)
}

// Stop shuts everything down gracefully and waits.
func (p *Platform) Stop() error {
	p.cancel()
	return <-p.done
}

// Done is closed (with the error) when the platform stops by itself.
func (p *Platform) Done() <-chan error { return p.done }

// Credentials are the local bootstrap credentials kept in home/credentials.json (mode 0600).
type Credentials struct {
	Email     string `json:"email"`
	Password  string `json:"password"`
	APIKey    string `json:"api_key"`
	ProjectID string `json:"project_id"`
	GRPCAddr  string `json:"grpc_addr,omitempty"`
	HTTPURL   string `json:"http_url,omitempty"`
}

// CredentialsPath is where the local credentials live.
func CredentialsPath(home string) string { return filepath.Join(home, "credentials.json") }

// LoadCredentials reads home/credentials.json.
func LoadCredentials(home string) (*Credentials, error) {
	b, err := os.ReadFile(CredentialsPath(home))
	if err != nil {
		return nil, err
	}
	c := &Credentials{}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("%s is corrupt: %w", CredentialsPath(home), err)
	}
	return c, nil
}

// SaveCredentials writes the file atomically with mode 0600.
func SaveCredentials(home string, c *Credentials) error {
	b, _ := json.MarshalIndent(c, "", "  ")
	tmp := CredentialsPath(home) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, CredentialsPath(home))
}
