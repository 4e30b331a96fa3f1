# Reference for TestPenguinSegments: penguins.csv split at the engine's mixture boundary for
# flipper_length_mm (the boundary itself comes from the engine's EM fit; this checks the tests on
# the split), with scipy 1.10.1.
# Run from the repository root with Debian's python:  /usr/bin/python3 libs/profile/testdata/penguin_segments.py
import csv, os
import numpy as np, scipy.stats as st
path = os.path.join(os.environ.get("VDS_SHARED_DATA", "../shared/data"), "tabular", "penguins.csv")
rows = [r for r in csv.DictReader(open(path, newline="")) if r["flipper_length_mm"] not in ("", "NA")]
b = 203.68928994609104
upper = [float(r["flipper_length_mm"]) >= b for r in rows]
print("sizes lower", upper.count(False), "upper", upper.count(True))
species = sorted({r["species"] for r in rows})
t = np.array([[sum(1 for r, u in zip(rows, upper) if u == side and r["species"] == s) for s in species] for side in (False, True)])
chi2, p, dof, _ = st.chi2_contingency(t, correction=False)
n = t.sum()
print("table", species, t.tolist())
print("chi2", repr(chi2), "p", repr(p), "V", repr(np.sqrt(chi2 / (n * (min(t.shape) - 1)))))
print("gentoo share upper", repr(t[1][species.index("Gentoo")] / t[1].sum()), "lower", repr(t[0][species.index("Gentoo")] / t[0].sum()))
mass = {False: [], True: []}
for r, u in zip(rows, upper):
    if r["body_mass_g"] not in ("", "NA"):
        mass[u].append(float(r["body_mass_g"]))
a, c = np.array(mass[True]), np.array(mass[False])
w = st.ttest_ind(a, c, equal_var=False)
n1, n2 = len(a), len(c); v1, v2 = a.var(ddof=1), c.var(ddof=1)
sp = np.sqrt(((n1 - 1) * v1 + (n2 - 1) * v2) / (n1 + n2 - 2)); d = (a.mean() - c.mean()) / sp
sed = np.sqrt((n1 + n2) / (n1 * n2) + d * d / (2 * (n1 + n2))); J = 1 - 3 / (4 * (n1 + n2) - 9); z = st.norm.ppf(.975)
print("body_mass_g means", repr(a.mean()), repr(c.mean()), "welch", repr(w.statistic), repr(w.pvalue),
      "g", repr(J * d), repr(J * (d - z * sed)), repr(J * (d + z * sed)))
