package learn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"sort"
	"strings"
	"sync"
	"time"

	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	"github.com/vdsproject/vds/libs/frame"
)

// workers bounds the goroutines used for cross-validation (the target machines have 2 cores).
const workers = 2

// largeRows is the size above which the search uses 3 folds by default and plans two larger boosted
// trials right after the first linear one.
const largeRows = 20000

type trial struct {
	algo   string
	config string
	lin    *linearParams
	gb     *gbdtParams
	nb     *nbParams
	knn    *knnParams
	rf     *forestParams
	source string // the knowledge-base dataset a warm-start trial comes from
}

func (t trial) kind() prepKind {
	if t.gb == nil && t.rf == nil {
		return prepLinear
	}
	return prepTree
}

func forestTrial(p forestParams) trial {
	name := AlgoRandomForest
	if p.Extra {
		name = AlgoExtraTrees
	}
	return trial{algo: name, config: fmt.Sprintf("trees=%d max_depth=%d min_samples_leaf=%d max_features=%g", p.Trees, p.MaxDepth, p.MinLeaf, p.MaxFeatures), rf: &p}
}

func linearTrial(task Task, c float64) trial {
	name := AlgoLogistic
	if task == TaskRegression {
		name = AlgoRidge
	}
	return trial{algo: name, config: fmt.Sprintf("C=%g", c), lin: &linearParams{C: c, MaxIter: 300}}
}

// elasticNetTrial is a linear learner with an elastic-net penalty (l1 share l1).
func elasticNetTrial(c, l1 float64) trial {
	return trial{algo: AlgoElasticNet, config: fmt.Sprintf("C=%g l1_ratio=%g", c, l1), lin: &linearParams{C: c, MaxIter: 60, L1Ratio: l1}}
}

func gbdtTrial(p gbdtParams) trial {
	cfg := fmt.Sprintf("learning_rate=%g max_leaves=%d max_depth=%d min_samples_leaf=%d min_child_weight=%g l2=%g subsample=%g colsample=%g max_rounds=%d early_stop=%d",
		p.LearningRate, p.MaxLeaves, p.MaxDepth, p.MinSamplesLeaf, p.MinChildWeight, p.Lambda, p.Subsample, p.Colsample, p.MaxRounds, p.EarlyStop)
	return trial{algo: AlgoGBDT, config: cfg, gb: &p}
}

