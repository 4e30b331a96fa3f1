//go:build duckdb_arrow

package duck

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// Limits bound one sandboxed SQL query.
type Limits struct {
	// Timeout interrupts the query; 0 means 30 seconds.
	Timeout time.Duration
	// MemoryLimit is DuckDB's memory_limit; empty means DefaultMemoryLimit.
	MemoryLimit string
	// Threads is DuckDB's thread count; 0 means the number of CPUs.
	Threads int
	// MaxRows caps the rows returned; 0 means 10000. Result.Truncated tells when rows were cut.
	MaxRows int64
	// TempDir, when set, is a folder under which a private spill folder is made and removed.
	TempDir string
	// Warm, when set, supplies a pre-opened database (opening one costs tens of milliseconds);
	// it is used only when its memory and thread settings equal these limits.
	Warm *WarmPool
}

// WarmPool keeps a few private in-memory DuckDB databases opened ahead of time, configured with
// fixed memory and thread limits but not yet given any file or locked. Each serves exactly one
// query and is then closed; a background goroutine opens replacements.
type WarmPool struct {
	memory  string
	threads int
	ch      chan *Conn
	cancel  context.CancelFunc
	done    chan struct{}
}

// NewWarmPool starts keeping size databases ready.
func NewWarmPool(size int, memory string, threads int) *WarmPool {
	ctx, cancel := context.WithCancel(context.Background())
	p := &WarmPool{memory: memory, threads: threads, ch: make(chan *Conn, max(size, 1)), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for ctx.Err() == nil {
			c, err := Open(ctx, Config{MemoryLimit: memory, Threads: threads})
			if err != nil {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
					continue
				}
			}
			select {
			case p.ch <- c:
			case <-ctx.Done():
				c.Close()
				return
			}
		}
	}()
	return p
}

func (p *WarmPool) get(memory string, threads int) *Conn {
	if p == nil || memory != p.memory || threads != p.threads {
		return nil
	}
	select {
	case c := <-p.ch:
		return c
	default:
		return nil
	}
}

// Close stops refilling and closes the idle databases.
func (p *WarmPool) Close() {
	p.cancel()
	<-p.done
	for {
		select {
		case c := <-p.ch:
			c.Close()
		default:
			return
		}
	}
}

// Result is the materialized output of a sandboxed query.
type Result struct {
	Schema  *arrow.Schema
	Records []arrow.RecordBatch
	Rows    int64
	// Truncated is set when the query produced more than Limits.MaxRows rows.
	Truncated bool
}

// Release frees the record batches.
func (r *Result) Release() {
	if r == nil {
		return
	}
	for _, rec := range r.Records {
		rec.Release()
	}
	r.Records = nil
}

var aliasRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// SQL runs one read-only query against the given tables (alias -> Parquet path), each visible as a
// view and nothing else: external access is off (only those files can be read), the configuration is
// locked and extensions cannot be installed or loaded. The query must be a single SELECT-like
// statement (SELECT, WITH, FROM, VALUES, set operations); anything else (COPY, ATTACH, INSTALL, LOAD,
// PRAGMA, SET, CREATE, EXPLAIN, ...) is refused with an error wrapping ErrInvalidArgument. The
// timeout interrupts the running query; the error then wraps context.DeadlineExceeded.
func SQL(ctx context.Context, tables map[string]string, query string, limits Limits) (*Result, error) {
	if strings.TrimSpace(query) == "" {
		return nil, fmt.Errorf("%w: query is empty", ErrInvalidArgument)
	}
	timeout := limits.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	maxRows := limits.MaxRows
	if maxRows <= 0 {
		maxRows = 10000
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	aliases := make([]string, 0, len(tables))
	for alias := range tables {
		if !aliasRE.MatchString(alias) {
			return nil, fmt.Errorf("%w: table alias %q must be a plain identifier (letters, digits, _)", ErrInvalidArgument, alias)
		}
		aliases = append(aliases, alias)
	}
	sort.Strings(aliases)
	cfg := Config{MemoryLimit: limits.MemoryLimit, Threads: limits.Threads}
	for _, a := range aliases {
		cfg.ReadPaths = append(cfg.ReadPaths, tables[a])
	}
	if limits.TempDir != "" {
		dir, err := os.MkdirTemp(limits.TempDir, "duck-sql-*")
		if err != nil {
			return nil, fmt.Errorf("sandbox temp folder: %w", err)
		}
		defer os.RemoveAll(dir)
		cfg.TempDir = dir
	}
	c := limits.Warm.get(limits.MemoryLimit, limits.Threads)
	if c != nil {
		// The same settings Open would make from cfg, on a database opened ahead without them.
		var stmts []string
		if len(cfg.ReadPaths) > 0 {
			stmts = append(stmts, "SET allowed_paths = "+literalList(cfg.ReadPaths))
		}
		if cfg.TempDir != "" {
			stmts = append(stmts, "SET temp_directory = "+Literal(cfg.TempDir), "SET allowed_directories = "+literalList([]string{cfg.TempDir}))
		}
		for _, s := range stmts {
			if err := c.Exec(ctx, s); err != nil {
				c.Close()
				return nil, fmt.Errorf("configure duckdb: %w", err)
			}
		}
	} else {
		var err error
		if c, err = Open(ctx, cfg); err != nil {
			return nil, err
		}
	}
	defer c.Close()
	if err := checkReadOnly(ctx, c, query); err != nil {
		return nil, err
	}
	for _, a := range aliases {
		if err := c.Exec(ctx, "CREATE VIEW "+Ident(a)+" AS SELECT * FROM "+ParquetScan(tables[a])); err != nil {
			return nil, fmt.Errorf("register table %q: %w", a, err)
		}
	}
	if err := c.Lock(ctx); err != nil {
		return nil, err
	}
	ar, err := c.Arrow()
	if err != nil {
		return nil, err
	}
	rr, err := ar.QueryContext(ctx, query)
	if err != nil {
		return nil, queryError(ctx, timeout, err)
	}
	defer rr.Release()
	res := &Result{Schema: rr.Schema()}
	for rr.Next() {
		rec := rr.RecordBatch()
		n := rec.NumRows()
		if res.Rows+n > maxRows {
			if keep := maxRows - res.Rows; keep > 0 {
				res.Records = append(res.Records, rec.NewSlice(0, keep))
				res.Rows += keep
			}
			res.Truncated = true
			break
		}
		rec.Retain()
		res.Records = append(res.Records, rec)
		res.Rows += n
	}
	if err := rr.Err(); err != nil {
		res.Release()
		return nil, queryError(ctx, timeout, err)
	}
	return res, nil
}

func queryError(ctx context.Context, timeout time.Duration, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("query interrupted after the %s time limit: %w", timeout, context.DeadlineExceeded)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	msg := err.Error()
	// Errors about the query itself (syntax, names, types, refused file access) are the caller's.
	for _, k := range []string{"Parser Error", "Binder Error", "Catalog Error", "Conversion Error", "Permission Error", "Invalid Input Error", "Not implemented Error"} {
		if strings.Contains(msg, k) {
			return fmt.Errorf("%w: %s", ErrInvalidArgument, msg)
		}
	}
	if strings.Contains(msg, "Out of Memory") {
		return fmt.Errorf("%w: %s", ErrResourceExhausted, msg)
	}
	return err
}

// checkReadOnly asks DuckDB's own parser whether query is exactly one SELECT-like statement.
func checkReadOnly(ctx context.Context, c *Conn, query string) error {
	var isErr bool
	var msg string
	var n int64
	err := c.conn.QueryRowContext(ctx, `SELECT COALESCE((j->>'error')::BOOLEAN, false), COALESCE(j->>'error_message', ''),
		COALESCE(json_array_length(j->'statements'), 0) FROM (SELECT json_serialize_sql(?::VARCHAR)::JSON AS j)`, query).Scan(&isErr, &msg, &n)
	if err != nil {
		return fmt.Errorf("check query: %w", err)
	}
	if isErr {
		if strings.Contains(msg, "Only SELECT") {
			return fmt.Errorf("%w: only a single read-only query (SELECT, WITH, FROM, VALUES) is allowed; %s statements are refused", ErrInvalidArgument, firstWord(query))
		}
		return fmt.Errorf("%w: %s", ErrInvalidArgument, msg)
	}
	if n != 1 {
		return fmt.Errorf("%w: exactly one statement is allowed, got %d", ErrInvalidArgument, n)
	}
	return nil
}

func firstWord(q string) string {
	f := strings.Fields(strings.TrimLeft(q, " \t\r\n(;"))
	if len(f) == 0 {
		return "empty"
	}
	w := strings.ToUpper(f[0])
	if len(w) > 20 {
		w = w[:20]
	}
	return w
}

// ParquetToCSV writes a Parquet file as CSV with a header row (for the Python sandbox, whose
// libraries read CSV; Debian has no pyarrow). Only the two files are reachable by the connection.
func ParquetToCSV(ctx context.Context, parquetPath, csvPath string) error {
	c, err := Open(ctx, Config{ReadPaths: []string{parquetPath, csvPath}, Threads: 1})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Lock(ctx); err != nil {
		return err
	}
	return c.Exec(ctx, "COPY (SELECT * FROM "+ParquetScan(parquetPath)+") TO "+Literal(csvPath)+" (FORMAT csv, HEADER true)")
}
