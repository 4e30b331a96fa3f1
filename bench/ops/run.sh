#!/usr/bin/env bash
# Measures jobs per minute per worker for each job kind (ingest, analyze, profile, train, …) on the
# embedded platform, from the platform's own vds_job_duration_seconds histogram, and writes
# bench/results/ops-job-throughput.md. Run once, on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
export VDS_SHARED_DATA="${VDS_SHARED_DATA:-$(cd .. && pwd)/shared/data}"
export OMP_NUM_THREADS=1
mkdir -p bench/results
VDS_BENCH_OUT="$PWD/bench/results/ops-job-throughput.md" \
  go test -tags duckdb_arrow -count=1 -run TestJobThroughput -timeout 30m -v ./services/tracetest/
