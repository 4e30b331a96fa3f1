// Package platform opens what every vds service shares — the metadata store, the object store, NATS
// and the job queue, token verification — from one configuration, so each service's main stays thin.
package platform

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/grpc"

	authv1 "github.com/vdsproject/vds/gen/vds/auth/v1"
	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	lineagev1 "github.com/vdsproject/vds/gen/vds/lineage/v1"
	"github.com/vdsproject/vds/libs/authn"
	"github.com/vdsproject/vds/libs/blobstore"
	"github.com/vdsproject/vds/libs/grpcx"
	"github.com/vdsproject/vds/libs/jobs"
	"github.com/vdsproject/vds/libs/lineage"
	"github.com/vdsproject/vds/libs/storage"
	"github.com/vdsproject/vds/libs/storage/sqlstore"
)

// Config is the shared configuration of a service process.
type Config struct {
	Home        string // state directory; defaults for the URLs below live under it
	DatabaseURL string // sqlite:///… or postgres://…
	ObjectStore string // file:///… or s3://…
	NatsURL     string
	MeshKeyHex  string // shared secret of the mesh; read from Home/mesh.key when empty
	AuthAddr    string // address of the auth service (for public keys)
	Peers       map[string]string
	LogFormat   string
	LogLevel    string
}

// Flags binds the shared settings to fs (see the README's configuration table).
func (c *Config) Flags(fs *flag.FlagSet) {
	fs.StringVar(&c.Home, "home", c.Home, "state directory (SQLite database, objects, NATS data, keys)")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "metadata store: postgres://… or sqlite:///path (default: SQLite under --home)")
	fs.StringVar(&c.ObjectStore, "object-store", c.ObjectStore, "object store URL: file:///dir or s3://bucket (default: a folder under --home)")
	fs.StringVar(&c.NatsURL, "nats-url", c.NatsURL, "NATS server with JetStream")
	fs.StringVar(&c.MeshKeyHex, "mesh-key", c.MeshKeyHex, "hex secret shared by the services for calls made on a user's behalf (default: generated under --home)")
	fs.StringVar(&c.AuthAddr, "auth-addr", c.AuthAddr, "gRPC address of the auth service")
	fs.StringVar(&c.LogFormat, "log-format", "json", "log format: json or text")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
}

// Defaults fills empty URLs from Home.
func (c *Config) Defaults() {
	if c.DatabaseURL == "" {
		c.DatabaseURL = "sqlite://" + filepath.Join(c.Home, "vds.db")
	}
	if c.ObjectStore == "" {
		c.ObjectStore = blobstore.FileURL(filepath.Join(c.Home, "objects"))
	}
}

// Runtime is what a service needs at run time.
type Runtime struct {
	Name     string
	Log      *slog.Logger
	Store    storage.Storage
	Blobs    *blobstore.Store
	NC       *nats.Conn
	Queue    *jobs.Queue
	Verifier *authn.Verifier
	Auth     *grpcx.Authenticator
	MeshKey  []byte
	Peers    map[string]string
	Home     string
	conns    sync.Map
	closing  atomic.Bool // set by Close: a NATS disconnect then is ours, not a loss
}

// Open connects everything in cfg.
func Open(ctx context.Context, name string, cfg Config, log *slog.Logger, public map[string]bool) (*Runtime, error) {
	cfg.Defaults()
	rt := &Runtime{Name: name, Log: log, Peers: cfg.Peers, Home: cfg.Home}
	var err error
	if rt.MeshKey, err = MeshKey(cfg.Home, cfg.MeshKeyHex); err != nil {
		return nil, err
	}
	st, err := sqlstore.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("metadata store: %w", err)
	}
	rt.Store = st
	if rt.Blobs, err = blobstore.Open(ctx, cfg.ObjectStore); err != nil {
		rt.Close()
		return nil, err
	}
	if cfg.NatsURL == "" {
		rt.Close()
		return nil, errors.New("--nats-url is required (vds up starts an embedded NATS server)")
	}
	if rt.NC, err = nats.Connect(cfg.NatsURL, nats.Name("vds-"+name), nats.MaxReconnects(-1)); err != nil {
		rt.Close()
		return nil, fmt.Errorf("connect NATS at %s: %w", cfg.NatsURL, err)
	}
	if rt.Queue, err = jobs.New(ctx, rt.NC, st, log); err != nil {
		rt.Close()
		return nil, err
	}
	rt.Verifier = &authn.Verifier{MeshKey: rt.MeshKey}
	if cfg.AuthAddr != "" {
		conn, err := grpcx.Dial(cfg.AuthAddr)
		if err != nil {
			rt.Close()
			return nil, err
		}
		rt.conns.Store("auth:"+cfg.AuthAddr, conn)
		rt.Verifier.Keys = &RemoteKeys{Client: authv1.NewAuthServiceClient(conn)}
	}
	rt.Auth = &grpcx.Authenticator{Verifier: rt.Verifier, Store: st, Public: public}
	// Revoked sessions are refused within seconds on every service (NATS event, store poll); the
	// watcher stops with ctx, the serving context.
	if err := grpcx.WatchRevocations(ctx, rt.NC, st, rt.Verifier, log); err != nil {
		rt.Close()
		return nil, err
	}
	return rt, nil
}

