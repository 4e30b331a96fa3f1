package planner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	causalv1 "github.com/vdsproject/vds/gen/vds/causal/v1"
	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	"github.com/vdsproject/vds/libs/duck"
	"github.com/vdsproject/vds/libs/shareddata"
)

// duckTools answers the planner's SQL with a real DuckDB over a shared CSV (view "data"); the debate
// checks under test only run SQL, so the other tools report that they are not available here.
type duckTools struct{ c *duck.Conn }

func (d duckTools) SQL(ctx context.Context, query string) (*Table, error) {
	rows, err := d.c.SQL().QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	t := &Table{Columns: cols}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, v := range vals {
			switch x := v.(type) {
			case int64:
				vals[i] = float64(x)
			case int32:
				vals[i] = float64(x)
			case float32:
				vals[i] = float64(x)
			}
		}
		t.Rows = append(t.Rows, vals)
	}
	return t, rows.Err()
}

var errNotHere = errors.New("not available in this test")

func (duckTools) Hypotheses(context.Context, string) ([]*profilingv1.Hypothesis, error) {
	return nil, errNotHere
}
func (duckTools) Train(context.Context, string, time.Duration) (*mlv1.Model, error) {
	return nil, errNotHere
}
func (duckTools) Effect(context.Context, string, string, []string) (*causalv1.Estimate, error) {
	return nil, errNotHere
}
func (duckTools) Python(context.Context, string) (string, error) { return "", errNotHere }

// openShared loads a shared CSV as view "data" and reads its schema the way the profile does:
// text columns categorical, numbers numeric, and the values of columns with at most 12 of them.
func openShared(t *testing.T, rel string) (duckTools, *Schema) {
	t.Helper()
	path := shareddata.Path(t, rel)
	ctx := context.Background()
	c, err := duck.Open(ctx, duck.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Exec(ctx, "CREATE TABLE data AS SELECT * FROM read_csv_auto("+duck.Literal(path)+")"); err != nil {
		t.Fatal(err)
	}
	d := duckTools{c}
	desc, err := d.SQL(ctx, "SELECT column_name, column_type FROM (DESCRIBE data)")
	if err != nil {
		t.Fatal(err)
	}
	s := &Schema{DatasetID: "ds_test", Name: rel}
	for i := range desc.Rows {
		col := Column{Name: desc.Str(i, 0), Type: "numeric"}
		switch typ := desc.Str(i, 1); {
		case typ == "VARCHAR":
			col.Type = "categorical"
		case typ == "BOOLEAN":
			col.Type = "boolean"
		}
		vs, err := d.SQL(ctx, fmt.Sprintf("SELECT DISTINCT CAST(%s AS VARCHAR) FROM data WHERE %[1]s IS NOT NULL ORDER BY 1 LIMIT 13", q(col.Name)))
		if err != nil {
			t.Fatal(err)
		}
		if len(vs.Rows) <= 12 {
			for j := range vs.Rows {
				col.Values = append(col.Values, vs.Str(j, 0))
			}
		}
		s.Columns = append(s.Columns, col)
	}
	return d, s
}

// TestSkepticSkipsRecodings: titanic's class and pclass are one variable; the Skeptic must not call them
// entangled, must not stratify one on the other, and never reports a check over 0 strata.
func TestSkepticSkipsRecodings(t *testing.T) {
	for _, tc := range []struct {
		file     string
		in       Intent
		recoding string // the column that must be named a recoding, not a stratifier
	}{
		{"tabular/titanic.csv", Intent{Kind: Compare, Measure: "survived", Agg: "rate", Group: "class"}, "pclass"},
		{"tabular/titanic.csv", Intent{Kind: Compare, Measure: "fare", Agg: "mean", Group: "class"}, "pclass"},
	} {
		tools, s := openShared(t, tc.file)
		res, err := AnswerIntent(context.Background(), tools, s, tc.in, Options{}, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		var skeptic string
		for _, turn := range res.Debate {
			if turn.Role == Skeptic {
				skeptic += strings.Join(turn.Evidence, "\n") + "\n" + turn.Claim
			}
		}
		if skeptic == "" {
			t.Fatalf("%s: no Skeptic turn", tc.in)
		}
		t.Logf("%s:\n%s\nanswer: %s (confidence %s)", tc.in, skeptic, res.Answer.Text, res.Answer.Confidence)
		if !strings.Contains(skeptic, tc.recoding+" is a recoding of "+tc.in.Group) {
			t.Errorf("%s: the Skeptic did not name %s a recoding:\n%s", tc.in, tc.recoding, skeptic)
		}
		for _, bad := range []string{"most entangled with " + tc.in.Group + " is " + tc.recoding + " ", "Stratifying on " + tc.recoding, " of 0 strata", "V = 1.00"} {
			if strings.Contains(skeptic, bad) {
				t.Errorf("%s: the Skeptic says %q:\n%s", tc.in, bad, skeptic)
			}
		}
	}
}

func TestFunctional(t *testing.T) {
	for _, tc := range []struct {
		tab  [][]float64
		want bool
	}{
		{[][]float64{{216, 0, 0}, {0, 184, 0}, {0, 0, 491}}, true}, // class × pclass
		{[][]float64{{5, 0}, {3, 0}, {0, 7}}, true},                // a coarsening
		{[][]float64{{5, 1}, {3, 0}, {0, 7}}, false},
		{[][]float64{{5, 2}}, false},
	} {
		if got := functional(tc.tab) || functional(transpose(tc.tab)); got != tc.want {
			t.Errorf("%v: got %v, want %v", tc.tab, got, tc.want)
		}
	}
}
