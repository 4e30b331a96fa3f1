// Package glm fits generalized linear models with classical inference: ordinary and weighted least
// squares with classical or heteroskedasticity-consistent (HC0, HC1) standard errors, and logistic
// regression by iteratively reweighted least squares with optional frequency weights and a small L2
// penalty for separated data. It also builds design matrices from frame columns (numeric terms,
// squared terms and one-hot categoricals with a reference level).
//
// Conventions follow statsmodels so results can be checked against it: classical covariances use the
// Student t distribution with the residual degrees of freedom for OLS, robust covariances and logistic
// regression use the normal distribution; coefficient names follow patsy ("Intercept", "x",
// "x^2", "c[T.level]").
package glm

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"

	"gonum.org/v1/gonum/mat"

	"github.com/vdsproject/vds/libs/frame"
)

// TermKind says what a design column is made of.
type TermKind int

const (
	// TermIntercept is the constant column.
	TermIntercept TermKind = iota
	// TermNumeric is a numeric column as is.
	TermNumeric
	// TermSquared is the square of a numeric column.
	TermSquared
	// TermLevel is the 0/1 indicator of one non-reference level of a categorical column.
	TermLevel
	// TermExtra is a column supplied directly as values (see DesignSpec.Extra).
	TermExtra
)

// Term describes one column of a design matrix.
type Term struct {
	Name   string
	Kind   TermKind
	Column string // source frame column ("" for the intercept)
	Level  string // level for TermLevel
}

// Extra is a column of values supplied directly (aligned with the frame's rows).
type Extra struct {
	Name   string
	Values []float64
}

// DesignSpec says how to turn frame columns into a design matrix.
type DesignSpec struct {
	// Columns are the terms in order. String columns are always categorical.
	Columns []string
	// Categorical lists numeric (or bool) columns to one-hot encode instead of using as numbers.
	Categorical []string
	// Squared lists numeric columns that also get a squared term (placed right after the column).
	Squared []string
	// Reference optionally sets the reference level of a categorical column; the default is the
	// first level in sorted order (numeric order for numeric columns), as patsy does.
	Reference map[string]string
	// NoIntercept leaves out the constant column.
	NoIntercept bool
	// Rows restricts the design to these frame rows (nil means all). Rows with a missing value in
	// any used column are dropped either way.
	Rows []int
	// Require lists further columns that must be non-missing for a row to be kept (e.g. the outcome).
	Require []string
	// Extra appends columns of values given directly (NaN counts as missing).
	Extra []Extra
}

// Design is a built design matrix.
type Design struct {
	X     *mat.Dense
	Terms []Term
	// Rows maps each design row to its frame row.
	Rows []int
	// Dropped is how many candidate rows were dropped for missing values.
	Dropped int
	// Levels holds the levels of each categorical column in order, reference first.
	Levels map[string][]string
}

// Names lists the column names of the design.
func (d *Design) Names() []string {
	out := make([]string, len(d.Terms))
	for i, t := range d.Terms {
		out[i] = t.Name
	}
	return out
}

// ErrNoRows is returned when no complete rows remain.
var ErrNoRows = errors.New("glm: no complete rows")

// Missing reports whether row i of column c is missing (null, NaN, or an empty string).
func Missing(c *frame.Column, i int) bool {
	if c.Null != nil && c.Null[i] {
		return true
	}
	if c.Kind == frame.String {
		return false
	}
	return math.IsNaN(c.F[i])
}

