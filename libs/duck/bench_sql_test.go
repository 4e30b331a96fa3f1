//go:build duckdb_arrow

package duck

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vdsproject/vds/libs/duck/ducktest"
)

// TestBenchmarkSQLEngine compares the sandboxed SQL engine with DuckDB alone on the same 1M-row
// Parquet file, same query, threads and memory limit, in a process that runs nothing else (the
// service benchmark, services/sandbox/server TestBenchmarkSQL, runs the whole mesh alongside). 200
// interleaved runs of each case. It runs only when VDS_DUCK_SQL_BENCH names the results file.
func TestBenchmarkSQLEngine(t *testing.T) {
	outFile := os.Getenv("VDS_DUCK_SQL_BENCH")
	if outFile == "" {
		t.Skip("set VDS_DUCK_SQL_BENCH=results-file to run the engine benchmark")
	}
	ctx := context.Background()
	loadBefore := ducktest.LoadAverage()
	dir := t.TempDir()
	p := filepath.Join(dir, "million.parquet")
	raw, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	if err := ducktest.WriteParquet(raw, p); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("SET threads = 2; SET memory_limit = '1GB'"); err != nil {
		t.Fatal(err)
	}
	q := ducktest.Query
	spill := t.TempDir()
	pool := NewWarmPoolSpill(2, "1GB", 2, spill)
	defer pool.Close()
	pool.Keep(4, 0)
	alone := func() time.Duration {
		d, err := ducktest.Alone(raw, p)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	engine := func(scope string) func() time.Duration {
		return func() time.Duration {
			start := time.Now()
			res, err := SQL(ctx, map[string]string{"t": p}, q, Limits{MemoryLimit: "1GB", Threads: 2, MaxRows: 100000, TempDir: spill, Warm: pool, Scope: scope})
			if err != nil {
				t.Fatal(err)
			}
			d := time.Since(start)
			if res.Rows != ducktest.Groups {
				t.Fatalf("%d rows", res.Rows)
			}
			res.Release()
			return d
		}
	}
	cases := []struct {
		name string
		run  func() time.Duration
		wall []time.Duration
	}{{name: "DuckDB alone (one long-lived database, threads 2, memory 1GB)", run: alone},
		{name: "duck.SQL, fresh locked-down database from the warm pool (set-up, view, lock, Arrow)", run: engine("")},
		{name: "duck.SQL, kept locked-down database of the same scope and file (Arrow)", run: engine("bench")}}
	if err := pool.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	engine("bench")() // the scope's first query makes its database (from the pool: only those are kept)
	for i := 0; i < 200; i++ {
		for c := range cases {
			if err := pool.WaitIdle(ctx); err != nil {
				t.Fatal(err)
			}
			cases[c].wall = append(cases[c].wall, cases[c].run())
		}
	}
	if err := pool.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	reused, refused := pool.ReuseStats()
	if reused != 200 {
		t.Fatalf("the kept case reused a database %d times (%d failed their check), want 200", reused, refused)
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	var tbl strings.Builder
	for i, c := range cases {
		r := make([]float64, len(c.wall))
		for k := range r {
			r[k] = float64(c.wall[k]) / float64(cases[0].wall[k])
		}
		slices.Sort(r)
		w := slices.Clone(c.wall)
		slices.Sort(w)
		b := slices.Clone(cases[0].wall)
		slices.Sort(b)
		fmt.Fprintf(&tbl, "| %s | %.1f | %.1f | %.2fx | %.2fx |\n", c.name, ms(w[100]), ms(w[190]), float64(w[100])/float64(b[100]), r[100])
		_ = i
	}
	md := fmt.Sprintf(`# Sandbox SQL engine alone

The same 1,000,000-row group-by as bench/results/sandbox-sql.md (%s), run by libs/duck in a test
process that runs nothing else: DuckDB alone, the sandboxed engine on a fresh database and on a kept one,
200 interleaved runs each, waiting for the warm pool to be idle before each run. The kept case ran on
a kept database %d times; %d returned databases failed their state check and were closed.

Machine: %d CPUs, %s/%s, load average before %s, after %s (other work shares this machine).
Command: `+"`VDS_DUCK_SQL_BENCH=$PWD/bench/results/sandbox-sql-engine.md go test -tags duckdb_arrow -count=1 -run '^TestBenchmarkSQLEngine$' -v ./libs/duck/`"+` (also run by `+"`bench/sandbox/run.sh`"+`). Generated %s.

| case | p50 ms | p95 ms | p50 ratio | paired ratio (median) |
|---|---:|---:|---:|---:|
%s`, "`"+q+"`", reused, refused, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, loadBefore, ducktest.LoadAverage(), time.Now().UTC().Format("2006-01-02 15:04 UTC"), tbl.String())
	t.Log(md)
	if err := os.WriteFile(outFile, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
}
