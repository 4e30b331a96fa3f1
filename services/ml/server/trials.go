package server

// Distributed trials. With --distributed-trials, a training's job (the coordinator) does not run its
// search's trials itself: it publishes each trial (its place in the plan, its configuration and the
// fold plan's checksum) as a message on the VDS_TRIALS work-queue stream, which any ML worker
// (replica with --trial-workers > 0) takes. The worker rebuilds the search from the training's stored
// request (the same data and options give the same target, features, folds and plan; the checksum
// proves it), runs the one trial, stores its result as a TrialRecord under the training in the
// metadata store, and only then acks. A worker that dies mid-trial never acks, so after
// --trial-ack-wait the message goes to another worker, which redoes that trial only. A restarted
// coordinator finds the finished trials in the store and the search's start in its TrialSearch
// record, so it neither redoes them nor resets the budget.
//
// Concurrency: every dispatched trial holds a slot of its user (--max-trials-per-user) and one of
// everyone's (--max-trials) in a shared JetStream key-value semaphore (libs/jobs Slots) until its
// result is in; the trial consumer's MaxAckPending is --max-trials too, and each replica runs at most
// --trial-workers trials at once.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	jobsv1 "github.com/vdsproject/vds/gen/vds/jobs/v1"
	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/jobs"
	"github.com/vdsproject/vds/libs/learn"
	"github.com/vdsproject/vds/libs/platform"
	"github.com/vdsproject/vds/libs/storage"
)

// Resource kinds of the distributed search.
const (
	KindTrial       = "trial"
	KindTrialSearch = "trial_search"
)

const (
	trialStream      = "VDS_TRIALS"
	trialSubject     = "vds.trials.run"
	trialDonePrefix  = "vds.trialdone."
	trialConsumer    = "trial-workers"
	trialSlotsBucket = "VDS_TRIAL_SLOTS"
	trialMaxDeliver  = 4
)

// TrialConfig configures distributed trials.
type TrialConfig struct {
	Distributed bool
	Workers     int
	MaxTotal    int
	MaxPerUser  int
	AckWait     time.Duration
	WorkerName  string
}

func defaultTrialConfig() TrialConfig {
	return TrialConfig{Workers: 1, MaxTotal: 8, MaxPerUser: 4, AckWait: 30 * time.Second}
}

func (c *TrialConfig) flags(fs *flag.FlagSet) {
	fs.BoolVar(&c.Distributed, "distributed-trials", c.Distributed, "run each trial of a training as a JetStream message that any ML worker may take (default: a training's trials run inside its own job)")
	fs.IntVar(&c.Workers, "trial-workers", c.Workers, "trials this replica runs at once from the shared trial queue, with --distributed-trials (0: it only coordinates)")
	fs.IntVar(&c.MaxTotal, "max-trials", c.MaxTotal, "trials in flight at once across all ML workers and users, with --distributed-trials")
	fs.IntVar(&c.MaxPerUser, "max-trials-per-user", c.MaxPerUser, "trials of one user in flight at once across all trainings and workers, with --distributed-trials")
	fs.DurationVar(&c.AckWait, "trial-ack-wait", c.AckWait, "how long a trial stays claimed without a heartbeat; a crashed worker's trial is redone after it")
	fs.StringVar(&c.WorkerName, "worker-name", c.WorkerName, "this ML worker's name in trial records (default: host name and process ID)")
}

type trialState struct {
	cfg    TrialConfig
	js     jetstream.JetStream
	slots  *jobs.Slots
	worker string

	mu       sync.Mutex
	searches map[string]*preparedSearch
	order    []string
}

type preparedSearch struct {
	once sync.Once
	s    *learn.Search
	err  error
}

// trialStartHook, when set (tests), is called as a worker starts a trial, with the worker's context
// still live.
var trialStartHook func(worker, trainingID string, index, attempt int)