// NewServer makes this service's gRPC server with the shared Job and Lineage services registered.
func (rt *Runtime) NewServer() *grpcx.Server {
	s := grpcx.NewServer(grpcx.ServerOptions{Name: rt.Name, Log: rt.Log, Auth: rt.Auth})
	jobsv1.RegisterJobServiceServer(s, &jobs.Service{Q: rt.Queue, Store: rt.Store, Stopping: s.Stopping()})
	lineagev1.RegisterLineageServiceServer(s, &lineage.Service{Store: rt.Store})
	return s
}

// Peer returns a (shared) client connection to a peer service by name.
func (rt *Runtime) Peer(name string) (*grpc.ClientConn, error) {
	addr := rt.Peers[name]
	if addr == "" {
		return nil, fmt.Errorf("address of the %s service is not configured (--%s-addr)", name, name)
	}
	if c, ok := rt.conns.Load(name + ":" + addr); ok {
		return c.(*grpc.ClientConn), nil
	}
	c, err := grpcx.Dial(addr)
	if err != nil {
		return nil, err
	}
	actual, loaded := rt.conns.LoadOrStore(name+":"+addr, c)
	if loaded {
		c.Close()
	}
	return actual.(*grpc.ClientConn), nil
}

// natsDrainWait bounds how long Close waits for the NATS connection to drain before closing it.
const natsDrainWait = time.Second

// Close releases everything. The NATS connection is drained (its subscriptions end first, then
// what is pending is flushed) and closed within natsDrainWait, so shutdown does not wait on it.
func (rt *Runtime) Close() {
	rt.conns.Range(func(_, v any) bool { v.(*grpc.ClientConn).Close(); return true })
	if rt.NC != nil {
		rt.closing.Store(true)
		closed := make(chan struct{})
		rt.NC.SetClosedHandler(func(*nats.Conn) { close(closed) })
		if err := rt.NC.Drain(); err != nil {
			rt.NC.Close()
		} else {
			select {
			case <-closed:
			case <-time.After(natsDrainWait):
				rt.NC.Close()
			}
		}
	}
	if rt.Blobs != nil {
		rt.Blobs.Close()
	}
	if rt.Store != nil {
		rt.Store.Close()
	}
}

// MeshKey decodes hexKey or reads (creating on first use) home/mesh.key.
func MeshKey(home, hexKey string) ([]byte, error) {
	if hexKey != "" {
		k, err := hex.DecodeString(strings.TrimSpace(hexKey))
		if err != nil || len(k) < 32 {
			return nil, errors.New("--mesh-key must be at least 32 bytes in hex")
		}
		return k, nil
	}
	if home == "" {
		return nil, errors.New("--mesh-key or --home is required")
	}
	return secretFile(filepath.Join(home, "mesh.key"), 32)
}

// secretFile reads a hex secret of n bytes from path, creating it (mode 0600) if missing.
func secretFile(path string, n int) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil {
		k, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(k) < n {
			return nil, fmt.Errorf("%s is corrupt: delete it to make a new one", path)
		}
		return k, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	k := make([]byte, n)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	// Write a temporary file, then link it into place: the key file appears complete or not at all,
	// so a service starting at the same moment never reads a half-written one.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".key-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(hex.EncodeToString(k) + "\n"); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, os.ErrExist) { // another process made it first
		return secretFile(path, n)
	} else if err != nil {
		return nil, err
	}
	return k, nil
}

// RemoteKeys fetches the auth service's public keys and caches them; an unknown key ID triggers a
// refetch at most every few seconds.
type RemoteKeys struct {
	Client authv1.AuthServiceClient
	mu     sync.Mutex
	keys   map[string]ed25519.PublicKey
	last   time.Time
}

// PublicKey implements authn.KeySource.
func (r *RemoteKeys) PublicKey(ctx context.Context, id string) (ed25519.PublicKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if k, ok := r.keys[id]; ok {
		return k, nil
	}
	if time.Since(r.last) < 2*time.Second {
		return nil, authn.ErrInvalidToken
	}
	r.last = time.Now()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	resp, err := r.Client.GetPublicKeys(cctx, &authv1.GetPublicKeysRequest{})
	if err != nil {
		return nil, fmt.Errorf("fetch public keys: %w", err)
	}
	r.keys = map[string]ed25519.PublicKey{}
	for _, k := range resp.Keys {
		r.keys[k.KeyId] = ed25519.PublicKey(k.PublicKey)
	}
	if k, ok := r.keys[id]; ok {
		return k, nil
	}
	return nil, authn.ErrInvalidToken
}
