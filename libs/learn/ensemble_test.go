package learn

import (
	"context"
	"math"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
)

// TestEnsemble checks that an ensemble artifact predicts the weighted mean of its members'
// probabilities, survives a round trip, and that malformed ensembles are refused; then that
// AutoML's greedy selection, when it picks an ensemble, scores at least as well as the best trial.
func TestEnsemble(t *testing.T) {
	f := shared(t, "tabular/titanic.csv")
	var members []*Model
	for _, algo := range []string{AlgoGBDT, AlgoLogistic} {
		r, err := AutoML(context.Background(), f, Options{Target: "survived", Budget: time.Second, Seed: 2, Algorithms: []string{algo}, Exclude: []string{"alive"}, NoEnsemble: true})
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, r.Best)
	}
	pb := proto.Clone(members[0].pb).(*mlv1.ModelArtifact)
	pb.Algorithm = AlgoEnsemble
	pb.Learner = &mlv1.ModelArtifact_Ensemble{Ensemble: &mlv1.Ensemble{Members: []*mlv1.ModelArtifact{members[0].pb, members[1].pb}, Weights: []float64{0.7, 0.3}}}
	b, _ := proto.Marshal(pb)
	ens, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	pe, _ := ens.Predict(f)
	p0, _ := members[0].Predict(f)
	p1, _ := members[1].Predict(f)
	for i := range pe.Value {
		want := 0.7*p0.Value[i] + 0.3*p1.Value[i]
		if math.Abs(pe.Value[i]-want) > 1e-9 {
			t.Fatalf("row %d: ensemble %.12g, weighted mean %.12g", i, pe.Value[i], want)
		}
	}
	bad := []func(e *mlv1.Ensemble){
		func(e *mlv1.Ensemble) { e.Weights = []float64{0.7, 0.2} },
		func(e *mlv1.Ensemble) { e.Weights = []float64{1} },
		func(e *mlv1.Ensemble) { e.Members[1] = proto.Clone(pb).(*mlv1.ModelArtifact) },
	}
	for i, mod := range bad {
		c := proto.Clone(pb).(*mlv1.ModelArtifact)
		mod(c.GetEnsemble())
		if _, err := FromProto(c); err == nil {
			t.Errorf("malformed ensemble %d accepted", i)
		}
	}

	r, err := AutoML(context.Background(), f, Options{Target: "survived", Budget: 4 * time.Second, Seed: 1, Exclude: []string{"alive"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("best %s (%s) %.4f", r.Best.Algorithm(), r.Best.Config(), r.Leaderboard[0].CVScore)
	if r.Best.Algorithm() == AlgoEnsemble {
		if r.Leaderboard[0].Algorithm != AlgoEnsemble || r.Leaderboard[0].CVScore < r.Leaderboard[1].CVScore {
			t.Fatalf("ensemble %.4f below the best trial %.4f", r.Leaderboard[0].CVScore, r.Leaderboard[1].CVScore)
		}
		if _, err := r.Best.Predict(f); err != nil {
			t.Fatal(err)
		}
	}
}