// startTrials opens the trial stream and the slots when distributed trials are on.
func (s *Server) startTrials(ctx context.Context) error {
	c := s.cfg.Trials
	if !c.Distributed {
		return nil
	}
	if c.MaxTotal < 1 || c.MaxPerUser < 1 || c.Workers < 0 || c.AckWait < time.Second {
		return fmt.Errorf("--max-trials and --max-trials-per-user must be at least 1, --trial-workers at least 0 and --trial-ack-wait at least 1s")
	}
	js, err := jetstream.New(s.rt.NC)
	if err != nil {
		return err
	}
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: trialStream, Subjects: []string{trialSubject},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, MaxMsgSize: 1 << 16, Duplicates: 2 * time.Minute}); err != nil {
		return fmt.Errorf("trial stream: %w", err)
	}
	slots, err := jobs.NewSlots(ctx, s.rt.NC, trialSlotsBucket, c.AckWait)
	if err != nil {
		return err
	}
	name := c.WorkerName
	if name == "" {
		host, _ := os.Hostname()
		name = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	s.trials = &trialState{cfg: c, js: js, slots: slots, worker: name, searches: map[string]*preparedSearch{}}
	return nil
}

// run is the service's background work: training jobs, batch predictions and, with distributed
// trials, this replica's share of the trial queue.
func (s *Server) run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	if s.cfg.Workers > 0 { // 0: a dedicated trial worker, which takes no training or batch-prediction jobs
		g.Go(func() error { return s.rt.Queue.Work(gctx, JobTrain, s.cfg.Workers, s.train) })
		g.Go(func() error { return s.rt.Queue.Work(gctx, JobBatchPredict, s.cfg.Workers, s.batchPredict) })
	}
	if s.trials != nil && s.trials.cfg.Workers > 0 {
		g.Go(func() error { return s.workTrials(gctx) })
	}
	return g.Wait()
}

// trainOptions are the learner options of a training request (the coordinator and every trial
// worker build them the same way).
func (s *Server) trainOptions(uctx context.Context, req *mlv1.StartTrainingRequest) (learn.Options, string) {
	// A boolean target keeps the file's spelling of its classes (yes/no rather than true/false).
	var labels map[string]string
	if _, ver, err := s.rt.DatasetVersion(uctx, req.Dataset); err == nil {
		if t, f, ok := platform.BooleanLabels(ver, req.Target); ok {
			labels = map[string]string{"true": t, "false": f}
		}
	}
	budget := s.cfg.DefaultBudget
	budgetText := fmt.Sprintf("wall %gs", budget.Seconds())
	if req.BudgetSeconds > 0 {
		budget = time.Duration(req.BudgetSeconds * float64(time.Second))
		budgetText = fmt.Sprintf("wall %gs", req.BudgetSeconds)
	}
	var cpuBudget time.Duration
	if req.BudgetMoney > 0 && s.cfg.PricePerCPUSecond > 0 {
		cpuBudget = time.Duration(req.BudgetMoney / s.cfg.PricePerCPUSecond * float64(time.Second))
		budgetText = fmt.Sprintf("money %g (%.1f CPU-seconds at %g per CPU-second)", req.BudgetMoney, cpuBudget.Seconds(), s.cfg.PricePerCPUSecond)
		if req.BudgetSeconds <= 0 {
			budget = 0 // the CPU budget bounds the run
		}
	}
	return learn.Options{Target: req.Target, Task: learn.TaskFromProto(req.Task), Folds: int(req.CvFolds), Budget: budget, CPUBudget: cpuBudget, Seed: req.Seed,
		Exclude: req.ExcludeColumns, Algorithms: req.Algorithms, TargetLabels: labels,
		GroupColumn: req.CvGroupColumn, TimeColumn: req.CvTimeColumn, NoWarmStart: req.NoWarmStart}, budgetText
}

// search runs a training's AutoML: in this job, or with its trials dispatched to the trial queue.
// Money budgets stay in process (the CPU they measure is this process's).
func (s *Server) search(ctx context.Context, t *jobs.Task, task *jobsv1.TrainTask, f *frame.Frame, opts learn.Options) (*learn.Result, error) {
	if s.trials == nil || opts.CPUBudget > 0 {
		return learn.AutoML(ctx, f, opts)
	}
	budget := opts.Budget
	if budget <= 0 {
		budget = 30 * time.Second
	}
	opts.Distributed = &learn.Distributed{Run: func(ctx context.Context, p *learn.TrialPlan) ([]*learn.TrialOutcome, error) {
		return s.dispatch(ctx, t, task, p, budget)
	}}
	return learn.AutoML(ctx, f, opts)
}

