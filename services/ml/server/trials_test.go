package server_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	authv1 "github.com/vdsproject/vds/gen/vds/auth/v1"
	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	"github.com/vdsproject/vds/libs/jobs"
	"github.com/vdsproject/vds/services/ml/server"
)

// TestDistributedTrials runs one search over JetStream: the mesh's ML service only coordinates
// (--trial-workers=0); a worker replica "victim" takes trials and is killed (its context cancelled,
// nothing acked) as it starts its second one; a replica "b" that may run 3 trials at once joins then.
// The killed trial alone is redone (by b, on the message's second delivery), every planned trial is
// recorded exactly once, both workers recorded trials, and the training succeeds with all the plan's
// trials on its leaderboard. Then two trainings of the same user run at once on b alone: across
// both, at most (and, as b's trials are slowed so that they overlap, exactly)
// --max-trials-per-user=2 trials ran at once, though b could run 3. In between, the first
// training's job is delivered again with two trial records deleted, as to a restarted coordinator:
// it keeps the search's start and redoes only those two.
func TestDistributedTrials(t *testing.T) {
	tc := newTrialCluster(t, map[string]string{"VDS_WORKER_NAME": "coordinator"})
	ctx, ns, log, p, c := tc.ctx, tc.ns, tc.log, tc.p, tc.c
	// -train-workers=0: the replicas take trials only, so the mesh's ML service is the coordinator
	worker := func(name, workers string) context.CancelFunc {
		return tc.replica(name, "-train-workers=0", "-trial-workers="+workers)
	}
	var mu sync.Mutex
	started := map[string]int{}
	killed, killedIdx := make(chan struct{}), -1
	var killVictim context.CancelFunc
	server.SetTrialStartHook(func(w, _ string, idx, attempt int) {
		if w == "b" {
			// b's trials last at least 400 ms, so that the ones dispatched together overlap
			time.Sleep(400 * time.Millisecond)
		}
		mu.Lock()
		defer mu.Unlock()
		started[w]++
		if w == "victim" && started[w] == 2 && killedIdx < 0 {
			killedIdx = idx
			killVictim()
			close(killed)
		}
	})
	t.Cleanup(func() { server.SetTrialStartHook(nil) })
	mu.Lock()
	killVictim = worker("victim", "1")
	mu.Unlock()
	stopB := context.CancelFunc(func() {})
	t.Cleanup(func() { stopB(); killVictim(); tc.wg.Wait() })

	ref := upload(t, c, p.Creds.ProjectID, "tabular/titanic.csv")
	st := startTitanic(t, c, ref, 5)
	select {
	case <-killed:
	case <-time.After(90 * time.Second):
		t.Fatal("the victim worker never started a second trial")
	}
	stopB = worker("b", "3")
	if _, err := c.WaitJob(ctx, st.JobId, nil); err != nil {
		t.Fatalf("training: %v", err)
	}
	tr, err := c.ML.GetTraining(ctx, &mlv1.GetTrainingRequest{TrainingId: st.TrainingId})
	if err != nil {
		t.Fatal(err)
	}

	store := tc.openStore()
	search := trialSearch(t, store, st.TrainingId)
	all, err := trialRecords(ctx, store, st.TrainingId)
	if err != nil {
		t.Fatal(err)
	}
	var recs []*mlv1.TrialRecord
	byWorker, seen := map[string]int{}, map[int32]bool{}
	for _, rec := range all {
		if seen[rec.Index] {
			t.Errorf("trial %d recorded twice", rec.Index)
		}
		seen[rec.Index] = true
		if rec.Skipped != "" {
			t.Errorf("trial %d skipped: %s", rec.Index, rec.Skipped)
		}
		byWorker[rec.Worker]++
		recs = append(recs, rec)
		t.Logf("trial %d %s %s by %s (delivery %d) %s → %s: %s %.4f", rec.Index, rec.Algorithm, rec.Config, rec.Worker, rec.Attempt,
			rec.StartTime.AsTime().Format("15:04:05.000"), rec.FinishTime.AsTime().Format("15:04:05.000"), rec.Metric, rec.CvScore)
		if int(rec.Index) == killedIdx && (rec.Worker != "b" || rec.Attempt != 2) {
			t.Errorf("the killed trial %d was recorded by %s on delivery %d, want b on delivery 2", rec.Index, rec.Worker, rec.Attempt)
		}
	}
	mu.Lock()
	victimStarted := started["victim"]
	mu.Unlock()
	t.Logf("plan of %d trials; records by worker %v; victim started %d and was killed in trial %d; training %v with %d leaderboard entries",
		search.Trials, byWorker, victimStarted, killedIdx, tr.Training.State, len(tr.Training.Leaderboard))
	if search.Trials < 8 || len(recs) != int(search.Trials) || len(tr.Training.Leaderboard) != int(search.Trials) || int(tr.Training.Spend.GetTrials()) != int(search.Trials) {
		t.Errorf("plan %d trials, %d recorded, %d on the leaderboard, spend says %d", search.Trials, len(recs), len(tr.Training.Leaderboard), tr.Training.Spend.GetTrials())
	}
	if byWorker["victim"] != victimStarted-1 || byWorker["victim"] < 1 || byWorker["b"] < 1 || byWorker["victim"]+byWorker["b"] != len(recs) {
		t.Errorf("records by worker %v, victim started %d: only the killed trial may be lost", byWorker, victimStarted)
	}
	if tr.Training.State != mlv1.TrainingState_TRAINING_STATE_SUCCEEDED || tr.Training.BestModelId == "" {
		t.Fatalf("training %v: %s", tr.Training.State, tr.Training.Error)
	}
	// A restarted coordinator: the same training's job delivered again (as after its worker died),
	// with two finished trials' records gone. It keeps the search's start and the other six trials and
	// redoes exactly the two missing ones.
	lost := []int32{recs[0].Index, recs[len(recs)-1].Index}
	for _, idx := range lost {
		if err := store.DeleteResource(ctx, server.KindTrial, fmt.Sprintf("%s.t%03d", st.TrainingId, idx)); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	bBefore := started["b"]
	mu.Unlock()
	who, err := c.Auth.WhoAmI(ctx, &authv1.WhoAmIRequest{})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	q, err := jobs.New(ctx, nc, store, log)
	if err != nil {
		t.Fatal(err)
	}
	again, err := q.Submit(ctx, &jobsv1.Job{ProjectId: p.Creds.ProjectID, Kind: server.JobTrain, ResultId: st.TrainingId},
		&jobsv1.TrainTask{TrainingId: st.TrainingId, UserId: who.User.Id, ProjectId: p.Creds.ProjectID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitJob(ctx, again.Id, nil); err != nil {
		t.Fatalf("restarted coordinator: %v", err)
	}
	mu.Lock()
	redone := started["b"] - bBefore
	mu.Unlock()
	rs2, err := trialRecords(ctx, store, st.TrainingId)
	if err != nil {
		t.Fatal(err)
	}
	search2 := trialSearch(t, store, st.TrainingId)
	tr2, err := c.ML.GetTraining(ctx, &mlv1.GetTrainingRequest{TrainingId: st.TrainingId})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("restarted coordinator redid %d trials (lost %v); %d records; %d on the leaderboard", redone, lost, len(rs2), len(tr2.Training.Leaderboard))
	if redone != len(lost) || len(rs2) != int(search.Trials) || len(tr2.Training.Leaderboard) != int(search.Trials) || !search2.StartTime.AsTime().Equal(search.StartTime.AsTime()) {
		t.Errorf("restarted coordinator: redid %d trials (want %d), %d records, %d on the leaderboard (want %d), start %v (was %v)",
			redone, len(lost), len(rs2), len(tr2.Training.Leaderboard), search.Trials, search2.StartTime.AsTime(), search.StartTime.AsTime())
	}

	// Two more trainings of the same user at once, with b alone working: at most two of the user's
	// trials ran at once across both searches, though b could run three, and two did.
	var both []*mlv1.TrialRecord
	var ids []*mlv1.StartTrainingResponse
	for seed := int64(6); seed <= 7; seed++ {
		ids = append(ids, startTitanic(t, c, ref, seed))
	}
	for _, st2 := range ids {
		if _, err := c.WaitJob(ctx, st2.JobId, nil); err != nil {
			t.Fatalf("training: %v", err)
		}
		recs2, err := trialRecords(ctx, store, st2.TrainingId)
		if err != nil {
			t.Fatal(err)
		}
		both = append(both, recs2...)
	}
	if len(both) != 2*int(search.Trials) {
		t.Errorf("%d trials recorded for two trainings of %d", len(both), search.Trials)
	}
	type ev struct {
		at    time.Time
		delta int
	}
	var evs []ev
	for _, r := range both {
		evs = append(evs, ev{r.StartTime.AsTime(), 1}, ev{r.FinishTime.AsTime(), -1})
	}
	sort.Slice(evs, func(a, b int) bool {
		if evs[a].at.Equal(evs[b].at) {
			return evs[a].delta < evs[b].delta
		}
		return evs[a].at.Before(evs[b].at)
	})
	running, most := 0, 0
	for _, e := range evs {
		running += e.delta
		most = max(most, running)
	}
	t.Logf("most trials of the user running at once over two trainings: %d", most)
	if most != 2 {
		t.Errorf("%d trials of one user ran at once; --max-trials-per-user is 2 (and b alone could run 3)", most)
	}
	// The model answers.
	if _, err := c.ML.Predict(ctx, &mlv1.PredictRequest{ModelId: tr.Training.BestModelId, Rows: []*mlv1.Row{{Values: map[string]string{"sex": "female", "pclass": "1"}}}}); err != nil {
		t.Errorf("predict with the distributed search's model: %v", err)
	}
}
