#!/bin/sh
# Ingest throughput and memory, side by side in one run:
#   vds      ingest.Convert (sniff, type every column in SQL, write zstd Parquet)
#   duckdb   DuckDB's own COPY (read_csv auto-detection -> zstd Parquet), same DuckDB build, same threads
#   pandas   pandas.read_csv alone (no Parquet: pyarrow is not installable here), OMP_NUM_THREADS=1
# on generated mixed-type CSVs (default 100 MiB and 1024 MiB) kept in $BENCH_DIR (default /tmp).
# Peak RSS: VmHWM of the converting process (Go tool) or ru_maxrss (Python), one fresh process per run.
#
# Usage (from the repository root):  sh bench/ingest/run.sh [sizes-in-MiB...]
# Env: THREADS (default 2), MEMORY (DuckDB memory_limit, default 1GB = the service default),
#      BENCH_DIR (default /tmp/vds-bench-ingest), OUT (default bench/results/ingest.md; the new run goes
#      on top, the earlier runs and their hand-written notes stay below it)
set -eu
SIZES=${*:-"100 1024"}
THREADS=${THREADS:-2}
MEMORY=${MEMORY:-1GB}
DIR=${BENCH_DIR:-/tmp/vds-bench-ingest}
OUT=${OUT:-bench/results/ingest.md}
mkdir -p "$DIR"
TOOL="$DIR/ingestbench"
go build -tags duckdb_arrow -o "$TOOL" ./libs/ingest/cmd/ingestbench
JSONL="$DIR/results.jsonl"
: > "$JSONL"
for mb in $SIZES; do
  csv="$DIR/gen_${mb}mb.csv"
  [ -s "$csv" ] || "$TOOL" gen -mb "$mb" -out "$csv"
  for tool in duckdb vds; do
    rm -f "$DIR/out.parquet"
    "$TOOL" "$tool" -threads "$THREADS" -memory "$MEMORY" "$csv" "$DIR/out.parquet" | sed "s/^{/{\"mb\":$mb,/" >> "$JSONL"
  done
  rm -f "$DIR/out.parquet"
  OMP_NUM_THREADS=1 /usr/bin/python3 - "$csv" "$mb" >> "$JSONL" <<'PY'
import json, os, resource, sys, time
import pandas as pd
path, mb = sys.argv[1], int(sys.argv[2])
ru0 = resource.getrusage(resource.RUSAGE_SELF)
t = time.perf_counter()
df = pd.read_csv(path)
secs = time.perf_counter() - t
size = os.path.getsize(path)
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"mb": mb, "tool": "pandas", "threads": 1, "bytes": size, "rows": len(df), "seconds": secs,
                  "cpu_seconds": ru.ru_utime + ru.ru_stime - ru0.ru_utime - ru0.ru_stime,
                  "mb_per_s": size / 1e6 / secs, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6}))
PY
done
/usr/bin/python3 - "$JSONL" "$OUT" "$THREADS" "$MEMORY" "sh bench/ingest/run.sh $SIZES" <<'PY'
import json, os, platform, subprocess, sys, datetime
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
out, threads, memory, cmd = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem = next((l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")), "0")
L = ["# Ingest benchmark: vds vs DuckDB COPY vs pandas read_csv", "",
     f"- date: {datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M UTC')}",
     f"- machine: {os.cpu_count()} CPUs ({cpu}), {int(mem)//1024//1024} GB RAM, {platform.system()} {platform.release()} (shared with other work while measuring)",
     f"- command: `THREADS={threads} MEMORY={memory} {cmd}`",
     f"- DuckDB threads {threads}, memory_limit {memory}; pandas with OMP_NUM_THREADS=1 (read_csv is single-threaded)",
     "- peak RSS: VmHWM of the converting process (one fresh process per run); pandas: ru_maxrss",
     "- CPU s: user+system CPU time of the conversion (steadier than wall time when the machine is shared); CPU ratio = peer CPU / vds CPU",
     "", "| CSV | tool | rows | seconds | MB/s | CPU s | peak RSS MB | vds / DuckDB | vds / pandas | vds / DuckDB (CPU) |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
by = {}
for r in rows:
    by[(r["mb"], r["tool"])] = r
for r in rows:
    d, p, v = by.get((r["mb"], "duckdb")), by.get((r["mb"], "pandas")), by.get((r["mb"], "vds"))
    rd = rp = rc = ""
    if r["tool"] == "vds":
        rd = f"{v['mb_per_s']/d['mb_per_s']:.2f}" if d else ""
        rp = f"{v['mb_per_s']/p['mb_per_s']:.2f}" if p else ""
        rc = f"{d['cpu_seconds']/v['cpu_seconds']:.2f}" if d and d.get("cpu_seconds") and v.get("cpu_seconds") else ""
    cpu = f"{r['cpu_seconds']:.1f}" if r.get("cpu_seconds") is not None else ""
    L.append(f"| {r['bytes']/1e6:.0f} MB | {r['tool']} | {r['rows']} | {r['seconds']:.1f} | {r['mb_per_s']:.1f} | {cpu} | {r['peak_rss_mb']:.0f} | {rd} | {rp} | {rc} |")
sizes = sorted({r["mb"] for r in rows})
if len(sizes) >= 2 and (sizes[0], "vds") in by and (sizes[-1], "vds") in by:
    a, b = by[(sizes[0], "vds")]["peak_rss_mb"], by[(sizes[-1], "vds")]["peak_rss_mb"]
    L += ["", f"vds peak RSS, largest vs smallest file: {b:.0f} MB vs {a:.0f} MB ({b/a:.2f}x)."]
L += ["", "Raw results (JSON lines):", "", "```"] + [json.dumps(r) for r in rows] + ["```", ""]
# The earlier runs and their hand-written notes stay below the new run (the file is the record).
earlier = ""
if os.path.exists(out):
    earlier = open(out).read().split("\n", 1)[-1].lstrip("\n")
if earlier:
    L += ["# Earlier run", ""] + [earlier]
open(out, "w").write("\n".join(L))
print("\n".join(L[:L.index("# Earlier run")] if "# Earlier run" in L else L))
PY