// CompleteRows returns the frame rows (among rows, or all when rows is nil) where every named column
// is present, and how many were dropped.
func CompleteRows(f *frame.Frame, rows []int, cols ...string) ([]int, int, error) {
	cs := make([]*frame.Column, len(cols))
	for i, name := range cols {
		if cs[i] = f.Col(name); cs[i] == nil {
			return nil, 0, fmt.Errorf("glm: unknown column %q", name)
		}
	}
	if rows == nil {
		rows = make([]int, f.Rows)
		for i := range rows {
			rows[i] = i
		}
	}
	out := make([]int, 0, len(rows))
	for _, r := range rows {
		ok := true
		for _, c := range cs {
			if Missing(c, r) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	return out, len(rows) - len(out), nil
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// LevelString formats a numeric category the way the design names it.
func LevelString(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// BuildDesign builds the design matrix for spec from f.
func BuildDesign(f *frame.Frame, spec DesignSpec) (*Design, error) {
	for _, s := range spec.Squared {
		if !contains(spec.Columns, s) {
			return nil, fmt.Errorf("glm: squared term %q is not among the columns", s)
		}
	}
	used := append(append([]string{}, spec.Columns...), spec.Require...)
	rows, dropped, err := CompleteRows(f, spec.Rows, used...)
	if err != nil {
		return nil, err
	}
	// Rows with a missing extra value are dropped too.
	if len(spec.Extra) > 0 {
		kept := rows[:0:0]
		for _, r := range rows {
			ok := true
			for _, e := range spec.Extra {
				if len(e.Values) != f.Rows {
					return nil, fmt.Errorf("glm: extra column %q has %d values, frame has %d rows", e.Name, len(e.Values), f.Rows)
				}
				if math.IsNaN(e.Values[r]) {
					ok = false
				}
			}
			if ok {
				kept = append(kept, r)
			}
		}
		dropped += len(rows) - len(kept)
		rows = kept
	}
	if len(rows) == 0 {
		return nil, ErrNoRows
	}
	d := &Design{Rows: rows, Dropped: dropped, Levels: map[string][]string{}}
	type filler func(r int) float64
	var fills []filler
	if !spec.NoIntercept {
		d.Terms = append(d.Terms, Term{Name: "Intercept", Kind: TermIntercept})
		fills = append(fills, func(int) float64 { return 1 })
	}
	for _, name := range spec.Columns {
		c := f.Col(name)
		categorical := c.Kind == frame.String || contains(spec.Categorical, name)
		if !categorical {
			if c.Kind == frame.String {
				return nil, fmt.Errorf("glm: column %q is text and cannot be squared", name)
			}
			d.Terms = append(d.Terms, Term{Name: name, Kind: TermNumeric, Column: name})
			fills = append(fills, func(r int) float64 { return c.F[r] })
			if contains(spec.Squared, name) {
				d.Terms = append(d.Terms, Term{Name: name + "^2", Kind: TermSquared, Column: name})
				fills = append(fills, func(r int) float64 { return c.F[r] * c.F[r] })
			}
			continue
		}
		if contains(spec.Squared, name) {
			return nil, fmt.Errorf("glm: categorical column %q cannot have a squared term", name)
		}
		key := func(r int) string {
			if c.Kind == frame.String {
				return c.S[r]
			}
			return LevelString(c.F[r])
		}
		levels := levelsOf(c, rows)
		if ref, ok := spec.Reference[name]; ok {
			i := indexOf(levels, ref)
			if i < 0 {
				return nil, fmt.Errorf("glm: reference level %q not found in column %q", ref, name)
			}
			levels = append([]string{ref}, append(append([]string{}, levels[:i]...), levels[i+1:]...)...)
		}
		d.Levels[name] = levels
		for _, lv := range levels[1:] {
			lv := lv
			d.Terms = append(d.Terms, Term{Name: fmt.Sprintf("%s[T.%s]", name, lv), Kind: TermLevel, Column: name, Level: lv})
			fills = append(fills, func(r int) float64 {
				if key(r) == lv {
					return 1
				}
				return 0
			})
		}
	}
	for _, e := range spec.Extra {
		vals := e.Values
		d.Terms = append(d.Terms, Term{Name: e.Name, Kind: TermExtra})
		fills = append(fills, func(r int) float64 { return vals[r] })
	}
	if len(fills) == 0 {
		return nil, errors.New("glm: empty design")
	}
	d.X = mat.NewDense(len(rows), len(fills), nil)
	for i, r := range rows {
		for j, fn := range fills {
			d.X.Set(i, j, fn(r))
		}
	}
	return d, nil
}

func indexOf(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return -1
}

// levelsOf returns the distinct levels of c among rows, sorted (numerically for numeric columns).
func levelsOf(c *frame.Column, rows []int) []string {
	if c.Kind == frame.String {
		seen := map[string]bool{}
		var out []string
		for _, r := range rows {
			if !seen[c.S[r]] {
				seen[c.S[r]] = true
				out = append(out, c.S[r])
			}
		}
		sort.Strings(out)
		return out
	}
	seen := map[float64]bool{}
	var vals []float64
	for _, r := range rows {
		if !seen[c.F[r]] {
			seen[c.F[r]] = true
			vals = append(vals, c.F[r])
		}
	}
	sort.Float64s(vals)
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = LevelString(v)
	}
	return out
}

// Vector returns the values of numeric column name at the given frame rows.
func Vector(f *frame.Frame, name string, rows []int) ([]float64, error) {
	c := f.Col(name)
	if c == nil {
		return nil, fmt.Errorf("glm: unknown column %q", name)
	}
	if c.Kind == frame.String {
		return nil, fmt.Errorf("glm: column %q is text, need numbers", name)
	}
	out := make([]float64, len(rows))
	for i, r := range rows {
		out[i] = c.F[r]
	}
	return out, nil
}
