//go:build duckdb_arrow

package duck

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// DefaultMaxResultBytes is the largest SQL result (Arrow data) when Limits.MaxBytes is 0: it fits in
// one 64 MiB gRPC message with room for the framing.
const DefaultMaxResultBytes = 48 << 20

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
	// MaxBytes caps the size of the result's Arrow data; 0 means DefaultMaxResultBytes. A larger
	// result fails with ErrResourceExhausted (rows are not cut by size: a silently shorter result
	// would look complete).
	MaxBytes int64
	// TempDir, when set, is a folder under which a private spill folder is made and removed.
	TempDir string
	// Warm, when set, supplies a pre-opened database (opening one costs tens of milliseconds);
	// it is used only when its memory and thread settings equal these limits.
	Warm *WarmPool
	// Scope, when set and Warm keeps databases (WarmPool.Keep), lets this query run on a locked
	// database kept from an earlier query with the same Scope and exactly the same tables, and
	// lets its database be kept afterwards. The caller puts in it whoever may share a database
	// (the service uses the project and the user).
	Scope string
}

// WarmPool keeps a few private in-memory DuckDB databases opened ahead of time, configured with
// fixed memory and thread limits but not yet given any file or locked. A used database is handed
// back (retired), and a background goroutine closes it and only then opens its replacement, so that
// the 25-60 ms of opening and the closing never run on the request path and do not compete for CPU
// with the query that took the database.
//
// With Keep, a database that served a query with Limits.Scope set is kept, locked, for the next
// query of the same scope over exactly the same tables (same aliases, same files). Before it is
// kept, the background goroutine checks that its state is exactly what the lockdown left (the same
// views with the same SQL, no tables, sequences, indexes, macros, types, variables, temporary
// files or other prepared statements, the same databases and schemas, every setting unchanged) and
// gives it a fresh random seed; a database that fails the check is closed. Without Keep, or without
// a scope, each database serves exactly one query.
type WarmPool struct {
	memory   string
	threads  int
	tempDir  string
	size     int
	ch       chan *warmConn
	retired  chan *warmConn
	returned chan *keptConn
	parser   chan *Conn // one long-lived database that only parses queries (the read-only check)
	kick     chan struct{}
	cancel   context.CancelFunc
	done     chan struct{}
	opened   atomic.Int64
	served   atomic.Int64
	reused   atomic.Int64
	refused  atomic.Int64 // kept databases closed because their state check failed
	busy     atomic.Int64 // databases retired or returned but not yet closed or checked, plus an open in progress

	keep int
	ttl  time.Duration
	mu   sync.Mutex
	kept map[string][]*keptConn // by scope key; most recently used last
}

// warmConn is a pooled database and its private spill folder (removed when the database is closed).
type warmConn struct {
	*Conn
	dir  string
	base string // baseSettings read when the pool opened it, before any request; "" when not pooled
}

func (w *warmConn) close() {
	w.Conn.Close()
	if w.dir != "" {
		os.RemoveAll(w.dir)
	}
}

// keptConn is a locked database set up for one scope and set of tables.
type keptConn struct {
	w      *warmConn
	key    string
	tables [][2]string // alias, Parquet path, sorted by alias
	used   time.Time
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
		returned: make(chan *keptConn, 64), parser: make(chan *Conn, 1), kick: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{}),
		kept: map[string][]*keptConn{}, ttl: 2 * time.Minute}
	if pc, err := Open(ctx, Config{MemoryLimit: "64MB", Threads: 1}); err == nil {
		if err := pc.Lock(ctx); err == nil {
			p.parser <- pc
		} else {
			pc.Close()
		}
	}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for ctx.Err() == nil {
			select {
			case kc := <-p.returned: // first: the next query of that scope may be waiting for it
				p.checkBack(ctx, kc)
				p.busy.Add(-1)
				continue
			default:
			}
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
			case kc := <-p.returned:
				p.checkBack(ctx, kc)
				p.busy.Add(-1)
			case c := <-p.retired:
				c.close()
				p.busy.Add(-1)
			case <-tick.C:
				p.expire(time.Now())
			case <-p.kick:
			case <-ctx.Done():
				return
			}
		}
	}()
	return p
}

// Keep lets up to n locked databases be kept for reuse by later queries of the same scope over the
// same tables, each for at most ttl after its last use (0 means two minutes). n = 0 (the default)
// means every database serves one query. Call it before the pool is used.
func (p *WarmPool) Keep(n int, ttl time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keep = max(n, 0)
	if ttl > 0 {
		p.ttl = ttl
	}
}

