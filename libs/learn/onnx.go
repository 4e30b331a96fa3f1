package learn

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
)

// ErrONNXUnsupported wraps the reasons a model cannot be written as ONNX (a learner or an
// encoding with no ONNX equivalent here).
var ErrONNXUnsupported = errors.New("cannot be exported to ONNX")

// ONNX output names.
const (
	ONNXOutputLabel         = "label"
	ONNXOutputProbabilities = "probabilities"
	ONNXOutputValue         = "value"
)

// ONNXInput is one input of an exported model: a [N,1] tensor named after the column, float for
// numeric and boolean columns, string for text columns, double (seconds since 1970-01-01 UTC) for
// datetime columns.
type ONNXInput struct {
	Name string
	Text bool
	Time bool
}

// ONNXInputs lists the inputs ExportONNX gives the model, in order.
func (m *Model) ONNXInputs() []ONNXInput {
	var out []ONNXInput
	seen := map[string]bool{}
	add := func(pb *mlv1.ModelArtifact) {
		for _, ct := range pb.GetPreprocessing().GetColumns() {
			if !seen[ct.Column] {
				seen[ct.Column] = true
				out = append(out, ONNXInput{Name: ct.Column, Text: onnxTextInput(ct), Time: ct.GetEncoding() == mlv1.FeatureEncoding_FEATURE_ENCODING_DATETIME})
			}
		}
	}
	if e, ok := m.pb.GetLearner().(*mlv1.ModelArtifact_Ensemble); ok {
		for _, mem := range e.Ensemble.GetMembers() {
			add(mem)
		}
	} else {
		add(m.pb)
	}
	return out
}

func onnxTextInput(ct *mlv1.ColumnTransform) bool {
	switch ct.GetEncoding() {
	case mlv1.FeatureEncoding_FEATURE_ENCODING_ONE_HOT, mlv1.FeatureEncoding_FEATURE_ENCODING_ONE_HOT_FREQUENCY:
		return true
	}
	return false
}

