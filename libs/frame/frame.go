// Package frame is the in-memory columnar table that vds's engines (profiling, learners, causal
// estimators) compute on. It is built from Arrow record batches received over Flight; it is never
// serialized to JSON or sent between services.
package frame

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Kind is how a column's values are held.
type Kind int

const (
	// Float holds numbers in F; missing values are NaN and Null[i] is true.
	Float Kind = iota
	// String holds text in S; missing values have Null[i] true.
	String
	// Bool holds 0/1 in F; missing values are NaN and Null[i] is true.
	Bool
	// Time holds Unix seconds (with fraction) in F; missing values are NaN and Null[i] is true.
	Time
)

func (k Kind) String() string {
	switch k {
	case Float:
		return "float"
	case String:
		return "string"
	case Bool:
		return "bool"
	case Time:
		return "time"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Column is one named column. Exactly one of F (Float, Bool, Time) or S (String) is filled.
type Column struct {
	Name string
	Kind Kind
	// Arrow type name of the source column, e.g. "int64", "utf8", "timestamp[us, tz=UTC]".
	ArrowType string
	F         []float64
	S         []string
	Null      []bool
	// TrueLabel and FalseLabel are how the file spelled a Bool column's classes ("Yes", "No"),
	// when the reader knows (the dataset version's ReadRules.boolean_labels); empty otherwise.
	TrueLabel, FalseLabel string
}

// Label names the value v of a Bool column with the file's spelling when it is known ("Yes"
// for 1), and is "" otherwise (not a Bool column, no spellings, or v neither 0 nor 1).
func (c *Column) Label(v float64) string {
	if c.Kind != Bool || c.TrueLabel == "" || c.FalseLabel == "" || c.TrueLabel == c.FalseLabel {
		return ""
	}
	switch v {
	case 1:
		return c.TrueLabel
	case 0:
		return c.FalseLabel
	}
	return ""
}

// Len is the number of rows.
func (c *Column) Len() int { return len(c.Null) }

// IsNull reports whether row i is missing.
func (c *Column) IsNull(i int) bool { return c.Null[i] }

// NullCount is the number of missing rows.
func (c *Column) NullCount() int {
	n := 0
	for _, b := range c.Null {
		if b {
			n++
		}
	}
	return n
}

// Numeric reports whether values are in F.
func (c *Column) Numeric() bool { return c.Kind != String }

// Frame is a set of equally long columns.
type Frame struct {
	Columns []*Column
	Rows    int
}

// Col returns the column with the exact name, or nil.
func (f *Frame) Col(name string) *Column {
	for _, c := range f.Columns {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Take copies the given rows of f, in that order (a row may repeat), into a new frame.
func (f *Frame) Take(rows []int) *Frame {
	return f.Gather(len(rows), func(r, _ int) int { return rows[r] })
}

// Gather builds a frame of n rows whose cell (r, j) is row pick(r, j) of f's column j: each column
// may take its cells from other rows (a composite row of sampled Shapley values, say).
func (f *Frame) Gather(n int, pick func(r, j int) int) *Frame {
	out := &Frame{Rows: n}
	for j, c := range f.Columns {
		nc := &Column{Name: c.Name, Kind: c.Kind, ArrowType: c.ArrowType, Null: make([]bool, n), TrueLabel: c.TrueLabel, FalseLabel: c.FalseLabel}
		if c.S != nil {
			nc.S = make([]string, n)
		}
		if c.F != nil {
			nc.F = make([]float64, n)
		}
		for r := 0; r < n; r++ {
			i := pick(r, j)
			nc.Null[r] = c.Null[i]
			if nc.S != nil {
				nc.S[r] = c.S[i]
			}
			if nc.F != nil {
				nc.F[r] = c.F[i]
			}
		}
		out.Columns = append(out.Columns, nc)
	}
	return out
}

// Names lists the column names in order.
func (f *Frame) Names() []string {
	out := make([]string, len(f.Columns))
	for i, c := range f.Columns {
		out[i] = c.Name
	}
	return out
}

// Builder appends Arrow record batches into a Frame.
type Builder struct {
	schema *arrow.Schema
	cols   []*Column
	rows   int
}

// NewBuilder prepares columns for the schema.
func NewBuilder(schema *arrow.Schema) *Builder {
	b := &Builder{schema: schema}
	for _, fld := range schema.Fields() {
		b.cols = append(b.cols, &Column{Name: fld.Name, Kind: kindOf(fld.Type), ArrowType: fld.Type.String()})
	}
	return b
}

func kindOf(t arrow.DataType) Kind {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32,
		arrow.UINT64, arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL128, arrow.DECIMAL256:
		return Float
	case arrow.BOOL:
		return Bool
	case arrow.TIMESTAMP, arrow.DATE32, arrow.DATE64:
		return Time
	default:
		return String
	}
}

// Append adds one record batch; its schema must match the builder's.
func (b *Builder) Append(rec arrow.RecordBatch) error {
	if int(rec.NumCols()) != len(b.cols) {
		return fmt.Errorf("frame: record has %d columns, schema has %d", rec.NumCols(), len(b.cols))
	}
	n := int(rec.NumRows())
	for j, c := range b.cols {
		if err := appendArray(c, rec.Column(j), n); err != nil {
			return fmt.Errorf("frame: column %q: %w", c.Name, err)
		}
	}
	b.rows += n
	return nil
}

// Frame returns the built frame. The builder must not be used afterwards.
func (b *Builder) Frame() *Frame {
	return &Frame{Columns: b.cols, Rows: b.rows}
}

func appendArray(c *Column, arr arrow.Array, n int) error {
	c.Null = slices.Grow(c.Null, n)
	// Fast paths for the common types: whole-batch loops, and one string copy per batch.
	switch a := arr.(type) {
	case *array.Float64:
		c.F = slices.Grow(c.F, n)
		if a.NullN() == 0 {
			c.F = append(c.F, a.Float64Values()[:n]...)
			c.Null = append(c.Null, make([]bool, n)...)
			return nil
		}
		for i, v := range a.Float64Values()[:n] {
			null := a.IsNull(i)
			if null {
				v = math.NaN()
			}
			c.Null = append(c.Null, null)
			c.F = append(c.F, v)
		}
		return nil
	case *array.Int64:
		c.F = slices.Grow(c.F, n)
		for i, v := range a.Int64Values()[:n] {
			null := a.IsNull(i)
			f := float64(v)
			if null {
				f = math.NaN()
			}
			c.Null = append(c.Null, null)
			c.F = append(c.F, f)
		}
		return nil
	case *array.String:
		if c.Kind != String {
			break
		}
		c.S = slices.Grow(c.S, n)
		offs := a.ValueOffsets()
		data := string(a.ValueBytes()) // the batch's values, copied once
		base := offs[0]
		for i := 0; i < n; i++ {
			null := a.IsNull(i)
			v := ""
			if !null {
				v = data[offs[i]-base : offs[i+1]-base]
			}
			c.Null = append(c.Null, null)
			c.S = append(c.S, v)
		}
		return nil
	}
	if c.Kind == String {
		c.S = slices.Grow(c.S, n)
	} else {
		c.F = slices.Grow(c.F, n)
	}
	for i := 0; i < n; i++ {
		null := arr.IsNull(i)
		c.Null = append(c.Null, null)
		if c.Kind == String {
			v := ""
			if !null {
				v = stringValue(arr, i)
			}
			c.S = append(c.S, v)
			continue
		}
		v := math.NaN()
		if !null {
			var err error
			if v, err = floatValue(arr, i); err != nil {
				return err
			}
		}
		c.F = append(c.F, v)
	}
	return nil
}

func floatValue(arr arrow.Array, i int) (float64, error) {
	switch a := arr.(type) {
	case *array.Int8:
		return float64(a.Value(i)), nil
	case *array.Int16:
		return float64(a.Value(i)), nil
	case *array.Int32:
		return float64(a.Value(i)), nil
	case *array.Int64:
		return float64(a.Value(i)), nil
	case *array.Uint8:
		return float64(a.Value(i)), nil
	case *array.Uint16:
		return float64(a.Value(i)), nil
	case *array.Uint32:
		return float64(a.Value(i)), nil
	case *array.Uint64:
		return float64(a.Value(i)), nil
	case *array.Float16:
		return float64(a.Value(i).Float32()), nil
	case *array.Float32:
		return float64(a.Value(i)), nil
	case *array.Float64:
		return a.Value(i), nil
	case *array.Decimal128:
		dt := a.DataType().(*arrow.Decimal128Type)
		return a.Value(i).ToFloat64(dt.Scale), nil
	case *array.Decimal256:
		dt := a.DataType().(*arrow.Decimal256Type)
		return a.Value(i).ToFloat64(dt.Scale), nil
	case *array.Boolean:
		if a.Value(i) {
			return 1, nil
		}
		return 0, nil
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		t := a.Value(i).ToTime(unit)
		return float64(t.UnixNano()) / 1e9, nil
	case *array.Date32:
		return float64(a.Value(i).ToTime().Unix()), nil
	case *array.Date64:
		return float64(a.Value(i).ToTime().Unix()), nil
	}
	return 0, fmt.Errorf("unsupported numeric arrow type %s", arr.DataType())
}

// stringValue copies the value out of the array: Arrow's Value aliases the batch's buffers, which
// the reader frees or reuses once the batch is released (seen as corrupt strings after a DuckDB read).
func stringValue(arr arrow.Array, i int) string {
	switch a := arr.(type) {
	case *array.String:
		return strings.Clone(a.Value(i))
	case *array.LargeString:
		return strings.Clone(a.Value(i))
	case *array.StringView:
		return strings.Clone(a.Value(i))
	case *array.Binary:
		return string(a.Value(i))
	case *array.Dictionary:
		return stringValue(a.Dictionary(), a.GetValueIndex(i))
	}
	// ValueStr of string-like arrays may point into the batch's memory, which DuckDB reuses once the
	// batch is released: always copy.
	return strings.Clone(arr.ValueStr(i))
}

// TimeOf converts a Time column value back to a time.
func TimeOf(v float64) time.Time {
	sec, frac := math.Modf(v)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}
