"""pandas peer for the profiling benchmark: describe(include='all') plus corr() on 1M x 20 columns
already in memory, shaped like the Go benchmark's data (j % 5: 0 normal, 1 exponential x100,
2 rounded normal x10+50, 3 five categories, 4 bimodal; numeric cells missing on every 97th row).

Run with Debian's python and one thread:  OMP_NUM_THREADS=1 /usr/bin/python3 bench/profiling/pandas_peer.py
Prints one JSON line with the seconds taken (best of --repeat) and the peak RSS.
"""
import argparse, json, resource, time
import numpy as np, pandas as pd

ap = argparse.ArgumentParser()
ap.add_argument("--rows", type=int, default=1_000_000)
ap.add_argument("--repeat", type=int, default=3)
args = ap.parse_args()
n = args.rows
rng = np.random.default_rng(42)
cats = np.array(["alpha", "beta", "gamma", "delta", "epsilon"], dtype=object)
miss = np.arange(n) % 97 == 0
cols = {}
for j in range(20):
    k = j % 5
    if k == 3:
        cols[f"c{j:02d}"] = cats[rng.integers(0, 5, n)]
        continue
    if k == 0:
        v = rng.standard_normal(n)
    elif k == 1:
        v = rng.exponential(size=n) * 100
    elif k == 2:
        v = np.round(rng.standard_normal(n) * 10 + 50)
    else:
        v = rng.standard_normal(n) + 4 * rng.integers(0, 2, n)
    v[miss] = np.nan
    cols[f"c{j:02d}"] = v
df = pd.DataFrame(cols)
times, cpus = [], []
for _ in range(args.repeat):
    t0, c0 = time.perf_counter(), time.process_time()
    d = df.describe(include="all")
    c = df.corr(numeric_only=True)
    times.append(time.perf_counter() - t0)
    cpus.append(time.process_time() - c0)
print(json.dumps({
    "peer": "pandas", "pandas": pd.__version__, "numpy": np.__version__, "rows": n, "cols": df.shape[1],
    "describe_corr_s": min(times), "all_s": times, "cpu_s": min(cpus),
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "describe_shape": list(d.shape), "corr_shape": list(c.shape),
}))