func trialID(trainingID string, index int) string { return fmt.Sprintf("%s.t%03d", trainingID, index) }

// trialRecords reads the stored results of a training's trials by index.
func (s *Server) trialRecords(ctx context.Context, trainingID string) (map[int]*mlv1.TrialRecord, error) {
	rs, err := s.rt.Store.ListResources(ctx, storage.ListQuery{Kind: KindTrial, ParentID: trainingID, Limit: 10000})
	if err != nil {
		return nil, err
	}
	out := map[int]*mlv1.TrialRecord{}
	for _, r := range rs {
		rec := &mlv1.TrialRecord{}
		if proto.Unmarshal(r.Data, rec) == nil && rec.TrainingId == trainingID {
			out[int(rec.Index)] = rec
		}
	}
	return out, nil
}

// searchStart records (or, for a restarted coordinator, reads) when the search began.
func (s *Server) searchStart(ctx context.Context, task *jobsv1.TrainTask, p *learn.TrialPlan) (time.Time, error) {
	rec := &mlv1.TrialSearch{TrainingId: task.TrainingId, StartTime: timestamppb.Now(), Trials: int32(len(p.Trials)), FoldChecksum: p.FoldChecksum}
	b, _ := proto.Marshal(rec)
	err := s.rt.Store.CreateResource(ctx, storage.Resource{Kind: KindTrialSearch, ID: task.TrainingId, ProjectID: task.ProjectId, ParentID: task.TrainingId, State: "running", Data: b})
	if err == nil {
		return rec.StartTime.AsTime(), nil
	}
	if !errors.Is(err, storage.ErrAlreadyExists) {
		return time.Time{}, err
	}
	r, err := s.rt.Store.GetResource(ctx, KindTrialSearch, task.TrainingId)
	if err != nil {
		return time.Time{}, err
	}
	old := &mlv1.TrialSearch{}
	if err := proto.Unmarshal(r.Data, old); err != nil {
		return time.Time{}, err
	}
	if old.FoldChecksum != p.FoldChecksum || int(old.Trials) != len(p.Trials) {
		return time.Time{}, jobs.Permanent(fmt.Errorf("the search of training %s was started with another plan (%d trials, folds %s; now %d, %s): the code or the data changed meanwhile; start a new training",
			task.TrainingId, old.Trials, old.FoldChecksum, len(p.Trials), p.FoldChecksum))
	}
	return old.StartTime.AsTime(), nil
}

// acquire takes a slot of the user and one of everyone's, or returns nil when either is full.
func (s *Server) acquire(ctx context.Context, userID string) ([]*jobs.Lease, error) {
	st := s.trials
	ul, err := st.slots.TryAcquire(ctx, "user-"+userID, st.cfg.MaxPerUser, st.worker)
	if err != nil || ul == nil {
		return nil, err
	}
	gl, err := st.slots.TryAcquire(ctx, "all", st.cfg.MaxTotal, st.worker)
	if err != nil || gl == nil {
		_ = ul.Release(context.WithoutCancel(ctx))
		return nil, err
	}
	return []*jobs.Lease{ul, gl}, nil
}

