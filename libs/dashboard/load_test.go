package dashboard_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
	profilingv1 "github.com/vdsproject/vds/gen/vds/profiling/v1"
	"github.com/vdsproject/vds/libs/dashboard"
	"github.com/vdsproject/vds/libs/duck"
	"github.com/vdsproject/vds/libs/frame"
	"github.com/vdsproject/vds/libs/ingest"
	"github.com/vdsproject/vds/libs/planner"
	"github.com/vdsproject/vds/libs/profile"
)

// loaded is a file as the platform sees it: ingested to Parquet the way ingestion does, profiled
// the way profiling does, and queried with DuckDB the way the sandbox does (table "data").
type loaded struct {
	parquet string
	profile *profilingv1.Profile
}

func load(t *testing.T, csvPath, target string) *loaded {
	t.Helper()
	ctx := context.Background()
	dst := filepath.Join(t.TempDir(), "data.parquet")
	if _, err := ingest.Convert(ctx, csvPath, dst, ingest.Options{Threads: 2}); err != nil {
		t.Fatalf("ingest %s: %v", csvPath, err)
	}
	rdr, err := duck.QueryParquet(ctx, dst, &datasetsv1.DatasetQuery{})
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	b := frame.NewBuilder(rdr.Schema())
	for rdr.Next() {
		if err := b.Append(rdr.RecordBatch()); err != nil {
			t.Fatal(err)
		}
	}
	if err := rdr.Err(); err != nil {
		t.Fatal(err)
	}
	p, err := profile.Compute(ctx, b.Frame(), profile.Options{Target: target})
	if err != nil {
		t.Fatal(err)
	}
	return &loaded{parquet: dst, profile: p}
}

// queries counts the queries run, to check that the work stays a few aggregates.
func (l *loaded) querier(t *testing.T, count *int) dashboard.Querier {
	return func(ctx context.Context, query string) (*planner.Table, error) {
		*count++
		t.Logf("SQL: %s", query)
		res, err := duck.SQL(ctx, map[string]string{"data": l.parquet}, query, duck.Limits{Threads: 2, MaxRows: 100000})
		if err != nil {
			return nil, err
		}
		defer res.Release()
		out := &planner.Table{}
		for _, f := range res.Schema.Fields() {
			out.Columns = append(out.Columns, f.Name)
		}
		for _, rec := range res.Records {
			for i := 0; i < int(rec.NumRows()); i++ {
				row := make([]any, rec.NumCols())
				for j := range row {
					row[j] = cell(rec.Column(j), i)
				}
				out.Rows = append(out.Rows, row)
			}
		}
		return out, nil
	}
}

func cell(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch c := a.(type) {
	case *array.Float64:
		return c.Value(i)
	case *array.Float32:
		return float64(c.Value(i))
	case *array.Int64:
		return float64(c.Value(i))
	case *array.Int32:
		return float64(c.Value(i))
	case *array.Uint64:
		return float64(c.Value(i))
	case *array.Boolean:
		return c.Value(i)
	case *array.String: // copied: the batch is released after the query
		return strings.Clone(c.Value(i))
	case *array.LargeString:
		return strings.Clone(c.Value(i))
	case *array.Decimal128:
		return c.Value(i).ToFloat64(c.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Timestamp:
		return c.Value(i).ToTime(c.DataType().(*arrow.TimestampType).Unit)
	case *array.Date32:
		return c.Value(i).ToTime()
	}
	return strings.Clone(a.ValueStr(i))
}
