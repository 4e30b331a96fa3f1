package learn

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	"github.com/vdsproject/vds/libs/frame"
)

// onnxCase is one model exported for ONNX Runtime and the rows it is scored on.
type onnxCase struct {
	name    string
	data    string
	target  string
	algos   []string
	exclude []string
	times   []string // text columns parsed as UTC datetimes
}

// withTimes turns text columns holding "2006-01-02 15:04:05" or "2006-01-02" into datetime columns.
func withTimes(t *testing.T, f *frame.Frame, cols []string) *frame.Frame {
	for _, name := range cols {
		c := f.Col(name)
		if c == nil || c.Kind != frame.String {
			t.Fatalf("no text column %q", name)
		}
		c.Kind, c.ArrowType, c.F = frame.Time, "timestamp[s]", make([]float64, len(c.S))
		for i, s := range c.S {
			if c.Null[i] {
				c.F[i] = math.NaN()
				continue
			}
			layout := "2006-01-02 15:04:05"
			if len(s) == 10 {
				layout = "2006-01-02"
			}
			tm, err := time.Parse(layout, s)
			if err != nil {
				t.Fatalf("%s row %d: %v", name, i, err)
			}
			c.F[i] = float64(tm.Unix())
		}
		c.S = nil
	}
	return f
}

type onnxTensor struct {
	Dims []int `json:"dims"`
	Data []any `json:"data"`
}

// onnxFixture writes the model and its inputs (the frame's columns the model reads) for score.mjs.
func onnxFixture(t *testing.T, dir, name string, m *Model, f *frame.Frame) {
	t.Helper()
	b, err := m.ExportONNX()
	if err != nil {
		t.Fatalf("%s: export: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".onnx"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	type input struct {
		Name   string `json:"name"`
		Text   bool   `json:"text"`
		Time   bool   `json:"time"`
		Values []any  `json:"values"`
	}
	var ins []input
	for _, in := range m.ONNXInputs() {
		c := f.Col(in.Name)
		vals := make([]any, f.Rows)
		for i := range vals {
			if in.Text {
				s, ok := strAt(c, i)
				if ok {
					vals[i] = s
				} else {
					vals[i] = ""
				}
				continue
			}
			if v := numAt(c, i); !math.IsNaN(v) {
				vals[i] = v
			}
		}
		ins = append(ins, input{Name: in.Name, Text: in.Text, Time: in.Time, Values: vals})
	}
	js, err := json.Marshal(map[string]any{"inputs": ins})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
}

// onnxScorer returns the directory of tests/onnx with its node_modules, or skips the test
// (outside CI only) when node or the package is missing.
func onnxScorer(t *testing.T) string {
	dir := filepath.Join(repoRoot(t), "tests", "onnx")
	_, nodeErr := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", "onnxruntime-node"))
	if nodeErr != nil || modErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the ONNX check needs node and tests/onnx/node_modules in CI (npm ci in tests/onnx): %v %v", nodeErr, modErr)
		}
		t.Skipf("SKIP: node or tests/onnx/node_modules missing (cd tests/onnx && npm ci): %v %v", nodeErr, modErr)
	}
	return dir
}

