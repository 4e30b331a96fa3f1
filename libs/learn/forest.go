package learn

import (
	"context"
	"errors"
	"math"
	"math/rand"
	"sort"

	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
)

// Algorithm names of the tree-averaging learners.
const (
	AlgoRandomForest = "random_forest"
	AlgoExtraTrees   = "extra_trees"
)

// forestParams configures random forests and extremely randomized trees.
type forestParams struct {
	Trees    int
	MaxDepth int // 0: unlimited
	MinLeaf  int
	// MaxFeatures is the share of features drawn at every split (0: sqrt(p)/p for classification, 1/3 for regression).
	MaxFeatures float64
	Extra       bool // one random threshold per candidate feature, no bootstrap
}

// forestFit grows trees on bootstrap samples (random forests) or on all rows with random thresholds
// (extra trees) using the histogram tree builder with squared loss: leaves hold the mean target
// (regression) or the class share (classification, one tree per class). The ensemble averages them.
// When ctx's deadline passes, it stops adding trees and returns the forest grown so far (a forest of
// fewer trees is still a forest; the first tree is grown even past the deadline, so that there is
// one); a cancelled ctx is an error.
func forestFit(ctx context.Context, task Task, x *dense, y []float64, yc []int, k int, prm forestParams, seed int64) (*mlv1.TreeEnsemble, error) {
	rng := rand.New(rand.NewSource(seed))
	n := x.n
	outs := 1
	if task == TaskMulticlass {
		outs = k
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	bn := fitBinnerRows(x, all)
	maxLeaves := n
	if maxLeaves < 2 {
		maxLeaves = 2
	}
	t := &gbdtTrainer{prm: gbdtParams{LearningRate: 1, MaxLeaves: maxLeaves, MaxDepth: prm.MaxDepth}, edges: bn.edges, bins: bn.bin(x), n: n, p: x.p, rng: rng,
		g: make([]float64, n), h: make([]float64, n), idx: make([]int, n), extra: prm.Extra}
	t.minLeaf = math.Max(1, float64(prm.MinLeaf))
	t.feats = make([]int, x.p)
	for j := range t.feats {
		t.feats[j] = j
	}
	mf := prm.MaxFeatures
	if mf <= 0 {
		if task == TaskRegression {
			mf = 1.0 / 3
		} else {
			mf = math.Sqrt(float64(x.p)) / float64(x.p)
		}
	}
	t.splitFeats = int(math.Max(1, math.Round(mf*float64(x.p))))
	ens := &mlv1.TreeEnsemble{Outputs: int32(outs), BaseScores: make([]float64, outs), Average: true, Probability: task != TaskRegression}
	for tree := 0; tree < prm.Trees; tree++ {
		if err := ctx.Err(); err != nil && (tree > 0 || !errors.Is(err, context.DeadlineExceeded)) {
			if errors.Is(err, context.DeadlineExceeded) {
				return ens, nil
			}
			return nil, err
		}
		if prm.Extra {
			copy(t.idx, all)
		} else {
			for i := range t.idx {
				t.idx[i] = rng.Intn(n)
			}
			sort.Ints(t.idx)
		}
		for o := 0; o < outs; o++ {
			if err := ctx.Err(); o > 0 && err != nil && (tree > 0 || !errors.Is(err, context.DeadlineExceeded)) {
				// the tree's other classes are left out: drop the classes grown of it too
				ens.Trees = ens.Trees[:len(ens.Trees)-o]
				if errors.Is(err, context.DeadlineExceeded) {
					return ens, nil
				}
				return nil, err
			}
			for i := range t.g {
				var v float64
				switch task {
				case TaskRegression, TaskBinary:
					v = y[i]
				default:
					if yc[i] == o {
						v = 1
					}
				}
				t.g[i], t.h[i] = -v, 1
			}
			idx := append([]int(nil), t.idx...) // growTree reorders idx
			tb := t.growTree(n)
			copy(t.idx, idx)
			ens.Trees = append(ens.Trees, &mlv1.Tree{Feature: tb.feature, Threshold: tb.thr, Left: tb.left, Right: tb.right, Value: tb.value, DefaultLeft: tb.defL, Cover: tb.cover, Output: int32(o)})
		}
	}
	return ens, nil
}

// probabilityScores turns an averaged probability ensemble's outputs into the log-odds (binary) or
// log-probabilities (multiclass) the rest of the package expects.
func probabilityScores(sc [][]float64) [][]float64 {
	const eps = 1e-6
	if len(sc) == 1 {
		for i, p := range sc[0] {
			p = math.Min(math.Max(p, eps), 1-eps)
			sc[0][i] = math.Log(p / (1 - p))
		}
		return sc
	}
	for o := range sc {
		for i, p := range sc[o] {
			sc[o][i] = math.Log(math.Max(p, eps))
		}
	}
	return sc
}
