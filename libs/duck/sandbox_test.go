//go:build duckdb_arrow

package duck

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSQLMemoryLimit: a query that needs more than the memory limit fails with ResourceExhausted
// instead of taking the host's memory (no spill folder, so nothing can go to disk).
func TestSQLMemoryLimit(t *testing.T) {
	t.Parallel()
	p := writeParquet(t, 10)
	_, err := SQL(context.Background(), map[string]string{"t": p},
		"SELECT list(range) AS l FROM range(50000000)", Limits{MemoryLimit: "64MB", Threads: 1})
	if !errors.Is(err, ErrResourceExhausted) {
		t.Fatalf("err = %v, want ResourceExhausted", err)
	}
	// The message names the limit and what a query can do; DuckDB's own advice (SET threads,
	// SET memory_limit, a temp_directory) is gone, since a sandboxed query can change no setting.
	msg := err.Error()
	for _, want := range []string{"needs more memory than its limit of 64MB", "Out of Memory Error: failed to allocate", "aggregate", "fewer", "add a LIMIT"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not contain %q", msg, want)
		}
	}
	for _, bad := range []string{"SET ", "temp_directory", "\n"} {
		if strings.Contains(msg, bad) {
			t.Errorf("message %q still contains %q", msg, bad)
		}
	}
}

// TestSQLStatementMessages: a refused query's message says what was wrong: several statements
// (counted and named by kind), and the kind of the statement that is not read-only, wherever it
// stands, with semicolons in strings, identifiers and comments not taken for separators.
func TestSQLStatementMessages(t *testing.T) {
	t.Parallel()
	p := writeParquet(t, 10)
	ctx := context.Background()
	cases := []struct{ q, want string }{
		{"SELECT 1; DROP TABLE t", "exactly one statement is allowed, got 2 (SELECT; DROP), and a DROP statement is refused: send one read-only query (SELECT, WITH, FROM, VALUES) per request"},
		{"DROP TABLE t; SELECT 1", "exactly one statement is allowed, got 2 (DROP; SELECT), and a DROP statement is refused"},
		{"SELECT ';' AS \"a;b\"; /* ; */ COPY t TO 'x.csv'; -- ;\n", "exactly one statement is allowed, got 2 (SELECT; COPY), and a COPY statement is refused"},
		{"SELECT 1; SET threads = 4; DROP VIEW t", "got 3 (SELECT; SET; DROP), and SET, DROP statements are refused"},
		{"SELECT 1; SELECT 2", "exactly one statement is allowed, got 2 (SELECT; SELECT); send each query as its own request"},
		{"DROP TABLE t", "only a single read-only query (SELECT, WITH, FROM, VALUES) is allowed; a DROP statement is refused"},
		{"  -- a comment\n/* another */ set threads = 1", "only a single read-only query (SELECT, WITH, FROM, VALUES) is allowed; a SET statement is refused"},
		{"WITH a AS (SELECT 1) DELETE FROM t", "a DELETE statement is refused"},
		{"SELECT $$;$$ AS s; ATTACH ':memory:' AS x", "got 2 (SELECT; ATTACH), and an ATTACH statement is refused"},
	}
	for _, tc := range cases {
		r, err := SQL(ctx, map[string]string{"t": p}, tc.q, Limits{Threads: 1})
		if err == nil {
			r.Release()
			t.Errorf("%q accepted", tc.q)
			continue
		}
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.q, err, tc.want)
		}
	}
	// A trailing semicolon or comment is not a second statement.
	for _, q := range []string{"SELECT 1;", "SELECT 1; -- done", "SELECT ';'"} {
		r, err := SQL(ctx, map[string]string{"t": p}, q, Limits{Threads: 1})
		if err != nil {
			t.Errorf("%q: %v", q, err)
			continue
		}
		r.Release()
	}
}