// TestONNXExportMatchesVDS trains a model of every exportable kind on real data with missing values
// and text columns, exports each to ONNX, scores the same rows in ONNX Runtime (the npm package
// onnxruntime-node, through tests/onnx/score.mjs) and compares with vds's own predictions.
func TestONNXExportMatchesVDS(t *testing.T) {
	scorer := onnxScorer(t)
	cases := []onnxCase{
		{"gbdt_binary_titanic", "tabular/titanic.csv", "survived", []string{AlgoGBDT}, []string{"alive"}, nil},
		{"gbdt_multiclass_penguins", "tabular/penguins.csv", "species", []string{AlgoGBDT}, nil, nil},
		{"gbdt_regression_mpg", "tabular/mpg.csv", "mpg", []string{AlgoGBDT}, nil, nil},
		{"forest_binary_titanic", "tabular/titanic.csv", "survived", []string{AlgoRandomForest}, []string{"alive"}, nil},
		{"forest_multiclass_iris", "tabular/iris.csv", "species", []string{AlgoRandomForest}, nil, nil},
		{"extra_trees_regression_mpg", "tabular/mpg.csv", "mpg", []string{AlgoExtraTrees}, nil, nil},
		{"logistic_binary_titanic", "tabular/titanic.csv", "survived", []string{AlgoLogistic}, []string{"alive"}, nil},
		{"logistic_multiclass_penguins", "tabular/penguins.csv", "species", []string{AlgoLogistic}, nil, nil},
		{"ridge_regression_mpg", "tabular/mpg.csv", "mpg", []string{AlgoRidge}, nil, nil},
		{"naive_bayes_binary_titanic", "tabular/titanic.csv", "survived", []string{AlgoNaiveBayes}, []string{"alive"}, nil},
		{"naive_bayes_multiclass_iris", "tabular/iris.csv", "species", []string{AlgoNaiveBayes}, nil, nil},
		// datetime parts (hours, weekdays, calendar dates; dates before 1970 in dowjones)
		{"gbdt_regression_taxis", "tabular/taxis.csv", "fare", []string{AlgoGBDT}, []string{"total", "tip", "tolls"}, []string{"pickup", "dropoff"}},
		{"logistic_binary_taxis", "tabular/taxis.csv", "color", []string{AlgoLogistic}, nil, []string{"pickup", "dropoff"}},
		{"ridge_regression_dowjones", "tabular/dowjones.csv", "Price", []string{AlgoRidge}, nil, []string{"Date"}},
		{"naive_bayes_binary_taxis", "tabular/taxis.csv", "color", []string{AlgoNaiveBayes}, nil, []string{"pickup", "dropoff"}},
	}
	dir := t.TempDir()
	models := map[string]*Model{}
	frames := map[string]*frame.Frame{}
	for _, c := range cases {
		f := withTimes(t, shared(t, c.data), c.times)
		r, err := AutoML(context.Background(), f, Options{Target: c.target, Budget: 2 * time.Second, Seed: 1, Algorithms: c.algos, Exclude: c.exclude, Folds: 3})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if r.Best.Algorithm() != c.algos[0] {
			t.Fatalf("%s: best model is %s", c.name, r.Best.Algorithm())
		}
		// scored: the training rows plus one with every input missing and one with unseen text values
		f = withOddRows(f, c.target)
		models[c.name], frames[c.name] = r.Best, f
		onnxFixture(t, dir, c.name, r.Best, f)
	}
	// greedy ensembles (weighted means of members with their own preprocessing)
	for _, e := range []struct {
		name string
		of   []string
		w    []float64
	}{
		{"ensemble_binary_titanic", []string{"logistic_binary_titanic", "gbdt_binary_titanic", "forest_binary_titanic"}, []float64{0.25, 0.5, 0.25}},
		{"ensemble_multiclass_penguins", []string{"gbdt_multiclass_penguins", "logistic_multiclass_penguins"}, []float64{0.7, 0.3}},
		{"ensemble_regression_mpg", []string{"ridge_regression_mpg", "gbdt_regression_mpg", "extra_trees_regression_mpg"}, []float64{0.2, 0.5, 0.3}},
	} {
		first := models[e.of[0]].Proto()
		ens := &mlv1.Ensemble{Weights: e.w}
		for _, n := range e.of {
			ens.Members = append(ens.Members, models[n].Proto())
		}
		pb := &mlv1.ModelArtifact{FormatVersion: formatVersion, Algorithm: AlgoEnsemble, Task: first.Task, Target: first.Target,
			Classes: first.Classes, PositiveClass: first.PositiveClass, Preprocessing: first.Preprocessing,
			Learner: &mlv1.ModelArtifact_Ensemble{Ensemble: ens}}
		m, err := FromProto(pb)
		if err != nil {
			t.Fatalf("%s: %v", e.name, err)
		}
		cases = append(cases, onnxCase{name: e.name})
		models[e.name], frames[e.name] = m, frames[e.of[0]]
		onnxFixture(t, dir, e.name, m, frames[e.of[0]])
	}
	// the exported preprocessing covers every encoding vds uses for these data
	seen := map[string]bool{}
	for _, m := range models {
		for _, ct := range m.pb.GetPreprocessing().GetColumns() {
			seen[ct.Encoding.String()] = true
			for k, on := range map[string]bool{"impute": ct.Impute, "missing indicator": ct.MissingIndicator, "missing level": ct.MissingLevel, "other level": ct.OtherLevel} {
				seen[k] = seen[k] || on
			}
		}
		seen["scaler"] = seen["scaler"] || len(m.pb.GetPreprocessing().GetScaleMean()) > 0
	}
	for _, k := range []string{"FEATURE_ENCODING_NUMERIC", "FEATURE_ENCODING_ONE_HOT", "FEATURE_ENCODING_ONE_HOT_FREQUENCY", "FEATURE_ENCODING_DATETIME", "impute", "missing indicator", "missing level", "other level", "scaler"} {
		if !seen[k] {
			t.Errorf("no exported model uses %s", k)
		}
	}
	cmd := exec.Command("node", filepath.Join(scorer, "score.mjs"), dir)
	cmd.Dir = scorer
	out, err := cmd.CombinedOutput()
	t.Logf("score.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("score.mjs: %v", err)
	}
	for _, c := range cases {
		m, f := models[c.name], frames[c.name]
		want, err := m.Predict(f)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(filepath.Join(dir, c.name+".out.json"))
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]onnxTensor
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatal(err)
		}
		maxDiff, labelDiff := 0.0, 0
		if m.Task() == TaskRegression {
			v := got[ONNXOutputValue]
			if len(v.Dims) != 2 || v.Dims[0] != f.Rows || v.Dims[1] != 1 {
				t.Fatalf("%s: value dims %v, want [%d 1]", c.name, v.Dims, f.Rows)
			}
			for i, w := range want.Value {
				g := v.Data[i].(float64)
				// relative to the target's scale: float32 carries about 7 digits
				maxDiff = math.Max(maxDiff, math.Abs(g-w)/math.Max(1, math.Abs(w)))
			}
		} else {
			p, l := got[ONNXOutputProbabilities], got[ONNXOutputLabel]
			k := len(m.Classes())
			if len(p.Dims) != 2 || p.Dims[0] != f.Rows || p.Dims[1] != k || len(l.Data) != f.Rows {
				t.Fatalf("%s: probabilities dims %v, labels %d, want [%d %d]", c.name, p.Dims, len(l.Data), f.Rows, k)
			}
			for i := 0; i < f.Rows; i++ {
				for o := 0; o < k; o++ {
					maxDiff = math.Max(maxDiff, math.Abs(p.Data[i*k+o].(float64)-want.Proba[i][o]))
				}
				if l.Data[i].(string) != want.Label[i] {
					// only a row on a decision boundary may differ
					if pr := want.Proba[i]; !nearTie(pr, 1e-5) {
						labelDiff++
						t.Errorf("%s row %d: ONNX label %q, vds %q (vds probabilities %v)", c.name, i, l.Data[i], want.Label[i], pr)
					}
				}
			}
		}
		t.Logf("%-30s %-20s rows %d, max |ONNX - vds| %.2g", c.name, m.Algorithm(), f.Rows, maxDiff)
		if maxDiff > 1e-5 || math.IsNaN(maxDiff) {
			t.Errorf("%s: ONNX predictions differ from vds's by %.3g (> 1e-5)", c.name, maxDiff)
		}
		if labelDiff > 0 {
			t.Errorf("%s: %d labels differ", c.name, labelDiff)
		}
	}
}

