#!/bin/sh
# Meta-learning warm start against the cold search: time for the best inner-CV score to come within
# 0.5% of the better final score, on held-out knowledge-base datasets (leave-one-out: the warm run
# may not use an entry built from the same file). Usage:
#   bench/ml/metalearning.sh [budget-seconds (default 10)] [dataset,dataset,...]
# Needs /usr/bin/python3 with python3-sklearn and python3-pandas (python3-statsmodels for sm_*).
# Writes bench/results/ml_metalearning.md.
set -eu
cd "$(dirname "$0")/../.."
BUDGET="${1:-10}"
TASKS="${2:-titanic,breast_cancer,wine,digits,penguins,mpg,boston,diabetes,tips,nhefs,sm_anes96,sm_star98}"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
/usr/bin/python3 libs/learn/cmd/metakb/export.py "$WORK" >/dev/null
mkdir -p bench/results
OUT="bench/results/ml_metalearning.md"
LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
VDS_BENCH_META_WORK="$WORK" VDS_BENCH_META_BUDGET="$BUDGET" VDS_BENCH_META_TASKS="$TASKS" VDS_BENCH_META_OUT="$WORK/table.md" \
	go test -tags duckdb_arrow -count=1 -timeout 0 -run 'TestBenchWarmStart' -v ./libs/learn/ | grep -E 'bench_meta|ok|FAIL|---'
{
	echo "# Meta-learning warm start against the cold search"
	echo
	echo "Command: \`bench/ml/metalearning.sh $BUDGET $TASKS\` on $(date -u +%Y-%m-%d), $(getconf _NPROCESSORS_ONLN) cores, load average at start $LOAD (shared machine)."
	echo "Each dataset runs the search twice with the same seed, folds and budget ($BUDGET s, no ensemble): cold (the fixed plan) and"
	echo "warm (the best configurations of the 3 nearest knowledge-base datasets tried right after the 2 cheap starting"
	echo "trials; entries built from the same file are left out). The target is the better of the two final inner-CV"
	echo "scores, less 0.5% of it (plus 0.5% for losses); time to target counts from the start of the run, so the warm run"
	echo "pays for its meta-features. A run that never reaches the target is charged the whole budget in the mean."
	echo
	cat "$WORK/table.md"
} > "$OUT"
cat "$OUT"
