package learn

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vdsproject/vds/libs/frame"
)

// TestRowsFrame: prediction rows as text. A value of a numeric column that is not a number is
// refused naming the column, that it is numeric and its training range (it once said "nor a
// yes/no value as a two-valued column takes" for pclass, which has the values 1 to 3); a boolean
// column says it takes true/false; a category the training data did not have is scored and named
// in a warning with the known categories (it was silently scored as unseen).
func TestRowsFrame(t *testing.T) {
	f := shared(t, "tabular/titanic.csv")
	// As ingestion types it: alone is boolean (the test CSV reader keeps True/False as text).
	for i, c := range f.Columns {
		if c.Name == "alone" {
			b := &frame.Column{Name: c.Name, Kind: frame.Bool, F: make([]float64, len(c.S)), Null: make([]bool, len(c.S))}
			for r, s := range c.S {
				if s == "True" {
					b.F[r] = 1
				}
			}
			f.Columns[i] = b
		}
	}
	r, err := AutoML(context.Background(), f, Options{Target: "survived", Budget: time.Second, Seed: 5, Algorithms: []string{AlgoLinear},
		Exclude: []string{"alive", "who", "adult_male", "deck", "embark_town", "class"}})
	if err != nil {
		t.Fatal(err)
	}
	m := r.Best
	for _, c := range []string{"pclass", "age", "embarked", "alone", "sex"} {
		if !slices.Contains(m.Features(), c) {
			t.Fatalf("%s is not a feature: %v", c, m.Features())
		}
	}
	bad := []struct {
		row  map[string]string
		want string
	}{
		{map[string]string{"pclass": "banana"}, `rows[0].values[pclass]: "banana" is not a number: pclass is a numeric column (from 1 to 3 in the training data); send a number, or "" (or leave the column out) for a missing value`},
		{map[string]string{"age": "yes"}, `rows[0].values[age]: "yes" is not a number: age is a numeric column (from 0.42 to 80 in the training data); send a number, or "" (or leave the column out) for a missing value`},
		{map[string]string{"alone": "maybe"}, `rows[0].values[alone]: "maybe" is not a value of alone, a two-valued (true/false) column: send true, false, yes, no, 1 or 0, or "" (or leave the column out) for a missing value`},
		{map[string]string{"fare": "Infinity"}, `rows[0].values[fare]: "Infinity" is not a finite number`},
		{map[string]string{"fare": "1e999"}, `rows[0].values[fare]: "1e999" is not a finite number`},
	}
	for _, c := range bad {
		_, _, err := m.RowsFrame([]map[string]string{c.row})
		var rve *RowValueError
		if !errors.As(err, &rve) || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%v: got %v\nwant %s", c.row, err, c.want)
		}
	}
	rows := []map[string]string{
		{"pclass": "1", "sex": "female", "age": "30", "embarked": "S", "alone": "true"},
		{"pclass": "3", "sex": "male", "age": "22", "embarked": "Atlantis", "alone": "no"},
		{"pclass": "2", "sex": "Female", "embarked": "Atlantis", "alone": "1"},
	}
	fr, warns, err := m.RowsFrame(rows)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`2 rows (first rows[1]): "Atlantis" is not a category of embarked in the training data; the known categories are "C", "Q", "S". It was scored as an unseen category, so its prediction is less reliable`,
		`rows[2]: "Female" is not a category of sex in the training data (did you mean "female"?); the known categories are "female", "male". It was scored as an unseen category, so its prediction is less reliable`,
	}
	slices.Sort(warns)
	if !slices.Equal(warns, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(warns, "\n"), strings.Join(want, "\n"))
	}
	if a := fr.Col("alone"); a.F[0] != 1 || a.F[1] != 0 || a.F[2] != 1 {
		t.Errorf("alone %v, want [1 0 1]", a.F)
	}
	// Every row is scored, the unseen categories and the missing age included.
	p, err := m.Predict(fr)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Value) != len(rows) {
		t.Fatalf("%d predictions for %d rows", len(p.Value), len(rows))
	}
	for i, v := range p.Value {
		if !(v >= 0 && v <= 1) {
			t.Errorf("rows[%d]: probability %v", i, v)
		}
	}
}
