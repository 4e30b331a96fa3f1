package profile

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc"

	"github.com/vdsproject/vds/gen/client"
	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/grpcx"
)

// ReadFlight streams a dataset query over Arrow Flight into a frame, the way the profiler needs it,
// and faster than appending batch by batch into growing slices (which copies every column about
// five times over as Go grows large slices by 1.25x, with write barriers on the string columns):
//
//   - rowsHint (the version's row count, from its metadata; 0 when unknown) sizes every column
//     once; a wrong hint only costs a regrowth (doubling);
//   - receiving and decoding the IPC stream runs on one goroutine while the Arrow arrays of the
//     previous batches are copied into the columns on another, so the two overlap on two cores;
//   - each batch's string bytes are copied once and the values are substrings of that copy.
//
// The frame holds the same values, kinds and nulls as frame.Builder would give (float64 for every
// numeric type, Unix seconds for times, NaN for missing numbers).
func ReadFlight(ctx context.Context, conn grpc.ClientConnInterface, q *datasetsv1.DatasetQuery, rowsHint int64) (*frame.Frame, error) {
	rdr, err := client.DoGet(grpcx.Forward(ctx), flight.NewFlightServiceClient(conn), q)
	if err != nil {
		return nil, fmt.Errorf("read dataset %s over Flight: %w", q.DatasetId, err)
	}
	defer rdr.Release()
	schema := rdr.Schema()
	cols := make([]*frame.Column, schema.NumFields())
	// A frame.Builder with no batches gives the kind and type name of each field exactly as it would.
	for j, c := range frame.NewBuilder(schema).Frame().Columns {
		cols[j] = c
		if hint := int(min(max(rowsHint, 0), 1<<31)); hint > 0 {
			cols[j].Null = make([]bool, 0, hint)
			if c.Kind == frame.String {
				cols[j].S = make([]string, 0, hint)
			} else {
				cols[j].F = make([]float64, 0, hint)
			}
		}
	}
	batches := make(chan arrow.RecordBatch, 8)
	done := make(chan error, 1)
	go func() {
		var err error
		for rec := range batches {
			if err == nil {
				err = appendBatch(cols, rec)
			}
			rec.Release()
		}
		done <- err
	}()
	rows := 0
	var readErr error
	for rdr.Next() {
		rec := rdr.RecordBatch()
		if int(rec.NumCols()) != len(cols) {
			readErr = fmt.Errorf("read dataset %s over Flight: a batch has %d columns, the schema %d", q.DatasetId, rec.NumCols(), len(cols))
			break
		}
		rec.Retain() // the reader reuses its current batch on Next
		rows += int(rec.NumRows())
		select {
		case batches <- rec:
		case <-ctx.Done():
			rec.Release()
			readErr = ctx.Err()
		}
		if readErr != nil {
			break
		}
	}
	close(batches)
	convErr := <-done
	if readErr != nil {
		return nil, readErr
	}
	if err := rdr.Err(); err != nil {
		return nil, fmt.Errorf("read dataset %s over Flight: %w", q.DatasetId, err)
	}
	if convErr != nil {
		return nil, fmt.Errorf("read dataset %s over Flight: %w", q.DatasetId, convErr)
	}
	return &frame.Frame{Columns: cols, Rows: rows}, nil
}

// grow makes room for n more elements, doubling the capacity when it must grow.
func grow[T any](s []T, n int) []T {
	if len(s)+n <= cap(s) {
		return s
	}
	out := make([]T, len(s), max(2*cap(s), len(s)+n, 1024))
	copy(out, s)
	return out
}

func appendBatch(cols []*frame.Column, rec arrow.RecordBatch) error {
	n := int(rec.NumRows())
	for j, c := range cols {
		if err := appendColumn(c, rec.Column(j), n); err != nil {
			return fmt.Errorf("column %q: %w", c.Name, err)
		}
	}
	return nil
}

// appendColumn appends n values of arr to c with whole-array loops for the common types; other
// types go through a one-batch frame.Builder (the reference conversion).
func appendColumn(c *frame.Column, arr arrow.Array, n int) error {
	c.Null = grow(c.Null, n)
	nulls := c.Null[len(c.Null) : len(c.Null)+n]
	c.Null = c.Null[:len(c.Null)+n]
	hasNulls := arr.NullN() > 0
	for i := range nulls {
		nulls[i] = hasNulls && arr.IsNull(i)
	}
	if c.Kind == frame.String {
		c.S = grow(c.S, n)
		out := c.S[len(c.S) : len(c.S)+n]
		c.S = c.S[:len(c.S)+n]
		switch a := arr.(type) {
		case *array.String:
			offs := a.ValueOffsets()
			data := string(a.ValueBytes()) // one copy per batch: the batch's memory is reused
			base := offs[0]
			for i := range out {
				if !nulls[i] {
					out[i] = data[offs[i]-base : offs[i+1]-base]
				} else {
					out[i] = ""
				}
			}
			return nil
		case *array.LargeString:
			offs := a.ValueOffsets()
			data := string(a.ValueBytes())
			base := offs[0]
			for i := range out {
				if !nulls[i] {
					out[i] = data[offs[i]-base : offs[i+1]-base]
				} else {
					out[i] = ""
				}
			}
			return nil
		case *array.StringView:
			for i := range out {
				if !nulls[i] {
					out[i] = strings.Clone(a.Value(i))
				} else {
					out[i] = ""
				}
			}
			return nil
		}
		return appendViaBuilder(c, arr, n, out)
	}
	c.F = grow(c.F, n)
	out := c.F[len(c.F) : len(c.F)+n]
	c.F = c.F[:len(c.F)+n]
	switch a := arr.(type) {
	case *array.Float64:
		copy(out, a.Float64Values()[:n])
	case *array.Float32:
		for i, v := range a.Float32Values()[:n] {
			out[i] = float64(v)
		}
	case *array.Int64:
		for i, v := range a.Int64Values()[:n] {
			out[i] = float64(v)
		}
	case *array.Int32:
		for i, v := range a.Int32Values()[:n] {
			out[i] = float64(v)
		}
	case *array.Int16:
		for i, v := range a.Int16Values()[:n] {
			out[i] = float64(v)
		}
	case *array.Int8:
		for i, v := range a.Int8Values()[:n] {
			out[i] = float64(v)
		}
	default:
		return appendViaBuilder(c, arr, n, nil)
	}
	if hasNulls {
		nan := math.NaN()
		for i, null := range nulls {
			if null {
				out[i] = nan
			}
		}
	}
	return nil
}

// appendViaBuilder converts one array with frame.Builder and copies its values into the slots
// already reserved at the end of c (out for strings; the last n of c.F otherwise).
func appendViaBuilder(c *frame.Column, arr arrow.Array, n int, out []string) error {
	fld := arrow.Field{Name: c.Name, Type: arr.DataType(), Nullable: true}
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{fld}, nil), []arrow.Array{arr}, int64(n))
	defer rec.Release()
	b := frame.NewBuilder(rec.Schema())
	if err := b.Append(rec); err != nil {
		return err
	}
	one := b.Frame().Columns[0]
	if one.Kind != c.Kind {
		return fmt.Errorf("batch of type %s does not fit a %s column", arr.DataType(), c.Kind)
	}
	if c.Kind == frame.String {
		copy(out, one.S)
	} else {
		copy(c.F[len(c.F)-n:], one.F)
	}
	return nil
}