// TestSQLResultBytes: a result whose Arrow data passes Limits.MaxBytes fails with ResourceExhausted
// naming the limit and what to do (a few long rows as well as many short ones); one under it comes
// back whole; the default limit refuses a single value of 100 MB.
func TestSQLResultBytes(t *testing.T) {
	t.Parallel()
	p := writeParquet(t, 10)
	ctx := context.Background()
	tables := map[string]string{"t": p}
	for _, q := range []string{"SELECT repeat('x', 100000) AS s FROM range(30)", "SELECT range AS a, range * 2 AS b FROM range(200000)"} {
		_, err := SQL(ctx, tables, q, Limits{Threads: 1, MaxRows: 1000000, MaxBytes: 2 << 20})
		if !errors.Is(err, ErrResourceExhausted) || !strings.Contains(err.Error(), "over the limit of 2 MiB for one SQL result") || !strings.Contains(err.Error(), "add a LIMIT") {
			t.Fatalf("%s: err = %v, want ResourceExhausted naming the 2 MiB limit", q, err)
		}
	}
	res, err := SQL(ctx, tables, "SELECT repeat('x', 100000) AS s FROM range(15)", Limits{Threads: 1, MaxBytes: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Release()
	if res.Rows != 15 || res.Truncated {
		t.Fatalf("under the limit: %d rows, truncated %v", res.Rows, res.Truncated)
	}
	// Truncated to max_rows: only the rows kept count (one batch of 30 rows, 3 MB, 15 kept).
	res2, err := SQL(ctx, tables, "SELECT repeat('x', 100000) AS s FROM range(30)", Limits{Threads: 1, MaxRows: 15, MaxBytes: 2 << 20})
	if err != nil {
		t.Fatalf("a result truncated to 15 rows of 100 kB under a 2 MiB limit: %v", err)
	}
	if res2.Rows != 15 || !res2.Truncated {
		t.Fatalf("truncated: %d rows, truncated %v", res2.Rows, res2.Truncated)
	}
	res2.Release()
	if _, err := SQL(ctx, tables, "SELECT repeat('x', 100000000) AS s", Limits{Threads: 1}); !errors.Is(err, ErrResourceExhausted) || !strings.Contains(err.Error(), "48 MiB") {
		t.Fatalf("a 100 MB value under the default limit: err = %v", err)
	}
}

// TestSQLConfigLocked: settings read back as configured, and the lock holds against every way of
// changing them from inside a query.
func TestSQLConfigLocked(t *testing.T) {
	t.Parallel()
	p := writeParquet(t, 10)
	// Queries may not read settings (TestSQLHidesHostPaths), so they are read on the database the
	// query ran on, kept by the pool.
	ctx := context.Background()
	pool := NewWarmPool(1, "256MB", 1)
	defer pool.Close()
	pool.Keep(1, 0)
	pool.WaitIdle(ctx) // a database opened by the pool (not for the query) may be kept
	res, err := SQL(ctx, map[string]string{"t": p}, "SELECT count(*) FROM t", Limits{MemoryLimit: "256MB", Threads: 1, Warm: pool, Scope: "s"})
	if err != nil {
		t.Fatal(err)
	}
	res.Release()
	pool.WaitIdle(ctx)
	kc := pool.takeKept("s\x00t\x00" + p)
	if kc == nil {
		t.Fatal("the database was not kept")
	}
	var got string
	if err := kc.w.conn.QueryRowContext(ctx, "SELECT concat_ws(',', current_setting('enable_external_access'), current_setting('lock_configuration'), current_setting('threads'), current_setting('memory_limit'))").Scan(&got); err != nil {
		t.Fatal(err)
	}
	kc.w.close()
	if got != "false,true,1,244.1 MiB" {
		t.Errorf("settings %v", got)
	}
	for _, q := range []string{"SELECT set_config('threads', '8')", "RESET lock_configuration", "SET enable_external_access = true"} {
		if r, err := SQL(context.Background(), map[string]string{"t": p}, q, Limits{}); err == nil {
			r.Release()
			t.Errorf("%q accepted", q)
		}
	}
}

// TestSQLHidesHostPaths: a query can read neither the settings (which name the spill folder and the
// input files) nor the views' SQL, the temporary files or the extensions' folders, however it
// names them, nor run SQL text that the check does not see; ordinary queries, catalog queries
// about columns and columns named like the refused functions still run. The home, extension and
// secret directories are neutral in any case.
func TestSQLHidesHostPaths(t *testing.T) {
	ctx := context.Background()
	p := writeParquet(t, 10)
	spill := t.TempDir()
	pool := NewWarmPoolSpill(1, "64MB", 1, spill)
	defer pool.Close()
	pool.Keep(1, 0)
	lim := Limits{MemoryLimit: "64MB", Threads: 1, TempDir: spill, Warm: pool, Scope: "a"}
	for _, q := range []string{
		"SELECT current_setting('temp_directory')",
		"SELECT current_setting('home_directory')",
		"SELECT current_setting('extension_directory')",
		"SELECT current_setting('secret_directory')",
		"SELECT name, value FROM duckdb_settings() WHERE name LIKE '%directory%'",
		"SELECT list_transform(['temp_directory'], x -> current_setting(x))",
		"SELECT CURRENT_SETTING('allowed_paths')",
		"SELECT system.main.current_setting('home_directory')",
		"SELECT 'temp_directory'.current_setting()",
		"SELECT * FROM duckdb_settings()",
		"SELECT value FROM duckdb_settings() WHERE name = 'temp_directory'",
		"SELECT * FROM (SELECT 1 AS x) JOIN (SELECT value FROM duckdb_settings()) ON true",
		"SELECT * FROM pg_catalog.pg_settings",
		"WITH s AS (SELECT sql FROM duckdb_views()) SELECT * FROM s",
		"SELECT view_definition FROM information_schema.views",
		"SELECT sql FROM sqlite_master",
		"SELECT * FROM duckdb_temporary_files()",
		"SELECT install_path FROM duckdb_extensions()",
		"SELECT * FROM query('SELECT current_setting(''temp_directory'')')",
		"SELECT * FROM t WHERE x IN (SELECT length(current_setting('temp_directory')))",
		"SELECT * FROM duckdb_external_file_cache()",
		"SELECT * FROM duckdb_memory()",
		"SELECT path FROM duckdb_databases()",
		"SELECT path FROM main.duckdb_databases",
		"SELECT * FROM pragma_database_list",
		"SELECT * FROM duckdb_prepared_statements()",
		"SELECT * FROM pg_catalog.pg_prepared_statements",
		"SELECT * FROM glob('*')",
		"SELECT * FROM system.main.glob('" + spill + "/**')",
		"SELECT * FROM (SELECT 1) JOIN LATERAL (SELECT * FROM glob('/**')) ON true",
		"SELECT content FROM read_text('/etc/hostname')",
		"SELECT * FROM read_blob('" + spill + "/*/*')",
		"SELECT * FROM arrow_scan(1, 2, 3)",
		"SELECT * FROM checkpoint()",
		"SELECT * FROM dbgen(sf = 0.01)",
		"SELECT * FROM vds_not_a_function()",
		"SELECT pg_get_viewdef(oid) FROM pg_class WHERE relname = 't'",
		"SELECT pg_catalog.pg_get_viewdef(oid, true) FROM pg_catalog.pg_class",
	} {
		pool.WaitIdle(ctx)
		r, err := SQL(ctx, map[string]string{"t": p}, q, lim)
		if err == nil {
			r.Release()
			t.Errorf("%q accepted", q)
			continue
		}
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "refused in the sandbox") {
			t.Errorf("%q: %v, want refused in the sandbox", q, err)
		}
	}
	for q, want := range map[string]string{
		"SELECT count(*) AS query FROM t": "10",
		"SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns WHERE table_name = 't'": `grp,id,na"me,x`,
	} {
		pool.WaitIdle(ctx)
		r, err := SQL(ctx, map[string]string{"t": p}, q, lim)
		if err != nil {
			t.Errorf("%q: %v", q, err)
			continue
		}
		if got := r.Records[0].Column(0).ValueStr(0); got != want {
			t.Errorf("%q = %s, want %s", q, got, want)
		}
		r.Release()
	}
	// The readers that stay allowed reach only the allowed files: a pattern over the spill folder
	// (allowed_directories holds only each database's own random subfolder) or over the whole
	// file system is refused, and no error names a spill subfolder.
	// A file stands in for spill blocks in each database's spill subfolder.
	dirs, _ := filepath.Glob(filepath.Join(spill, "duck-sql-*"))
	if len(dirs) == 0 {
		t.Fatal("no spill folder under the pool's temporary folder")
	}
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, "block.csv"), []byte("vds_spill_marker\n1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		"SELECT * FROM read_csv('" + spill + "/*/*')",
		"SELECT * FROM '" + spill + "/*/*.csv'",
		"SELECT * FROM read_csv('" + spill + "/**', filename = true)",
		"SELECT * FROM read_parquet('" + spill + "/duck-sql-*/*')",
		"SELECT * FROM read_json_objects('/**')",
		"SELECT * FROM read_csv('/etc/*')",
		"SELECT * FROM sniff_csv('" + spill + "/*')",
		"SELECT * FROM parquet_metadata('" + filepath.Dir(p) + "/*')",
	} {
		pool.WaitIdle(ctx)
		r, err := SQL(ctx, map[string]string{"t": p}, q, lim)
		if err == nil {
			r.Release()
			t.Errorf("%q accepted", q)
			continue
		}
		for _, d := range dirs {
			if strings.Contains(err.Error(), filepath.Base(d)) || strings.Contains(err.Error(), "vds_spill_marker") {
				t.Errorf("%q: the error shows the spill folder: %v", q, err)
			}
		}
	}
	c, err := Open(ctx, Config{MemoryLimit: "64MB", Threads: 1, HidePaths: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var home, ext, secret string
	if err := c.conn.QueryRowContext(ctx, "SELECT current_setting('home_directory'), current_setting('extension_directory'), current_setting('secret_directory')").Scan(&home, &ext, &secret); err != nil {
		t.Fatal(err)
	}
	if home != "/nonexistent" || ext != "/nonexistent" || secret != "/nonexistent" {
		t.Errorf("home %q, extensions %q, secrets %q: want /nonexistent", home, ext, secret)
	}
}

// TestParquetToCSV converts a version for the Python sandbox.
func TestParquetToCSV(t *testing.T) {
	t.Parallel()
	p := writeParquet(t, 3)
	out := filepath.Join(t.TempDir(), "t.csv")
	if err := ParquetToCSV(context.Background(), p, out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 4 {
		t.Errorf("csv has %d lines, want header + 3:\n%s", len(lines), b)
	}
}

// TestSQLWarmPool: a pre-opened database gives the same answer and the same lockdown as a fresh
// one, and each is used once.
func TestSQLWarmPool(t *testing.T) {
	t.Parallel()
	p := writeParquet(t, 1000)
	other := writeParquet(t, 5)
	spill := t.TempDir()
	pool := NewWarmPoolSpill(2, "256MB", 1, spill)
	defer pool.Close()
	lim := Limits{Warm: pool, MemoryLimit: "256MB", Threads: 1, TempDir: spill}
	ctx := context.Background()
	for i := 0; i < 4; i++ {
		if err := pool.WaitIdle(ctx); err != nil {
			t.Fatal(err)
		}
		res, err := SQL(ctx, map[string]string{"t": p}, "SELECT count(*)::VARCHAR FROM t", lim) // settings: TestSQLConfigLocked
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Records[0].Column(0).ValueStr(0); got != "1000" {
			t.Errorf("run %d: %q, want 1000", i, got)
		}
		res.Release()
		for _, q := range []string{"SELECT * FROM read_parquet(" + Literal(other) + ")", "SELECT * FROM read_csv('/etc/passwd')", "CREATE TABLE x AS SELECT 1"} {
			if err := pool.WaitIdle(ctx); err != nil {
				t.Fatal(err)
			}
			if r, err := SQL(ctx, map[string]string{"t": p}, q, lim); !errors.Is(err, ErrInvalidArgument) {
				if r != nil {
					r.Release()
				}
				t.Errorf("%q on a warm database: err = %v, want refused", q, err)
			}
		}
	}
	// Every query took a database from the pool (it was full each time), none was handed out
	// twice (16 handed out, 16 replacements plus the first 2 opened), and every spill folder of a
	// closed database is gone.
	if err := pool.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if opened, served := pool.Stats(); served != 16 || opened != 18 {
		t.Errorf("opened %d, served %d; want 18 and 16", opened, served)
	}
	if left, _ := filepath.Glob(filepath.Join(spill, "duck-sql-*")); len(left) != 2 {
		t.Errorf("spill folders left: %v, want the 2 of the idle databases", left)
	}
}

// TestSQLKeptDatabase: with Keep, a locked database is reused only by the same scope over exactly
// the same tables, it never carries anything of an earlier query into a later one, and a database
// whose state changed is closed instead of kept.
func TestSQLKeptDatabase(t *testing.T) {
	t.Parallel()
	p := writeParquet(t, 1000)
	other := writeParquet(t, 5)
	spill := t.TempDir()
	pool := NewWarmPoolSpill(1, "256MB", 1, spill)
	defer pool.Close()
	pool.Keep(4, 0)
	ctx := context.Background()
	run := func(scope string, tables map[string]string, q string) (*Result, error) {
		t.Helper()
		if err := pool.WaitIdle(ctx); err != nil {
			t.Fatal(err)
		}
		return SQL(ctx, tables, q, Limits{Warm: pool, MemoryLimit: "256MB", Threads: 1, TempDir: spill, Scope: scope, Timeout: 10 * time.Second})
	}
	value := func(scope string, tables map[string]string, q string) (string, bool) {
		t.Helper()
		res, err := run(scope, tables, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer res.Release()
		return strings.Clone(res.Records[0].Column(0).ValueStr(0)), res.Reused // the value points into the batch
	}
	tp := map[string]string{"t": p}
	if v, reused := value("alice", tp, "SELECT count(*) FROM t"); v != "1000" || reused {
		t.Fatalf("first query: %s reused=%v, want 1000 on a fresh database", v, reused)
	}
	if err := pool.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if pool.Kept() != 1 {
		t.Fatalf("kept %d databases, want 1", pool.Kept())
	}
	if v, reused := value("alice", tp, "SELECT count(*)::VARCHAR FROM t"); v != "1000" || !reused {
		t.Fatalf("second query: %s reused=%v, want 1000 on the kept database", v, reused)
	}

	// Whatever a query tries, the next query on the kept database finds the lockdown's state.
	for _, q := range []string{"CREATE TABLE leak AS SELECT 42", "CREATE TEMP TABLE leak AS SELECT 42", "SET threads = 4",
		"SELECT * FROM query('CREATE TABLE leak AS SELECT 42')", "SET VARIABLE leak = 42", "CREATE MACRO leak() AS 42",
		"PREPARE leak AS SELECT 42", "DROP VIEW t", "CREATE OR REPLACE VIEW t AS SELECT 42 AS id", "ATTACH ':memory:' AS leak",
		"SELECT * FROM read_parquet(" + Literal(other) + ")"} {
		if r, err := run("alice", tp, q); err == nil {
			r.Release()
			t.Errorf("%q accepted", q)
		}
	}
	// (Queries may not list databases or prepared statements; the check before keeping counts them.)
	state, reused := value("alice", tp, `SELECT (SELECT count(*) FROM t)::VARCHAR || '/' || (SELECT count(*) FROM duckdb_tables())::VARCHAR || '/' ||
		(SELECT count(*) FROM duckdb_variables())::VARCHAR || '/' || (SELECT count(*) FROM duckdb_functions() WHERE NOT internal)::VARCHAR`)
	if state != "1000/0/0/0" || !reused {
		t.Errorf("after the refused statements: %s reused=%v, want 1000/0/0/0 (rows, tables, variables, macros) on the kept database (its settings, databases and prepared statements are part of the check before keeping)", state, reused)
	}

	// A seed set by one query does not carry over: the kept database gets a new random seed.
	if v, reused := value("alice", tp, "SELECT setseed(0.25)::VARCHAR"); !reused {
		t.Fatalf("setseed: %s reused=%v", v, reused)
	}
	afterSeed, reused := value("alice", tp, "SELECT random()::VARCHAR")
	if !reused {
		t.Fatal("random() did not run on the kept database")
	}
	fresh, err := Open(ctx, Config{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	var seeded string
	if err := fresh.Exec(ctx, "SELECT setseed(0.25)"); err != nil {
		t.Fatal(err)
	}
	if err := fresh.SQL().QueryRowContext(ctx, "SELECT random()::VARCHAR").Scan(&seeded); err != nil {
		t.Fatal(err)
	}
	fresh.Close()
	if afterSeed == seeded {
		t.Errorf("random() after setseed(0.25) in an earlier query = %s, the seeded sequence's first value", afterSeed)
	}

	// Another scope, other tables or another alias never get alice's database.
	if v, reused := value("bob", tp, "SELECT count(*) FROM t"); v != "1000" || reused {
		t.Errorf("bob: %s reused=%v, want a fresh database", v, reused)
	}
	if v, reused := value("alice", map[string]string{"t": other}, "SELECT count(*) FROM t"); v != "5" || reused {
		t.Errorf("alice, other file: %s reused=%v, want 5 on a fresh database", v, reused)
	}
	if r, err := run("alice", map[string]string{"t": other}, "SELECT count(*) FROM read_parquet("+Literal(p)+")"); err == nil {
		r.Release()
		t.Error("alice's other-file database reads the first file")
	}
	if v, reused := value("alice", map[string]string{"u": p}, "SELECT count(*) FROM information_schema.tables WHERE table_name = 't'"); v != "0" || reused {
		t.Errorf("alice, alias u: %s reused=%v, want no view t on a fresh database", v, reused)
	}

	// A database whose state changed behind the sandbox's back (a table appears, a view is
	// replaced, a variable is set) is closed, not kept.
	key := "alice\x00t\x00" + p
	for _, tamper := range []string{"CREATE TEMP TABLE leak AS SELECT 42 AS x", "CREATE OR REPLACE VIEW t AS SELECT 42 AS id", "SET VARIABLE leak = 42"} {
		if v, _ := value("alice", tp, "SELECT count(*) FROM t"); v != "1000" {
			t.Fatal(v)
		}
		if err := pool.WaitIdle(ctx); err != nil {
			t.Fatal(err)
		}
		kc := pool.takeKept(key)
		if kc == nil {
			t.Fatal("alice's database is not kept")
		}
		if err := kc.w.Exec(ctx, tamper); err != nil {
			t.Fatal(err)
		}
		_, refusedBefore := pool.ReuseStats()
		pool.giveBack(kc)
		if err := pool.WaitIdle(ctx); err != nil {
			t.Fatal(err)
		}
		if _, refused := pool.ReuseStats(); refused != refusedBefore+1 {
			t.Errorf("%s: refused %d, want %d: a tampered database was kept", tamper, refused, refusedBefore+1)
		}
		if v, reused := value("alice", tp, "SELECT (SELECT count(*) FROM duckdb_tables())::VARCHAR || '/' || (SELECT count(*) FROM t)::VARCHAR || '/' || (SELECT count(*) FROM duckdb_variables())::VARCHAR"); v != "0/1000/0" || reused {
			t.Errorf("after %s: %s, reused=%v; want 0/1000/0 on a fresh database", tamper, v, reused)
		}
	}

	// An interrupted query's database is not kept.
	if err := pool.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	keptBefore := pool.Kept()
	if r, err := SQL(ctx, tp, "SELECT count(*) FROM range(10000000000)", Limits{Warm: pool, MemoryLimit: "256MB", Threads: 1, TempDir: spill, Scope: "alice", Timeout: 200 * time.Millisecond}); !errors.Is(err, context.DeadlineExceeded) {
		if r != nil {
			r.Release()
		}
		t.Fatalf("long query: %v, want the time limit", err)
	}
	if err := pool.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if pool.Kept() != keptBefore-1 {
		t.Errorf("kept %d after an interrupted query on a kept database, want %d", pool.Kept(), keptBefore-1)
	}

	// At most Keep databases are kept, and none past its time to live.
	for _, s := range []string{"carol", "dave", "erin", "frank", "grace"} {
		if v, _ := value(s, tp, "SELECT count(*) FROM t"); v != "1000" {
			t.Fatal(v)
		}
	}
	if err := pool.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if pool.Kept() != 4 {
		t.Errorf("kept %d, want the limit of 4", pool.Kept())
	}
	pool.expire(time.Now().Add(3 * time.Minute))
	if pool.Kept() != 0 {
		t.Errorf("kept %d past their time to live", pool.Kept())
	}
	if left, _ := filepath.Glob(filepath.Join(spill, "duck-sql-*")); len(left) != 1 {
		t.Errorf("spill folders left: %v, want only the idle database's", left)
	}
}

// allowedSystemViews are the system views a sandboxed query may read (the catalog of its own
// tables, types and functions); deniedTables holds the others.
var allowedSystemViews = map[string]bool{
	"main.duckdb_columns": true, "main.duckdb_constraints": true, "main.duckdb_indexes": true, "main.duckdb_schemas": true,
	"main.duckdb_tables": true, "main.duckdb_types": true,
	"pg_catalog.pg_am": true, "pg_catalog.pg_attrdef": true, "pg_catalog.pg_attribute": true, "pg_catalog.pg_class": true,
	"pg_catalog.pg_constraint": true, "pg_catalog.pg_database": true, "pg_catalog.pg_depend": true, "pg_catalog.pg_description": true,
	"pg_catalog.pg_enum": true, "pg_catalog.pg_index": true, "pg_catalog.pg_indexes": true, "pg_catalog.pg_namespace": true,
	"pg_catalog.pg_proc": true, "pg_catalog.pg_sequence": true, "pg_catalog.pg_sequences": true, "pg_catalog.pg_tables": true,
	"pg_catalog.pg_tablespace": true, "pg_catalog.pg_trigger": true, "pg_catalog.pg_type": true,
	"information_schema.character_sets": true, "information_schema.check_constraints": true, "information_schema.columns": true,
	"information_schema.constraint_column_usage": true, "information_schema.constraint_table_usage": true,
	"information_schema.key_column_usage": true, "information_schema.referential_constraints": true, "information_schema.schemata": true,
	"information_schema.table_constraints": true, "information_schema.tables": true, "pg_catalog.pg_collation": true,
}

// TestSQLTableFunctionsClassified lists every table function, table macro and system view of the
// linked DuckDB and fails on any that is neither allowed (allowedTableFunctions,
// allowedSystemViews) nor denied (deniedFunctions, deniedTableFunctions, deniedTables): an upgrade that adds one (which
// may show host state) must classify it. A table function that is not allowed is refused at run
// time whether or not it is listed; each one denied here is checked to be refused, and each allowed
// one to pass the check.
func TestSQLTableFunctionsClassified(t *testing.T) {
	ctx := context.Background()
	c, err := Open(ctx, Config{MemoryLimit: "64MB", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	list := func(q string) []string {
		t.Helper()
		rows, err := c.conn.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			out = append(out, n)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	refused := func(q string) bool {
		err := checkReadOnly(ctx, c, q)
		return errors.Is(err, ErrInvalidArgument) && strings.Contains(err.Error(), "refused in the sandbox")
	}
	fns := list(`SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type IN ('table', 'table_macro') ORDER BY 1`)
	if len(fns) < 20 || !slices.Contains(fns, "range") || !slices.Contains(fns, "read_parquet") {
		t.Fatalf("table functions %v: the listing does not look right", fns)
	}
	var unclassified []string
	for _, f := range fns {
		n := strings.ToLower(f)
		allowed, denied := allowedTableFunctions[n], deniedFunctions[n] || deniedTableFunctions[n]
		switch {
		case allowed && denied:
			t.Errorf("table function %s is both allowed and denied", f)
		case !allowed && !denied:
			unclassified = append(unclassified, f)
		}
		if q := "SELECT * FROM " + Ident(f) + "()"; refused(q) == allowed {
			t.Errorf("%s: refused %v, want %v", q, allowed, !allowed)
		}
	}
	views := list(`SELECT schema_name || '.' || view_name FROM duckdb_views() WHERE internal ORDER BY 1`)
	if !slices.Contains(views, "information_schema.columns") || !slices.Contains(views, "pg_catalog.pg_settings") {
		t.Fatalf("system views %v: the listing does not look right", views)
	}
	for _, v := range views {
		schema, name, _ := strings.Cut(v, ".")
		denied := deniedTables[strings.ToLower(name)] || (schema == "information_schema" && name == "views")
		allowed := allowedSystemViews[v]
		switch {
		case allowed && denied:
			t.Errorf("system view %s is both allowed and denied", v)
		case !allowed && !denied:
			unclassified = append(unclassified, v)
		}
		if q := "SELECT * FROM " + Ident(schema) + "." + Ident(name); refused(q) != denied {
			t.Errorf("%s: refused %v, want %v", q, !denied, denied)
		}
	}
	// A system macro (scalar or table) that calls a denied function or reads a denied view would
	// pass the check under its own name (pg_get_viewdef reads duckdb_views): it must be denied too.
	rows, err := c.conn.QueryContext(ctx, `SELECT DISTINCT function_name, lower(coalesce(macro_definition, '')) FROM duckdb_functions() WHERE function_type IN ('macro', 'table_macro')`)
	if err != nil {
		t.Fatal(err)
	}
	macros := 0
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			t.Fatal(err)
		}
		macros++
		if deniedFunctions[strings.ToLower(name)] || deniedTableFunctions[strings.ToLower(name)] {
			continue
		}
		for _, d := range [...]map[string]bool{deniedFunctions, deniedTables} {
			for n := range d {
				if regexp.MustCompile(`\b` + n + `\b`).MatchString(def) {
					t.Errorf("system macro %s uses %s, which is denied; deny the macro too: %s", name, n, def)
				}
			}
		}
	}
	rows.Close()
	if macros < 10 {
		t.Errorf("%d system macros: the listing does not look right", macros)
	}
	if len(unclassified) > 0 {
		t.Errorf("table functions and system views neither allowed nor denied (classify each: does it show host state?): %s", strings.Join(unclassified, " "))
	}
}
