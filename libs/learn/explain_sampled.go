package learn

import (
	"math/rand"
	"slices"

	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	"github.com/vdsproject/vds/libs/frame"
)

// Sampled Shapley values for models whose score is not a sum over trees or coefficients (the
// greedy ensemble: a weighted mean of its members' probabilities or values). Each permutation k
// pairs an ordering of the input columns with a background row b_k taken from the explained rows;
// walking the ordering, column j's value in b_k is replaced by the explained row's value, and the
// change of the model's raw score at that step is column j's contribution (Štrumbelj and Kononenko
// 2014; the interventional Shapley value over the background rows). The same permutations and
// background rows serve every explained row, so each row's values add up exactly:
// Expected + sum_j phi_j(x) = raw score(x), with Expected the mean raw score of the background rows.

// shapSampleBudget bounds the composite rows scored for one SHAP call (rows x permutations x
// (columns + 1)); shapMinPermutations and shapMaxPermutations bound the permutations per row.
const (
	shapSampleBudget    = 400_000
	shapMinPermutations = 8
	shapMaxPermutations = 64
	shapChunkRows       = 32_768
)

// shapPlan is how many of n rows a call over p columns explains and with how many permutations,
// for a model that costs unit times a tree or linear model to score a row (see scoreCost): the
// permutations grow from the minimum to the maximum while the budget allows, and when even the
// minimum is over budget, fewer rows are explained (the first ones: the caller's rows are a sample).
func shapPlan(n, p int, unit float64) (rows, perms int) {
	budget := float64(shapSampleBudget) / max(unit, 1)
	perms = int(budget / float64(max(1, n*(p+1))))
	perms = min(max(perms, shapMinPermutations), shapMaxPermutations)
	rows = n
	if float64(rows*perms*(p+1)) > budget {
		rows = max(1, int(budget/float64(perms*(p+1))))
	}
	return min(rows, n), perms
}

// scoreCost is the cost of scoring one row relative to a tree or linear model: a nearest-neighbour
// model compares the row with every stored point.
func scoreCost(pb *mlv1.ModelArtifact) float64 {
	switch l := pb.GetLearner().(type) {
	case *mlv1.ModelArtifact_Neighbors:
		return 1 + float64(len(l.Neighbors.GetPoints()))/200
	case *mlv1.ModelArtifact_Ensemble:
		var c float64
		for _, mem := range l.Ensemble.GetMembers() {
			c += scoreCost(mem)
		}
		return c
	}
	return 1
}

// inputColumns is every input column the model or, for an ensemble, any of its members reads.
func (m *Model) inputColumns() []string {
	cols := m.Features()
	if e, ok := m.pb.GetLearner().(*mlv1.ModelArtifact_Ensemble); ok {
		for _, mem := range e.Ensemble.GetMembers() {
			for _, c := range (&Model{pb: mem}).Features() {
				if !slices.Contains(cols, c) {
					cols = append(cols, c)
				}
			}
		}
	}
	return cols
}

// sampledSHAP computes sampled Shapley values of m's raw score (see rawScores) for every row of f.
func (m *Model) sampledSHAP(f *frame.Frame) (*SHAPValues, error) {
	cols := m.inputColumns()
	src := make([]*frame.Column, len(cols)) // nil where f lacks the column: it is missing in every row
	for j, c := range cols {
		src[j] = f.Col(c)
	}
	n, p := f.Rows, len(cols)
	sv := &SHAPValues{Columns: cols}
	n, k := shapPlan(n, p, scoreCost(m.pb))
	if f.Rows == 0 {
		outs := len(m.rawScores(f))
		sv.Expected = make([]float64, outs)
		sv.Values = make([][][]float64, outs)
		return sv, nil
	}
	rng := rand.New(rand.NewSource(1))
	perms := make([][]int, k)
	bg := make([]int, k)
	for i := range perms {
		perms[i] = rng.Perm(p)
		bg[i] = rng.Intn(f.Rows)
	}

	// Expected: the mean raw score of the background rows.
	bgScores := m.rawScores(gatherRows(src, len(bg), func(r, _ int) int { return bg[r] }))
	outs := len(bgScores)
	sv.Expected = make([]float64, outs)
	for o := range bgScores {
		for _, v := range bgScores[o] {
			sv.Expected[o] += v / float64(k)
		}
	}
	sv.Values = make([][][]float64, outs)
	for o := range sv.Values {
		sv.Values[o] = make([][]float64, n)
		for i := range sv.Values[o] {
			sv.Values[o][i] = make([]float64, p)
		}
	}

	// Composite rows of explained row i, permutation q, step s (0..p): the first s columns of
	// perms[q] come from row i, the others from row bg[q]. Scored in chunks of whole rows.
	per := k * (p + 1)
	rowsPerChunk := max(1, shapChunkRows/per)
	// inX[q][j] is the step at which column j switches to the explained row's value in permutation q.
	inX := make([][]int, k)
	for q, perm := range perms {
		inX[q] = make([]int, p)
		for s, j := range perm {
			inX[q][j] = s + 1
		}
	}
	for lo := 0; lo < n; lo += rowsPerChunk {
		hi := min(n, lo+rowsPerChunk)
		comp := gatherRows(src, (hi-lo)*per, func(r, j int) int {
			i := lo + r/per
			q, s := (r%per)/(p+1), r%(p+1)
			if inX[q][j] <= s {
				return i
			}
			return bg[q]
		})
		sc := m.rawScores(comp)
		for o := 0; o < outs; o++ {
			for i := lo; i < hi; i++ {
				phi := sv.Values[o][i]
				base := (i - lo) * per
				for q, perm := range perms {
					at := base + q*(p+1)
					for s, j := range perm {
						phi[j] += (sc[o][at+s+1] - sc[o][at+s]) / float64(k)
					}
				}
			}
		}
	}
	return sv, nil
}

// gatherRows builds a frame of rows rows over the present columns of src (a nil source column is
// all missing, so it is left out) whose cell (r, j) is row pick(r, j) of src[j].
func gatherRows(src []*frame.Column, rows int, pick func(r, j int) int) *frame.Frame {
	var present []*frame.Column
	var index []int // position in src of each present column
	for j, c := range src {
		if c != nil {
			present = append(present, c)
			index = append(index, j)
		}
	}
	base := &frame.Frame{Columns: present}
	return base.Gather(rows, func(r, k int) int { return pick(r, index[k]) })
}
