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
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/vdsproject/vds/gen/client"
	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	"github.com/vdsproject/vds/libs/natsembed"
	vdsplatform "github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/libs/storage"
	"github.com/vdsproject/vds/libs/storage/sqlstore"
	"github.com/vdsproject/vds/services/mesh"
	"github.com/vdsproject/vds/services/ml/server"
)

// TestCoordinatorKilled stops the coordinator of a distributed search mid-search: the mesh's ML
// service takes no training jobs (--train-workers=0), replica c1 coordinates, a trial worker w runs
// the trials, and c1 is stopped as w starts its fourth trial. The training job goes back to the queue
// and replica c2 takes it (delivery 2): it keeps the trials finished before the stop (none of them
// runs again), redoes at most the two that were in flight, and the training succeeds with every
// planned trial.
func TestCoordinatorKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the mesh and three replicas")
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ns, err := natsembed.Start(filepath.Join(t.TempDir(), "nats"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	for k, v := range map[string]string{"VDS_DISTRIBUTED_TRIALS": "true", "VDS_TRAIN_WORKERS": "0", "VDS_TRIAL_WORKERS": "0",
		"VDS_TRIAL_ACK_WAIT": "4s", "VDS_MAX_TRIALS_PER_USER": "2", "VDS_MAX_TRIALS": "4"} {
		t.Setenv(k, v)
	}
	home := t.TempDir()
	p, err := mesh.Up(ctx, mesh.Options{Home: home, NatsURL: ns.URL(), Bootstrap: true, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop() })
	c, err := client.Dial(ctx, p.GRPCAddr, client.WithAPIKey(p.Creds.APIKey))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var wg sync.WaitGroup
	replica := func(name string, args ...string) context.CancelFunc {
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
		rctx, cancel := context.WithCancel(ctx)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := vdsplatform.Serve(rctx, svc, vdsplatform.Config{Home: home, NatsURL: ns.URL(), AuthAddr: p.Services["auth"], Peers: p.Services}, lis, log); err != nil {
				t.Errorf("replica %s: %v", name, err)
			}
		}()
		return cancel
	}
	store, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(home, "vds.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })

	var mu sync.Mutex
	starts := map[int]int{}
	n := 0
	var doneAtStop map[int]bool
	stopped := make(chan struct{})
	var stopC1 context.CancelFunc
	server.SetTrialStartHook(func(_, trainingID string, idx, _ int) {
		time.Sleep(300 * time.Millisecond) // trials that last, so that some are in flight at the stop
		mu.Lock()
		defer mu.Unlock()
		starts[idx]++
		n++
		if n == 4 {
			rs, err := store.ListResources(context.Background(), storage.ListQuery{Kind: server.KindTrial, ParentID: trainingID, Limit: 1000})
			if err != nil {
				t.Error(err)
			}
			doneAtStop = map[int]bool{}
			for _, r := range rs {
				rec := &mlv1.TrialRecord{}
				if proto.Unmarshal(r.Data, rec) == nil {
					doneAtStop[int(rec.Index)] = true
				}
			}
			stopC1()
			close(stopped)
		}
	})
	t.Cleanup(func() { server.SetTrialStartHook(nil) })
	mu.Lock()
	stopC1 = replica("c1", "-train-workers=1", "-trial-workers=0")
	mu.Unlock()
	stopW := replica("w", "-train-workers=0", "-trial-workers=2")
	stopC2 := context.CancelFunc(func() {})
	t.Cleanup(func() { stopC2(); stopW(); stopC1(); wg.Wait() })

	ref := upload(t, c, p.Creds.ProjectID, "tabular/titanic.csv")
	st, err := c.ML.StartTraining(ctx, &mlv1.StartTrainingRequest{Dataset: ref, Target: "survived", BudgetSeconds: 120, Seed: 8,
		ExcludeColumns: []string{"alive", "who", "adult_male"}, Algorithms: []string{"logistic_regression", "naive_bayes", "knn"}})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-stopped:
	case <-time.After(90 * time.Second):
		t.Fatal("the worker never started a fourth trial")
	}
	stopC2 = replica("c2", "-train-workers=1", "-trial-workers=0")
	job, err := c.WaitJob(ctx, st.JobId, nil)
	if err != nil {
		t.Fatalf("training: %v", err)
	}
	tr, err := c.ML.GetTraining(ctx, &mlv1.GetTrainingRequest{TrainingId: st.TrainingId})
	if err != nil {
		t.Fatal(err)
	}
	sr, err := store.GetResource(ctx, server.KindTrialSearch, st.TrainingId)
	if err != nil {
		t.Fatal(err)
	}
	search := &mlv1.TrialSearch{}
	if err := proto.Unmarshal(sr.Data, search); err != nil {
		t.Fatal(err)
	}
	rs, err := store.ListResources(ctx, storage.ListQuery{Kind: server.KindTrial, ParentID: st.TrainingId, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	twice := 0
	for idx, k := range starts {
		if k > 1 {
			twice++
			if doneAtStop[idx] {
				t.Errorf("trial %d, finished before the coordinator stopped, ran %d times", idx, k)
			}
		}
	}
	t.Logf("job attempts %d; %d trials finished at the stop %v; starts per trial %v; %d records; leaderboard %d of a plan of %d",
		job.Attempts, len(doneAtStop), doneAtStop, starts, len(rs), len(tr.Training.Leaderboard), search.Trials)
	if job.Attempts != 2 || len(doneAtStop) < 2 || twice > 2 || len(rs) != int(search.Trials) || len(tr.Training.Leaderboard) != int(search.Trials) ||
		tr.Training.State != mlv1.TrainingState_TRAINING_STATE_SUCCEEDED {
		t.Errorf("job attempts %d (want 2), %d finished before the stop (want ≥ 2), %d trials run twice (want ≤ 2), %d records and %d on the leaderboard for %d planned, state %v",
			job.Attempts, len(doneAtStop), twice, len(rs), len(tr.Training.Leaderboard), search.Trials, tr.Training.State)
	}
}
