#!/bin/sh
# Causal engine benchmark: vds (libs/causal through TestBenchTable) and a statsmodels/scikit-learn
# peer (peer.py) on the shared causal datasets, side by side in one run. Writes
# bench/results/causal.md. Run from the repository root: sh bench/causal/run.sh
set -eu
: "${VDS_SHARED_DATA:=../shared/data}"
export VDS_SHARED_DATA
VDS_SHARED_DATA=$(cd "$VDS_SHARED_DATA" && pwd)
export VDS_SHARED_DATA
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
VDS_CAUSAL_BENCH_OUT="$tmp/vds.json" go test -tags duckdb_arrow -count=1 -run '^TestBenchTable$' ./libs/causal/ >/dev/null
OMP_NUM_THREADS=1 /usr/bin/python3 bench/causal/peer.py "$tmp/peer.json"
/usr/bin/python3 bench/causal/table.py "$tmp/vds.json" "$tmp/peer.json" > bench/results/causal.md
cat bench/results/causal.md