// dispatch is the coordinator: it publishes the plan's unfinished trials while their user's and
// everyone's slots allow and the budget lasts, and collects their results from the store.
func (s *Server) dispatch(ctx context.Context, t *jobs.Task, task *jobsv1.TrainTask, p *learn.TrialPlan, budget time.Duration) ([]*learn.TrialOutcome, error) {
	st := s.trials
	start, err := s.searchStart(ctx, task, p)
	if err != nil {
		return nil, err
	}
	searchEnd, hardEnd := start.Add(budget*7/10), start.Add(budget*85/100)
	giveUp := start.Add(2*budget + time.Minute)
	done, err := s.trialRecords(ctx, task.TrainingId)
	if err != nil {
		return nil, err
	}
	wake := make(chan *nats.Msg, 64)
	sub, err := s.rt.NC.ChanSubscribe(trialDonePrefix+task.TrainingId, wake)
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	var pending []int
	for i := range p.Trials {
		if done[i] == nil {
			pending = append(pending, i)
		}
	}
	inflight := map[int][]*jobs.Lease{}
	release := func(idx int) {
		for _, l := range inflight[idx] {
			_ = l.Release(context.WithoutCancel(ctx))
		}
		delete(inflight, idx)
	}
	defer func() {
		for idx := range inflight {
			release(idx)
		}
	}()
	lastRefresh := time.Now()
	for {
		if done, err = s.trialRecords(ctx, task.TrainingId); err != nil {
			return nil, err
		}
		scored := 0
		for _, r := range done {
			if r.Skipped == "" {
				scored++
			}
		}
		for idx := range inflight {
			if done[idx] != nil {
				release(idx)
			}
		}
		now := time.Now()
		if now.After(searchEnd) && scored > 0 {
			pending = nil // the budget is spent: start nothing more
		}
		if len(pending) == 0 && len(inflight) == 0 {
			break
		}
		if scored > 0 && now.After(hardEnd.Add(st.cfg.AckWait)) {
			break // stragglers past the budget (their workers cut them at the deadline)
		}
		if now.After(giveUp) {
			return nil, jobs.Permanent(fmt.Errorf("no trial of training %s finished in %v: is an ML replica running with --trial-workers above 0?", task.TrainingId, now.Sub(start).Round(time.Second)))
		}
		// As the single-process search does, skip a trial that would not end before the search's end
		// judging by the longest finished trial of its learner (half as long again for boosting).
		longest := map[string]float64{}
		for _, r := range done {
			longest[r.Algorithm] = max(longest[r.Algorithm], r.FitSeconds)
		}
		for scored > 0 && len(pending) > 0 {
			tp := p.Trials[pending[0]]
			est := longest[tp.Algorithm]
			if tp.Algorithm == learn.AlgoGBDT {
				est *= 1.5
			}
			if !now.Add(time.Duration(est * float64(time.Second))).After(searchEnd) {
				break
			}
			pending = pending[1:]
		}
		for len(pending) > 0 {
			leases, err := s.acquire(ctx, task.UserId)
			if err != nil {
				return nil, err
			}
			if leases == nil {
				break
			}
			idx := pending[0]
			inflight[idx] = leases
			if err := s.publishTrial(ctx, t, task, p, idx, hardEnd); err != nil {
				return nil, err
			}
			pending = pending[1:]
		}
		if time.Since(lastRefresh) > st.slots.TTL()/3 {
			for _, ls := range inflight {
				for _, l := range ls {
					_ = l.Refresh(ctx) // a lost slot only loosens the bound until the trial ends
				}
			}
			lastRefresh = time.Now()
		}
		frac := float64(len(done)) / float64(len(p.Trials))
		if tf := time.Since(start).Seconds() / (budget.Seconds() * 0.85); tf > frac {
			frac = tf
		}
		if err := t.Progress(ctx, 0.05+0.8*min(frac, 1), "training", fmt.Sprintf("%d of %d trials done, %d running", len(done), len(p.Trials), len(inflight))); err != nil {
			return nil, err
		}
		select {
		case <-wake:
			for len(wake) > 0 { // one look at the store serves every notice that came meanwhile
				<-wake
			}
		case <-time.After(time.Second):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var outs []*learn.TrialOutcome
	for _, r := range done {
		if r.Skipped != "" {
			continue
		}
		outs = append(outs, &learn.TrialOutcome{Index: int(r.Index), Rounds: int(r.Rounds), OOF: r.Oof, Entry: learn.Entry{
			Algorithm: r.Algorithm, Config: r.Config, Metric: r.Metric, CVScore: r.CvScore, CVStd: r.CvStd,
			FoldScores: r.FoldScores, FitSeconds: r.FitSeconds, Metrics: r.Metrics}})
	}
	sort.Slice(outs, func(a, b int) bool { return outs[a].Index < outs[b].Index })
	return outs, nil
}

func (s *Server) publishTrial(ctx context.Context, t *jobs.Task, task *jobsv1.TrainTask, p *learn.TrialPlan, idx int, deadline time.Time) error {
	tt := &mlv1.TrialTask{TrainingId: task.TrainingId, UserId: task.UserId, ProjectId: task.ProjectId, Index: int32(idx),
		Algorithm: p.Trials[idx].Algorithm, Config: p.Trials[idx].Config, Folds: int32(p.Folds), FoldChecksum: p.FoldChecksum, JobId: t.Job.GetId()}
	if idx > 0 {
		// the first (cheapest) trial has no deadline, so that every search ends with a model
		tt.Deadline = timestamppb.New(deadline)
	}
	b, err := proto.Marshal(tt)
	if err != nil {
		return err
	}
	msg := nats.NewMsg(trialSubject)
	msg.Data = b
	// De-duplicates a retried publish of this coordinator run. A restarted coordinator (another job
	// delivery) publishes its unfinished trials anew: one still running elsewhere may then run twice,
	// and the second result is dropped, but none is lost.
	msg.Header.Set(nats.MsgIdHdr, fmt.Sprintf("%s.%s.%d", trialID(task.TrainingId, idx), t.Job.GetId(), t.Attempt))
	_, err = s.trials.js.PublishMsg(ctx, msg)
	return err
}

// workTrials takes trials from the shared queue, at most --trial-workers at once in this replica.
func (s *Server) workTrials(ctx context.Context) error {
	st := s.trials
	cons, err := st.js.CreateOrUpdateConsumer(ctx, trialStream, jetstream.ConsumerConfig{
		Durable: trialConsumer, FilterSubject: trialSubject, AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: st.cfg.AckWait, MaxAckPending: st.cfg.MaxTotal, MaxDeliver: trialMaxDeliver,
	})
	if err != nil {
		return fmt.Errorf("trial consumer: %w", err)
	}
	sem := make(chan struct{}, st.cfg.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case sem <- struct{}{}:
		}
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			<-sem
			if ctx.Err() != nil {
				return nil
			}
			s.rt.Log.WarnContext(ctx, "fetch trials", "err", err)
			time.Sleep(500 * time.Millisecond)
			continue
		}
		got := false
		for msg := range batch.Messages() {
			got = true
			wg.Add(1)
			go func(msg jetstream.Msg) {
				defer wg.Done()
				defer func() { <-sem }()
				s.handleTrial(ctx, msg)
			}(msg)
		}
		if !got {
			<-sem
		}
	}
}

