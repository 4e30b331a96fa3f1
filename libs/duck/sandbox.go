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
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
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
// query. A used database is handed back (retired), and a background goroutine closes it and only
// then opens its replacement, so that the 25-60 ms of opening and the closing never run on the
// request path and do not compete for CPU with the query that took the database.
type WarmPool struct {
	memory  string
	threads int
	tempDir string
	size    int
	ch      chan *warmConn
	retired chan *warmConn
	parser  chan *Conn // one long-lived database that only parses queries (the read-only check)
	kick    chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
	opened  atomic.Int64
	served  atomic.Int64
	busy    atomic.Int64 // databases retired but not yet closed, plus an open in progress
}

// warmConn is a pooled database and its private spill folder (removed when the database is closed).
type warmConn struct {
	*Conn
	dir string
}

func (w *warmConn) close() {
	w.Conn.Close()
	if w.dir != "" {
		os.RemoveAll(w.dir)
	}
}

// NewWarmPool starts keeping size databases ready.
func NewWarmPool(size int, memory string, threads int) *WarmPool {
	return NewWarmPoolSpill(size, memory, threads, "")
}

// NewWarmPoolSpill is NewWarmPool for queries whose Limits.TempDir is tempDir: each database gets
// its private spill folder under it ahead of time.
func NewWarmPoolSpill(size int, memory string, threads int, tempDir string) *WarmPool {
	ctx, cancel := context.WithCancel(context.Background())
	size = max(size, 1)
	p := &WarmPool{memory: memory, threads: threads, tempDir: tempDir, size: size, ch: make(chan *warmConn, size), retired: make(chan *warmConn, 64),
		parser: make(chan *Conn, 1), kick: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	if pc, err := Open(ctx, Config{MemoryLimit: "64MB", Threads: 1}); err == nil {
		if err := pc.Lock(ctx); err == nil {
			p.parser <- pc
		} else {
			pc.Close()
		}
	}
	go func() {
		defer close(p.done)
		for ctx.Err() == nil {
			select {
			case c := <-p.retired:
				c.close()
				p.busy.Add(-1)
				continue
			default:
			}
			if len(p.ch) < p.size {
				p.busy.Add(1)
				c, err := p.open(ctx)
				if err != nil {
					p.busy.Add(-1)
					select {
					case <-ctx.Done():
						return
					case <-time.After(time.Second):
						continue
					}
				}
				p.opened.Add(1)
				p.ch <- c // only this goroutine adds, and there is room
				p.busy.Add(-1)
				continue
			}
			select {
			case c := <-p.retired:
				c.close()
				p.busy.Add(-1)
			case <-p.kick:
			case <-ctx.Done():
				return
			}
		}
	}()
	return p
}

// open opens a database with the pool's limits and spill folder, and runs on it the statements
// every query's set-up uses once (a view, an Arrow query), so that their first-use costs in a new
// database are paid ahead of the request.
func (p *WarmPool) open(ctx context.Context) (*warmConn, error) {
	cfg := Config{MemoryLimit: p.memory, Threads: p.threads}
	if p.tempDir != "" {
		dir, err := os.MkdirTemp(p.tempDir, "duck-sql-*")
		if err != nil {
			return nil, err
		}
		cfg.TempDir = dir
	}
	c, err := Open(ctx, cfg)
	if err != nil {
		os.RemoveAll(cfg.TempDir)
		return nil, err
	}
	w := &warmConn{Conn: c, dir: cfg.TempDir}
	err = c.Exec(ctx, "CREATE TEMP VIEW vds_warm AS SELECT 1 AS x; DROP VIEW vds_warm")
	if err == nil {
		var a interface {
			QueryContext(context.Context, string, ...any) (array.RecordReader, error)
		}
		if a, err = c.Arrow(); err == nil {
			var rr array.RecordReader
			if rr, err = a.QueryContext(ctx, "SELECT range % 10 AS g, count(*) AS n FROM range(100000) GROUP BY g"); err == nil {
				rr.Release()
			}
		}
	}
	if err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func (p *WarmPool) get(memory string, threads int, tempDir string) *warmConn {
	if p == nil || memory != p.memory || threads != p.threads || tempDir != p.tempDir {
		return nil
	}
	select {
	case c := <-p.ch:
		p.served.Add(1)
		return c
	default:
		return nil
	}
}

// retire closes a used database off the request path; with a pool, the pool closes it and then
// opens the replacement.
func (p *WarmPool) retire(c *warmConn) {
	if p == nil {
		go c.close()
		return
	}
	p.busy.Add(1)
	select {
	case p.retired <- c:
	default:
		p.busy.Add(-1)
		go c.close()
	}
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

func (p *WarmPool) takeParser() *Conn {
	if p == nil {
		return nil
	}
	select {
	case c := <-p.parser:
		return c
	default:
		return nil
	}
}

// Stats reports how many databases the pool has opened and how many it has handed out.
func (p *WarmPool) Stats() (opened, served int64) { return p.opened.Load(), p.served.Load() }

// WaitIdle waits until the pool is full again and nothing is being closed or opened (benchmarks
// use it to measure latency without the refill of the previous query running alongside).
func (p *WarmPool) WaitIdle(ctx context.Context) error {
	for {
		if len(p.ch) == p.size && p.busy.Load() == 0 && len(p.retired) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

// Close stops refilling and closes the idle and retired databases.
func (p *WarmPool) Close() {
	p.cancel()
	<-p.done
	for {
		select {
		case c := <-p.ch:
			c.close()
		case c := <-p.retired:
			c.close()
		case c := <-p.parser:
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
	// The read-only check only parses the query; with a pool it runs on the pool's parser database
	// while this one is being set up.
	checked := make(chan error, 1)
	if pc := limits.Warm.takeParser(); pc != nil {
		go func() {
			checked <- checkReadOnly(ctx, pc, query)
			limits.Warm.parser <- pc
		}()
	} else {
		checked = nil
	}
	c := limits.Warm.get(limits.MemoryLimit, limits.Threads, limits.TempDir)
	if c == nil {
		w := &warmConn{}
		if limits.TempDir != "" {
			dir, err := os.MkdirTemp(limits.TempDir, "duck-sql-*")
			if err != nil {
				return nil, fmt.Errorf("sandbox temp folder: %w", err)
			}
			w.dir, cfg.TempDir = dir, dir
		}
		var err error
		if w.Conn, err = Open(ctx, cfg); err != nil {
			os.RemoveAll(w.dir)
			if checked != nil {
				<-checked
			}
			return nil, err
		}
		c = w
	}
	// The record batches own their memory (Arrow C data), so the database can go once the query is
	// read; closing it (several ms) and removing its spill folder happen off the request path.
	defer limits.Warm.retire(c)
	// One round trip: the files this query may read, the views, then the lock. Its settings are the
	// same Open makes from cfg (memory, threads and spill folder were set when the database opened).
	var stmts []string
	if len(cfg.ReadPaths) > 0 {
		stmts = append(stmts, "SET allowed_paths = "+literalList(cfg.ReadPaths))
	}
	for _, a := range aliases {
		stmts = append(stmts, "CREATE VIEW "+Ident(a)+" AS SELECT * FROM "+ParquetScan(tables[a]))
	}
	stmts = append(stmts, "SET enable_external_access = false", "SET lock_configuration = true")
	setupErr := c.Exec(ctx, strings.Join(stmts, ";\n"))
	if checked == nil {
		if err := checkReadOnly(ctx, c.Conn, query); err != nil {
			return nil, err
		}
	} else if err := <-checked; err != nil {
		return nil, err
	}
	if setupErr != nil {
		return nil, fmt.Errorf("set up the tables %s: %w", strings.Join(aliases, ", "), setupErr)
	}
	c.locked = true
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
