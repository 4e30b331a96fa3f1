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

	"google.golang.org/protobuf/proto"

	"github.com/vdsproject/vds/gen/client"
	commonv1 "github.com/vdsproject/vds/gen/vds/common/v1"
	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	"github.com/vdsproject/vds/libs/natsembed"
	vdsplatform "github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/libs/storage"
	"github.com/vdsproject/vds/libs/storage/sqlstore"
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

// clusterEnv are the mesh ML service's settings in every distributed-trial test: distributed
// trials, none run by the mesh's own service, a 4 s trial ack wait, at most 2 trials of a user at
// once and 4 in all (replica gives its replicas the same).
var clusterEnv = map[string]string{"VDS_DISTRIBUTED_TRIALS": "true", "VDS_TRIAL_WORKERS": "0", "VDS_TRIAL_ACK_WAIT": "4s",
	"VDS_MAX_TRIALS_PER_USER": "2", "VDS_MAX_TRIALS": "4"}

// newTrialCluster starts the cluster with clusterEnv and then env (VDS_* settings of the mesh's ML
// service) set; under -short the test is skipped.
func newTrialCluster(t *testing.T, env map[string]string) *trialCluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the mesh and ML replicas")
	}
	tc := &trialCluster{t: t, ctx: context.Background(), log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	var err error
	if tc.ns, err = natsembed.Start(filepath.Join(t.TempDir(), "nats"), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.ns.Shutdown)
	for _, e := range []map[string]string{clusterEnv, env} {
		for k, v := range e {
			t.Setenv(k, v)
		}
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
// wait, at most 2 trials per user and 4 in all, as clusterEnv sets for the mesh), with args after
// those flags; cancel its context to stop it (as a crash: nothing is acked after).
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

// openStore opens the cluster's metadata store (the mesh's SQLite file), closed when the test ends.
func (tc *trialCluster) openStore() storage.Storage {
	tc.t.Helper()
	store, err := sqlstore.Open(tc.ctx, "sqlite://"+filepath.Join(tc.home, "vds.db"))
	if err != nil {
		tc.t.Fatal(err)
	}
	tc.t.Cleanup(func() { store.Close() })
	return store
}

// startTitanic starts a training of titanic's survived with the three quick algorithms the
// distributed-trial tests search (a plan of 8 trials or more), with seed.
func startTitanic(t *testing.T, c *client.Client, ref *commonv1.DatasetRef, seed int64) *mlv1.StartTrainingResponse {
	t.Helper()
	st, err := c.ML.StartTraining(context.Background(), &mlv1.StartTrainingRequest{Dataset: ref, Target: "survived", BudgetSeconds: 120, Seed: seed,
		ExcludeColumns: []string{"alive", "who", "adult_male"}, Algorithms: []string{"logistic_regression", "naive_bayes", "knn"}})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// trialSearch reads a training's search record.
func trialSearch(t *testing.T, store storage.Storage, trainingID string) *mlv1.TrialSearch {
	t.Helper()
	sr, err := store.GetResource(context.Background(), server.KindTrialSearch, trainingID)
	if err != nil {
		t.Fatalf("search record: %v", err)
	}
	search := &mlv1.TrialSearch{}
	if err := proto.Unmarshal(sr.Data, search); err != nil {
		t.Fatal(err)
	}
	return search
}

// trialRecords reads a training's trial records (error-returning: the tests' trial hooks call it
// outside the test's goroutine).
func trialRecords(ctx context.Context, store storage.Storage, trainingID string) ([]*mlv1.TrialRecord, error) {
	rs, err := store.ListResources(ctx, storage.ListQuery{Kind: server.KindTrial, ParentID: trainingID, Limit: 1000})
	if err != nil {
		return nil, err
	}
	recs := make([]*mlv1.TrialRecord, 0, len(rs))
	for _, r := range rs {
		rec := &mlv1.TrialRecord{}
		if err := proto.Unmarshal(r.Data, rec); err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	return recs, nil
}