// ExportONNX writes the model, preprocessing included, as an ONNX ModelProto (IR 8, opset 17 and
// ai.onnx.ml 3) that any ONNX runtime with the ai.onnx.ml operators can score.
//
// Inputs: one [N,1] tensor per input column (see ONNXInputs): float for numeric columns with NaN
// for a missing value, string for text columns with "" for a missing value, double seconds since
// 1970-01-01 UTC for datetime columns (NaN for missing). Outputs: regression models give "value"
// [N,1] float; classifiers give "label" [N] string and "probabilities" [N,K] float in the order of
// Classes.
//
// Preprocessing maps to Imputer (median imputation), IsNaN+Cast (missing indicators),
// OneHotEncoder (levels, with "" as an extra category for missing; "other" is 1 minus the sum),
// LabelEncoder (level frequencies), Scaler (standardization) and, for datetime parts, double
// arithmetic (Floor/Div/Mul/Sub and a days-to-civil calendar). Tree ensembles become a
// TreeEnsembleRegressor on a double feature vector with double thresholds (missing values follow
// each node's default direction through nodes_missing_value_tracks_true; thresholds of features
// that come from float32 inputs are rounded to float32 so a value equal to a threshold still goes
// left), linear models a LinearRegressor (MatMul in double when datetime parts are features),
// Gaussian naive Bayes standard arithmetic on the differences to the class means; Sigmoid or
// Softmax then make the probabilities exactly as vds does. A greedy ensemble becomes its members'
// subgraphs and their weighted mean. Float inputs and float32 arithmetic make scores agree with
// vds's to about 1e-6 relative. k-NN models and category-set splits are not exported.
func (m *Model) ExportONNX() ([]byte, error) {
	g := &onnxGraph{taken: map[string]bool{}}
	task := m.Task()
	outNames := []string{ONNXOutputValue}
	if task != TaskRegression {
		outNames = []string{ONNXOutputLabel, ONNXOutputProbabilities}
	}
	inputs := m.ONNXInputs()
	for _, in := range inputs {
		for _, o := range outNames {
			if in.Name == o {
				return nil, fmt.Errorf("learn: input column %q has the name of an ONNX output: %w", in.Name, ErrONNXUnsupported)
			}
		}
		if in.Name == "" {
			return nil, fmt.Errorf("learn: a column without a name: %w", ErrONNXUnsupported)
		}
		g.taken[in.Name] = true
		elem := onnxFloat
		if in.Text {
			elem = onnxString
		} else if in.Time {
			elem = onnxDouble
		}
		g.inputs = append(g.inputs, valueInfo(in.Name, elem, -1, 1))
	}
	for _, o := range outNames {
		g.taken[o] = true
	}
	// Every column must have the same input type in every member.
	kinds := map[string]ONNXInput{}
	for _, in := range inputs {
		kinds[in.Name] = in
	}

	k := len(m.pb.GetClasses())
	var pred string // regression value [N,1], binary P(positive) [N,1], multiclass probabilities [N,K]
	if e, ok := m.pb.GetLearner().(*mlv1.ModelArtifact_Ensemble); ok {
		var sum string
		for i, mem := range e.Ensemble.GetMembers() {
			p, err := onnxMember(g, mem, kinds)
			if err != nil {
				return nil, fmt.Errorf("ensemble member %d (%s): %w", i, mem.GetAlgorithm(), err)
			}
			w := g.constFloats(nil, []float64{e.Ensemble.Weights[i]})
			wp := g.op("Mul", "", []string{p, w})
			if sum == "" {
				sum = wp
			} else {
				sum = g.op("Add", "", []string{sum, wp})
			}
		}
		// vds turns the averaged probabilities back into scores with a floor of 1e-6
		switch task {
		case TaskRegression:
			pred = sum
		case TaskBinary:
			pred = g.op("Clip", "", []string{sum, g.constFloats(nil, []float64{onnxProbFloor}), g.constFloats(nil, []float64{1 - onnxProbFloor})})
		default:
			pred = onnxNormalizedProbabilities(g, sum)
		}
	} else {
		p, err := onnxMember(g, m.pb, kinds)
		if err != nil {
			return nil, err
		}
		pred = p
	}

	switch task {
	case TaskRegression:
		g.node("Identity", "", []string{pred}, []string{ONNXOutputValue})
		g.outputs = append(g.outputs, valueInfo(ONNXOutputValue, onnxFloat, -1, 1))
	default:
		probs := pred
		last := int64(0)
		if task == TaskBinary {
			q := g.op("Sub", "", []string{g.constFloats(nil, []float64{1}), pred})
			probs = g.op("Concat", "", []string{q, pred}, aInt("axis", 1))
			last = 1 // vds predicts the positive class at p = 0.5
		}
		g.node("Identity", "", []string{probs}, []string{ONNXOutputProbabilities})
		am := g.op("ArgMax", "", []string{probs}, aInt("axis", 1), aInt("keepdims", 0), aInt("select_last_index", last))
		keys := make([]int64, k)
		for i := range keys {
			keys[i] = int64(i)
		}
		g.node("LabelEncoder", onnxML, []string{am}, []string{ONNXOutputLabel},
			aInts("keys_int64s", keys), aStrings("values_strings", m.pb.GetClasses()), aString("default_string", ""))
		g.outputs = append(g.outputs, valueInfo(ONNXOutputLabel, onnxString, -1), valueInfo(ONNXOutputProbabilities, onnxFloat, -1, int64(k)))
	}

	classes, _ := json.Marshal(m.pb.GetClasses())
	var ins []string
	for _, in := range inputs {
		t := "float"
		if in.Text {
			t = "string"
		} else if in.Time {
			t = "double"
		}
		ins = append(ins, in.Name+":"+t)
	}
	meta := map[string]string{
		"vds.algorithm": m.pb.GetAlgorithm(),
		"vds.config":    m.pb.GetConfig(),
		"vds.task":      task.String(),
		"vds.target":    m.pb.GetTarget(),
		"vds.classes":   string(classes),
		"vds.inputs":    strings.Join(ins, ","),
	}
	order := []string{"vds.algorithm", "vds.config", "vds.task", "vds.target", "vds.classes", "vds.inputs"}
	doc := "vds " + m.pb.GetAlgorithm() + " model for " + m.pb.GetTarget() + " (" + task.String() + "). " +
		"Inputs: one [N,1] tensor per column, float (NaN = missing), string (\"\" = missing) or, for datetimes, double seconds since 1970-01-01 UTC (NaN = missing)."
	return g.model("vds_"+m.pb.GetAlgorithm(), doc, meta, order), nil
}

