#!/bin/sh
# Meta-learning warm start against the cold search: trials and seconds until the best inner-CV score
# comes within 0.5% of the better of the two scores after the first N trials, on held-out
# knowledge-base datasets (leave-one-out: the warm run may not use an entry built from the same file).
# Usage:
#   bench/ml/metalearning.sh [trials N (default 8)] [dataset,dataset,...]
# Needs /usr/bin/python3 with python3-sklearn and python3-pandas (python3-statsmodels for sm_*).
# Writes bench/results/ml_metalearning.md.
set -eu
cd "$(dirname "$0")/../.."
TRIALS="${1:-8}"
TASKS="${2:-titanic,breast_cancer,wine,penguins,mpg,boston,diabetes,tips,healthexp,sm_anes96,sm_modechoice,sm_star98}"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
/usr/bin/python3 libs/learn/cmd/metakb/export.py "$WORK" >/dev/null
mkdir -p bench/results
OUT="bench/results/ml_metalearning.md"
LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
VDS_BENCH_META_WORK="$WORK" VDS_BENCH_META_BUDGET=120 VDS_BENCH_META_TRIALS="$TRIALS" VDS_BENCH_META_TASKS="$TASKS" VDS_BENCH_META_OUT="$WORK/table.md" \
	go test -tags duckdb_arrow -count=1 -timeout 0 -run 'TestBenchWarmStart' -v ./libs/learn/ | grep -E 'bench_meta|ok|FAIL|---'
{
	echo "# Meta-learning warm start against the cold search"
	echo
	echo "Command: \`bench/ml/metalearning.sh $TRIALS $TASKS\` on $(date -u +%Y-%m-%d), $(getconf _NPROCESSORS_ONLN) cores, load average at start $LOAD (shared machine)."
	echo "Each dataset runs the search twice with the same seed and folds, no ensemble, stopping after $TRIALS trials (a 120 s"
	echo "wall budget only guards): cold (the fixed plan) and warm (the best configurations of the 3 nearest"
	echo "knowledge-base datasets tried right after the 2 cheap starting trials; entries built from the same file are"
	echo "left out). The target is the better of the two best inner-CV scores, less 0.5% of it (plus 0.5% for"
	echo "losses). Trials to target do not depend on the machine's load; seconds to target (from the start of the"
	echo "run, so the warm run pays for its meta-features) do, and this machine was shared with other work."
	echo
	cat "$WORK/table.md"
} > "$OUT"
cat "$OUT"
