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
# MonthlyCharges by Churn, churners first (the engine orders two groups larger first): Welch t and
# Hedges' g with the Hedges-Olkin interval, as in libs/stats/testdata/reference.py.
g = {"No": [], "Yes": []}
for r in rows:
    g[r["Churn"]].append(float(r["MonthlyCharges"]))
a, b = np.array(g["Yes"]), np.array(g["No"])
t = st.ttest_ind(a, b, equal_var=False)
n1, n2 = len(a), len(b); v1, v2 = a.var(ddof=1), b.var(ddof=1)
sp = np.sqrt(((n1 - 1) * v1 + (n2 - 1) * v2) / (n1 + n2 - 2)); d = (a.mean() - b.mean()) / sp
sed = np.sqrt((n1 + n2) / (n1 * n2) + d * d / (2 * (n1 + n2))); J = 1 - 3 / (4 * (n1 + n2) - 9); z = st.norm.ppf(.975)
print("welch", repr(t.statistic), repr(t.pvalue), "g", repr(J * d), repr(J * (d - z * sed)), repr(J * (d + z * sed)))
