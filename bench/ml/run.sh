#!/bin/sh
# Benchmark vds AutoML against scikit-learn HistGradientBoosting and XGBoost (defaults, one thread)
# on the same 5 outer folds of 13 tasks, and the boosting learner alone against XGBoost hist on
# 100k x 20. Usage: bench/ml/run.sh [budget-seconds-per-fold (default 60)] [task,task,...]
# Needs /usr/bin/python3 with python3-sklearn, python3-pandas and python3-xgboost (Debian).
# Writes bench/results/ml_automl.md.
set -eu
cd "$(dirname "$0")/../.."
BUDGET="${1:-60}"
TASKS="${2:-}"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
# VDS_BENCH_ML_WORKDIR keeps the work folder (and a partial vds.json if the run is cut short)
if [ -n "${VDS_BENCH_ML_WORKDIR:-}" ]; then
	WORK="$VDS_BENCH_ML_WORKDIR"
	mkdir -p "$WORK"
else
	WORK="$(mktemp -d)"
	trap 'rm -rf "$WORK"' EXIT
fi
PY=/usr/bin/python3
$PY bench/ml/peers.py prepare "$WORK"
$PY bench/ml/peers.py speed-prepare "$WORK"
VDS_BENCH_ML_TASKS="$TASKS" $PY bench/ml/peers.py score "$WORK"
$PY bench/ml/peers.py speed "$WORK"
VDS_BENCH_ML_WORK="$WORK" VDS_BENCH_ML_BUDGET="$BUDGET" VDS_BENCH_ML_TASKS="$TASKS" \
	go test -tags duckdb_arrow -count=1 -timeout 0 -run 'TestBench' -v ./libs/learn/ | grep -E 'vds|ok|FAIL|---'
mkdir -p bench/results
$PY bench/ml/peers.py table "$WORK" bench/results/ml_automl.md
