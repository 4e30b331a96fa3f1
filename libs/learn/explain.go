package learn

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"

	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	"github.com/vdsproject/vds/libs/frame"
)

// SHAPValues attribute a model's raw score (log-odds of the positive class for binary models, one
// score per class for multiclass, the prediction for regression) to its input columns:
// Expected[o] + sum over columns of Values[o][row][column] equals the raw score of output o.
type SHAPValues struct {
	Columns  []string
	Expected []float64
	Values   [][][]float64 // [output][row][column]
}

// featureColumns maps each derived feature to the index of the input column that produced it.
func featureColumns(pp *mlv1.Preprocessing) []int {
	var out []int
	for ci, ct := range pp.GetColumns() {
		w := 0
		switch ct.GetEncoding() {
		case mlv1.FeatureEncoding_FEATURE_ENCODING_NUMERIC:
			w = 1
			if ct.GetMissingIndicator() {
				w++
			}
		case mlv1.FeatureEncoding_FEATURE_ENCODING_DATETIME:
			w = len(ct.GetParts())
			if ct.GetMissingIndicator() {
				w++
			}
		default:
			w = len(ct.GetLevels())
			if ct.GetOtherLevel() {
				w++
			}
			if ct.GetMissingLevel() {
				w++
			}
			if ct.GetEncoding() == mlv1.FeatureEncoding_FEATURE_ENCODING_ONE_HOT_FREQUENCY {
				w++
			}
		}
		for k := 0; k < w; k++ {
			out = append(out, ci)
		}
	}
	return out
}

// SHAP computes SHAP values for the rows of f: exact path-dependent TreeSHAP (Lundberg et al.
// 2018, Algorithm 2) for tree ensembles and w_j (x_j - mean x_j) over f's rows for linear models,
// with the attributions of a column's derived features (one-hot levels, datetime parts) summed;
// sampled Shapley values of the input columns (see sampledSHAP) for the greedy ensemble, naive
// Bayes and nearest neighbours, over as many of f's first rows as the sampling budget allows
// (len(Values[0]) rows; all of them for up to 500 rows and tens of columns).
func (m *Model) SHAP(f *frame.Frame) (*SHAPValues, error) {
	pp := m.pb.GetPreprocessing()
	x := transform(pp, f, nil)
	fc := featureColumns(pp)
	cols := m.Features()
	var outs int
	var exp []float64
	var perFeat [][][]float64 // [output][row][feature]
	switch l := m.pb.GetLearner().(type) {
	case *mlv1.ModelArtifact_Trees:
		ens := l.Trees
		outs = int(ens.Outputs)
		exp = append([]float64(nil), ens.BaseScores...)
		count := make([]float64, outs)
		for _, tr := range ens.Trees {
			if len(tr.Cover) != len(tr.Feature) {
				return nil, errors.New("learn: this model was saved without node covers, so TreeSHAP cannot run; retrain it")
			}
			count[tr.Output]++
		}
		perFeat = make([][][]float64, outs)
		for o := range perFeat {
			perFeat[o] = make([][]float64, x.n)
			for i := range perFeat[o] {
				perFeat[o][i] = make([]float64, x.p)
			}
		}
		for _, tr := range ens.Trees {
			o := int(tr.Output)
			scale := 1.0
			if ens.Average {
				scale = 1 / count[o]
			}
			exp[o] += scale * treeExpected(tr, 0)
			ts := newTreeSHAP(tr)
			row := make([]float64, x.p)
			for i := 0; i < x.n; i++ {
				for j := range row {
					row[j] = x.cols[j][i]
				}
				ts.explain(row, scale, perFeat[o][i])
			}
		}
	case *mlv1.ModelArtifact_Linear:
		lm := l.Linear
		outs = int(lm.Outputs)
		exp = make([]float64, outs)
		mean := make([]float64, x.p)
		for j := 0; j < x.p; j++ {
			var s float64
			var n int
			for _, v := range x.cols[j] {
				if !math.IsNaN(v) {
					s += v
					n++
				}
			}
			if n > 0 {
				mean[j] = s / float64(n)
			}
		}
		perFeat = make([][][]float64, outs)
		for o := 0; o < outs; o++ {
			exp[o] = lm.Intercepts[o]
			w := lm.Coefficients[o*x.p : (o+1)*x.p]
			for j := range w {
				exp[o] += w[j] * mean[j]
			}
			perFeat[o] = make([][]float64, x.n)
			for i := 0; i < x.n; i++ {
				perFeat[o][i] = make([]float64, x.p)
				for j := range w {
					v := x.cols[j][i]
					if math.IsNaN(v) {
						v = 0 // the linear scorer treats a missing feature as 0
					}
					perFeat[o][i][j] = w[j] * (v - mean[j])
				}
			}
		}
	case *mlv1.ModelArtifact_Ensemble, *mlv1.ModelArtifact_NaiveBayes, *mlv1.ModelArtifact_Neighbors:
		return m.sampledSHAP(f)
	default:
		return nil, fmt.Errorf("learn: SHAP values are not computed for %s models; use permutation importance or partial dependence", m.Algorithm())
	}
	sv := &SHAPValues{Columns: cols, Expected: exp, Values: make([][][]float64, outs)}
	for o := 0; o < outs; o++ {
		sv.Values[o] = make([][]float64, x.n)
		for i := 0; i < x.n; i++ {
			r := make([]float64, len(cols))
			for j, v := range perFeat[o][i] {
				r[fc[j]] += v
			}
			sv.Values[o][i] = r
		}
	}
	return sv, nil
}