// plan lists the trials in order: cheap first, then larger, then random configurations.
func plan(task Task, seed int64, rows int, allow func(algo string) bool) []trial {
	var out []trial
	add := func(t trial) {
		if allow(t.algo) {
			out = append(out, t)
		}
	}
	add(linearTrial(task, 1))
	if rows > largeRows {
		// On large data, two boosted models with the capacity such data can use right after the
		// linear one: trees as large as the usual library defaults (31 leaves of any depth, like
		// HistGradientBoosting; 63 leaves up to depth 8), all rows in every round, and a learning
		// rate of 0.1 with early stopping, so that they stop after the hundred-odd rounds these need.
		// (Subsampled, shallower or faster-learning trees were quicker but up to 6% worse on the
		// 54k-row diamonds task, whose one-hot cut/color/clarity need deeper interactions.)
		add(gbdtTrial(gbdtParams{LearningRate: 0.1, MaxLeaves: 31, MaxDepth: 0, MinSamplesLeaf: 20, MinChildWeight: 1e-3, Lambda: 0, Subsample: 1, Colsample: 0.8, MaxRounds: 1000, EarlyStop: 20}))
		add(gbdtTrial(gbdtParams{LearningRate: 0.1, MaxLeaves: 63, MaxDepth: 8, MinSamplesLeaf: 20, MinChildWeight: 1e-3, Lambda: 0, Subsample: 1, Colsample: 1, MaxRounds: 1000, EarlyStop: 20}))
	}
	add(gbdtTrial(gbdtParams{LearningRate: 0.1, MaxLeaves: 15, MaxDepth: 4, MinSamplesLeaf: 20, MinChildWeight: 1e-3, Lambda: 1, Subsample: 0.8, Colsample: 0.8, MaxRounds: 500, EarlyStop: 30}))
	add(linearTrial(task, 0.1))
	forestTrees := 100
	if rows > 20000 {
		forestTrees = 40
	}
	add(forestTrial(forestParams{Trees: forestTrees, MinLeaf: 1}))
	add(gbdtTrial(gbdtParams{LearningRate: 0.05, MaxLeaves: 31, MaxDepth: 6, MinSamplesLeaf: 20, MinChildWeight: 1e-3, Lambda: 1, Subsample: 0.8, Colsample: 0.8, MaxRounds: 1000, EarlyStop: 50}))
	add(gbdtTrial(gbdtParams{LearningRate: 0.05, MaxLeaves: 7, MaxDepth: 3, MinSamplesLeaf: 30, MinChildWeight: 1e-3, Lambda: 5, Subsample: 0.8, Colsample: 0.6, MaxRounds: 1000, EarlyStop: 50}))
	add(linearTrial(task, 0.01))
	if task != TaskRegression {
		add(trial{algo: AlgoNaiveBayes, config: "var_smoothing=1e-09", nb: &nbParams{VarSmoothing: 1e-9}})
	}
	if rows <= 10000 {
		add(trial{algo: AlgoKNN, config: "k=15 weights=distance", knn: &knnParams{K: 15, Weighted: true}})
	}
	add(elasticNetTrial(0.1, 0.5))
	add(linearTrial(task, 10))
	add(elasticNetTrial(1, 0.5))
	add(forestTrial(forestParams{Trees: forestTrees, MinLeaf: 2, Extra: true, MaxFeatures: 0.5}))
	add(forestTrial(forestParams{Trees: forestTrees, MinLeaf: 3, MaxFeatures: 0.5}))
	if rows <= 10000 {
		add(trial{algo: AlgoKNN, config: "k=5 weights=uniform", knn: &knnParams{K: 5}})
		add(trial{algo: AlgoKNN, config: "k=31 weights=distance", knn: &knnParams{K: 31, Weighted: true}})
	}
	add(gbdtTrial(gbdtParams{LearningRate: 0.03, MaxLeaves: 63, MaxDepth: 8, MinSamplesLeaf: 40, MinChildWeight: 1e-3, Lambda: 5, Subsample: 0.7, Colsample: 0.6, MaxRounds: 1500, EarlyStop: 60}))
	rng := rand.New(rand.NewSource(seed + 7))
	lrs := []float64{0.03, 0.05, 0.1}
	leaves := []int{7, 15, 31, 63}
	depths := []int{3, 4, 6, 8, 0}
	minLeaf := []int{5, 10, 20, 50}
	lams := []float64{0, 1, 5, 10}
	subs := []float64{0.6, 0.8, 1}
	cols := []float64{0.5, 0.8, 1}
	for i := 0; i < 30; i++ {
		lr := lrs[rng.Intn(len(lrs))]
		add(gbdtTrial(gbdtParams{LearningRate: lr, MaxLeaves: leaves[rng.Intn(len(leaves))], MaxDepth: depths[rng.Intn(len(depths))],
			MinSamplesLeaf: minLeaf[rng.Intn(len(minLeaf))], MinChildWeight: 1e-3, Lambda: lams[rng.Intn(len(lams))],
			Subsample: subs[rng.Intn(len(subs))], Colsample: cols[rng.Intn(len(cols))], MaxRounds: int(60 / lr), EarlyStop: 40}))
	}
	return out
}

// foldPrep caches one fold's preprocessing and matrices per preprocessing kind.
type foldPrep struct {
	once        sync.Once
	pp          *mlv1.Preprocessing
	train, test *dense
}

type search struct {
	f        *frame.Frame
	t        *targetInfo
	features []string
	folds    [][]int // positions (into t.rows) of each test fold
	trainPos [][]int
	cache    [2][]*foldPrep
	seed     int64
}

