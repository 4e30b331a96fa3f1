package server_test

import (
	"context"
	"flag"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/vdsproject/vds/gen/client"
	"github.com/vdsproject/vds/libs/natsembed"
	vdsplatform "github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/services/mesh"
	"github.com/vdsproject/vds/services/ml/server"
)

// trialCluster is the setup the distributed-trial tests share: a mesh on its own embedded NATS
// server (so that extra ML replicas can join it), its mesh ML service configured by env (VDS_*),
// a client with the bootstrap key, and replica to start more ML services on the same home.
type trialCluster struct {
	t    *testing.T
	ctx  context.Context
	log  *slog.Logger
	ns   *natsembed.Server
	home string
	p    *mesh.Platform
	c    *client.Client
	// wg counts the replicas still serving; wait on it after cancelling them.
	wg sync.WaitGroup
}

func newTrialCluster(t *testing.T, env map[string]string) *trialCluster {
	t.Helper()
	tc := &trialCluster{t: t, ctx: context.Background(), log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	var err error
	if tc.ns, err = natsembed.Start(filepath.Join(t.TempDir(), "nats"), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.ns.Shutdown)
	for k, v := range env {
		t.Setenv(k, v)
	}
	tc.home = t.TempDir()
	tc.c, tc.p = upMesh(t, mesh.Options{Home: tc.home, NatsURL: tc.ns.URL(), Bootstrap: true, Log: tc.log})
	return tc
}

// upMesh starts the whole mesh with o and a client of it; both are stopped when the test ends.
func upMesh(t *testing.T, o mesh.Options) (*client.Client, *mesh.Platform) {
	t.Helper()
	ctx := context.Background()
	p, err := mesh.Up(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop() })
	c, err := client.Dial(ctx, p.GRPCAddr, client.WithAPIKey(p.Creds.APIKey))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, p
}

// replica starts one more ML service named name on the cluster (distributed trials, a 4 s trial ack
// wait, at most 2 trials per user and 4 in all, as the tests' env sets for the mesh), with args
// after those flags; cancel its context to stop it (as a crash: nothing is acked after).
func (tc *trialCluster) replica(name string, args ...string) context.CancelFunc {
	t := tc.t
	svc := server.Service()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	svc.Flags(fs)
	if err := fs.Parse(append([]string{"-distributed-trials", "-trial-ack-wait=4s", "-max-trials-per-user=2", "-max-trials=4", "-worker-name=" + name}, args...)); err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(tc.ctx)
	tc.wg.Add(1)
	go func() {
		defer tc.wg.Done()
		cfg := vdsplatform.Config{Home: tc.home, NatsURL: tc.ns.URL(), AuthAddr: tc.p.Services["auth"], Peers: tc.p.Services}
		if err := vdsplatform.Serve(rctx, svc, cfg, lis, tc.log); err != nil {
			t.Errorf("replica %s: %v", name, err)
		}
	}()
	return cancel
}
