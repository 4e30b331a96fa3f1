package server_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	"github.com/vdsproject/vds/libs/storage"
	"github.com/vdsproject/vds/libs/storage/sqlstore"
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
	tc := newTrialCluster(t, map[string]string{"VDS_DISTRIBUTED_TRIALS": "true", "VDS_TRAIN_WORKERS": "0", "VDS_TRIAL_WORKERS": "0",
		"VDS_TRIAL_ACK_WAIT": "4s", "VDS_MAX_TRIALS_PER_USER": "2", "VDS_MAX_TRIALS": "4"})
	ctx, home, p, c, replica := tc.ctx, tc.home, tc.p, tc.c, tc.replica
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
	t.Cleanup(func() { stopC2(); stopW(); stopC1(); tc.wg.Wait() })

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