func (s *search) sub(pos []int) (rows []int, y []float64, yc []int) {
	rows = make([]int, len(pos))
	y = make([]float64, len(pos))
	if s.t.yc != nil {
		yc = make([]int, len(pos))
	}
	for i, p := range pos {
		rows[i] = s.t.rows[p]
		y[i] = s.t.y[p]
		if yc != nil {
			yc[i] = s.t.yc[p]
		}
	}
	return
}

func (s *search) prep(kind prepKind, fold int) *foldPrep {
	fp := s.cache[kind][fold]
	fp.once.Do(func() {
		tr, _, _ := s.sub(s.trainPos[fold])
		te, _, _ := s.sub(s.folds[fold])
		fp.pp = fitPrep(s.f, s.features, tr, kind)
		fp.train = transform(fp.pp, s.f, tr)
		fp.test = transform(fp.pp, s.f, te)
	})
	return fp
}

func (s *search) newModel(tr trial, pp *mlv1.Preprocessing) *mlv1.ModelArtifact {
	return &mlv1.ModelArtifact{
		FormatVersion: formatVersion, Algorithm: tr.algo, Config: tr.config, Task: s.t.task.Proto(),
		Target: s.t.name, Classes: s.t.classes, PositiveClass: s.t.positive, Preprocessing: pp,
	}
}

// fit trains the trial on x. rounds > 0 fixes the number of boosting rounds.
func (s *search) fit(ctx context.Context, tr trial, pp *mlv1.Preprocessing, x *dense, y []float64, yc []int, rounds int, seed int64) (*Model, int, error) {
	pb := s.newModel(tr, pp)
	k := len(s.t.classes)
	switch {
	case tr.lin != nil:
		lm, err := fitLinear(ctx, s.t.task, x, y, yc, k, *tr.lin)
		if err != nil {
			return nil, 0, err
		}
		pb.Learner = &mlv1.ModelArtifact_Linear{Linear: lm}
		return &Model{pb: pb}, 0, nil
	case tr.nb != nil:
		nb, err := fitNaiveBayes(x, yc, k, *tr.nb)
		if err != nil {
			return nil, 0, err
		}
		pb.Learner = &mlv1.ModelArtifact_NaiveBayes{NaiveBayes: nb}
		return &Model{pb: pb}, 0, nil
	case tr.knn != nil:
		pb.Learner = &mlv1.ModelArtifact_Neighbors{Neighbors: fitKNN(x, y, *tr.knn)}
		return &Model{pb: pb}, 0, nil
	case tr.rf != nil:
		prm := *tr.rf
		if rounds > 0 && rounds < prm.Trees {
			prm.Trees = rounds // a refit grows as many trees as the cross-validation's forests got to
		}
		ens, err := forestFit(ctx, s.t.task, x, y, yc, k, prm, seed)
		if err != nil {
			return nil, 0, err
		}
		pb.Learner = &mlv1.ModelArtifact_Trees{Trees: ens}
		grown := len(ens.Trees) / int(ens.Outputs)
		if grown < tr.rf.Trees {
			pb.Config = fmt.Sprintf("%s grown=%d", tr.config, grown)
		}
		return &Model{pb: pb}, grown, nil
	}
	ens, best, err := gbdtFit(ctx, s.t.task, x, y, yc, k, *tr.gb, rounds, seed)
	if err != nil {
		return nil, 0, err
	}
	pb.Learner = &mlv1.ModelArtifact_Trees{Trees: ens}
	return &Model{pb: pb}, best, nil
}

// minGrown is the fewest trees a fold's forest grew.
func minGrown(outs []foldOut) int {
	g := math.MaxInt
	for _, o := range outs {
		g = min(g, o.rounds)
	}
	return g
}

func scoresOf(m *Model, x *dense) [][]float64 { return m.scores(context.Background(), x) }

func metricName(task Task) string {
	switch task {
	case TaskBinary:
		return "roc_auc"
	case TaskMulticlass:
		return "log_loss"
	}
	return "rmse"
}

