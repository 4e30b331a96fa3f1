package learn

import (
	"context"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	"github.com/vdsproject/vds/libs/frame"
)

// formatVersion is the ModelArtifact format written by Marshal.
const formatVersion = 1

// Model is a fitted pipeline: preprocessing plus one learner. It is safe for concurrent Predict calls.
type Model struct {
	pb *mlv1.ModelArtifact
}

// Predictions are a model's outputs for the rows of a frame.
type Predictions struct {
	Task    Task
	Classes []string
	// Label is the predicted class per row (classification).
	Label []string
	// Proba is the probability per row and class, classes in Classes order (classification).
	Proba [][]float64
	// Value is the prediction per row (regression) or the positive-class probability (binary).
	Value []float64
}

// Algorithm names the learner, e.g. "logistic_regression" or "gbdt".
func (m *Model) Algorithm() string { return m.pb.GetAlgorithm() }

// Config describes the learner's hyperparameters.
func (m *Model) Config() string { return m.pb.GetConfig() }

// Task is the model's task.
func (m *Model) Task() Task { return taskFromProto(m.pb.GetTask()) }

// Target is the name of the target column the model predicts.
func (m *Model) Target() string { return m.pb.GetTarget() }

// Classes lists the class labels in probability order (binary: negative, then positive).
func (m *Model) Classes() []string { return append([]string(nil), m.pb.GetClasses()...) }

// PositiveClass is the positive class of a binary model ("" otherwise).
func (m *Model) PositiveClass() string { return m.pb.GetPositiveClass() }

// Features lists the input columns the model reads, in order.
func (m *Model) Features() []string {
	var out []string
	for _, c := range m.pb.GetPreprocessing().GetColumns() {
		out = append(out, c.GetColumn())
	}
	return out
}

// FeatureNames lists the derived numeric features the learner sees (e.g. "Contract=Two year").
func (m *Model) FeatureNames() []string {
	return append([]string(nil), m.pb.GetPreprocessing().GetFeatureNames()...)
}

// Proto returns a copy of the model's data-only form.
func (m *Model) Proto() *mlv1.ModelArtifact { return proto.Clone(m.pb).(*mlv1.ModelArtifact) }

// Marshal serializes the model as a vds.ml.v1.ModelArtifact protobuf message.
func (m *Model) Marshal() ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(m.pb)
}

// Unmarshal reads a model written by Marshal and checks that it is well formed.
func Unmarshal(b []byte) (*Model, error) {
	pb := &mlv1.ModelArtifact{}
	if err := proto.Unmarshal(b, pb); err != nil {
		return nil, fmt.Errorf("learn: model bytes are not a ModelArtifact: %w", err)
	}
	return FromProto(pb)
}

// FromProto wraps a ModelArtifact after validating it.
func FromProto(pb *mlv1.ModelArtifact) (*Model, error) {
	if err := validate(pb); err != nil {
		return nil, fmt.Errorf("learn: invalid model: %w", err)
	}
	return &Model{pb: pb}, nil
}