// prepared returns the search of a training as this worker rebuilds it (cached for its next trials).
func (s *Server) prepared(ctx context.Context, task *mlv1.TrialTask, req *mlv1.StartTrainingRequest) (*learn.Search, error) {
	st := s.trials
	st.mu.Lock()
	ps := st.searches[task.TrainingId]
	if ps == nil {
		ps = &preparedSearch{}
		st.searches[task.TrainingId] = ps
		st.order = append(st.order, task.TrainingId)
		if len(st.order) > 4 {
			delete(st.searches, st.order[0])
			st.order = st.order[1:]
		}
	}
	st.mu.Unlock()
	ps.once.Do(func() {
		uctx, err := s.rt.ActAs(ctx, task.UserId, task.ProjectId)
		if err != nil {
			ps.err = err
			return
		}
		f, err := s.rt.ReadFrame(uctx, req.Dataset.DatasetId, req.Dataset.Version, nil)
		if err != nil {
			ps.err = err
			return
		}
		opts, _ := s.trainOptions(uctx, req)
		ps.s, ps.err = learn.Prepare(ctx, f, opts)
	})
	if ps.err != nil {
		st.mu.Lock()
		if st.searches[task.TrainingId] == ps {
			delete(st.searches, task.TrainingId) // the next delivery tries again
		}
		st.mu.Unlock()
	}
	return ps.s, ps.err
}

