#!/bin/sh
# A large CSV uploaded through the gateway (HTTP multipart) into a whole mesh started by `vds up`
# in one process, then ingested; prints the process's peak RSS (VmHWM) idle, after the upload
# and after the ingest job, and the job's read rules.
#
# Usage (from the repository root):  sh bench/ingest/gateway_upload.sh [MiB]   (default 1024)
# Env: BENCH_DIR (default /tmp/vds-bench-ingest; the CSV of bench/ingest/run.sh is reused),
#      VDS_DUCKDB_MEMORY / VDS_DUCKDB_THREADS (passed to vds up's ingestion service).
set -eu
MB=${1:-1024}
DIR=${BENCH_DIR:-/tmp/vds-bench-ingest}
mkdir -p "$DIR"
CSV="$DIR/gen_${MB}mb.csv"
if [ ! -s "$CSV" ]; then
  go build -tags duckdb_arrow -o "$DIR/ingestbench" ./libs/ingest/cmd/ingestbench
  "$DIR/ingestbench" gen -mb "$MB" -out "$CSV"
fi
go build -tags duckdb_arrow -o "$DIR/vds" ./cmd/vds
H=$(mktemp -d "$DIR/home-XXXXXX")
HTTP=127.0.0.1:18080
"$DIR/vds" up --home "$H" --grpc-addr 127.0.0.1:17070 --http-addr "$HTTP" > "$H/up.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$H"' EXIT
i=0
until [ -s "$H/credentials.json" ] && curl -fsS "http://$HTTP/healthz" > /dev/null 2>&1; do
  i=$((i + 1)); [ $i -lt 240 ] || { echo "vds up did not start"; cat "$H/up.log"; exit 1; }
  kill -0 $PID 2>/dev/null || { echo "vds up exited"; cat "$H/up.log"; exit 1; }
  sleep 1
done
field() { /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@"; }
KEY=$(field "$H/credentials.json" api_key)
PRJ=$(field "$H/credentials.json" project_id)
hwm() { awk '/VmHWM/ {printf "%.0f", $2 * 1024 / 1e6}' /proc/$PID/status; }
echo "idle: VmHWM $(hwm) MB"
t0=$(date +%s)
curl -fsS -H "x-api-key: $KEY" -F "file=@$CSV" "http://$HTTP/v1/projects/$PRJ/datasets:upload" > "$H/upload.json"
t1=$(date +%s)
echo "after the upload ($((t1 - t0)) s): VmHWM $(hwm) MB; $(cat "$H/upload.json")"
JOB=$(field "$H/upload.json" jobId)
while :; do
  curl -fsS -H "x-api-key: $KEY" "http://$HTTP/v1/jobs/$JOB" > "$H/job.json"
  state=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["job"]["state"])' "$H/job.json")
  case $state in JOB_STATE_SUCCEEDED|JOB_STATE_FAILED|JOB_STATE_CANCELLED) break ;; esac
  sleep 2
done
t2=$(date +%s)
echo "after the ingest job ($((t2 - t1)) s, $state): VmHWM $(hwm) MB"
DS=$(field "$H/upload.json" datasetId)
curl -fsS -H "x-api-key: $KEY" "http://$HTTP/v1/datasets/$DS" | /usr/bin/python3 -c '
import json, sys
v = json.load(sys.stdin)["dataset"]["current"]
r = v.get("readRules") or {}
print("version:", v.get("state"), "rows", v.get("rowCount"), "typing", r.get("typing"), r.get("typingNote", ""))'
