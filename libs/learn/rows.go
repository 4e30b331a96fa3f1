package learn

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	mlv1 "github.com/vdsproject/vds/gen/vds/ml/v1"
	"github.com/vdsproject/vds/libs/frame"
)

// RowValueError is a value of a prediction row that the model cannot score: Row and Column name
// it, Reason says what the column takes.
type RowValueError struct {
	Row    int
	Column string
	Reason string
}

func (e *RowValueError) Error() string {
	return fmt.Sprintf("rows[%d].values[%s]: %s", e.Row, e.Column, e.Reason)
}

// Field is the request field of the value ("rows[0].values[age]").
func (e *RowValueError) Field() string { return fmt.Sprintf("rows[%d].values[%s]", e.Row, e.Column) }

// maxRowWarnings bounds the unseen-category warnings of one call (one per column and value).
const maxRowWarnings = 20

// RowsFrame turns prediction rows (column name to value as text, as Predict receives them) into a
// frame of the model's input columns. A missing value is "" or the column left out. A value of a
// numeric column that is not a finite number is refused with a *RowValueError naming the column,
// what it takes and its range in the training data; a value of a text column that the training
// data did not have is scored (as an unseen category) and named in the returned warnings, with the
// categories the model knows, since it is often a misspelling that quietly changes the prediction.
func (m *Model) RowsFrame(rows []map[string]string) (*frame.Frame, []string, error) {
	f := &frame.Frame{Rows: len(rows)}
	var warns []string
	dropped := 0
	for _, ct := range m.pb.GetPreprocessing().GetColumns() {
		c := &frame.Column{Name: ct.Column, Kind: frame.Float}
		if ct.SourceText {
			c.Kind = frame.String
		} else if ct.Encoding == mlv1.FeatureEncoding_FEATURE_ENCODING_DATETIME {
			c.Kind = frame.Time
		}
		var unseen []string              // values in first-seen order
		unseenRows := map[string][]int{} // value -> rows
		for i, r := range rows {
			v, ok := r[ct.Column]
			v = strings.TrimSpace(v)
			missing := !ok || v == ""
			c.Null = append(c.Null, missing)
			switch {
			case c.Kind == frame.String:
				c.S = append(c.S, v)
				if !missing && !knownLevel(ct, v) {
					if unseenRows[v] == nil {
						unseen = append(unseen, v)
					}
					unseenRows[v] = append(unseenRows[v], i)
				}
			case missing:
				c.F = append(c.F, math.NaN())
			case c.Kind == frame.Time:
				tm, err := time.Parse(time.RFC3339, v)
				if err != nil {
					return nil, nil, &RowValueError{i, ct.Column, fmt.Sprintf("%q is not a timestamp: %s is a date-time column; send an RFC 3339 timestamp like 2024-01-31T00:00:00Z", v, ct.Column)}
				}
				c.F = append(c.F, float64(tm.UnixNano())/1e9)
			default:
				x, err := numericValue(ct, i, v)
				if err != nil {
					return nil, nil, err
				}
				c.F = append(c.F, x)
			}
		}
		for _, v := range unseen {
			if len(warns) == maxRowWarnings {
				dropped++
				continue
			}
			warns = append(warns, unseenWarning(ct, v, unseenRows[v]))
		}
		f.Columns = append(f.Columns, c)
	}
	if dropped > 0 {
		warns = append(warns, fmt.Sprintf("and %d more unseen categories, not listed", dropped))
	}
	return f, warns, nil
}

// numericValue parses the value of a numeric column; the error says what the column takes.
func numericValue(ct *mlv1.ColumnTransform, row int, v string) (float64, error) {
	x, err := strconv.ParseFloat(strings.ReplaceAll(v, ",", ""), 64)
	if math.IsInf(x, 0) || math.IsNaN(x) { // "Infinity", "NaN", "1e999" (out of range: ParseFloat errs with ±Inf)
		return 0, &RowValueError{row, ct.Column, fmt.Sprintf("%q is not a finite number; send a finite number, or \"\" (or leave the column out) for a missing value", v)}
	}
	if err == nil {
		return x, nil
	}
	// Yes/no words are accepted where the column is two-valued: a boolean source, or a 0/1
	// column; also in artifacts that do not record the column's kind or range.
	words := ct.SourceBoolean || ct.MinValue == nil || ct.GetMinValue() >= 0 && ct.GetMaxValue() <= 1
	if words {
		switch strings.ToLower(v) {
		case "true", "yes":
			return 1, nil
		case "false", "no":
			return 0, nil
		}
	}
	var reason string
	switch {
	case ct.SourceBoolean:
		reason = fmt.Sprintf("%q is not a value of %s, a two-valued (true/false) column: send true, false, yes, no, 1 or 0", v, ct.Column)
	case ct.MinValue != nil:
		reason = fmt.Sprintf("%q is not a number: %s is a numeric column (from %s to %s in the training data); send a number", v, ct.Column,
			formatNumber(ct.GetMinValue()), formatNumber(ct.GetMaxValue()))
	default:
		reason = fmt.Sprintf("%q is not a number: %s is a numeric column; send a number", v, ct.Column)
	}
	return 0, &RowValueError{row, ct.Column, reason + `, or "" (or leave the column out) for a missing value`}
}

func formatNumber(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// knownLevel reports whether v is a category of a text column in the model's training data.
func knownLevel(ct *mlv1.ColumnTransform, v string) bool {
	return slices.Contains(ct.Levels, v) || slices.Contains(ct.FrequencyLevels, v)
}

// unseenWarning names a text value the training data did not have, the rows with it and the
// categories the model knows (a case-insensitive match first, as the likely intended one).
func unseenWarning(ct *mlv1.ColumnTransform, v string, rows []int) string {
	known := ct.FrequencyLevels // all levels of a high-cardinality column, sorted
	if len(known) == 0 {
		known = slices.Sorted(slices.Values(ct.Levels))
	}
	list := known
	more := ""
	if len(list) > 20 {
		list, more = list[:20], fmt.Sprintf(" and %d more", len(known)-20)
	}
	quoted := make([]string, len(list))
	for i, l := range list {
		quoted[i] = strconv.Quote(l)
	}
	where := fmt.Sprintf("rows[%d]", rows[0])
	if len(rows) > 1 {
		where = fmt.Sprintf("%d rows (first rows[%d])", len(rows), rows[0])
	}
	hint := ""
	for _, l := range known {
		if strings.EqualFold(l, v) {
			hint = fmt.Sprintf(" (did you mean %q?)", l)
			break
		}
	}
	return fmt.Sprintf("%s: %q is not a category of %s in the training data%s; the known categories are %s%s. It was scored as an unseen category, so its prediction is less reliable",
		where, v, ct.Column, hint, strings.Join(quoted, ", "), more)
}
