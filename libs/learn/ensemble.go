package learn

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	"github.com/vdsproject/vds/libs/frame"
)

// AlgoEnsemble names a greedy ensemble of the best trials.
const AlgoEnsemble = "ensemble"

// oofTrial keeps a finished trial's out-of-fold predictions for ensemble selection.
type oofTrial struct {
	tr     trial
	score  float64
	rounds int       // mean boosting rounds over the folds
	pred   []float64 // per position (s.t.rows order) and output: P(positive), class probabilities or the value
}

// outputsOf is the number of values per row in oofTrial.pred.
func (s *search) outputsOf() int {
	if s.t.task == TaskMulticlass {
		return len(s.t.classes)
	}
	return 1
}

// collectOOF turns one trial's fold predictions into out-of-fold predictions by position.
func (s *search) collectOOF(outs []foldOut) []float64 {
	o := s.outputsOf()
	pred := make([]float64, len(s.t.rows)*o)
	for fi, fo := range outs {
		for i, pos := range s.folds[fi] {
			switch s.t.task {
			case TaskMulticlass:
				copy(pred[pos*o:(pos+1)*o], fo.pred.Proba[i])
			default:
				pred[pos] = fo.pred.Value[i]
			}
		}
	}
	return pred
}

// foldScores scores blended out-of-fold predictions fold by fold, as the trials were scored.
func (s *search) foldScores(pred []float64) []float64 {
	out, _ := s.foldMetrics(pred)
	return out
}

// foldMetrics returns the primary metric per fold and the fold-averaged secondary metrics.
func (s *search) foldMetrics(pred []float64) ([]float64, map[string]float64) {
	o := s.outputsOf()
	var out []float64
	extra := map[string]float64{}
	for _, fold := range s.folds {
		_, y, yc := s.sub(fold)
		p := Predictions{Task: s.t.task}
		for _, pos := range fold {
			switch s.t.task {
			case TaskMulticlass:
				p.Proba = append(p.Proba, pred[pos*o:(pos+1)*o])
			case TaskBinary:
				v := pred[pos]
				p.Value = append(p.Value, v)
				p.Proba = append(p.Proba, []float64{1 - v, v})
			default:
				p.Value = append(p.Value, pred[pos])
			}
		}
		sc, ex := evaluate(s.t.task, p, y, yc)
		out = append(out, sc)
		for k, v := range ex {
			extra[k] += v / float64(len(s.folds))
		}
	}
	return out, extra
}

// greedyEnsemble runs Caruana's forward selection with replacement over the best candidates and
// returns the chosen candidate indices with their weights and fold scores, or ok=false when no
// blend beats the best single trial.
func (s *search) greedyEnsemble(cands []oofTrial, higher bool) (idx []int, weights []float64, blendPred []float64, ok bool) {
	if len(cands) < 2 {
		return nil, nil, nil, false
	}
	better := func(a, b float64) bool {
		if higher {
			return a > b+1e-6
		}
		return a < b-1e-6
	}
	n := len(cands[0].pred)
	sum := make([]float64, n)
	count := map[int]int{}
	total := 0
	bestScore := math.NaN()
	var bestCount map[int]int
	var bestBlend []float64
	blend := make([]float64, n)
	for step := 0; step < 20; step++ {
		pick, pickScore := -1, math.NaN()
		for ci, c := range cands {
			for i := range blend {
				blend[i] = (sum[i] + c.pred[i]) / float64(total+1)
			}
			m, _ := meanStd(s.foldScores(blend))
			if pick < 0 || better(m, pickScore) {
				pick, pickScore = ci, m
			}
		}
		for i := range sum {
			sum[i] += cands[pick].pred[i]
		}
		count[pick]++
		total++
		if math.IsNaN(bestScore) || better(pickScore, bestScore) {
			bestScore = pickScore
			bestBlend = make([]float64, n)
			for i := range sum {
				bestBlend[i] = sum[i] / float64(total)
			}
			bestCount = map[int]int{}
			for k, v := range count {
				bestCount[k] = v
			}
		}
	}
	if len(bestCount) < 2 || !better(bestScore, cands[0].score) {
		return nil, nil, nil, false
	}
	for k := range bestCount {
		idx = append(idx, k)
	}
	sort.Ints(idx)
	var w float64
	for _, k := range idx {
		w += float64(bestCount[k])
	}
	for _, k := range idx {
		weights = append(weights, float64(bestCount[k])/w)
	}
	return idx, weights, bestBlend, true
}

// ensembleScores averages the members' predictions and returns them as raw scores (log-odds,
// log-probabilities or values) so that predictScores turns them back into predictions.
func ensembleScores(m *Model, e *mlv1.Ensemble, f *frame.Frame) [][]float64 {
	task := m.Task()
	var avg [][]float64
	for mi, mem := range e.Members {
		mm := &Model{pb: mem}
		p := mm.predictScores(mm.rawScores(f))
		w := e.Weights[mi]
		switch task {
		case TaskMulticlass:
			if avg == nil {
				avg = make([][]float64, len(m.pb.Classes))
				for o := range avg {
					avg[o] = make([]float64, f.Rows)
				}
			}
			for i, pr := range p.Proba {
				for o, v := range pr {
					avg[o][i] += w * v
				}
			}
		default:
			if avg == nil {
				avg = [][]float64{make([]float64, f.Rows)}
			}
			for i, v := range p.Value {
				avg[0][i] += w * v
			}
		}
	}
	switch task {
	case TaskRegression:
		return avg
	}
	return probabilityScores(avg)
}

func validateEnsemble(pb *mlv1.ModelArtifact, e *mlv1.Ensemble) error {
	if len(e.GetMembers()) < 2 || len(e.GetWeights()) != len(e.GetMembers()) {
		return errors.New("an ensemble needs at least two members and one weight per member")
	}
	var w float64
	for i, mem := range e.GetMembers() {
		if _, nested := mem.GetLearner().(*mlv1.ModelArtifact_Ensemble); nested {
			return errors.New("ensemble members may not be ensembles")
		}
		if mem.GetTask() != pb.GetTask() || strings.Join(mem.GetClasses(), "\x00") != strings.Join(pb.GetClasses(), "\x00") {
			return fmt.Errorf("ensemble member %d has another task or other classes", i)
		}
		if err := validate(mem); err != nil {
			return fmt.Errorf("ensemble member %d: %w", i, err)
		}
		if !(e.Weights[i] > 0) {
			return errors.New("ensemble weights must be positive")
		}
		w += e.Weights[i]
	}
	if math.Abs(w-1) > 1e-9 {
		return errors.New("ensemble weights must sum to 1")
	}
	return nil
}
