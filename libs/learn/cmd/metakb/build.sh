#!/bin/sh
# Rebuild libs/learn/metakb.json: export the public datasets (export.py), then search each one and
# keep the derived numbers (main.go). Usage: libs/learn/cmd/metakb/build.sh [budget (default 15s)] [-only names]
# Needs /usr/bin/python3 with python3-sklearn and python3-pandas; python3-statsmodels adds its data sets.
set -eu
cd "$(dirname "$0")/../../../.."
BUDGET="${1:-15s}"
[ $# -gt 0 ] && shift
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
/usr/bin/python3 libs/learn/cmd/metakb/export.py "$WORK"
go run ./libs/learn/cmd/metakb -manifest "$WORK/manifest.json" -out libs/learn/metakb.json -budget "$BUDGET" "$@"