func validate(pb *mlv1.ModelArtifact) error {
	if pb.GetFormatVersion() != formatVersion {
		return fmt.Errorf("format version %d is not supported (want %d)", pb.GetFormatVersion(), formatVersion)
	}
	task := taskFromProto(pb.GetTask())
	if task == TaskAuto {
		return errors.New("task is unspecified")
	}
	pp := pb.GetPreprocessing()
	if pp == nil {
		return errors.New("preprocessing is missing")
	}
	p := len(pp.GetFeatureNames())
	width := 0
	for _, ct := range pp.GetColumns() {
		switch ct.GetEncoding() {
		case mlv1.FeatureEncoding_FEATURE_ENCODING_NUMERIC:
			width++
		case mlv1.FeatureEncoding_FEATURE_ENCODING_DATETIME:
			width += len(ct.GetParts())
			if len(ct.GetPartImputeValues()) != len(ct.GetParts()) {
				return fmt.Errorf("column %q: part impute values do not match parts", ct.GetColumn())
			}
		case mlv1.FeatureEncoding_FEATURE_ENCODING_ONE_HOT, mlv1.FeatureEncoding_FEATURE_ENCODING_ONE_HOT_FREQUENCY:
			width += len(ct.GetLevels())
			if ct.GetOtherLevel() {
				width++
			}
			if ct.GetMissingLevel() {
				width++
			}
			if ct.GetEncoding() == mlv1.FeatureEncoding_FEATURE_ENCODING_ONE_HOT_FREQUENCY {
				width++
				if len(ct.GetFrequencyLevels()) != len(ct.GetFrequencyValues()) {
					return fmt.Errorf("column %q: frequency levels do not match values", ct.GetColumn())
				}
			}
			continue
		default:
			return fmt.Errorf("column %q: unknown encoding %v", ct.GetColumn(), ct.GetEncoding())
		}
		if ct.GetMissingIndicator() {
			width++
		}
	}
	if width != p {
		return fmt.Errorf("preprocessing makes %d features but names %d", width, p)
	}
	if n := len(pp.GetScaleMean()); n != 0 && (n != p || len(pp.GetScaleStd()) != p) {
		return errors.New("scaler size does not match features")
	}
	outs := 1
	if task == TaskMulticlass {
		outs = len(pb.GetClasses())
		if outs < 3 {
			return errors.New("multiclass model needs at least 3 classes")
		}
	}
	if task == TaskBinary && len(pb.GetClasses()) != 2 {
		return errors.New("binary model needs 2 classes")
	}
	switch l := pb.GetLearner().(type) {
	case *mlv1.ModelArtifact_Linear:
		lm := l.Linear
		if int(lm.GetOutputs()) != outs || len(lm.GetIntercepts()) != outs || len(lm.GetCoefficients()) != outs*p {
			return errors.New("linear model size does not match features and outputs")
		}
	case *mlv1.ModelArtifact_Trees:
		ens := l.Trees
		if int(ens.GetOutputs()) != outs || len(ens.GetBaseScores()) != outs {
			return errors.New("tree ensemble outputs do not match the task")
		}
		for ti, tr := range ens.GetTrees() {
			nn := len(tr.GetFeature())
			if nn == 0 || len(tr.GetThreshold()) != nn || len(tr.GetLeft()) != nn || len(tr.GetRight()) != nn ||
				len(tr.GetValue()) != nn || len(tr.GetDefaultLeft()) != nn {
				return fmt.Errorf("tree %d: node arrays differ in length", ti)
			}
			if c := len(tr.GetCover()); c != 0 && c != nn {
				return fmt.Errorf("tree %d: node covers differ in length", ti)
			}
			if tr.GetOutput() < 0 || int(tr.GetOutput()) >= outs {
				return fmt.Errorf("tree %d: output out of range", ti)
			}
			for i := 0; i < nn; i++ {
				f := tr.Feature[i]
				if f < 0 {
					continue
				}
				if int(f) >= p {
					return fmt.Errorf("tree %d: feature index out of range", ti)
				}
				// children come after their parent, so traversal always ends
				if l, r := tr.Left[i], tr.Right[i]; l <= int32(i) || r <= int32(i) || int(l) >= nn || int(r) >= nn {
					return fmt.Errorf("tree %d: bad child index at node %d", ti, i)
				}
			}
			for _, cs := range tr.GetCategorySplits() {
				if cs.GetNode() < 0 || int(cs.GetNode()) >= nn {
					return fmt.Errorf("tree %d: category split node out of range", ti)
				}
			}
		}
	case *mlv1.ModelArtifact_NaiveBayes:
		nb := l.NaiveBayes
		k := len(pb.GetClasses())
		if task == TaskRegression || int(nb.GetFeatures()) != p || len(nb.GetLogPrior()) != k || len(nb.GetMean()) != k*p || len(nb.GetVariance()) != k*p {
			return errors.New("naive Bayes size does not match features and classes")
		}
		for _, v := range nb.GetVariance() {
			if !(v > 0) {
				return errors.New("naive Bayes variances must be positive")
			}
		}
	case *mlv1.ModelArtifact_Neighbors:
		nn := l.Neighbors
		m := len(nn.GetTargets())
		if int(nn.GetFeatures()) != p || len(nn.GetPoints()) != m*p || nn.GetK() < 1 || m == 0 {
			return errors.New("nearest-neighbour model size does not match features")
		}
		if task != TaskRegression {
			for _, t := range nn.GetTargets() {
				if t != math.Trunc(t) || t < 0 || int(t) >= len(pb.GetClasses()) {
					return errors.New("nearest-neighbour class index out of range")
				}
			}
		}
	case *mlv1.ModelArtifact_Ensemble:
		return validateEnsemble(pb, l.Ensemble)
	default:
		return errors.New("model has no learner")
	}
	return nil
}