// evaluate returns the primary metric and secondary metrics of predictions p against y/yc.
func evaluate(task Task, p Predictions, y []float64, yc []int) (float64, map[string]float64) {
	switch task {
	case TaskBinary:
		pred := make([]int, len(y))
		for i, v := range p.Value {
			if v >= 0.5 {
				pred[i] = 1
			}
		}
		return ROCAUC(y, p.Value), map[string]float64{"log_loss": BinaryLogLoss(y, p.Value), "accuracy": Accuracy(yc, pred)}
	case TaskMulticlass:
		pred := make([]int, len(yc))
		for i, pr := range p.Proba {
			for k := range pr {
				if pr[k] > pr[pred[i]] {
					pred[i] = k
				}
			}
		}
		return LogLoss(yc, p.Proba), map[string]float64{"accuracy": Accuracy(yc, pred)}
	}
	return RMSE(y, p.Value), map[string]float64{"mae": MAE(y, p.Value), "r2": R2(y, p.Value)}
}

type foldOut struct {
	model  *Model
	pred   Predictions // on the fold's test rows
	score  float64
	extra  map[string]float64
	rounds int
	err    error
}

// cv runs one trial over all folds with at most `workers` goroutines.
func (s *search) cv(ctx context.Context, tr trial) ([]foldOut, error) {
	k := len(s.folds)
	outs := make([]foldOut, k)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for fi := range next {
				// a forest past its deadline still grows one tree (forestFit), so that every fold has a model
				if err := ctx.Err(); err != nil && (tr.rf == nil || !errors.Is(err, context.DeadlineExceeded)) {
					outs[fi].err = err
					continue
				}
				fp := s.prep(tr.kind(), fi)
				_, y, yc := s.sub(s.trainPos[fi])
				m, rounds, err := s.fit(ctx, tr, fp.pp, fp.train, y, yc, 0, s.seed+int64(fi))
				if err != nil {
					outs[fi].err = err
					continue
				}
				_, ty, tyc := s.sub(s.folds[fi])
				p := m.predictScores(scoresOf(m, fp.test))
				sc, extra := evaluate(s.t.task, p, ty, tyc)
				outs[fi] = foldOut{model: m, pred: p, score: sc, extra: extra, rounds: rounds}
			}
		}()
	}
	for fi := 0; fi < k; fi++ {
		next <- fi
	}
	close(next)
	wg.Wait()
	for _, o := range outs {
		if o.err != nil {
			return nil, o.err
		}
	}
	return outs, nil
}

// makeFolds assigns positions 0..n-1 to k folds (stratified for classification).
func makeFolds(t *targetInfo, k int, seed int64) [][]int {
	rng := rand.New(rand.NewSource(seed))
	n := len(t.rows)
	folds := make([][]int, k)
	if t.yc != nil {
		byClass := make([][]int, len(t.classes))
		for i, c := range t.yc {
			byClass[c] = append(byClass[c], i)
		}
		off := 0
		for _, members := range byClass {
			rng.Shuffle(len(members), func(a, b int) { members[a], members[b] = members[b], members[a] })
			for j, p := range members {
				fi := (off + j) % k
				folds[fi] = append(folds[fi], p)
			}
			off += len(members)
		}
	} else {
		perm := rng.Perm(n)
		for j, p := range perm {
			folds[j%k] = append(folds[j%k], p)
		}
	}
	for _, f := range folds {
		sort.Ints(f)
	}
	return folds
}

