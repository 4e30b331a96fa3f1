#!/bin/sh
# Profiling benchmark: vds profiles 1M rows x 20 columns read over Arrow Flight (loopback gRPC,
# DuckDB reading Parquet on the server side, as ingestion's data plane does) beside pandas running
# only describe(include='all') + corr() on the same shape of data already in memory.
# Writes bench/results/profiling.md. Run from anywhere:  sh bench/profiling/run.sh
set -eu
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
go test -tags duckdb_arrow -run '^$' -bench 'ProfileOverFlight1Mx20$' -benchtime 1x -count 3 ./libs/profile/ | tee "$tmp/go.txt"
OMP_NUM_THREADS=1 /usr/bin/python3 bench/profiling/pandas_peer.py --repeat 3 | tee "$tmp/pandas.json"
go test -tags duckdb_arrow -run '^$' -bench 'FlightReadStages$' -benchtime 1x -count 2 ./libs/profile/ | tee "$tmp/stages.txt"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
/usr/bin/python3 - "$tmp/go.txt" "$tmp/pandas.json" "$load_before" "$load_after" "$tmp/stages.txt" > bench/results/profiling.md <<'PY'
import json, platform, re, subprocess, sys, datetime
go_txt, pd_json, lb, la, stages_txt = sys.argv[1:6]
runs = []
for line in open(go_txt):
    if line.startswith("BenchmarkProfileOverFlight"):
        m = dict((k, float(v)) for v, k in re.findall(r"([\d.]+) ([\w/-]+)", line.split(None, 2)[2]))
        runs.append(m)
best = min(runs, key=lambda m: m["ns/op"])
pd = json.loads(open(pd_json).read())
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
wall = best["ns/op"] / 1e9
goversion = subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip()
print("# Profiling benchmark: 1M rows x 20 columns\n")
print(f"- date: {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC; machine: {cpu}, {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores, load average before/after {lb} / {la}")
print(f"- {goversion}; pandas {pd['pandas']}, numpy {pd['numpy']} (OMP_NUM_THREADS=1)")
print("- command: `sh bench/profiling/run.sh` (Go: `go test -tags duckdb_arrow -run '^$' -bench ProfileOverFlight1Mx20 -benchtime 1x -count 3 ./libs/profile/`, best of 3; pandas: best of 3)")
print("- data: 16 numeric columns (normal, exponential, rounded normal, bimodal; 1% missing), 4 five-level string columns")
print()
print("| peer | what it computes | wall s | CPU s | memory |")
print("|---|---|---|---|---|")
print(f"| vds | Flight read into a frame with ReadFlight ({best['read-s/op']:.2f} s) + full profile ({best['profile-s/op']:.2f} s): types, missing/distinct, moments, quantiles, histograms, top values, outliers, bimodality (GMM), Pearson/Spearman/Cramér's V/correlation ratio/mutual information with the target, alerts, duplicate rows | {wall:.2f} | {best['cpu-s/op']:.2f} | peak Go heap {best['peak-heap-MB']:.0f} MB |")
print(f"| pandas | describe(include='all') + corr() on a frame already in memory | {pd['describe_corr_s']:.2f} | {pd['cpu_s']:.2f} | peak RSS {pd['peak_rss_mb']:.0f} MB (incl. data) |")
print()
print(f"Ratio vds / pandas: wall {wall / pd['describe_corr_s']:.2f}x, CPU {best['cpu-s/op'] / pd['cpu_s']:.2f}x (target: at most 2x wall, under 3 s).")
print()
print("All Go runs (wall s, read s, profile s, CPU s, peak heap MB):", "; ".join(
    f"{m['ns/op']/1e9:.2f}, {m['read-s/op']:.2f}, {m['profile-s/op']:.2f}, {m['cpu-s/op']:.2f}, {m['peak-heap-MB']:.0f}" for m in runs))
print("pandas runs (wall s):", ", ".join(f"{t:.2f}" for t in pd["all_s"]))
print()
stages = []
for line in open(stages_txt):
    if line.startswith("BenchmarkFlightReadStages"):
        stages.append(dict((k, float(v)) for v, k in re.findall(r"([\d.]+) ([\w/-]+)", line.split(None, 2)[2])))
if stages:
    print("## Where the Flight read goes\n")
    print("`go test -tags duckdb_arrow -run '^$' -bench FlightReadStages -benchtime 1x -count 2 ./libs/profile/` (each stage adds one step to the one above; CPU seconds of the whole process; the run with the least total CPU):\n")
    st = min(stages, key=lambda m: sum(v for k, v in m.items() if k.endswith("-cpu-s/op")))
    rows = [("duck", "DuckDB's paged Parquet query alone (open, materialize, 489 chunks of 2048 rows to Arrow)"),
            ("first", "... of which until its first batch (the driver materializes the page before streaming)"),
            ("flight", "the same rows over Flight DoGet (IPC encode, loopback gRPC, IPC decode), no frame"),
            ("builder", "into a frame batch by batch with frame.Builder (flightx.ReadFrame, before)"),
            ("readflight", "into a frame with profile.ReadFlight (sized from the row count, decode and copy overlapped)")]
    print("| stage | what | wall s | CPU s |")
    print("|---|---|---|---|")
    for k, what in rows:
        print(f"| {k} | {what} | {st[k + '-s/op']:.2f} | {st[k + '-cpu-s/op']:.2f} |")
    print()
print("The machine is shared with other jobs (see the load averages): wall times swing between runs; CPU seconds")
print("(user+system of the whole Go process: Flight server, client and profiler, spread over both cores) are the")
print("steadier measure of the work.")
PY
cat bench/results/profiling.md