// rawScores returns outputs x rows scores for f.
func (m *Model) rawScores(f *frame.Frame) [][]float64 {
	if e, ok := m.pb.GetLearner().(*mlv1.ModelArtifact_Ensemble); ok {
		return ensembleScores(m, e.Ensemble, f)
	}
	return m.scores(context.Background(), transform(m.pb.GetPreprocessing(), f, nil))
}

// scores returns outputs x rows scores for transformed features.
func (m *Model) scores(ctx context.Context, x *dense) [][]float64 {
	switch l := m.pb.GetLearner().(type) {
	case *mlv1.ModelArtifact_Linear:
		return linearScores(l.Linear, x)
	case *mlv1.ModelArtifact_Trees:
		if l.Trees.GetProbability() && m.Task() != TaskRegression {
			return probabilityScores(treeScores(l.Trees, x))
		}
		return treeScores(l.Trees, x)
	case *mlv1.ModelArtifact_NaiveBayes:
		return naiveBayesScores(l.NaiveBayes, x, m.Task() == TaskBinary)
	case *mlv1.ModelArtifact_Neighbors:
		return knnScores(ctx, l.Neighbors, x, m.Task(), len(m.pb.GetClasses()))
	}
	return nil
}

// Predict scores every row of f. Missing input columns are treated as all-missing, unseen
// categories as "other", and a text column given as numbers (or the reverse) is converted.
func (m *Model) Predict(f *frame.Frame) (Predictions, error) {
	if f == nil {
		return Predictions{}, errors.New("learn: Predict needs a frame")
	}
	for _, c := range f.Columns {
		if c.Len() != f.Rows {
			return Predictions{}, fmt.Errorf("learn: column %q has %d rows, frame has %d", c.Name, c.Len(), f.Rows)
		}
	}
	return m.predictScores(m.rawScores(f)), nil
}

func (m *Model) predictScores(sc [][]float64) Predictions {
	task := m.Task()
	classes := m.pb.GetClasses()
	out := Predictions{Task: task, Classes: append([]string(nil), classes...)}
	n := 0
	if len(sc) > 0 {
		n = len(sc[0])
	}
	switch task {
	case TaskRegression:
		out.Value = sc[0]
	case TaskBinary:
		out.Value = make([]float64, n)
		out.Proba = make([][]float64, n)
		out.Label = make([]string, n)
		for i := 0; i < n; i++ {
			p := sigmoid(sc[0][i])
			out.Value[i] = p
			out.Proba[i] = []float64{1 - p, p}
			if p >= 0.5 {
				out.Label[i] = classes[1]
			} else {
				out.Label[i] = classes[0]
			}
		}
	default:
		k := len(sc)
		out.Proba = make([][]float64, n)
		out.Label = make([]string, n)
		for i := 0; i < n; i++ {
			pr := make([]float64, k)
			mx := math.Inf(-1)
			for o := 0; o < k; o++ {
				mx = math.Max(mx, sc[o][i])
			}
			var s float64
			best := 0
			for o := 0; o < k; o++ {
				pr[o] = math.Exp(sc[o][i] - mx)
				s += pr[o]
				if sc[o][i] > sc[best][i] {
					best = o
				}
			}
			for o := range pr {
				pr[o] /= s
			}
			out.Proba[i] = pr
			out.Label[i] = classes[best]
		}
	}
	return out
}
