package learn

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/vdsproject/vds/libs/frame"
)

// synthetic builds a binary problem whose signal is in a datetime's hour and a high-cardinality
// city's group, plus a row counter, a numeric copy of the target and an all-missing column.
func synthetic(n int, seed int64) *frame.Frame {
	rng := rand.New(rand.NewSource(seed))
	mk := func(name string, kind frame.Kind) *frame.Column {
		c := &frame.Column{Name: name, Kind: kind, Null: make([]bool, n)}
		if kind == frame.String {
			c.S = make([]string, n)
		} else {
			c.F = make([]float64, n)
		}
		return c
	}
	rowID, when, city, noise, leak, empty, y := mk("row", frame.Float), mk("when", frame.Time), mk("city", frame.String),
		mk("noise", frame.Float), mk("score_after", frame.Float), mk("empty", frame.Float), mk("bought", frame.String)
	base := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for i := 0; i < n; i++ {
		rowID.F[i] = float64(i + 1)
		sec := base + rng.Int63n(365*86400)
		when.F[i] = float64(sec)
		hour := time.Unix(sec, 0).UTC().Hour()
		c := rng.Intn(80)
		city.S[i] = fmt.Sprintf("city%02d", c)
		noise.F[i] = rng.NormFloat64()
		empty.F[i], empty.Null[i] = math.NaN(), true
		z := -1.0
		if hour >= 18 {
			z += 2.5
		}
		if c%2 == 0 {
			z += 1
		}
		if rng.Float64() < sigmoid(z) {
			y.S[i] = "bought"
			leak.F[i] = 100 + rng.Float64()
		} else {
			y.S[i] = "browsed"
			leak.F[i] = rng.Float64()
		}
		if i%17 == 0 {
			when.F[i], when.Null[i] = math.NaN(), true
		}
	}
	return &frame.Frame{Rows: n, Columns: []*frame.Column{rowID, when, city, noise, leak, empty, y}}
}

func TestSyntheticScreeningAndEncodings(t *testing.T) {
	f := synthetic(3000, 1)
	r, err := AutoML(context.Background(), f, Options{Target: "bought", Budget: 6 * time.Second, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	logResult(t, r, 0)
	if r.PositiveClass != "browsed" && r.PositiveClass != "bought" {
		t.Fatalf("positive %q", r.PositiveClass)
	}
	for col, want := range map[string]string{"row": "identifier", "score_after": "leakage", "empty": "missing"} {
		if reason := droppedReason(r, col); !strings.Contains(reason, want) {
			t.Errorf("%s: reason %q, want %q", col, reason, want)
		}
	}
	names := strings.Join(r.Best.FeatureNames(), ",")
	for _, want := range []string{"when__hour", "city__freq", "city=__other__"} {
		if !strings.Contains(names, want) {
			t.Errorf("feature %s missing from %s", want, names)
		}
	}
	if r.Importances[0].Feature != "when" {
		t.Errorf("top importance %q, want when", r.Importances[0].Feature)
	}
	if r.Leaderboard[0].CVScore < 0.7 {
		t.Errorf("AUC %.3f", r.Leaderboard[0].CVScore)
	}
	// a fresh frame with unseen cities and missing times predicts without error
	g := synthetic(50, 2)
	for i := range g.Col("city").S {
		g.Col("city").S[i] = "elsewhere"
	}
	p, err := r.Best.Predict(g)
	if err != nil || len(p.Label) != 50 {
		t.Fatalf("predict: %v", err)
	}
}
