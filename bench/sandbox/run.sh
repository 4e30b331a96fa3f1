#!/bin/sh
# Sandbox benchmarks, p50/p95 over 200 runs. Start-up: bare python3, bare bubblewrap, the vds sandbox
# cold and with its warm pool, and pandas describe() bare vs pre-warmed (bench/results/sandbox.md).
# SQL: the 1M-row group-by against DuckDB alone, through the engine in a process of its own
# (bench/results/sandbox-sql-engine.md) and through the whole service (bench/results/sandbox-sql.md).
set -eu
cd "$(dirname "$0")/../.."
root="$PWD"
out="$root/bench/results/sandbox.md"
(cd libs && VDS_SANDBOX_BENCH="$out" OMP_NUM_THREADS=1 go test -count=1 -run '^TestBenchmark$' -v -timeout 20m ./pysandbox/ | grep -E 'p50|ok|FAIL')
cat "$out"
engine="$root/bench/results/sandbox-sql-engine.md"
VDS_DUCK_SQL_BENCH="$engine" go test -tags duckdb_arrow -count=1 -run '^TestBenchmarkSQLEngine$' -v -timeout 20m ./libs/duck/ | grep -E '^(ok|FAIL|--- )' || true
cat "$engine"
sql="$root/bench/results/sandbox-sql.md"
VDS_SANDBOX_SQL_BENCH="$sql" go test -tags duckdb_arrow -count=1 -run '^TestBenchmarkSQL$' -v -timeout 20m ./services/sandbox/server/ | grep -E '^(ok|FAIL|--- )' || true
cat "$sql"
