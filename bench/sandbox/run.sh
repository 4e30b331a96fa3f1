#!/bin/sh
# Sandbox start-up benchmark: bare python3, bare bubblewrap, the vds sandbox cold and with its warm
# pool, and pandas describe() bare vs pre-warmed; p50/p95 over 200 runs. Writes bench/results/sandbox.md.
set -eu
cd "$(dirname "$0")/../.."
out="$PWD/bench/results/sandbox.md"
cd libs && VDS_SANDBOX_BENCH="$out" OMP_NUM_THREADS=1 go test -count=1 -run '^TestBenchmark$' -v -timeout 20m ./pysandbox/ | grep -E 'p50|ok|FAIL'
cat "$out"
sql="$(cd .. && pwd)/bench/results/sandbox-sql.md"
cd .. && VDS_SANDBOX_SQL_BENCH="$sql" go test -tags duckdb_arrow -count=1 -run '^TestBenchmarkSQL$' -v -timeout 20m ./services/sandbox/server/ | grep -E 'ok|FAIL|ratio' || true
cat "$sql"