// handleTrial runs one delivered trial. The result is stored before the ack; when the worker stops
// (its context ends) mid-trial it neither acks nor stores anything, so the trial is redelivered.
func (s *Server) handleTrial(ctx context.Context, msg jetstream.Msg) {
	st := s.trials
	attempt := 1
	if md, err := msg.Metadata(); err == nil {
		attempt = int(md.NumDelivered)
	}
	task := &mlv1.TrialTask{}
	if err := proto.Unmarshal(msg.Data(), task); err != nil {
		s.rt.Log.Warn("malformed trial message dropped", "err", err)
		_ = msg.Term()
		return
	}
	id := trialID(task.TrainingId, int(task.Index))
	log := s.rt.Log.With("trial", id, "attempt", attempt, "worker", st.worker)
	if _, err := s.rt.Store.GetResource(ctx, KindTrial, id); err == nil {
		_ = msg.Ack() // already done (a duplicate delivery)
		return
	}
	rec := &mlv1.TrialRecord{TrainingId: task.TrainingId, Index: task.Index, Algorithm: task.Algorithm, Config: task.Config,
		Worker: st.worker, Attempt: int32(attempt), StartTime: timestamppb.Now()}
	finish := func() {
		rec.FinishTime = timestamppb.Now()
		b, _ := proto.Marshal(rec)
		err := s.rt.Store.CreateResource(context.WithoutCancel(ctx), storage.Resource{Kind: KindTrial, ID: id, ProjectID: task.ProjectId, ParentID: task.TrainingId, State: map[bool]string{true: "skipped", false: "done"}[rec.Skipped != ""], Data: b})
		if err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
			log.Warn("trial result not stored; it will be redone", "err", err)
			_ = msg.NakWithDelay(time.Second)
			return
		}
		_ = s.rt.NC.Publish(trialDonePrefix+task.TrainingId, []byte(id))
		_ = msg.Ack()
	}
	skip := func(reason string) {
		rec.Skipped = reason
		finish()
	}
	retryOrSkip := func(err error) {
		if attempt >= trialMaxDeliver {
			skip(err.Error())
			return
		}
		log.Warn("trial attempt failed; will retry", "err", err)
		_ = msg.NakWithDelay(time.Duration(attempt) * time.Second)
	}
	if dl := task.Deadline; dl != nil && time.Now().After(dl.AsTime()) {
		skip("deadline")
		return
	}
	tr, req, err := s.loadTraining(ctx, task.TrainingId, 0)
	if err != nil {
		if status.Code(err) == codes.NotFound {
			_ = msg.Term()
			return
		}
		retryOrSkip(err)
		return
	}
	coordinator := task.JobId
	if coordinator == "" {
		coordinator = tr.JobId
	}
	if j, err := s.rt.Queue.Get(ctx, coordinator); err == nil && jobs.Terminal(j.State) {
		_ = msg.Ack() // the coordinating job ended (done, cancelled or failed): nobody waits for this trial
		return
	}
	hbCtx, stopHB := context.WithCancel(ctx)
	defer stopHB()
	go func() {
		tk := time.NewTicker(st.cfg.AckWait / 3)
		defer tk.Stop()
		for {
			select {
			case <-hbCtx.Done():
				return
			case <-tk.C:
				_ = msg.InProgress()
			}
		}
	}()
	search, err := s.prepared(ctx, task, req)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		retryOrSkip(fmt.Errorf("prepare the search: %w", err))
		return
	}
	p := search.Plan()
	if p.FoldChecksum != task.FoldChecksum || int(task.Index) >= len(p.Trials) || p.Trials[task.Index].Config != task.Config || p.Trials[task.Index].Algorithm != task.Algorithm {
		skip(fmt.Sprintf("this worker rebuilt another plan (folds %s, %d trials) than the coordinator's (%s, trial %d %s %s); is every ML replica the same version?",
			p.FoldChecksum, len(p.Trials), task.FoldChecksum, task.Index, task.Algorithm, task.Config))
		return
	}
	rec.StartTime = timestamppb.Now()
	if trialStartHook != nil {
		trialStartHook(st.worker, task.TrainingId, int(task.Index), attempt)
	}
	tctx, cancel := ctx, context.CancelFunc(func() {})
	if task.Deadline != nil {
		tctx, cancel = context.WithDeadline(ctx, task.Deadline.AsTime())
	}
	out, err := search.RunTrial(tctx, int(task.Index))
	cancel()
	if ctx.Err() != nil {
		// This worker is stopping: no ack, no result. The message comes back after the ack wait
		// and another worker redoes this trial (and only this one).
		log.Info("worker stopped mid-trial; the trial goes back to the queue")
		return
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			skip("deadline")
			return
		}
		retryOrSkip(err)
		return
	}
	e := out.Entry
	rec.Metric, rec.Config, rec.CvScore, rec.CvStd, rec.FoldScores, rec.FitSeconds, rec.Metrics = e.Metric, e.Config, e.CVScore, e.CVStd, e.FoldScores, e.FitSeconds, e.Metrics
	rec.Rounds, rec.Oof = int32(out.Rounds), out.OOF
	finish()
}
