package causal

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/shareddata"
)

// TestNumericTreatmentThreshold on titanic's age (0.42 to 80, median 28 among the 714 rows with an
// age): the refusal of a many-valued numeric treatment suggests a threshold inside the data, the
// median (it suggested "age > 100", which no row meets); a threshold is a treated value; one that
// no row, or every row, meets is refused with the column's range; an exact treated value that one
// row has says the treatment has 88 distinct values and must be binary (it said "need at least 2
// treated and 2 control rows").
func TestNumericTreatmentThreshold(t *testing.T) {
	f := loadCSV(t, shareddata.Path(t, "tabular/titanic.csv"), nil)
	ctx := context.Background()
	estimate := func(treated string) (string, int64, int64, string) {
		e, err := Estimate(ctx, f, Spec{Treatment: "age", Outcome: "survived", Confounders: []string{"pclass"}, TreatedValue: treated, SkipRefutations: true})
		if err != nil {
			return "", 0, 0, err.Error()
		}
		return e.TreatedValue, e.NTreated, e.NControl, ""
	}
	const rng = "age ranges from 0.42 to 80, median 28"
	_, _, _, err := estimate("")
	want := `causal: treatment "age" has 88 distinct values (from 0.42 to 80, median 28); the treatment must be binary (treated or not), or have at most 20 levels that are each compared with a reference. ` +
		`To make it binary, give a threshold as the treated value, for example ">28" (age > 28 is treated, the other rows are control; ` + rng + `; vds effect --treated-value '>28'), ` +
		`or derive a binary column and use it as the treatment (vds exec FILE --sql "SELECT *, age > 28 AS treated FROM <file name without extension>" --save); or give one value as the treated value to compare it with all the others`
	if err != want {
		t.Errorf("no treated value:\n got %s\nwant %s", err, want)
	}
	for _, c := range []struct{ treated, want string }{
		{">100", `causal: no row has age > 100, so there are 0 treated and 714 control rows (an effect needs at least 2 of each): ` + rng + ` in the analysis rows; give a threshold inside that range, for example ">28"`},
		{"< 0.42", `causal: no row has age < 0.42, so there are 0 treated and 714 control rows (an effect needs at least 2 of each): ` + rng + ` in the analysis rows; give a threshold inside that range, for example ">28"`},
		{">=0.42", `causal: every row has age >= 0.42, so there are 714 treated and 0 control rows (an effect needs at least 2 of each): ` + rng + ` in the analysis rows; give a threshold inside that range, for example ">28"`},
		{">74", `causal: only 1 row has age > 74, so there are 1 treated and 713 control rows (an effect needs at least 2 of each): ` + rng + ` in the analysis rows; give a threshold inside that range, for example ">28"`},
		{"80", `causal: treatment "age" has 88 distinct values, and the treated value "80" leaves 1 treated and 713 control rows (an effect needs at least 2 of each); the treatment must be binary: ` +
			`give a threshold as the treated value, for example ">28" (age > 28 is treated, the other rows are control; ` + rng + `; vds effect --treated-value '>28'), ` +
			`or derive a binary column and use it as the treatment (vds exec FILE --sql "SELECT *, age > 28 AS treated FROM <file name without extension>" --save)`},
	} {
		if _, _, _, err := estimate(c.treated); err != c.want {
			t.Errorf("treated value %q:\n got %s\nwant %s", c.treated, err, c.want)
		}
	}
	// The suggested threshold works: 352 of the 714 passengers with an age were older than 28.
	if tv, n1, n0, err := estimate(">28"); err != "" || tv != ">28" || n1 != 352 || n0 != 362 {
		t.Errorf(">28: treated value %q, %d treated, %d control (%s); want >28, 352 and 362", tv, n1, n0, err)
	}
	if tv, n1, _, err := estimate("<= 18"); err != "" || tv != "<=18" || n1 != 139 {
		t.Errorf("<= 18: treated value %q, %d treated (%s); want <=18 and 139", tv, n1, err)
	}
	// A threshold needs a numeric treatment.
	_, err2 := Estimate(ctx, f, Spec{Treatment: "embark_town", Outcome: "survived", TreatedValue: ">1", SkipRefutations: true})
	if want := `causal: treated value ">1" is a threshold, but treatment "embark_town" is text; give one of its values (Cherbourg, Queenstown, Southampton)`; err2 == nil || err2.Error() != want {
		t.Errorf("threshold on text: %v, want %s", err2, want)
	}
}

// TestHeadlineLevelWithRows: a multi-level treatment whose first non-reference level has one row
// failed as a whole with "need at least 2 treated and 2 control rows"; the headline is now the
// first level that can be compared with the reference, and the one-row level's effect says why it
// could not be estimated.
func TestHeadlineLevelWithRows(t *testing.T) {
	const n = 61
	dose := &frame.Column{Name: "dose", Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)}
	y := &frame.Column{Name: "y", Kind: frame.Float, F: make([]float64, n), Null: make([]bool, n)}
	for i := 0; i < n; i++ {
		switch {
		case i == 0:
			dose.F[i] = 1 // the only row at level 1
		case i%2 == 0:
			dose.F[i] = 2
		}
		y.F[i] = 3*dose.F[i] + float64(i%3)
	}
	f := &frame.Frame{Rows: n, Columns: []*frame.Column{dose, y}}
	e, err := Estimate(context.Background(), f, Spec{Treatment: "dose", Outcome: "y", Method: MethodDifferenceInMeans, SkipRefutations: true})
	if err != nil {
		t.Fatal(err)
	}
	if e.TreatedValue != "2" || e.ReferenceValue != "0" || len(e.LevelEffects) != 2 {
		t.Fatalf("treated %q reference %q level effects %v", e.TreatedValue, e.ReferenceValue, e.LevelEffects)
	}
	if le := e.LevelEffects[0]; le.Level != "1" || !math.IsNaN(le.Ate) || len(le.Warnings) != 1 ||
		le.Warnings[0] != "could not be estimated: causal: need at least 2 treated and 2 control rows, have 1 and 30" {
		t.Errorf("level 1: %v", le)
	}
	if want := `"1", the first level, could not be compared with the reference (its level effect says why)`; !strings.Contains(e.Warnings[0], want) {
		t.Errorf("note %q lacks %q", e.Warnings[0], want)
	}
}
