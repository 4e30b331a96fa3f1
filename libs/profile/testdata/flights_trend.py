# Reference for TestFlightsTrendSeasonality: Mann-Kendall on flights.csv passengers in time order,
# the formula of libs/stats.MannKendall (tie-corrected variance, continuity correction) with scipy 1.10.1.
# Run from the repository root:  /usr/bin/python3 libs/profile/testdata/flights_trend.py
import csv, os
import numpy as np, scipy.stats as st
path = os.path.join(os.environ.get("VDS_SHARED_DATA", "../shared/data"), "tabular", "flights.csv")
rows = list(csv.DictReader(open(path, newline="")))
s = [float(r["passengers"]) for r in rows]  # the file is in time order (year, month)
n = len(s)
S = sum(np.sign(s[j] - s[i]) for i in range(n) for j in range(i + 1, n))
vals, cnts = np.unique(s, return_counts=True)
V = (n * (n - 1) * (2 * n + 5) - sum(t * (t - 1) * (2 * t + 5) for t in cnts)) / 18
Z = (S - 1) / np.sqrt(V) if S > 0 else ((S + 1) / np.sqrt(V) if S < 0 else 0)
print("n", n, "S", S, "p", repr(2 * st.norm.sf(abs(Z))), "tau", repr(S / (n * (n - 1) / 2)), "sen", repr(st.theilslopes(s).slope))
