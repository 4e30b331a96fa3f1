package learn

import (
	"context"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/vdsproject/vds/libs/frame"
)

func TestArithmeticLeakTaxis(t *testing.T) {
	f := shared(t, "tabular/taxis.csv")
	r, err := AutoML(context.Background(), f, Options{Target: "tip", Budget: time.Second, Seed: 1, Algorithms: []string{AlgoLinear}})
	if err != nil {
		t.Fatal(err)
	}
	var why string
	for _, d := range r.Dropped {
		if d.Column == "total" {
			why = d.Reason
		}
	}
	if !strings.Contains(why, "target leakage") || !strings.Contains(why, "fare") {
		t.Fatalf("total was not dropped as computed from tip: %q (dropped %v)", why, r.Dropped)
	}
	for _, name := range r.Best.Features() {
		if name == "total" {
			t.Fatal("total is still a feature")
		}
	}
}

// Small integer codes never make a target look computed (mpg's cylinders minus origin takes few values).
func TestArithmeticLeakIgnoresCodes(t *testing.T) {
	f := shared(t, "tabular/mpg.csv")
	r, err := AutoML(context.Background(), f, Options{Target: "cylinders", Budget: time.Second, Seed: 1, Algorithms: []string{AlgoLinear}})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range r.Dropped {
		if strings.Contains(d.Reason, "computed from the target") {
			t.Fatalf("%s dropped as arithmetic leakage: %s", d.Column, d.Reason)
		}
	}
}

// Strong but honest linear relationships are not arithmetic leakage.
func TestArithmeticLeakIgnoresNoisySums(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	n := 500
	a, b, y := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range y {
		a[i], b[i] = rng.Float64()*100, rng.Float64()*50
		y[i] = a[i] - b[i] + rng.NormFloat64() // a sum plus noise, not plus a few constants
	}
	col := func(name string, v []float64) *frame.Column {
		return &frame.Column{Name: name, Kind: frame.Float, F: v, Null: make([]bool, n)}
	}
	f := &frame.Frame{Rows: n, Columns: []*frame.Column{col("a", a), col("b", b), col("y", y)}}
	tg := &targetInfo{name: "y", task: TaskRegression, y: y}
	for i := 0; i < n; i++ {
		tg.rows = append(tg.rows, i)
	}
	if drop, why := arithmeticLeak(f, tg, []string{"a", "b"}); len(drop) > 0 {
		t.Fatalf("noisy sum reported as leakage: %v %s", drop, why)
	}
	// Without the noise, y = a − b exactly: a contains the target.
	for i := range y {
		y[i] = a[i] - b[i] + float64(i%3)*0.5
	}
	drop, why := arithmeticLeak(f, tg, []string{"a", "b"})
	if len(drop) != 1 || drop[0] != "a" || !strings.Contains(why, "y = a − b") {
		t.Fatalf("exact sum: drop %v, %q; want a dropped with the equation", drop, why)
	}
}