// AutoML infers the task, screens columns, cross-validates linear models and gradient-boosted trees
// within the time budget, refits the best on all rows and computes its permutation importance.
func AutoML(ctx context.Context, f *frame.Frame, opts Options) (*Result, error) {
	start := time.Now()
	if f == nil || f.Rows == 0 {
		return nil, errors.New("learn: the dataset has no rows")
	}
	autoFolds := opts.Folds == 0
	if autoFolds {
		opts.Folds = 5
	}
	if opts.Folds < 2 {
		return nil, fmt.Errorf("learn: %d folds is too few for cross-validation; use at least 2", opts.Folds)
	}
	if opts.Budget <= 0 {
		opts.Budget = 30 * time.Second
		if opts.CPUBudget > 0 {
			// money is the bound; the wall clock only guards against a stalled run on a busy machine
			opts.Budget = 4 * opts.CPUBudget
		}
	}
	cpu0 := cpuTime()
	cpuUsed := func() time.Duration { return cpuTime() - cpu0 }
	progress := func(fr float64, msg string) {
		if opts.Progress != nil {
			opts.Progress(math.Min(fr, 1), msg)
		}
	}
	t, warns, err := prepareTarget(f, opts)
	if err != nil {
		return nil, err
	}
	exclude := opts.Exclude
	if opts.GroupColumn != "" {
		exclude = append(append([]string(nil), exclude...), opts.GroupColumn)
	}
	feats, dropped, w2 := screenColumns(f, t, exclude)
	warns = append(warns, w2...)
	if len(feats) == 0 {
		var why []string
		for _, d := range dropped {
			why = append(why, d.Column+" ("+d.Reason+")")
		}
		return nil, fmt.Errorf("learn: no usable feature columns remain for target %q: every other column was dropped: %s; add informative columns", t.name, strings.Join(why, "; "))
	}
	allowed := map[string]bool{}
	// ensembles are built when the learners are not restricted, or when "ensemble" is asked for
	wantEnsemble := len(opts.Algorithms) == 0
	for _, a := range opts.Algorithms {
		switch strings.ToLower(a) {
		case AlgoLinear, "logistic", "linear_regression", AlgoLogistic, AlgoRidge:
			allowed[AlgoLogistic], allowed[AlgoRidge] = true, true
		case AlgoElasticNet:
			allowed[AlgoElasticNet] = true
		case AlgoGBDT, "gradient_boosting", "xgboost", "lightgbm", "hist_gradient_boosting":
			allowed[AlgoGBDT] = true
		case AlgoEnsemble:
			wantEnsemble = true
		case AlgoNaiveBayes, AlgoKNN, AlgoRandomForest, AlgoExtraTrees:
			allowed[strings.ToLower(a)] = true
		default:
			return nil, fmt.Errorf("learn: unknown algorithm %q; use %s", a, strings.Join(Algorithms(), ", "))
		}
	}
	allow := func(algo string) bool { return len(allowed) == 0 || allowed[algo] }
	k := opts.Folds
	if autoFolds && len(t.rows) > largeRows {
		k = 3 // on large data, three folds leave time for more (and larger) trials
	}
	if lim := len(t.rows) / 3; k > lim {
		k = lim
		if k < 2 {
			k = 2
		}
		warns = append(warns, fmt.Sprintf("only %d rows: using %d cross-validation folds", len(t.rows), k))
	}
	s := &search{f: f, t: t, features: feats, seed: opts.Seed}
	sp, w3, err := makeSplits(f, t, opts, k, opts.Seed)
	if err != nil {
		return nil, err
	}
	warns = append(warns, w3...)
	s.folds, s.trainPos = sp.test, sp.train
	k = len(s.folds)
	for kind := range s.cache {
		s.cache[kind] = make([]*foldPrep, k)
		for j := range s.cache[kind] {
			s.cache[kind][j] = &foldPrep{}
		}
	}

	metric := metricName(t.task)
	higher := HigherIsBetter(metric)
	better := func(a, b float64) bool {
		if math.IsNaN(b) {
			return !math.IsNaN(a)
		}
		if higher {
			return a > b
		}
		return a < b
	}
	searchEnd := start.Add(opts.Budget * 7 / 10)
	hardEnd := start.Add(opts.Budget * 85 / 100)
	res := &Result{Task: t.task, Target: t.name, Classes: t.classes, PositiveClass: t.positive, Metric: metric,
		Dropped: dropped, Rows: len(t.rows), Features: feats, Folds: k, CVScheme: sp.scheme}
	var best trial
	var bestFolds []foldOut
	var oofs []oofTrial
	bestScore := math.NaN()
	lastDur := map[string]time.Duration{}
	lastCPU := map[string]time.Duration{}
	trials := plan(t.task, opts.Seed, len(t.rows), allow)
	if kb := builtinKB(); opts.wantMeta || (!opts.NoWarmStart && len(kb.Entries) > 0) {
		res.MetaFeatures = metaFeatures(f, t, feats, opts.Seed)
		if !opts.NoWarmStart {
			warm, src := warmStart(kb, res.MetaFeatures, t.task, len(t.rows), DatasetHash(f), opts.kbExclude, allow)
			after := 2 // the cheap starting trials: a linear model and a small boosted one
			if len(t.rows) > largeRows {
				after = 4 // and the two larger boosted ones of large data
			}
			trials = insertWarmStart(trials, warm, after)
			seen := map[string]bool{}
			for _, name := range src {
				if !seen[name] {
					seen[name] = true
					res.WarmStart = append(res.WarmStart, name)
				}
			}
		}
	}
	if opts.Distributed != nil {
		// The trials run as separate work, on any worker (trial.go); the loop below has nothing left.
		if best, bestFolds, oofs, bestScore, err = s.distributed(ctx, opts.Distributed, trials, res, better); err != nil {
			return nil, err
		}
		trials = nil
	}
	for i, tr := range trials {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("learn: training cancelled: %w", err)
		}
		if opts.maxTrials > 0 && len(res.Leaderboard) >= opts.maxTrials {
			break
		}
		if i > 0 && len(res.Leaderboard) > 0 {
			est := lastDur[tr.algo]
			if tr.gb != nil {
				est = est * 3 / 2
			}
			if time.Now().Add(est).After(searchEnd) {
				// a cheaper learner may still fit; a larger tree config will not
				continue
			}
			if opts.CPUBudget > 0 && cpuUsed()+lastCPU[tr.algo]*3/2 > opts.CPUBudget*7/10 {
				continue
			}
		}
		tctx := ctx
		var cancel context.CancelFunc = func() {}
		// The first trial that finishes runs without a deadline, so that there is a model at all;
		// a forest has its deadline even then, since it keeps the trees grown by the deadline.
		if len(res.Leaderboard) > 0 || tr.rf != nil {
			end := hardEnd
			if opts.CPUBudget > 0 {
				// the remaining CPU share, spread over the CV workers
				if cpuEnd := time.Now().Add((opts.CPUBudget*85/100 - cpuUsed()) / workers); cpuEnd.Before(end) {
					end = cpuEnd
				}
			}
			if tr.rf != nil {
				// at most half the search time left, so that a slow forest does not crowd out the
				// trials after it (it keeps the trees grown by then)
				if half := time.Now().Add(time.Until(searchEnd) / 2); half.Before(end) {
					end = half
				}
			}
			tctx, cancel = context.WithDeadline(ctx, end)
		}
		t0, c0 := time.Now(), cpuUsed()
		outs, err := s.cv(tctx, tr)
		cancel()
		dur, cdur := time.Since(t0), cpuUsed()-c0
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("learn: training cancelled: %w", ctx.Err())
			}
			if errors.Is(err, context.DeadlineExceeded) {
				continue
			}
			return nil, fmt.Errorf("learn: %s (%s): %w", tr.algo, tr.config, err)
		}
		if dur > lastDur[tr.algo] || tr.gb == nil {
			lastDur[tr.algo] = dur
		}
		if cdur > lastCPU[tr.algo] || tr.gb == nil {
			lastCPU[tr.algo] = cdur
		}
		trc := tr
		e := Entry{Algorithm: tr.algo, Config: tr.config, Metric: metric, FitSeconds: dur.Seconds(), Metrics: map[string]float64{},
			Elapsed: time.Since(start).Seconds(), Source: tr.source, tr: &trc}
		for _, o := range outs {
			e.FoldScores = append(e.FoldScores, o.score)
			for name, v := range o.extra {
				e.Metrics[name] += v / float64(len(outs))
			}
		}
		e.CVScore, e.CVStd = meanStd(e.FoldScores)
		if tr.gb != nil {
			var r float64
			for _, o := range outs {
				r += float64(o.rounds)
			}
			e.Config += fmt.Sprintf(" rounds=%d", int(math.Round(r/float64(len(outs)))))
		}
		if tr.rf != nil {
			if g := minGrown(outs); g < tr.rf.Trees {
				e.Config += fmt.Sprintf(" grown=%d", g) // the deadline stopped a fold's forest early
			}
		}
		res.Leaderboard = append(res.Leaderboard, e)
		meanRounds := 0
		for _, o := range outs {
			meanRounds += o.rounds
		}
		oofs = append(oofs, oofTrial{tr: tr, score: e.CVScore, rounds: meanRounds / len(outs), pred: s.collectOOF(outs)})
		if better(e.CVScore, bestScore) {
			bestScore, best, bestFolds = e.CVScore, tr, outs
		}
		progress(0.85*time.Since(start).Seconds()/opts.Budget.Seconds(), fmt.Sprintf("%s %s: %s %.4f", tr.algo, tr.config, metric, e.CVScore))
	}
	if bestFolds == nil {
		return nil, errors.New("learn: no trial finished within the time budget; raise the budget")
	}
	sort.SliceStable(res.Leaderboard, func(a, b int) bool {
		return better(res.Leaderboard[a].CVScore, res.Leaderboard[b].CVScore)
	})

	// refit the best on all rows
	refit := func(tr trial, meanRounds float64) (*Model, error) {
		rounds := 0
		if tr.gb != nil {
			rounds = int(math.Round(meanRounds * (1 + 1/float64(k))))
			if rounds < 1 {
				rounds = 1
			}
		}
		if tr.rf != nil && meanRounds >= 1 {
			rounds = int(math.Round(meanRounds)) // the trees the folds' forests grew within the budget
		}
		pp := fitPrep(f, feats, t.rows, tr.kind())
		x := transform(pp, f, t.rows)
		m, _, err := s.fit(ctx, tr, pp, x, t.y, t.yc, rounds, opts.Seed)
		if err != nil {
			return nil, err
		}
		if tr.gb != nil {
			m.pb.Config = fmt.Sprintf("%s rounds=%d", tr.config, rounds)
		}
		return m, nil
	}
	var r float64
	for _, o := range bestFolds {
		r += float64(o.rounds)
	}
	final, err := refit(best, r/float64(len(bestFolds)))
	if err != nil {
		return nil, fmt.Errorf("learn: refitting the best model: %w", err)
	}
	res.Best = final
	progress(0.9, "refit "+best.algo)

	// greedy ensemble of the best trials, when it beats the best one on the same folds and time remains
	if opts.NoEnsemble || !wantEnsemble || time.Now().After(searchEnd.Add(opts.Budget/10)) ||
		(opts.CPUBudget > 0 && cpuUsed() > opts.CPUBudget*8/10) {
		// no time left for refitting members
	} else {
		sort.SliceStable(oofs, func(a, b int) bool { return better(oofs[a].score, oofs[b].score) })
		if len(oofs) > 8 {
			oofs = oofs[:8]
		}
		if idx, weights, blend, ok := s.greedyEnsemble(oofs, higher); ok {
			folds, extra := s.foldMetrics(blend)
			ens := &mlv1.Ensemble{Weights: weights}
			var parts []string
			failed := false
			for j, ci := range idx {
				var mm *Model
				if oofs[ci].tr.algo == best.algo && oofs[ci].tr.config == best.config {
					mm = final
				} else if mm, err = refit(oofs[ci].tr, float64(oofs[ci].rounds)); err != nil {
					failed = true
					break
				}
				ens.Members = append(ens.Members, mm.pb)
				parts = append(parts, fmt.Sprintf("%.2f %s", weights[j], mm.pb.Algorithm))
			}
			if !failed && ctx.Err() == nil {
				pb := s.newModel(trial{algo: AlgoEnsemble, config: strings.Join(parts, " + ")}, ens.Members[0].Preprocessing)
				pb.Learner = &mlv1.ModelArtifact_Ensemble{Ensemble: ens}
				e := Entry{Algorithm: AlgoEnsemble, Config: pb.Config, Metric: metric, FoldScores: folds, Metrics: extra}
				e.CVScore, e.CVStd = meanStd(folds)
				res.Leaderboard = append([]Entry{e}, res.Leaderboard...)
				res.Best = &Model{pb: pb}
				warns = append(warns, fmt.Sprintf("the model is a weighted ensemble (%s): %s %.4f against %.4f for the best single model; importances are the best single model's", pb.Config, metric, e.CVScore, bestScore))
				progress(0.92, "ensemble "+pb.Config)
			}
		}
	}

	imps, err := s.importance(ctx, bestFolds, start.Add(opts.Budget))
	if err != nil {
		return nil, err
	}
	res.Importances = imps
	res.Warnings = warns
	res.Spend = Spend{Wall: time.Since(start), CPU: cpuUsed(), Trials: len(res.Leaderboard)}
	progress(1, fmt.Sprintf("best %s %s %.4f", best.algo, metric, bestScore))
	return res, nil
}