// treeDecide reports whether row x goes left at inner node nd.
func treeDecide(tr *mlv1.Tree, cats map[int32]map[float64]bool, nd int32, x []float64) bool {
	v := x[tr.Feature[nd]]
	switch {
	case math.IsNaN(v):
		return tr.DefaultLeft[nd]
	case cats != nil && cats[nd] != nil:
		return cats[nd][v]
	}
	return v <= tr.Threshold[nd]
}

func treeCats(tr *mlv1.Tree) map[int32]map[float64]bool {
	if len(tr.CategorySplits) == 0 {
		return nil
	}
	cats := map[int32]map[float64]bool{}
	for _, cs := range tr.CategorySplits {
		set := map[float64]bool{}
		for _, v := range cs.LeftValues {
			set[v] = true
		}
		cats[cs.Node] = set
	}
	return cats
}

// treeExpected is the cover-weighted mean leaf value below node nd.
func treeExpected(tr *mlv1.Tree, nd int32) float64 {
	if tr.Feature[nd] < 0 {
		return tr.Value[nd]
	}
	l, r := tr.Left[nd], tr.Right[nd]
	c := tr.Cover[l] + tr.Cover[r]
	if c == 0 {
		return (treeExpected(tr, l) + treeExpected(tr, r)) / 2
	}
	return (tr.Cover[l]*treeExpected(tr, l) + tr.Cover[r]*treeExpected(tr, r)) / c
}

type pathElem struct {
	feature   int32
	zero, one float64
	weight    float64
}

type treeSHAP struct {
	tr   *mlv1.Tree
	cats map[int32]map[float64]bool
	x    []float64
	phi  []float64
	sc   float64
}

func newTreeSHAP(tr *mlv1.Tree) *treeSHAP { return &treeSHAP{tr: tr, cats: treeCats(tr)} }

// explain adds scale times the SHAP values of row x for this tree to phi (indexed by feature).
func (t *treeSHAP) explain(x []float64, scale float64, phi []float64) {
	t.x, t.phi, t.sc = x, phi, scale
	t.recurse(0, nil, 1, 1, -1)
}

func extendPath(p []pathElem, zero, one float64, feature int32) []pathElem {
	d := len(p)
	w := 0.0
	if d == 0 {
		w = 1
	}
	p = append(p, pathElem{feature: feature, zero: zero, one: one, weight: w})
	for i := d - 1; i >= 0; i-- {
		p[i+1].weight += one * p[i].weight * float64(i+1) / float64(d+1)
		p[i].weight = zero * p[i].weight * float64(d-i) / float64(d+1)
	}
	return p
}

func unwindPath(p []pathElem, idx int) []pathElem {
	d := len(p) - 1
	one, zero := p[idx].one, p[idx].zero
	next := p[d].weight
	for i := d - 1; i >= 0; i-- {
		if one != 0 {
			tmp := p[i].weight
			p[i].weight = next * float64(d+1) / (float64(i+1) * one)
			next = tmp - p[i].weight*zero*float64(d-i)/float64(d+1)
		} else {
			p[i].weight = p[i].weight * float64(d+1) / (zero * float64(d-i))
		}
	}
	for i := idx; i < d; i++ {
		p[i].feature, p[i].zero, p[i].one = p[i+1].feature, p[i+1].zero, p[i+1].one
	}
	return p[:d]
}

func unwoundSum(p []pathElem, idx int) float64 {
	d := len(p) - 1
	one, zero := p[idx].one, p[idx].zero
	next := p[d].weight
	var total float64
	for i := d - 1; i >= 0; i-- {
		if one != 0 {
			tmp := next * float64(d+1) / (float64(i+1) * one)
			total += tmp
			next = p[i].weight - tmp*zero*float64(d-i)/float64(d+1)
		} else if zero != 0 {
			total += p[i].weight / zero / (float64(d-i) / float64(d+1))
		}
	}
	return total
}

