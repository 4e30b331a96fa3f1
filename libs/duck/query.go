//go:build duckdb_arrow

package duck

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	datasetsv1 "github.com/vdsproject/vds/gen/vds/datasets/v1"
)

// QueryOptions tune QueryParquet. The zero value is fine.
type QueryOptions struct {
	Config
	// PageCells bounds how much DuckDB materializes at once: rows per page times selected columns.
	// 0 means 32 million cells.
	PageCells int64
}

// Schema returns the columns of a Parquet file.
func Schema(ctx context.Context, parquetPath string) ([]ColumnInfo, error) {
	c, err := Open(ctx, Config{ReadPaths: []string{parquetPath}})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.Lock(ctx); err != nil {
		return nil, err
	}
	return schemaOf(ctx, c, parquetPath)
}

func schemaOf(ctx context.Context, c *Conn, parquetPath string) ([]ColumnInfo, error) {
	rows, err := c.conn.QueryContext(ctx, "DESCRIBE SELECT * FROM "+ParquetScan(parquetPath))
	if err != nil {
		return nil, fmt.Errorf("read parquet schema: %w", err)
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []ColumnInfo
	for rows.Next() {
		vals := make([]any, len(names))
		ptrs := make([]any, len(names))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, ColumnInfo{Name: fmt.Sprint(vals[0]), Type: fmt.Sprint(vals[1])})
	}
	return out, rows.Err()
}

var filterOps = map[string]string{
	"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">=",
	"is_null": "IS NULL", "not_null": "IS NOT NULL",
}

// QueryParquet streams the rows of one Parquet file selected by q (columns, filters, limit) as Arrow
// record batches. q.DatasetId and q.Version are not used: the caller resolved them to parquetPath.
// Column names are checked against the file's schema; an unknown column, an unknown operator or a
// value that does not convert to the column's type is an error wrapping ErrInvalidArgument.
//
// Filter values are bound as parameters, never spliced into SQL. The file is read page by page
// (ranges of row numbers, which DuckDB prunes to row groups), so memory stays bounded by one page
// whatever the file size. The reader owns a DuckDB connection: call Release when done; it is not safe
// for concurrent use.
func QueryParquet(ctx context.Context, parquetPath string, q *datasetsv1.DatasetQuery) (array.RecordReader, error) {
	return QueryParquetWith(ctx, parquetPath, q, QueryOptions{})
}

// QueryParquetWith is QueryParquet with explicit limits.
func QueryParquetWith(ctx context.Context, parquetPath string, q *datasetsv1.DatasetQuery, opts QueryOptions) (array.RecordReader, error) {
	if q == nil {
		q = &datasetsv1.DatasetQuery{}
	}
	if q.GetLimit() < 0 {
		return nil, fmt.Errorf("%w: limit must not be negative", ErrInvalidArgument)
	}
	cfg := opts.Config
	cfg.ReadPaths = append(append([]string(nil), cfg.ReadPaths...), parquetPath)
	c, err := Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	if err := c.Lock(ctx); err != nil {
		return nil, err
	}
	schema, err := schemaOf(ctx, c, parquetPath)
	if err != nil {
		return nil, err
	}
	types := make(map[string]string, len(schema))
	for _, col := range schema {
		types[col.Name] = col.Type
	}
	unknown := func(field, name string) error {
		return fmt.Errorf("%w: %s: unknown column %q (the dataset has %d columns)", ErrInvalidArgument, field, name, len(schema))
	}
	var sel []string
	if len(q.GetColumns()) == 0 {
		for _, col := range schema {
			sel = append(sel, Ident(col.Name))
		}
	} else {
		seen := map[string]bool{}
		for _, name := range q.GetColumns() {
			if _, ok := types[name]; !ok {
				return nil, unknown("columns", name)
			}
			if seen[name] {
				return nil, fmt.Errorf("%w: columns: column %q requested twice", ErrInvalidArgument, name)
			}
			seen[name] = true
			sel = append(sel, Ident(name))
		}
	}
	var where []string
	var args []any
	for i, f := range q.GetFilters() {
		typ, ok := types[f.GetColumn()]
		if !ok {
			return nil, unknown(fmt.Sprintf("filters[%d].column", i), f.GetColumn())
		}
		op, ok := filterOps[strings.ToLower(f.GetOp())]
		if !ok {
			return nil, fmt.Errorf("%w: filters[%d].op: unknown operator %q (use eq, ne, lt, le, gt, ge, is_null, not_null)", ErrInvalidArgument, i, f.GetOp())
		}
		col := Ident(f.GetColumn())
		if strings.HasPrefix(op, "IS") {
			where = append(where, col+" "+op)
			continue
		}
		// The type name comes from DuckDB's own DESCRIBE, not from the request; the value is bound.
		var ignored any
		if err := c.conn.QueryRowContext(ctx, "SELECT CAST(?::VARCHAR AS "+typ+")", f.GetValue()).Scan(&ignored); err != nil {
			return nil, fmt.Errorf("%w: filters[%d].value: %q is not a valid %s for column %q", ErrInvalidArgument, i, f.GetValue(), strings.ToLower(typ), f.GetColumn())
		}
		where = append(where, fmt.Sprintf("%s %s CAST(?::VARCHAR AS %s)", col, op, typ))
		args = append(args, f.GetValue())
	}
	var total int64
	if err := c.conn.QueryRowContext(ctx, "SELECT COALESCE(SUM(num_rows), 0) FROM parquet_file_metadata("+Literal(parquetPath)+")").Scan(&total); err != nil {
		return nil, fmt.Errorf("read parquet metadata: %w", err)
	}
	a, err := c.Arrow()
	if err != nil {
		return nil, err
	}
	cells := opts.PageCells
	if cells <= 0 {
		cells = 32 << 20
	}
	page := cells / int64(max(len(sel), 1))
	page = max(page, 2048)
	where = append([]string{"file_row_number >= ? AND file_row_number < ?"}, where...)
	query := "SELECT " + strings.Join(sel, ", ") + " FROM " + ParquetScan(parquetPath, "file_row_number = true") + " WHERE " +
		strings.Join(where, " AND ")
	r := &pagedReader{
		ctx: ctx, conn: c, arrow: a, query: query, args: args, total: total, page: page,
		limit: q.GetLimit(), refs: 1,
	}
	// Open the first page now so that the schema is known and errors surface here.
	if err := r.openPage(); err != nil {
		return nil, err
	}
	r.schema = r.cur.Schema()
	ok = true
	return r, nil
}

