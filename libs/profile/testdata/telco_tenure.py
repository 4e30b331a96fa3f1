# Reference for TestTelcoFinding: tenure by Churn in telco_churn.csv with scipy 1.10.1.
# Run from the repository root with Debian's python:  /usr/bin/python3 libs/profile/testdata/telco_tenure.py
import csv, os
import numpy as np, scipy.stats as st
path = os.path.join(os.environ.get("VDS_SHARED_DATA", "../shared/data"), "tabular", "telco_churn.csv")
rows = list(csv.DictReader(open(path, newline="")))
g = {"No": [], "Yes": []}
for r in rows:
    g[r["Churn"]].append(float(r["tenure"]))
a, b = np.array(g["No"]), np.array(g["Yes"])
u = st.mannwhitneyu(a, b, method="asymptotic")
n1, n2 = len(a), len(b)
r = 2 * u.statistic / (n1 * n2) - 1
se = np.sqrt((n1 + n2 + 1) / (3 * n1 * n2)); z = np.arctanh(r)
print("n", n1, n2, "median", np.median(a), np.median(b))
print("U", repr(u.statistic), "p", repr(u.pvalue))
print("rbc", repr(r), repr(np.tanh(z - st.norm.ppf(.975) * se)), repr(np.tanh(z + st.norm.ppf(.975) * se)))
