package learn

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/vdsproject/vds/libs/frame"
)

// A distributed search: AutoML prepares the search as usual (target, screening, folds, the trial
// plan), then, instead of running the trials one after another, hands the plan to Distributed.Run,
// which may run each trial on any worker. A worker rebuilds the same search with Prepare (from the
// same data and options it gets the same target, features, folds and plan, which the fold checksum
// confirms) and runs one trial with RunTrial. The results come back to AutoML, which picks the best,
// refits it, builds the ensemble and measures importance exactly as in the single-process search.

// TrialSpec is one trial of a plan.
type TrialSpec struct {
	Index     int
	Algorithm string
	Config    string
}

// TrialPlan is what a distributed search dispatches: its trials in order (cheap first) and the fold
// plan every worker must reproduce.
type TrialPlan struct {
	Trials       []TrialSpec
	Folds        int
	FoldChecksum string
	Metric       string
}

// TrialOutcome is a finished trial: its leaderboard entry, the mean boosting rounds over the folds
// and its out-of-fold predictions (by row position; one value per row, or one per row and class).
type TrialOutcome struct {
	Index  int
	Entry  Entry
	Rounds int
	OOF    []float64
}

// Distributed makes AutoML hand its trials to Run instead of running them itself. Run returns the
// trials it got done, in any order; the ones it could not finish in time are simply missing.
type Distributed struct {
	Run func(ctx context.Context, p *TrialPlan) ([]*TrialOutcome, error)

	prepareOnly bool
	prepared    *Search
}

var errPrepared = errors.New("learn: search prepared")

// Search is a prepared search whose trials a worker runs one at a time.
type Search struct {
	s      *search
	trials []trial
	plan   *TrialPlan
}

// Prepare builds the search AutoML would run on f with opts, without running any trial.
func Prepare(ctx context.Context, f *frame.Frame, opts Options) (*Search, error) {
	d := &Distributed{prepareOnly: true}
	opts.Distributed, opts.Progress = d, nil
	_, err := AutoML(ctx, f, opts)
	if errors.Is(err, errPrepared) && d.prepared != nil {
		return d.prepared, nil
	}
	if err == nil {
		err = errors.New("learn: the search was not prepared")
	}
	return nil, err
}

// Plan is the prepared search's plan.
func (p *Search) Plan() *TrialPlan { return p.plan }

// RunTrial cross-validates trial index of the plan.
func (p *Search) RunTrial(ctx context.Context, index int) (*TrialOutcome, error) {
	if index < 0 || index >= len(p.trials) {
		return nil, fmt.Errorf("learn: trial %d is not in the plan (%d trials)", index, len(p.trials))
	}
	tr := p.trials[index]
	t0 := time.Now()
	outs, err := p.s.cv(ctx, tr)
	if err != nil {
		return nil, err
	}
	metric := metricName(p.s.t.task)
	e := Entry{Algorithm: tr.algo, Config: tr.config, Metric: metric, FitSeconds: time.Since(t0).Seconds(), Metrics: map[string]float64{}}
	sumRounds := 0
	for _, o := range outs {
		e.FoldScores = append(e.FoldScores, o.score)
		for name, v := range o.extra {
			e.Metrics[name] += v / float64(len(outs))
		}
		sumRounds += o.rounds
	}
	e.CVScore, e.CVStd = meanStd(e.FoldScores)
	if tr.gb != nil {
		e.Config += fmt.Sprintf(" rounds=%d", int(math.Round(float64(sumRounds)/float64(len(outs)))))
	}
	return &TrialOutcome{Index: index, Entry: e, Rounds: sumRounds / len(outs), OOF: p.s.collectOOF(outs)}, nil
}

// foldChecksum is a SHA-256 over what a worker must reproduce exactly: the rows, classes, features
// and every fold's training and test positions.
func (s *search) foldChecksum() string {
	h := sha256.New()
	var b [4]byte
	put := func(v int) {
		binary.LittleEndian.PutUint32(b[:], uint32(v))
		h.Write(b[:])
	}
	put(len(s.t.rows))
	for _, r := range s.t.rows {
		put(r)
	}
	for _, c := range s.t.classes {
		h.Write([]byte(c + "\x00"))
	}
	for _, f := range s.features {
		h.Write([]byte(f + "\x00"))
	}
	for fi := range s.folds {
		put(len(s.folds[fi]))
		for _, p := range s.folds[fi] {
			put(p)
		}
		put(len(s.trainPos[fi]))
		for _, p := range s.trainPos[fi] {
			put(p)
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// distributed hands the plan to d.Run and turns the outcomes into the leaderboard, the ensemble's
// candidates and the best trial, whose fold models it refits here (same folds and seeds, so the same
// models the worker fitted) for the permutation importance and the number of refit rounds.
func (s *search) distributed(ctx context.Context, d *Distributed, trials []trial, res *Result, better func(a, b float64) bool) (best trial, bestFolds []foldOut, oofs []oofTrial, bestScore float64, err error) {
	bestScore = math.NaN()
	p := &TrialPlan{Folds: len(s.folds), FoldChecksum: s.foldChecksum(), Metric: res.Metric}
	for i, tr := range trials {
		p.Trials = append(p.Trials, TrialSpec{Index: i, Algorithm: tr.algo, Config: tr.config})
	}
	if d.prepareOnly {
		d.prepared = &Search{s: s, trials: trials, plan: p}
		return best, nil, nil, bestScore, errPrepared
	}
	if d.Run == nil {
		return best, nil, nil, bestScore, errors.New("learn: a distributed search needs Distributed.Run")
	}
	outs, err := d.Run(ctx, p)
	if err != nil {
		return best, nil, nil, bestScore, err
	}
	sort.Slice(outs, func(a, b int) bool { return outs[a].Index < outs[b].Index })
	want := len(s.t.rows) * s.outputsOf()
	bestIdx, seen := -1, map[int]bool{}
	for _, o := range outs {
		if o == nil || o.Index < 0 || o.Index >= len(trials) || seen[o.Index] || o.Entry.Algorithm != trials[o.Index].algo || len(o.OOF) != want {
			continue // not a trial of this plan
		}
		seen[o.Index] = true
		res.Leaderboard = append(res.Leaderboard, o.Entry)
		oofs = append(oofs, oofTrial{tr: trials[o.Index], score: o.Entry.CVScore, rounds: o.Rounds, pred: o.OOF})
		if better(o.Entry.CVScore, bestScore) {
			bestScore, bestIdx = o.Entry.CVScore, o.Index
		}
	}
	if bestIdx < 0 {
		return best, nil, oofs, bestScore, nil
	}
	best = trials[bestIdx]
	if bestFolds, err = s.cv(ctx, best); err != nil {
		return best, nil, nil, bestScore, fmt.Errorf("learn: refitting the fold models of the best trial (%s %s): %w", best.algo, best.config, err)
	}
	return best, bestFolds, oofs, bestScore, nil
}