// onnxProbFloor is the probability floor vds applies before turning averaged probabilities into scores.
const onnxProbFloor = 1e-6

// onnxNormalizedProbabilities is softmax(log(max(p, 1e-6))), as vds scores averaged probabilities.
func onnxNormalizedProbabilities(g *onnxGraph, p string) string {
	mx := g.op("Max", "", []string{p, g.constFloats(nil, []float64{onnxProbFloor})})
	return g.op("Softmax", "", []string{g.op("Log", "", []string{mx})}, aInt("axis", 1))
}

// onnxMember adds the preprocessing and learner of one (non-ensemble) artifact and returns its
// prediction: the value (regression), P(positive) [N,1] (binary) or the probabilities (multiclass).
func onnxMember(g *onnxGraph, pb *mlv1.ModelArtifact, kinds map[string]ONNXInput) (string, error) {
	pp := pb.GetPreprocessing()
	_, trees := pb.GetLearner().(*mlv1.ModelArtifact_Trees)
	_, linear := pb.GetLearner().(*mlv1.ModelArtifact_Linear)
	sm, ss := pp.GetScaleMean(), pp.GetScaleStd()
	scaled := len(sm) == len(pp.GetFeatureNames()) && len(sm) > 0
	// parts are the feature blocks in order; exact marks features computed in double precision
	// (datetime parts) rather than from a float32 input, and prescaled those already standardized.
	var parts []string
	var starts []int
	var exact, prescaled []bool
	add := func(v string, width int, dbl bool) {
		parts = append(parts, v)
		starts = append(starts, len(exact))
		for i := 0; i < width; i++ {
			exact = append(exact, dbl)
			prescaled = append(prescaled, dbl && !trees && !linear && scaled)
		}
	}
	for _, ct := range pp.GetColumns() {
		if k := kinds[ct.Column]; k.Text != onnxTextInput(ct) || k.Time != (ct.GetEncoding() == mlv1.FeatureEncoding_FEATURE_ENCODING_DATETIME) {
			return "", fmt.Errorf("learn: column %q has another type in one ensemble member than in another: %w", ct.Column, ErrONNXUnsupported)
		}
		in := ct.Column
		switch ct.GetEncoding() {
		case mlv1.FeatureEncoding_FEATURE_ENCODING_NUMERIC:
			x := in
			if ct.GetImpute() {
				x = g.op("Imputer", onnxML, []string{in}, aFloats("imputed_value_floats", []float64{ct.GetImputeValue()}),
					aFloat("replaced_value_float", float32(math.NaN())))
			}
			add(x, 1, false)
			if ct.GetMissingIndicator() {
				add(g.op("Cast", "", []string{g.op("IsNaN", "", []string{in})}, aInt("to", onnxFloat)), 1, false)
			}
		case mlv1.FeatureEncoding_FEATURE_ENCODING_ONE_HOT, mlv1.FeatureEncoding_FEATURE_ENCODING_ONE_HOT_FREQUENCY:
			levels := ct.GetLevels()
			nl := int64(len(levels))
			for _, l := range levels {
				if l == "" {
					return "", fmt.Errorf("learn: column %q has an empty level: %w", ct.Column, ErrONNXUnsupported)
				}
			}
			// The empty string (missing) is one more category, so a missing value is never "other".
			cats := append(append([]string(nil), levels...), "")
			oh := g.op("OneHotEncoder", onnxML, []string{in}, aStrings("cats_strings", cats), aInt("zeros", 1))
			oh = g.op("Flatten", "", []string{oh}, aInt("axis", 1)) // [N, levels+1]
			slice := func(from, to int64) string {
				return g.op("Slice", "", []string{oh, g.constInts([]int64{1}, []int64{from}), g.constInts([]int64{1}, []int64{to}), g.constInts([]int64{1}, []int64{1})})
			}
			if nl > 0 {
				add(slice(0, nl), int(nl), false)
			}
			if ct.GetOtherLevel() {
				sum := g.op("ReduceSum", "", []string{oh, g.constInts([]int64{1}, []int64{1})}, aInt("keepdims", 1))
				add(g.op("Sub", "", []string{g.constFloats(nil, []float64{1}), sum}), 1, false)
			}
			if ct.GetMissingLevel() {
				add(slice(nl, nl+1), 1, false)
			}
			if ct.GetEncoding() == mlv1.FeatureEncoding_FEATURE_ENCODING_ONE_HOT_FREQUENCY {
				add(g.op("LabelEncoder", onnxML, []string{in}, aStrings("keys_strings", ct.GetFrequencyLevels()),
					aFloats("values_floats", ct.GetFrequencyValues()), aFloat("default_float", float32(ct.GetFrequencyDefault()))), 1, false)
			}
		case mlv1.FeatureEncoding_FEATURE_ENCODING_DATETIME:
			for k, part := range ct.GetParts() {
				v, err := onnxDatePart(g, in, part)
				if err != nil {
					return "", fmt.Errorf("learn: column %q: %w", ct.Column, err)
				}
				// in double: epoch days and years do not fit float32's 24 bits of mantissa
				if ct.GetImpute() {
					v = g.op("Where", "", []string{g.op("IsNaN", "", []string{v}), g.constDoubles(nil, []float64{ct.GetPartImputeValues()[k]}), v})
				}
				if trees || linear { // these read datetime parts in double (below)
					add(v, 1, true)
					continue
				}
				if scaled {
					j := len(exact)
					v = g.op("Div", "", []string{g.op("Sub", "", []string{v, g.constDoubles(nil, []float64{sm[j]})}), g.constDoubles(nil, []float64{ss[j]})})
				}
				add(g.op("Cast", "", []string{v}, aInt("to", onnxFloat)), 1, true)
			}
			if ct.GetMissingIndicator() {
				add(g.op("Cast", "", []string{g.op("IsNaN", "", []string{in})}, aInt("to", onnxFloat)), 1, false)
			}
		default:
			return "", fmt.Errorf("learn: column %q uses the %v encoding: %w", ct.Column, ct.GetEncoding(), ErrONNXUnsupported)
		}
	}
	p := len(pp.GetFeatureNames())
	if p == 0 || len(parts) == 0 || len(exact) != p {
		return "", fmt.Errorf("learn: the model reads no features or its preprocessing does not match them: %w", ErrONNXUnsupported)
	}
	anyExact := false
	for _, e := range exact {
		anyExact = anyExact || e
	}
	if linear && anyExact {
		// A linear model over datetime parts runs in double throughout (Sub/Div scaling, MatMul):
		// correlated parts such as year and epoch days get large coefficients of opposite signs,
		// whose sum loses digits in float32.
		for i, v := range parts {
			if !exact[starts[i]] {
				parts[i] = g.op("Cast", "", []string{v}, aInt("to", onnxDouble))
			}
		}
		x := g.op("Concat", "", parts, aInt("axis", 1))
		if scaled {
			x = g.op("Div", "", []string{g.op("Sub", "", []string{x, g.constDoubles([]int64{1, int64(p)}, sm)}), g.constDoubles([]int64{1, int64(p)}, ss)})
		}
		lm := pb.GetLinear()
		k := int(lm.GetOutputs())
		wt := make([]float64, p*k) // [P, K]
		for o := 0; o < k; o++ {
			for j := 0; j < p; j++ {
				wt[j*k+o] = lm.Coefficients[o*p+j]
			}
		}
		sc := g.op("Add", "", []string{g.op("MatMul", "", []string{x, g.constDoubles([]int64{int64(p), int64(k)}, wt)}), g.constDoubles([]int64{1, int64(k)}, lm.GetIntercepts())})
		return onnxLink(g, taskFromProto(pb.GetTask()), g.op("Cast", "", []string{sc}, aInt("to", onnxFloat)), false), nil
	}
	if trees {
		// trees read a double feature vector so datetime parts keep their precision; float32
		// inputs are widened exactly, and their thresholds are rounded to float32 (below) so that
		// a value equal to a threshold still goes left
		for i, v := range parts {
			if !exact[starts[i]] {
				parts[i] = g.op("Cast", "", []string{v}, aInt("to", onnxDouble))
			}
		}
	}
	x := g.op("Concat", "", parts, aInt("axis", 1))
	if scaled {
		off, inv := make([]float64, p), make([]float64, p)
		for j := range off {
			off[j], inv[j] = sm[j], 1/ss[j]
			if prescaled[j] {
				off[j], inv[j] = 0, 1
			}
		}
		x = g.op("Scaler", onnxML, []string{x}, aFloats("offset", off), aFloats("scale", inv))
	}

	task := taskFromProto(pb.GetTask())
	var scores string
	probability := false
	switch l := pb.GetLearner().(type) {
	case *mlv1.ModelArtifact_Linear:
		lm := l.Linear
		scores = g.op("LinearRegressor", onnxML, []string{x}, aFloats("coefficients", lm.GetCoefficients()),
			aFloats("intercepts", lm.GetIntercepts()), aInt("targets", int64(lm.GetOutputs())))
	case *mlv1.ModelArtifact_Trees:
		s, err := onnxTrees(g, x, l.Trees, exact)
		if err != nil {
			return "", err
		}
		scores = s
		probability = l.Trees.GetProbability() && task != TaskRegression
	case *mlv1.ModelArtifact_NaiveBayes:
		scores = onnxNaiveBayes(g, x, l.NaiveBayes)
		if task == TaskBinary {
			at := func(c int64) string {
				return g.op("Slice", "", []string{scores, g.constInts([]int64{1}, []int64{c}), g.constInts([]int64{1}, []int64{c + 1}), g.constInts([]int64{1}, []int64{1})})
			}
			scores = g.op("Sub", "", []string{at(1), at(0)}) // log-odds, as vds scores it
		}
	default:
		return "", fmt.Errorf("learn: %s models: %w", pb.GetAlgorithm(), ErrONNXUnsupported)
	}
	return onnxLink(g, task, scores, probability), nil
}

