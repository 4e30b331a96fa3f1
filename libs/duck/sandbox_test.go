//go:build duckdb_arrow

package duck

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
}

// TestSQLConfigLocked: settings read back as configured, and the lock holds against every way of
// changing them from inside a query.
func TestSQLConfigLocked(t *testing.T) {
	t.Parallel()
	p := writeParquet(t, 10)
	res, err := SQL(context.Background(), map[string]string{"t": p},
		"SELECT current_setting('enable_external_access')::VARCHAR, current_setting('lock_configuration')::VARCHAR, current_setting('threads')::VARCHAR, current_setting('memory_limit')::VARCHAR",
		Limits{MemoryLimit: "256MB", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Release()
	rec := res.Records[0]
	var got []string
	for i := 0; i < int(rec.NumCols()); i++ {
		got = append(got, rec.Column(i).ValueStr(0))
	}
	if strings.Join(got, ",") != "false,true,1,244.1 MiB" {
		t.Errorf("settings %v", got)
	}
	for _, q := range []string{"SELECT set_config('threads', '8')", "RESET lock_configuration", "SET enable_external_access = true"} {
		if r, err := SQL(context.Background(), map[string]string{"t": p}, q, Limits{}); err == nil {
			r.Release()
			t.Errorf("%q accepted", q)
		}
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
		res, err := SQL(ctx, map[string]string{"t": p}, "SELECT count(*)::VARCHAR || '/' || current_setting('threads')::VARCHAR || '/' || current_setting('lock_configuration')::VARCHAR FROM t", lim)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Records[0].Column(0).ValueStr(0); got != "1000/1/true" {
			t.Errorf("run %d: %q, want 1000/1/true", i, got)
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
