package server_test

import (
	"context"
	"sync"
	"testing"
	"time"

	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	"github.com/vdsproject/vds/services/ml/server"
)

// TestCoordinatorKilled stops the coordinator of a distributed search mid-search: the mesh's ML
// service takes no training jobs (--train-workers=0), replica c1 coordinates, a trial worker w runs
// the trials, and c1 is stopped as w starts its fourth trial. The training job goes back to the queue
// and replica c2 takes it (delivery 2): it keeps the trials finished before the stop (none of them
// runs again), redoes at most the two that were in flight, and the training succeeds with every
// planned trial.
func TestCoordinatorKilled(t *testing.T) {
	tc := newTrialCluster(t, map[string]string{"VDS_TRAIN_WORKERS": "0"})
	ctx, p, c, replica := tc.ctx, tc.p, tc.c, tc.replica
	store := tc.openStore()

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
			recs, err := trialRecords(context.Background(), store, trainingID)
			if err != nil {
				t.Error(err)
			}
			doneAtStop = map[int]bool{}
			for _, rec := range recs {
				doneAtStop[int(rec.Index)] = true
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
	st := startTitanic(t, c, ref, 8)
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
	search := trialSearch(t, store, st.TrainingId)
	rs, err := trialRecords(ctx, store, st.TrainingId)
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