// onnxLink turns raw scores into the member's prediction: the value, P(positive) or the class
// probabilities; probability marks averaged class shares (forests) instead of scores.
func onnxLink(g *onnxGraph, task Task, scores string, probability bool) string {
	switch task {
	case TaskRegression:
		return scores
	case TaskBinary:
		if probability {
			return g.op("Clip", "", []string{scores, g.constFloats(nil, []float64{onnxProbFloor}), g.constFloats(nil, []float64{1 - onnxProbFloor})})
		}
		return g.op("Sigmoid", "", []string{scores})
	}
	if probability {
		return onnxNormalizedProbabilities(g, scores)
	}
	return g.op("Softmax", "", []string{scores}, aInt("axis", 1))
}

// onnxTrees writes the ensemble as one TreeEnsembleRegressor with a target per output. Averaged
// ensembles have their leaf values divided by the number of trees of their output, and the sum is
// taken, because ONNX's AVERAGE divides by all trees.
func onnxTrees(g *onnxGraph, x string, ens *mlv1.TreeEnsemble, exact []bool) (string, error) {
	counts := make([]float64, ens.GetOutputs())
	for _, tr := range ens.GetTrees() {
		counts[tr.GetOutput()]++
	}
	var (
		treeIDs, nodeIDs, featIDs, trueIDs, falseIDs, missTrue []int64
		modes                                                  []string
		values                                                 []float64
		tTree, tNode, tTarget                                  []int64
		tWeight                                                []float64
	)
	for ti, tr := range ens.GetTrees() {
		if len(tr.GetCategorySplits()) > 0 {
			return "", fmt.Errorf("learn: tree %d has category-set splits: %w", ti, ErrONNXUnsupported)
		}
		scale := 1.0
		if ens.GetAverage() {
			scale = 1 / counts[tr.GetOutput()]
		}
		for i, f := range tr.GetFeature() {
			treeIDs = append(treeIDs, int64(ti))
			nodeIDs = append(nodeIDs, int64(i))
			if f < 0 {
				modes = append(modes, "LEAF")
				featIDs = append(featIDs, 0)
				values = append(values, 0)
				trueIDs = append(trueIDs, 0)
				falseIDs = append(falseIDs, 0)
				missTrue = append(missTrue, 0)
				tTree = append(tTree, int64(ti))
				tNode = append(tNode, int64(i))
				tTarget = append(tTarget, int64(tr.GetOutput()))
				tWeight = append(tWeight, tr.GetValue()[i]*scale)
				continue
			}
			modes = append(modes, "BRANCH_LEQ")
			featIDs = append(featIDs, int64(f))
			t := tr.GetThreshold()[i]
			if !exact[f] {
				t = float64(float32(t)) // the feature came from a float32 input
			}
			values = append(values, t)
			trueIDs = append(trueIDs, int64(tr.GetLeft()[i]))
			falseIDs = append(falseIDs, int64(tr.GetRight()[i]))
			mt := int64(0)
			if tr.GetDefaultLeft()[i] {
				mt = 1
			}
			missTrue = append(missTrue, mt)
		}
	}
	if len(treeIDs) == 0 {
		// no trees: the scores are the base scores
		zero := g.op("Cast", "", []string{g.op("Mul", "", []string{g.op("ReduceSum", "", []string{x, g.constInts([]int64{1}, []int64{1})}, aInt("keepdims", 1)), g.constDoubles(nil, []float64{0})})}, aInt("to", onnxFloat))
		return g.op("Add", "", []string{zero, g.constFloats([]int64{1, int64(len(ens.GetBaseScores()))}, ens.GetBaseScores())}), nil
	}
	// double input, thresholds, base values and leaf weights (ai.onnx.ml 3's *_as_tensor forms)
	return g.op("TreeEnsembleRegressor", onnxML, []string{x},
		aString("aggregate_function", "SUM"),
		aTensor("base_values_as_tensor", tensorDoubles("", []int64{int64(len(ens.GetBaseScores()))}, ens.GetBaseScores())),
		aInt("n_targets", int64(ens.GetOutputs())),
		aInts("nodes_treeids", treeIDs),
		aInts("nodes_nodeids", nodeIDs),
		aInts("nodes_featureids", featIDs),
		aStrings("nodes_modes", modes),
		aTensor("nodes_values_as_tensor", tensorDoubles("", []int64{int64(len(values))}, values)),
		aInts("nodes_truenodeids", trueIDs),
		aInts("nodes_falsenodeids", falseIDs),
		aInts("nodes_missing_value_tracks_true", missTrue),
		aString("post_transform", "NONE"),
		aInts("target_treeids", tTree),
		aInts("target_nodeids", tNode),
		aInts("target_ids", tTarget),
		aTensor("target_weights_as_tensor", tensorDoubles("", []int64{int64(len(tWeight))}, tWeight)),
	), nil
}