// nearTie reports whether the two largest probabilities are within eps.
func nearTie(p []float64, eps float64) bool {
	a, b := math.Inf(-1), math.Inf(-1)
	for _, v := range p {
		if v > a {
			a, b = v, a
		} else if v > b {
			b = v
		}
	}
	return a-b < eps
}

// withOddRows appends two rows: one with every column missing, one with unseen text values.
func withOddRows(f *frame.Frame, target string) *frame.Frame {
	out := &frame.Frame{Rows: f.Rows + 2}
	for _, c := range f.Columns {
		nc := *c
		nc.Null = append(append([]bool(nil), c.Null...), true, c.Name == target)
		switch c.Kind {
		case frame.String:
			nc.S = append(append([]string(nil), c.S...), "", "never-seen-level")
			if c.Name == target {
				nc.S[len(nc.S)-1] = ""
			}
		default:
			nc.F = append(append([]float64(nil), c.F...), math.NaN(), c.F[0])
			if c.Name == target {
				nc.F[len(nc.F)-1] = math.NaN()
			}
		}
		out.Columns = append(out.Columns, &nc)
	}
	return out
}

// TestONNXExportRefusals: learners and encodings with no ONNX form are refused with
// ErrONNXUnsupported, not written half-way.
func TestONNXExportRefusals(t *testing.T) {
	f := shared(t, "tabular/iris.csv")
	r, err := AutoML(context.Background(), f, Options{Target: "species", Budget: time.Second, Seed: 1, Algorithms: []string{AlgoKNN}, Folds: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Best.ExportONNX(); !errors.Is(err, ErrONNXUnsupported) {
		t.Fatalf("k-NN export: %v, want ErrONNXUnsupported", err)
	}
	pb := r.Best.Proto()
	pb.Learner = &mlv1.ModelArtifact_Trees{Trees: &mlv1.TreeEnsemble{Outputs: 3, BaseScores: make([]float64, 3), Trees: []*mlv1.Tree{{
		Feature: []int32{0, -1, -1}, Threshold: []float64{0, 0, 0}, Left: []int32{1, 0, 0}, Right: []int32{2, 0, 0}, Value: []float64{0, 1, 2},
		DefaultLeft: []bool{false, false, false}, CategorySplits: []*mlv1.CategorySplit{{Node: 0, LeftValues: []float64{1, 3}}}}}}}
	if _, err := FromProto(pb); err != nil {
		t.Fatal(err)
	}
	if _, err := (&Model{pb: pb}).ExportONNX(); !errors.Is(err, ErrONNXUnsupported) {
		t.Fatalf("category-set split export: %v, want ErrONNXUnsupported", err)
	}
}