// permuteSpan reorders the rows of the encoded columns in span by perm (the same order for all of
// them, as permuting the input column would) and returns the function that puts them back.
func permuteSpan(x *dense, span [2]int, perm []int) (restore func()) {
	orig := make([][]float64, 0, span[1]-span[0])
	for k := span[0]; k < span[1]; k++ {
		col := x.cols[k]
		o := append([]float64(nil), col...)
		orig = append(orig, o)
		for i, q := range perm {
			col[i] = o[q]
		}
	}
	return func() {
		for k := span[0]; k < span[1]; k++ {
			copy(x.cols[k], orig[k-span[0]])
		}
	}
}

// subFrame copies the given rows of f.
func subFrame(f *frame.Frame, rows []int) *frame.Frame { return f.Take(rows) }

// importance measures, on each held-out fold, how much the fold model's metric worsens when one
// original column is shuffled. It uses fewer repeats when the budget is nearly spent.
func (s *search) importance(ctx context.Context, folds []foldOut, deadline time.Time) ([]Importance, error) {
	metric := metricName(s.t.task)
	sign := 1.0
	if !HigherIsBetter(metric) {
		sign = -1
	}
	drops := make([][]float64, len(s.features))
	rng := rand.New(rand.NewSource(s.seed + 99))
	repeats := 3
	for fi, fo := range folds {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("learn: training cancelled: %w", err)
		}
		if fi > 0 && time.Now().After(deadline) {
			break
		}
		if fi > 0 && time.Until(deadline) < 2*time.Second {
			repeats = 1
		}
		rows, y, yc := s.sub(s.folds[fi])
		tf := subFrame(s.f, rows)
		// Transform once, then permute the encoded columns of one input column at a time: each encoded
		// column depends only on its own input column, so this equals permuting the input, without
		// re-encoding every column for every feature (which made wide data quadratic).
		pp := fo.model.pb.GetPreprocessing()
		x := transform(pp, tf, nil)
		spans := columnSpans(pp)
		p := fo.model.predictScores(fo.model.scores(ctx, x))
		base, _ := evaluate(s.t.task, p, y, yc)
		for j, name := range s.features {
			sp, ok := spans[name]
			if !ok || sp[1] <= sp[0] {
				continue // not used by this model: no drop
			}
			for r := 0; r < repeats; r++ {
				restore := permuteSpan(x, sp, rng.Perm(len(rows)))
				pp := fo.model.predictScores(fo.model.scores(ctx, x))
				restore()
				sc, _ := evaluate(s.t.task, pp, y, yc)
				drops[j] = append(drops[j], sign*(base-sc))
			}
		}
	}
	out := make([]Importance, len(s.features))
	for j, name := range s.features {
		m, sd := meanStd(drops[j])
		out[j] = Importance{Feature: name, Importance: m, Std: sd}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Importance > out[b].Importance })
	return out, nil
}