// onnxNaiveBayes returns the [N,K] class scores log prior + sum_j log N(x_j; mean, variance) of
// Gaussian naive Bayes, computed from the differences to the class means (no expanded quadratic,
// which would lose digits in float32): x [N,P] is broadcast against the [K,P] means.
func onnxNaiveBayes(g *onnxGraph, x string, nb *mlv1.NaiveBayes) string {
	k, p := len(nb.GetLogPrior()), int(nb.GetFeatures())
	w := make([]float64, k*p)
	a := make([]float64, k)
	for c := 0; c < k; c++ {
		a[c] = nb.LogPrior[c]
		for j := 0; j < p; j++ {
			v := nb.Variance[c*p+j]
			w[c*p+j] = -1 / (2 * v)
			a[c] += -0.5 * math.Log(2*math.Pi*v)
		}
	}
	x3 := g.op("Unsqueeze", "", []string{x, g.constInts([]int64{1}, []int64{1})}) // [N,1,P]
	d := g.op("Sub", "", []string{x3, g.constFloats([]int64{int64(k), int64(p)}, nb.GetMean())})
	q := g.op("Mul", "", []string{g.op("Mul", "", []string{d, d}), g.constFloats([]int64{int64(k), int64(p)}, w)})
	sum := g.op("ReduceSum", "", []string{q, g.constInts([]int64{1}, []int64{2})}, aInt("keepdims", 0)) // [N,K]
	return g.op("Add", "", []string{sum, g.constFloats([]int64{1, int64(k)}, a)})
}

