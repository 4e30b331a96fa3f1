package learn

import (
	"context"
	"math/rand"
	"testing"
	"time"

	"github.com/vdsproject/vds/libs/frame"
)

// Permuting one input column's encoded span must give exactly the predictions of permuting the input
// column itself and re-encoding (what permutation importance means), for every encoding in use.
func TestPermuteSpanEqualsPermutingTheInput(t *testing.T) {
	f := shared(t, "tabular/titanic.csv")
	for _, algo := range []string{AlgoGBDT, AlgoLinear} {
		t.Run(algo, func(t *testing.T) {
			r, err := AutoML(context.Background(), f, Options{Target: "survived", Budget: 2 * time.Second, Seed: 3, Algorithms: []string{algo}})
			if err != nil {
				t.Fatal(err)
			}
			m := r.Best
			pp := m.pb.GetPreprocessing()
			spans := columnSpans(pp)
			width := 0
			for _, sp := range spans {
				width += sp[1] - sp[0]
			}
			if width != len(pp.FeatureNames) {
				t.Fatalf("spans cover %d encoded columns, the model has %d", width, len(pp.FeatureNames))
			}
			x := transform(pp, f, nil)
			rng := rand.New(rand.NewSource(9))
			for _, name := range m.Features() {
				perm := rng.Perm(f.Rows)
				restore := permuteSpan(x, spans[name], perm)
				got := m.predictScores(m.scores(context.Background(), x))
				restore()

				pf := &frame.Frame{Rows: f.Rows, Columns: append([]*frame.Column(nil), f.Columns...)}
				for ci, c := range pf.Columns {
					if c.Name != name {
						continue
					}
					pc := &frame.Column{Name: c.Name, Kind: c.Kind, ArrowType: c.ArrowType, Null: make([]bool, f.Rows)}
					if c.S != nil {
						pc.S = make([]string, f.Rows)
					}
					if c.F != nil {
						pc.F = make([]float64, f.Rows)
					}
					for i, q := range perm {
						pc.Null[i] = c.Null[q]
						if pc.S != nil {
							pc.S[i] = c.S[q]
						}
						if pc.F != nil {
							pc.F[i] = c.F[q]
						}
					}
					pf.Columns[ci] = pc
				}
				want, err := m.Predict(pf)
				if err != nil {
					t.Fatal(err)
				}
				samePredictions(t, got, want)
			}
			// The span permutation restored everything.
			samePredictions(t, m.predictScores(m.scores(context.Background(), x)), mustPredict(t, m, f))
		})
	}
}

func mustPredict(t *testing.T, m *Model, f *frame.Frame) Predictions {
	t.Helper()
	p, err := m.Predict(f)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