func (t *treeSHAP) recurse(nd int32, parent []pathElem, zero, one float64, feature int32) {
	p := extendPath(append(make([]pathElem, 0, len(parent)+1), parent...), zero, one, feature)
	tr := t.tr
	if tr.Feature[nd] < 0 {
		for i := 1; i < len(p); i++ {
			w := unwoundSum(p, i)
			t.phi[p[i].feature] += t.sc * w * (p[i].one - p[i].zero) * tr.Value[nd]
		}
		return
	}
	hot, cold := tr.Left[nd], tr.Right[nd]
	if !treeDecide(tr, t.cats, nd, t.x) {
		hot, cold = cold, hot
	}
	cov := tr.Cover[nd]
	hz, cz := 0.5, 0.5
	if cov > 0 {
		hz, cz = tr.Cover[hot]/cov, tr.Cover[cold]/cov
	}
	iz, io := 1.0, 1.0
	f := tr.Feature[nd]
	for k := 1; k < len(p); k++ {
		if p[k].feature == f {
			iz, io = p[k].zero, p[k].one
			p = unwindPath(p, k)
			break
		}
	}
	t.recurse(hot, p, hz*iz, io, f)
	t.recurse(cold, p, cz*iz, 0, f)
}

// DependencePoint is one grid value of a partial dependence curve.
type DependencePoint struct {
	Value string
	X     float64 // numeric grid value (NaN for a text level)
	// Y is the mean prediction over the rows with the column set to Value: P(positive) for binary,
	// the prediction for regression, the probability of each class (in Classes order) for multiclass.
	Y []float64
}

// PartialDependence sets column to each grid value in turn for every row of f and averages the
// model's predictions. Numeric columns use up to grid quantiles of f's values; text columns the
// model's own levels.
func (m *Model) PartialDependence(f *frame.Frame, column string, grid int) ([]DependencePoint, error) {
	var ct *mlv1.ColumnTransform
	for _, c := range m.pb.GetPreprocessing().GetColumns() {
		if c.GetColumn() == column {
			ct = c
		}
	}
	if ct == nil {
		return nil, fmt.Errorf("learn: the model does not use column %q", column)
	}
	if grid < 2 {
		grid = 20
	}
	src := f.Col(column)
	var pts []DependencePoint
	if ct.GetSourceText() {
		for _, lv := range ct.GetLevels() {
			pts = append(pts, DependencePoint{Value: lv, X: math.NaN()})
		}
	} else {
		var vals []float64
		if src != nil && src.F != nil {
			for i, v := range src.F {
				if !src.Null[i] && !math.IsNaN(v) {
					vals = append(vals, v)
				}
			}
		}
		if len(vals) == 0 {
			return nil, fmt.Errorf("learn: column %q has no values to build a grid from", column)
		}
		sort.Float64s(vals)
		last := math.NaN()
		for g := 0; g < grid; g++ {
			v := vals[int(math.Round(float64(g)/float64(grid-1)*float64(len(vals)-1)))]
			if v != last {
				pts = append(pts, DependencePoint{Value: strconv.FormatFloat(v, 'g', 6, 64), X: v})
				last = v
			}
		}
	}
	kind := frame.Float
	if ct.GetSourceText() {
		kind = frame.String
	} else if src != nil {
		kind = src.Kind
	}
	g := &frame.Frame{Rows: f.Rows}
	var gc *frame.Column
	for _, c := range f.Columns {
		if c.Name == column {
			continue
		}
		g.Columns = append(g.Columns, c)
	}
	gc = &frame.Column{Name: column, Kind: kind, Null: make([]bool, f.Rows)}
	g.Columns = append(g.Columns, gc)
	for pi := range pts {
		if kind == frame.String {
			gc.S, gc.F = make([]string, f.Rows), nil
			for i := range gc.S {
				gc.S[i] = pts[pi].Value
			}
		} else {
			gc.F, gc.S = make([]float64, f.Rows), nil
			for i := range gc.F {
				gc.F[i] = pts[pi].X
			}
		}
		p, err := m.Predict(g)
		if err != nil {
			return nil, err
		}
		switch m.Task() {
		case TaskMulticlass:
			y := make([]float64, len(p.Classes))
			for _, pr := range p.Proba {
				for k, v := range pr {
					y[k] += v / float64(f.Rows)
				}
			}
			pts[pi].Y = y
		default:
			var s float64
			for _, v := range p.Value {
				s += v
			}
			pts[pi].Y = []float64{s / float64(len(p.Value))}
		}
	}
	return pts, nil
}
