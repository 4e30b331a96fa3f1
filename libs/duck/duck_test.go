//go:build duckdb_arrow

package duck

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
)

// writeParquet makes a small file with 1000 rows: id 0..999, grp a/b/c, x = id/10 (NULL when id%100 == 7),
// name with a quote in it.
func writeParquet(t *testing.T, rows int) string {
	t.Helper()
	// A "k=v" folder must not turn into a Hive partition column.
	dir := filepath.Join(t.TempDir(), "part=1")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "t.parquet")
	ctx := context.Background()
	c, err := Open(ctx, Config{Dirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	q := `COPY (SELECT range AS id, ['a','b','c'][range % 3 + 1] AS grp,
		CASE WHEN range % 100 = 7 THEN NULL ELSE range / 10 END AS x, 'it''s "' || range AS "na""me"
		FROM range(` + strconv.Itoa(rows) + `)) TO ` + Literal(p) + ` (FORMAT parquet, ROW_GROUP_SIZE 2048)`
	if err := c.Exec(ctx, q); err != nil {
		t.Fatal(err)
	}
	return p
}

func collect(t *testing.T, rr array.RecordReader) (cols []string, rows int64, first map[string]any) {
	t.Helper()
	defer rr.Release()
	for _, f := range rr.Schema().Fields() {
		cols = append(cols, f.Name)
	}
	for rr.Next() {
		rec := rr.RecordBatch()
		if first == nil && rec.NumRows() > 0 {
			first = map[string]any{}
			for i, f := range rec.Schema().Fields() {
				v := rec.Column(i).GetOneForMarshal(0)
				if s, ok := v.(string); ok {
					v = strings.Clone(s) // the batch's memory goes away on the next Next
				}
				first[f.Name] = v
			}
		}
		rows += rec.NumRows()
	}
	if err := rr.Err(); err != nil {
		t.Fatal(err)
	}
	return cols, rows, first
}

func TestQueryParquet(t *testing.T) {
	t.Parallel()
	p := writeParquet(t, 10000)
	ctx := context.Background()
	cases := []struct {
		name  string
		q     *datasetsv1.DatasetQuery
		cols  []string
		rows  int64
		first map[string]any
	}{
		{"all", &datasetsv1.DatasetQuery{}, []string{"id", "grp", "x", `na"me`}, 10000, nil},
		{"projection", &datasetsv1.DatasetQuery{Columns: []string{`na"me`, "id"}}, []string{`na"me`, "id"}, 10000, map[string]any{"id": int64(0), `na"me`: `it's "0`}},
		{"limit", &datasetsv1.DatasetQuery{Columns: []string{"id"}, Limit: 2500}, []string{"id"}, 2500, nil},
		{"eq", &datasetsv1.DatasetQuery{Columns: []string{"id", "grp"}, Filters: []*datasetsv1.RowFilter{{Column: "grp", Op: "eq", Value: "b"}}}, []string{"id", "grp"}, 3333, map[string]any{"id": int64(1), "grp": "b"}},
		{"range", &datasetsv1.DatasetQuery{Columns: []string{"id"}, Filters: []*datasetsv1.RowFilter{{Column: "id", Op: "ge", Value: "9000"}, {Column: "id", Op: "lt", Value: "9500"}}}, []string{"id"}, 500, map[string]any{"id": int64(9000)}},
		{"ne le gt", &datasetsv1.DatasetQuery{Columns: []string{"id"}, Filters: []*datasetsv1.RowFilter{{Column: "grp", Op: "ne", Value: "a"}, {Column: "id", Op: "le", Value: "10"}, {Column: "id", Op: "gt", Value: "1"}}}, []string{"id"}, 6, map[string]any{"id": int64(2)}},
		{"is_null", &datasetsv1.DatasetQuery{Columns: []string{"id"}, Filters: []*datasetsv1.RowFilter{{Column: "x", Op: "is_null"}}}, []string{"id"}, 100, map[string]any{"id": int64(7)}},
		{"not_null limit", &datasetsv1.DatasetQuery{Columns: []string{"x"}, Filters: []*datasetsv1.RowFilter{{Column: "x", Op: "not_null"}}, Limit: 5000}, []string{"x"}, 5000, nil},
		{"injection is a value", &datasetsv1.DatasetQuery{Filters: []*datasetsv1.RowFilter{{Column: "grp", Op: "eq", Value: "a' OR '1'='1"}}}, []string{"id", "grp", "x", `na"me`}, 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Small pages so that paging is exercised.
			rr, err := QueryParquetWith(ctx, p, tc.q, QueryOptions{PageCells: 3000})
			if err != nil {
				t.Fatal(err)
			}
			cols, rows, first := collect(t, rr)
			if strings.Join(cols, ",") != strings.Join(tc.cols, ",") {
				t.Errorf("columns = %v, want %v", cols, tc.cols)
			}
			if rows != tc.rows {
				t.Errorf("rows = %d, want %d", rows, tc.rows)
			}
			for k, v := range tc.first {
				if first[k] != v {
					t.Errorf("first row %s = %v (%T), want %v", k, first[k], first[k], v)
				}
			}
		})
	}
	// Default options (one page).
	rr, err := QueryParquet(ctx, p, &datasetsv1.DatasetQuery{Columns: []string{"id"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, rows, _ := collect(t, rr); rows != 10000 {
		t.Errorf("rows = %d", rows)
	}
}

func TestQueryParquetErrors(t *testing.T) {
	t.Parallel()
	p := writeParquet(t, 100)
	ctx := context.Background()
	cases := []struct {
		name string
		q    *datasetsv1.DatasetQuery
		want string
	}{
		{"unknown column", &datasetsv1.DatasetQuery{Columns: []string{"id", "nope"}}, `unknown column "nope"`},
		{"unknown filter column", &datasetsv1.DatasetQuery{Filters: []*datasetsv1.RowFilter{{Column: "zz", Op: "eq", Value: "1"}}}, `filters[0].column: unknown column "zz"`},
		{"bad op", &datasetsv1.DatasetQuery{Filters: []*datasetsv1.RowFilter{{Column: "id", Op: "like", Value: "1"}}}, `unknown operator "like"`},
		{"bad value", &datasetsv1.DatasetQuery{Filters: []*datasetsv1.RowFilter{{Column: "id", Op: "eq", Value: "abc"}}}, `abc`},
		{"negative limit", &datasetsv1.DatasetQuery{Limit: -1}, "limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := QueryParquet(ctx, p, tc.q)
			if err == nil || !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want InvalidArgument containing %q", err, tc.want)
			}
		})
	}
}

func TestSQL(t *testing.T) {
	t.Parallel()
	p := writeParquet(t, 1000)
	ctx := context.Background()
	res, err := SQL(ctx, map[string]string{"t": p}, "SELECT grp, count(*) AS n, sum(id) AS s FROM t GROUP BY grp ORDER BY grp", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Release()
	if res.Rows != 3 || res.Truncated {
		t.Fatalf("rows = %d truncated=%v", res.Rows, res.Truncated)
	}
	rec := res.Records[0]
	if g := rec.Column(0).(*array.String).Value(0); g != "a" {
		t.Errorf("grp = %q", g)
	}
	if n := rec.Column(1).GetOneForMarshal(0); n != int64(334) {
		t.Errorf("n = %v", n)
	}
	// MaxRows truncates.
	res2, err := SQL(ctx, map[string]string{"t": p}, "FROM t", Limits{MaxRows: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer res2.Release()
	if res2.Rows != 10 || !res2.Truncated {
		t.Errorf("rows = %d truncated=%v", res2.Rows, res2.Truncated)
	}
}

func TestSQLRefusals(t *testing.T) {
	t.Parallel()
	p := writeParquet(t, 10)
	out := filepath.Join(t.TempDir(), "out.csv")
	ctx := context.Background()
	for _, q := range []string{
		"COPY t TO " + Literal(out),
		"COPY (SELECT 1) TO " + Literal(out),
		"SELECT * FROM read_csv('/etc/passwd')",
		"SELECT * FROM read_text('/etc/hostname')",
		"SELECT * FROM read_parquet(" + Literal(filepath.Join(filepath.Dir(p), "other.parquet")) + ")",
		"ATTACH ':memory:' AS x",
		"INSTALL httpfs",
		"LOAD httpfs",
		"SET threads = 1",
		"PRAGMA threads=1",
		"CREATE TABLE x AS SELECT 1",
		"DROP VIEW t",
		"SELECT 1; SELECT 2",
		"SELECT 1; COPY t TO " + Literal(out),
		"EXPLAIN ANALYZE SELECT 1",
		"SELECT * FROM t WHERE",
		"",
	} {
		res, err := SQL(ctx, map[string]string{"t": p}, q, Limits{})
		if err == nil {
			res.Release()
			t.Errorf("%q: accepted", q)
			continue
		}
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%q: err = %v, want InvalidArgument", q, err)
		}
	}
	if _, err := SQL(ctx, map[string]string{"bad alias": p}, "SELECT 1", Limits{}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("bad alias: %v", err)
	}
}

func TestSQLTimeout(t *testing.T) {
	t.Parallel()
	p := writeParquet(t, 10)
	start := time.Now()
	_, err := SQL(context.Background(), map[string]string{"t": p},
		"SELECT count(*) FROM range(100000000) a, range(100000000) b WHERE a.range + b.range = 7", Limits{Timeout: 500 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("interrupt took %s", d)
	}
}