// onnxDatePart computes one UTC datetime part from seconds since the epoch (double [N,1]) in
// double precision, as datePart does: whole days by floor division, the calendar date by the
// days-to-civil algorithm (era of 400 years, day of era, year of era, March-based month), so dates
// before 1970 are right too. A missing (NaN) time gives NaN.
func onnxDatePart(g *onnxGraph, sec string, part mlv1.DatetimePart) (string, error) {
	c := func(v float64) string { return g.constDoubles(nil, []float64{v}) }
	bin := func(op, a, b string) string { return g.op(op, "", []string{a, b}) }
	floorDiv := func(a string, d float64) string { return g.op("Floor", "", []string{bin("Div", a, c(d))}) }
	whole := g.op("Floor", "", []string{sec})
	days := floorDiv(whole, 86400)
	switch part {
	case mlv1.DatetimePart_DATETIME_PART_EPOCH_DAYS:
		return bin("Div", sec, c(86400)), nil
	case mlv1.DatetimePart_DATETIME_PART_HOUR:
		sod := bin("Sub", whole, bin("Mul", days, c(86400)))
		h := floorDiv(sod, 3600)
		mins := floorDiv(bin("Sub", sod, bin("Mul", h, c(3600))), 60)
		return bin("Add", h, bin("Div", mins, c(60))), nil
	case mlv1.DatetimePart_DATETIME_PART_WEEKDAY:
		d4 := bin("Add", days, c(4)) // 1970-01-01 was a Thursday; Sunday is 0
		return bin("Sub", d4, bin("Mul", floorDiv(d4, 7), c(7))), nil
	case mlv1.DatetimePart_DATETIME_PART_YEAR, mlv1.DatetimePart_DATETIME_PART_MONTH, mlv1.DatetimePart_DATETIME_PART_DAY:
	default:
		return "", fmt.Errorf("datetime part %v: %w", part, ErrONNXUnsupported)
	}
	z := bin("Add", days, c(719468)) // days since 0000-03-01
	era := floorDiv(z, 146097)
	doe := bin("Sub", z, bin("Mul", era, c(146097)))
	yoeNum := bin("Sub", bin("Add", bin("Sub", doe, floorDiv(doe, 1460)), floorDiv(doe, 36524)), floorDiv(doe, 146096))
	yoe := floorDiv(yoeNum, 365)
	doy := bin("Sub", doe, bin("Sub", bin("Add", bin("Mul", yoe, c(365)), floorDiv(yoe, 4)), floorDiv(yoe, 100)))
	mp := floorDiv(bin("Add", bin("Mul", doy, c(5)), c(2)), 153)
	if part == mlv1.DatetimePart_DATETIME_PART_DAY {
		return bin("Add", bin("Sub", doy, floorDiv(bin("Add", bin("Mul", mp, c(153)), c(2)), 5)), c(1)), nil
	}
	late := g.op("Cast", "", []string{bin("Greater", mp, c(9.5))}, aInt("to", onnxDouble))
	month := bin("Sub", bin("Add", mp, c(3)), bin("Mul", late, c(12)))
	if part == mlv1.DatetimePart_DATETIME_PART_MONTH {
		return month, nil
	}
	early := g.op("Cast", "", []string{bin("Less", month, c(2.5))}, aInt("to", onnxDouble))
	year := bin("Add", bin("Add", yoe, bin("Mul", era, c(400))), early)
	return year, nil
}