// pagedReader runs the query once per range of row numbers and hands on the batches.
type pagedReader struct {
	ctx   context.Context
	conn  *Conn
	arrow interface {
		QueryContext(ctx context.Context, query string, args ...any) (array.RecordReader, error)
	}
	query  string
	args   []any
	total  int64
	page   int64
	next   int64 // first row number of the next page
	limit  int64 // 0 = all
	sent   int64
	cur    array.RecordReader
	rec    arrow.RecordBatch
	schema *arrow.Schema
	err    error
	refs   int64
	done   bool
}

func (r *pagedReader) openPage() error {
	lo := r.next
	hi := lo + r.page
	r.next = hi
	args := append([]any{lo, hi}, r.args...)
	rr, err := r.arrow.QueryContext(r.ctx, r.query, args...)
	if err != nil {
		return fmt.Errorf("query parquet: %w", err)
	}
	r.cur = rr
	return nil
}

func (r *pagedReader) Schema() *arrow.Schema { return r.schema }

func (r *pagedReader) Next() bool {
	if r.rec != nil {
		r.rec.Release()
		r.rec = nil
	}
	if r.done || r.err != nil {
		return false
	}
	for {
		if r.limit > 0 && r.sent >= r.limit {
			r.finish()
			return false
		}
		if r.cur == nil {
			if r.next >= r.total {
				r.finish()
				return false
			}
			if err := r.openPage(); err != nil {
				r.err = err
				return false
			}
		}
		if r.cur.Next() {
			rec := r.cur.RecordBatch()
			n := rec.NumRows()
			if n == 0 {
				continue
			}
			if r.limit > 0 && r.sent+n > r.limit {
				rec = rec.NewSlice(0, r.limit-r.sent)
				n = rec.NumRows()
			} else {
				rec.Retain()
			}
			r.sent += n
			r.rec = rec
			return true
		}
		if err := r.cur.Err(); err != nil {
			if r.ctx.Err() != nil {
				err = errors.Join(r.ctx.Err(), err)
			}
			r.err = err
			return false
		}
		r.cur.Release()
		r.cur = nil
	}
}

func (r *pagedReader) finish() {
	r.done = true
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
}

func (r *pagedReader) RecordBatch() arrow.RecordBatch { return r.rec }

// Record is the deprecated name of RecordBatch.
func (r *pagedReader) Record() arrow.RecordBatch { return r.rec }

func (r *pagedReader) Err() error { return r.err }

func (r *pagedReader) Retain() { atomic.AddInt64(&r.refs, 1) }

func (r *pagedReader) Release() {
	if atomic.AddInt64(&r.refs, -1) != 0 {
		return
	}
	if r.rec != nil {
		r.rec.Release()
		r.rec = nil
	}
	r.finish()
	r.conn.Close()
}