// open opens a database with the pool's limits and spill folder, and runs on it the statements
// every query's set-up uses once (a view, an Arrow query), so that their first-use costs in a new
// database are paid ahead of the request.
func (p *WarmPool) open(ctx context.Context) (*warmConn, error) {
	cfg := Config{MemoryLimit: p.memory, Threads: p.threads, HidePaths: true}
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
	if err == nil {
		// The settings the lockdown must keep, read before any request, and the first-use cost of
		// the catalog functions the state check reads.
		err = c.conn.QueryRowContext(ctx, baseSettings).Scan(&w.base)
	}
	if err == nil {
		_, err = stateOf(ctx, c, nil)
	}
	if err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func (p *WarmPool) matches(memory string, threads int, tempDir string) bool {
	return p != nil && memory == p.memory && threads == p.threads && tempDir == p.tempDir
}

func (p *WarmPool) get(memory string, threads int, tempDir string) *warmConn {
	if !p.matches(memory, threads, tempDir) {
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

// keeps reports whether databases may be kept for reuse under these limits.
func (p *WarmPool) keeps(memory string, threads int, tempDir string) bool {
	if !p.matches(memory, threads, tempDir) {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keep > 0
}

// takeKept hands out a checked, locked database of the scope key, if one is kept.
func (p *WarmPool) takeKept(key string) *keptConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.kept[key]
	if len(l) == 0 {
		return nil
	}
	kc := l[len(l)-1]
	if len(l) == 1 {
		delete(p.kept, key)
	} else {
		p.kept[key] = l[:len(l)-1]
	}
	p.reused.Add(1)
	return kc
}

// giveBack hands a used scoped database to the background goroutine, which checks it and keeps it.
func (p *WarmPool) giveBack(kc *keptConn) {
	p.busy.Add(1)
	select {
	case p.returned <- kc:
	default:
		p.busy.Add(-1)
		p.retire(kc.w)
	}
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// checkBack keeps a returned database when its state is still exactly the lockdown's, with a new
// random seed; otherwise, or when the pool is full, it closes a database (the least recently used).
func (p *WarmPool) checkBack(ctx context.Context, kc *keptConn) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := stateOf(cctx, kc.w.Conn, kc.tables)
	if err == nil && st != wantState(kc.w.base, kc.tables) {
		err = errors.New("state changed")
	}
	if err == nil {
		err = kc.w.Exec(cctx, "SELECT setseed(?)", rand.Float64())
	}
	if err != nil {
		p.refused.Add(1)
		kc.w.close()
		return
	}
	kc.used = time.Now()
	var evict []*keptConn
	p.mu.Lock()
	p.kept[kc.key] = append(p.kept[kc.key], kc)
	for p.keptLocked() > p.keep {
		evict = append(evict, p.oldestLocked())
	}
	p.mu.Unlock()
	for _, e := range evict {
		e.w.close()
	}
}

func (p *WarmPool) keptLocked() int {
	n := 0
	for _, l := range p.kept {
		n += len(l)
	}
	return n
}

// oldestLocked removes and returns the least recently used kept database.
func (p *WarmPool) oldestLocked() *keptConn {
	var key string
	var at int
	var old *keptConn
	for k, l := range p.kept {
		for i, kc := range l {
			if old == nil || kc.used.Before(old.used) {
				key, at, old = k, i, kc
			}
		}
	}
	l := p.kept[key]
	p.kept[key] = append(l[:at:at], l[at+1:]...)
	if len(p.kept[key]) == 0 {
		delete(p.kept, key)
	}
	return old
}

// expire closes the kept databases unused for longer than the pool's ttl.
func (p *WarmPool) expire(now time.Time) {
	var old []*keptConn
	p.mu.Lock()
	for k, l := range p.kept {
		var keep []*keptConn
		for _, kc := range l {
			if now.Sub(kc.used) > p.ttl {
				old = append(old, kc)
			} else {
				keep = append(keep, kc)
			}
		}
		if len(keep) == 0 {
			delete(p.kept, k)
		} else {
			p.kept[k] = keep
		}
	}
	p.mu.Unlock()
	for _, kc := range old {
		kc.w.close()
	}
}

// baseSettings are the settings a pooled database has before any request; the lockdown leaves them.
const baseSettings = `SELECT concat_ws('|', current_setting('memory_limit'), current_setting('threads'), current_setting('temp_directory'),
  current_setting('allowed_directories'), current_setting('autoinstall_known_extensions'), current_setting('autoload_known_extensions'),
  current_setting('allow_community_extensions'), current_setting('TimeZone'))`

// stateOf describes what a query could have left behind in a locked database set up for tables:
// the base settings, the lockdown's own settings, the databases, the views (each alias's view must
// still read its file) and counts of tables, sequences, indexes, user types, variables, temporary
// files, prepared statements and user schemas. Macros are not counted (listing functions costs
// tens of milliseconds); creating one needs a statement the read-only check refuses.
func stateOf(ctx context.Context, c *Conn, tables [][2]string) (string, error) {
	paths := make([]string, len(tables))
	for i, t := range tables {
		paths[i] = t[1]
	}
	// A UNION of one-row parts: as scalar subqueries of one SELECT they would be cross joins,
	// and ordering a dozen of those costs DuckDB's optimizer over 100 ms.
	parts := []string{
		baseSettings,
		"SELECT current_setting('enable_external_access')::VARCHAR",
		"SELECT current_setting('lock_configuration')::VARCHAR",
		"SELECT current_setting('parquet_metadata_cache')::VARCHAR",
		"SELECT string_agg(database_name, ',' ORDER BY database_name) FROM duckdb_databases()",
		"SELECT count(*)::VARCHAR FROM duckdb_views() WHERE NOT internal",
		"SELECT count(*)::VARCHAR FROM duckdb_tables()",
		"SELECT count(*)::VARCHAR FROM duckdb_sequences()",
		"SELECT count(*)::VARCHAR FROM duckdb_indexes()",
		"SELECT count(*)::VARCHAR FROM duckdb_types() WHERE NOT internal",
		"SELECT count(*)::VARCHAR FROM duckdb_variables()",
		"SELECT count(*)::VARCHAR FROM duckdb_temporary_files()",
		"SELECT count(*)::VARCHAR FROM duckdb_prepared_statements()",
		"SELECT count(*)::VARCHAR FROM duckdb_schemas() WHERE NOT internal",
	}
	if len(tables) > 0 {
		parts = append(parts, "SELECT (current_setting('allowed_paths') = "+literalList(paths)+")::VARCHAR")
	}
	for _, t := range tables {
		parts = append(parts, "SELECT count(*)::VARCHAR FROM duckdb_views() WHERE NOT internal AND view_name = "+Literal(t[0])+" AND contains(sql, "+Literal(Literal(t[1]))+")")
	}
	var q strings.Builder
	for i, p := range parts {
		if i > 0 {
			q.WriteString("\nUNION ALL ")
		}
		fmt.Fprintf(&q, "SELECT %d AS i, (%s) AS v", i, p)
	}
	q.WriteString("\nORDER BY i")
	rows, err := c.conn.QueryContext(ctx, q.String())
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var i int
		var v sql.NullString
		if err := rows.Scan(&i, &v); err != nil {
			return "", err
		}
		out = append(out, v.String)
	}
	return strings.Join(out, "|"), rows.Err()
}

// wantState is stateOf of a database whose lockdown for tables is intact.
func wantState(base string, tables [][2]string) string {
	parts := []string{base, "false", "true", "true", "memory,system,temp", fmt.Sprint(len(tables)), "0", "0", "0", "0", "0", "0", "1", "0"}
	if len(tables) > 0 {
		parts = append(parts, "true")
	}
	for range tables {
		parts = append(parts, "1")
	}
	return strings.Join(parts, "|")
}

// Kept reports how many locked databases are kept for reuse now.
func (p *WarmPool) Kept() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keptLocked()
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

// Stats reports how many databases the pool has opened and how many it has handed out fresh.
func (p *WarmPool) Stats() (opened, served int64) { return p.opened.Load(), p.served.Load() }

// ReuseStats reports how many queries ran on a kept database, and how many returned databases
// failed their state check and were closed.
func (p *WarmPool) ReuseStats() (reused, refused int64) { return p.reused.Load(), p.refused.Load() }

// WaitIdle waits until the pool is full again and nothing is being closed, checked or opened
// (benchmarks use it to measure latency without the refill of the previous query running alongside).
func (p *WarmPool) WaitIdle(ctx context.Context) error {
	for {
		if len(p.ch) == p.size && p.busy.Load() == 0 && len(p.retired) == 0 && len(p.returned) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

// Close stops refilling and closes the idle, kept and retired databases.
func (p *WarmPool) Close() {
	p.cancel()
	<-p.done
	p.mu.Lock()
	for _, l := range p.kept {
		for _, kc := range l {
			kc.w.close()
		}
	}
	p.kept = map[string][]*keptConn{}
	p.mu.Unlock()
	for {
		select {
		case c := <-p.ch:
			c.close()
		case c := <-p.retired:
			c.close()
		case kc := <-p.returned:
			kc.w.close()
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
	// Reused is set when the query ran on a database kept from an earlier query of its scope.
	Reused bool
	done   func() // hands a scoped database back to be checked and kept
}

// recordBytes is the size of a record batch's Arrow buffers, children and dictionaries included.
func recordBytes(rec arrow.RecordBatch) int64 {
	var n int64
	var walk func(d arrow.ArrayData)
	walk = func(d arrow.ArrayData) {
		if dd, ok := d.(*array.Data); d == nil || (ok && dd == nil) { // Dictionary() of a plain array is a nil *Data
			return
		}
		for _, b := range d.Buffers() {
			if b != nil {
				n += int64(b.Len())
			}
		}
		for _, c := range d.Children() {
			walk(c)
		}
		walk(d.Dictionary())
	}
	for _, col := range rec.Columns() {
		walk(col.Data())
	}
	return n
}

// Release frees the record batches. For a scoped query it also hands the database back to the
// pool, which checks it and keeps it for the scope's next query; so that the check does not compete
// with the caller for the CPU, release the result only once it is sent.
func (r *Result) Release() {
	if r == nil {
		return
	}
	for _, rec := range r.Records {
		rec.Release()
	}
	r.Records = nil
	if r.done != nil {
		r.done()
		r.done = nil
	}
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
	maxBytes := limits.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxResultBytes
	}
	memory := limits.MemoryLimit
	if memory == "" {
		memory = DefaultMemoryLimit
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
	cfg := Config{MemoryLimit: limits.MemoryLimit, Threads: limits.Threads, HidePaths: true}
	for _, a := range aliases {
		cfg.ReadPaths = append(cfg.ReadPaths, tables[a])
	}
	// The read-only check only parses the query; with a pool it runs on the pool's parser database
	// while this one is being set up.
	checked := make(chan error, 1)
	if err, ok := memoizedCheck(query); ok {
		checked <- err // a text checked before: its answer is known, no parse and no goroutine
	} else if pc := limits.Warm.takeParser(); pc != nil {
		go func() {
			checked <- checkReadOnly(ctx, pc, query)
			limits.Warm.parser <- pc
		}()
	} else {
		checked = nil
	}
	// A database kept for this scope and these tables is already set up and locked.
	key := ""
	if limits.Scope != "" && limits.Warm.keeps(limits.MemoryLimit, limits.Threads, limits.TempDir) {
		var k strings.Builder
		k.WriteString(limits.Scope)
		for _, a := range aliases {
			k.WriteString("\x00" + a + "\x00" + tables[a])
		}
		key = k.String()
	}
	var kc *keptConn
	var c *warmConn
	if key != "" {
		if kc = limits.Warm.takeKept(key); kc != nil {
			c = kc.w
		}
	}
	reused := kc != nil
	if c == nil {
		c = limits.Warm.get(limits.MemoryLimit, limits.Threads, limits.TempDir)
	}
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
	// read; closing it (several ms) and removing its spill folder happen off the request path. A
	// scoped database whose query finished normally goes back to be checked and kept.
	keepIt, handedOver := false, false
	defer func() {
		switch {
		case handedOver: // Result.Release gives it back
		case kc != nil && keepIt:
			limits.Warm.giveBack(kc)
		default:
			limits.Warm.retire(c)
		}
	}()
	var setupErr error
	if kc == nil {
		// One round trip: the files this query may read, the views, then the lock. Its settings are
		// the same Open makes from cfg (memory, threads and spill folder were set when the database
		// opened).
		// Parquet footers are cached in the database (the version files never change), which
		// saves re-reading them on every query of a kept database.
		stmts := []string{"SET parquet_metadata_cache = true"}
		if len(cfg.ReadPaths) > 0 {
			stmts = append(stmts, "SET allowed_paths = "+literalList(cfg.ReadPaths))
		}
		for _, a := range aliases {
			stmts = append(stmts, "CREATE VIEW "+Ident(a)+" AS SELECT * FROM "+ParquetScan(tables[a]))
		}
		stmts = append(stmts, "SET enable_external_access = false", "SET lock_configuration = true")
		setupErr = c.Exec(ctx, strings.Join(stmts, ";\n"))
	}
	if checked == nil {
		if err := checkReadOnly(ctx, c.Conn, query); err != nil {
			keepIt = kc != nil
			return nil, err
		}
	} else if err := <-checked; err != nil {
		keepIt = kc != nil
		return nil, err
	}
	if setupErr != nil {
		return nil, fmt.Errorf("set up the tables %s: %w", strings.Join(aliases, ", "), setupErr)
	}
	c.locked = true
	if kc == nil && key != "" && c.base != "" {
		// A pooled database (its base settings were read before any request) may be kept once
		// its state is checked against the lockdown, after the query.
		kc = &keptConn{w: c, key: key}
		for _, a := range aliases {
			kc.tables = append(kc.tables, [2]string{a, tables[a]})
		}
	}
	ar, err := c.Arrow()
	if err != nil {
		return nil, err
	}
	rr, err := ar.QueryContext(ctx, query)
	if err != nil {
		err = queryError(ctx, timeout, memory, err)
		// A query the binder refused left nothing behind; the check before keeping makes sure.
		keepIt = ctx.Err() == nil && errors.Is(err, ErrInvalidArgument)
		return nil, err
	}
	defer rr.Release()
	res := &Result{Schema: rr.Schema(), Reused: reused}
	var size int64
	for rr.Next() {
		rec := rr.RecordBatch()
		n := rec.NumRows()
		b := recordBytes(rec)
		if res.Rows+n > maxRows && n > 0 { // only the rows kept count against the size limit
			b = b * max(maxRows-res.Rows, 0) / n
		}
		if size += b; size > maxBytes {
			res.Release()
			return nil, fmt.Errorf("%w: the result is over the limit of %d MiB for one SQL result (passed it after %d rows); "+
				"aggregate, select fewer or shorter columns, or add a LIMIT", ErrResourceExhausted, maxBytes>>20, res.Rows+n)
		}
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
		return nil, queryError(ctx, timeout, memory, err)
	}
	if kc != nil && ctx.Err() == nil {
		handedOver = true
		res.done = func() { limits.Warm.giveBack(kc) }
	}
	return res, nil
}

// queryError classifies a failed query's error. memory is the query's memory limit, named in the
// out-of-memory message.
func queryError(ctx context.Context, timeout time.Duration, memory string, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("query interrupted after the %s time limit: %w", timeout, context.DeadlineExceeded)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	msg := err.Error()
	// Errors about the query itself (syntax, names, types, refused file access) are the caller's.
	// The names are DuckDB's error classes ("Not implemented Error" is DuckDB refusing a feature the
	// query uses, not unfinished vds code).
	for _, k := range []string{"Parser Error", "Binder Error", "Catalog Error", "Conversion Error", "Permission Error", "Invalid Input Error", "Not implemented Error"} {
		if strings.Contains(msg, k) {
			return fmt.Errorf("%w: %s", ErrInvalidArgument, msg)
		}
	}
	if i := strings.Index(msg, "Out of Memory"); i >= 0 {
		// DuckDB's own advice that follows (SET threads, SET memory_limit, a temp_directory) is for
		// its operators: a sandboxed query can change no setting. Only the first line is kept.
		first := msg[i:]
		if j := strings.IndexByte(first, '\n'); j >= 0 {
			first = first[:j]
		}
		return fmt.Errorf("%w: the query needs more memory than its limit of %s (%s); settings cannot be changed from a query, "+
			"so make it need less: aggregate or filter before collecting rows, select fewer or shorter columns, or add a LIMIT",
			ErrResourceExhausted, memory, strings.TrimSpace(first))
	}
	return err
}

// checked remembers the outcome of the read-only check for recent query texts. The check is a pure
// function of the text (DuckDB's parser alone decides), so a repeated query skips the parse.
var checkMemo = struct {
	sync.Mutex
	m     map[string]error
	order []string
}{m: map[string]error{}}

const (
	checkedMax     = 256      // query texts remembered
	checkedMaxText = 16 << 10 // longer texts are always parsed
)

// checkReadOnly asks DuckDB's own parser whether query is exactly one SELECT-like statement.
// memoizedCheck returns the remembered answer of the read-only check for a text checked before.
func memoizedCheck(query string) (error, bool) {
	if len(query) > checkedMaxText {
		return nil, false
	}
	checkMemo.Lock()
	defer checkMemo.Unlock()
	err, ok := checkMemo.m[query]
	return err, ok
}

func checkReadOnly(ctx context.Context, c *Conn, query string) error {
	if err, ok := memoizedCheck(query); ok {
		return err
	}
	parsed, err := serialize(ctx, c, query)
	if err != nil {
		return err
	}
	switch {
	case parsed.Error && strings.Contains(parsed.ErrorMessage, "Only SELECT"):
		err = refusedStatements(ctx, c, query)
	case parsed.Error:
		err = fmt.Errorf("%w: %s", ErrInvalidArgument, parsed.ErrorMessage)
	case len(parsed.Statements) != 1:
		kinds := make([]string, 0, len(parsed.Statements))
		for _, st := range splitStatements(query) {
			kinds = append(kinds, statementKind(st))
		}
		list := ""
		if len(kinds) == len(parsed.Statements) {
			list = " (" + strings.Join(kinds, "; ") + ")"
		}
		err = fmt.Errorf("%w: exactly one statement is allowed, got %d%s; send each query as its own request", ErrInvalidArgument, len(parsed.Statements), list)
	}
	if err == nil {
		if name := deniedName(parsed.Statements[0]); name != "" {
			err = fmt.Errorf("%w: %s is refused in the sandbox: it would show the service's settings, files, memory or view definitions, change the database, or run SQL text unchecked (table functions allowed: generators, readers of the allowed files, the catalog)", ErrInvalidArgument, name)
		}
	}
	if len(query) <= checkedMaxText {
		checkMemo.Lock()
		if _, ok := checkMemo.m[query]; !ok {
			if len(checkMemo.order) >= checkedMax {
				delete(checkMemo.m, checkMemo.order[0])
				checkMemo.order = checkMemo.order[1:]
			}
			checkMemo.m[query] = err
			checkMemo.order = append(checkMemo.order, query)
		}
		checkMemo.Unlock()
	}
	return err
}

// deniedFunctions read the database's settings (which name this machine's folders: the spill
// folder, the allowed files), its views' SQL (the input files' paths), its databases' paths, its
// temporary and cached files, its memory and prepared statements, or run
// SQL given as text, which the read-only check never sees; they are refused wherever they are
// called. Table functions are refused unless they are in allowedTableFunctions (a table function
// that a newer DuckDB adds is refused until it is classified, and TestSQLTableFunctionsClassified
// fails on it). deniedTables are the system views over the same.
var (
	deniedFunctions = map[string]bool{"current_setting": true, "duckdb_settings": true, "duckdb_views": true, "duckdb_temporary_files": true,
		"duckdb_extensions": true, "duckdb_secrets": true, "which_secret": true, "duckdb_dependencies": true, "duckdb_log_contexts": true, "duckdb_logs": true,
		"pragma_database_list": true, "pragma_show": true, "query": true, "query_table": true, "json_execute_serialized_sql": true, "getenv": true,
		// Host and process state (scalar or table): file caches, memory, databases' paths, and the
		// macros over denied functions (pg_get_viewdef reads duckdb_views, get_block_size
		// pragma_database_size).
		"duckdb_external_file_cache": true, "duckdb_memory": true, "duckdb_databases": true, "duckdb_prepared_statements": true,
		"pg_get_viewdef": true, "get_block_size": true}
	// deniedTableFunctions are the other table functions judged and refused (any table function not
	// in allowedTableFunctions is refused; these are listed so that TestSQLTableFunctionsClassified
	// can tell a new one from a known one). Scalar functions of the same name (glob, histogram)
	// stay allowed.
	deniedTableFunctions = map[string]bool{
		// Process state: logs, connections, profiling, extension repositories, external resources,
		// secrets' types, storage, platform and version strings.
		"duckdb_logs_parsed": true, "duckdb_approx_database_count": true, "duckdb_connection_count": true, "duckdb_eviction_queues": true,
		"duckdb_extension_repositories": true, "duckdb_external_resources": true, "duckdb_external_resource_types": true,
		"duckdb_secret_types": true, "duckdb_secret_type_parameters": true, "duckdb_profiling_settings": true, "duckdb_available_metrics": true,
		"duckdb_grammar_extensions": true, "duckdb_table_sample": true, "duckdb_coordinate_systems": true, "duckdb_dialects": true,
		"pragma_database_size": true, "pragma_metadata_info": true, "pragma_storage_info": true, "pragma_platform": true,
		"pragma_user_agent": true, "pragma_version": true,
		// Files: listing (glob), raw reads of any allowed file (the spill folder's blocks), other
		// databases' files.
		"glob": true, "read_text": true, "read_blob": true, "read_duckdb": true,
		// Raw pointers, changes to the database or the process (checkpoints, logging, profiling,
		// external resources, generated TPC tables), SQL text run unchecked (histogram and
		// histogram_values run query_table), test and parser internals.
		"arrow_scan": true, "arrow_scan_dumb": true, "checkpoint": true, "force_checkpoint": true, "enable_logging": true,
		"disable_logging": true, "truncate_duckdb_logs": true, "enable_profiling": true, "disable_profiling": true,
		"create_external_resource": true, "register_external_resource": true, "register_external_resource_type": true,
		"deregister_external_resource": true, "destroy_external_resource": true, "dbgen": true, "dsdgen": true,
		"tpch_queries": true, "tpch_answers": true, "tpcds_queries": true, "tpcds_answers": true, "histogram": true, "histogram_values": true,
		"check_peg_parser": true, "sql_auto_complete": true, "sql_tokenize": true, "seq_scan": true, "index_scan": true,
		"test_all_types": true, "test_vector_types": true,
	}
	deniedTables = map[string]bool{"duckdb_settings": true, "duckdb_views": true, "duckdb_temporary_files": true, "duckdb_extensions": true,
		"duckdb_secrets": true, "duckdb_logs": true, "pg_settings": true, "pg_views": true, "sqlite_master": true, "sqlite_schema": true, "sqlite_temp_master": true,
		"sqlite_temp_schema": true, "duckdb_databases": true, "pragma_database_list": true, "pg_prepared_statements": true, "duckdb_prepared_statements": true}
	// allowedTableFunctions are the table functions a sandboxed query may call: generators, the
	// readers (they reach only the allowed files: the tables' own Parquet files and the private spill
	// folder, whose path no query can learn) and the catalog of the query's own tables and types.
	allowedTableFunctions = map[string]bool{
		"range": true, "generate_series": true, "unnest": true, "repeat": true, "repeat_row": true, "json_each": true, "json_tree": true, "summary": true,
		"read_parquet": true, "parquet_scan": true, "parquet_metadata": true, "parquet_schema": true, "parquet_file_metadata": true, "parquet_kv_metadata": true,
		"parquet_full_metadata": true, "parquet_bloom_probe": true, "read_single_parquet_file": true,
		"read_csv": true, "read_csv_auto": true, "sniff_csv": true, "read_single_csv_file": true, "read_single_json_file": true,
		"read_json": true, "read_json_auto": true, "read_json_objects": true, "read_json_objects_auto": true,
		"read_ndjson": true, "read_ndjson_auto": true, "read_ndjson_objects": true,
		"duckdb_columns": true, "duckdb_tables": true, "duckdb_schemas": true, "duckdb_types": true, "duckdb_functions": true, "duckdb_keywords": true,
		"duckdb_constraints": true, "duckdb_indexes": true, "duckdb_sequences": true, "duckdb_variables": true, "pragma_table_info": true,
		"duckdb_triggers": true, "duckdb_optimizers": true, "pragma_collations": true, "icu_calendar_names": true, "pg_timezone_names": true,
	}
)

// deniedName walks a statement parsed by json_serialize_sql and returns the first function or
// table it calls that is denied, whatever schema or catalog qualifies it, or the first table
// function it calls that is not allowed ("" for none).
func deniedName(stmt json.RawMessage) string {
	var tree any
	if json.Unmarshal(stmt, &tree) != nil {
		return "the query" // cannot happen: DuckDB wrote it; refuse rather than pass unchecked
	}
	var walk func(v any) string
	walk = func(v any) string {
		switch x := v.(type) {
		case map[string]any:
			if typ, _ := x["type"].(string); typ == "TABLE_FUNCTION" {
				f, _ := x["function"].(map[string]any)
				fn, _ := f["function_name"].(string)
				if fn == "" {
					return "a table function" // a shape this code does not know: refuse
				}
				if !allowedTableFunctions[strings.ToLower(fn)] {
					return fn + "()"
				}
			}
			if fn, ok := x["function_name"].(string); ok && deniedFunctions[strings.ToLower(fn)] {
				return fn + "()"
			}
			if tn, ok := x["table_name"].(string); ok {
				schema, _ := x["schema_name"].(string)
				t := strings.ToLower(tn)
				if deniedTables[t] || (strings.EqualFold(schema, "information_schema") && t == "views") {
					return tn
				}
			}
			for _, c := range x {
				if n := walk(c); n != "" {
					return n
				}
			}
		case []any:
			for _, c := range x {
				if n := walk(c); n != "" {
					return n
				}
			}
		}
		return ""
	}
	return walk(tree)
}

// parsedSQL is json_serialize_sql's answer.
type parsedSQL struct {
	Error        bool              `json:"error"`
	ErrorMessage string            `json:"error_message"`
	Statements   []json.RawMessage `json:"statements"`
}

// serialize parses query with DuckDB's own parser (json_serialize_sql), which serializes only
// SELECT-like statements.
func serialize(ctx context.Context, c *Conn, query string) (*parsedSQL, error) {
	var js string
	if err := c.conn.QueryRowContext(ctx, `SELECT json_serialize_sql(?::VARCHAR)::VARCHAR`, query).Scan(&js); err != nil {
		return nil, fmt.Errorf("check query: %w", err)
	}
	parsed := &parsedSQL{}
	if err := json.Unmarshal([]byte(js), parsed); err != nil {
		return nil, fmt.Errorf("check query: %w", err)
	}
	return parsed, nil
}

// refusedStatements explains a query that DuckDB's serializer refused because some statement in it
// is not SELECT-like: it names the refused statement's kind (DROP, COPY, SET, ...) and, for a
// query of several statements, that only one is allowed. The query is split at its top-level
// semicolons and each part is checked alone, on the same parser, so the statement named is the one
// DuckDB refused; the split only serves this message, the decision was DuckDB's.
func refusedStatements(ctx context.Context, c *Conn, query string) error {
	stmts := splitStatements(query)
	var kinds, refused []string
	for _, st := range stmts {
		k := statementKind(st)
		kinds = append(kinds, k)
		if p, err := serialize(ctx, c, st); err == nil && p.Error && strings.Contains(p.ErrorMessage, "Only SELECT") {
			refused = append(refused, k)
		}
	}
	if len(refused) == 0 { // the split disagreed with DuckDB's parser: name the first statement
		refused = []string{cmp.Or(statementKind(query), "non-SELECT")}
	}
	refused = slices.Compact(refused)
	what := strings.Join(refused, ", ") + " statements are refused"
	if len(refused) == 1 {
		what = "a " + refused[0] + " statement is refused"
		if strings.ContainsRune("AEIOU", rune(refused[0][0])) {
			what = "an " + refused[0] + " statement is refused"
		}
	}
	if len(stmts) > 1 {
		return fmt.Errorf("%w: exactly one statement is allowed, got %d (%s), and %s: send one read-only query (SELECT, WITH, FROM, VALUES) per request",
			ErrInvalidArgument, len(stmts), strings.Join(kinds, "; "), what)
	}
	return fmt.Errorf("%w: only a single read-only query (SELECT, WITH, FROM, VALUES) is allowed; %s", ErrInvalidArgument, what)
}

// splitStatements splits a query at its top-level semicolons, skipping string literals ('…',
// E'…'), quoted identifiers ("…"), dollar-quoted strings ($tag$…$tag$) and comments (-- and
// nested /* */); parts holding only blanks and comments are dropped.
func splitStatements(q string) []string {
	var out []string
	start := 0
	flush := func(end int) {
		if part := strings.TrimSpace(q[start:end]); statementKind(part) != "" {
			out = append(out, part)
		}
		start = end + 1
	}
	for i := 0; i < len(q); i++ {
		switch ch := q[i]; {
		case ch == ';':
			flush(i)
		case ch == '\'' || ch == '"':
			backslash := ch == '\'' && i > 0 && (q[i-1] == 'E' || q[i-1] == 'e') && (i < 2 || !isWordByte(q[i-2]))
			for i++; i < len(q); i++ {
				if backslash && q[i] == '\\' {
					i++
					continue
				}
				if q[i] == ch {
					if i+1 < len(q) && q[i+1] == ch { // doubled quote
						i++
						continue
					}
					break
				}
			}
		case ch == '-' && i+1 < len(q) && q[i+1] == '-':
			for i < len(q) && q[i] != '\n' {
				i++
			}
		case ch == '/' && i+1 < len(q) && q[i+1] == '*':
			depth := 0
			for ; i+1 < len(q); i++ {
				if q[i] == '/' && q[i+1] == '*' {
					depth++
					i++
				} else if q[i] == '*' && q[i+1] == '/' {
					depth--
					i++
					if depth == 0 {
						break
					}
				}
			}
			if depth > 0 {
				i = len(q)
			}
		case ch == '$' && (i == 0 || !isWordByte(q[i-1])):
			if m := dollarTagRE.FindString(q[i:]); m != "" {
				if j := strings.Index(q[i+len(m):], m); j >= 0 {
					i += len(m) + j + len(m) - 1
				} else {
					i = len(q)
				}
			}
		}
	}
	flush(len(q))
	return out
}

var dollarTagRE = regexp.MustCompile(`^\$[A-Za-z_]*\$`)

func isWordByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z'
}

// statementKind names a statement by its leading keyword, after comments and opening parentheses
// ("" for a part with none). For WITH it is the keyword of the statement the common table
// expressions lead into (WITH … DELETE is a DELETE).
func statementKind(stmt string) string {
	words := topWords(stmt, 64)
	if len(words) == 0 {
		return ""
	}
	if words[0] == "WITH" {
		for _, w := range words[1:] {
			switch w {
			case "SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "VALUES", "FROM", "TABLE", "COPY", "PIVOT", "UNPIVOT":
				return w
			}
		}
	}
	return words[0]
}

// topWords returns the first n words of stmt outside parentheses, comments and quotes, upper-cased
// (a statement opening with parentheses gives the words of what they enclose).
func topWords(stmt string, n int) []string {
	var words []string
	depth, base := 0, -1 // base: the depth of the first word
	for i := 0; i < len(stmt) && len(words) < n; i++ {
		ch := stmt[i]
		switch {
		case ch == '-' && i+1 < len(stmt) && stmt[i+1] == '-':
			for i < len(stmt) && stmt[i] != '\n' {
				i++
			}
		case ch == '/' && i+1 < len(stmt) && stmt[i+1] == '*':
			if j := strings.Index(stmt[i+2:], "*/"); j >= 0 {
				i += j + 3
			} else {
				i = len(stmt)
			}
		case ch == '(':
			depth++
		case ch == ')':
			depth--
		case ch == '\'' || ch == '"':
			for i++; i < len(stmt) && stmt[i] != ch; i++ {
			}
		case isWordByte(ch):
			j := i
			for j < len(stmt) && isWordByte(stmt[j]) {
				j++
			}
			if base < 0 {
				base = depth
			}
			if depth == base {
				w := strings.ToUpper(stmt[i:j])
				if len(w) > 20 {
					w = w[:20]
				}
				words = append(words, w)
			}
			i = j - 1
		}
	}
	return words
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
