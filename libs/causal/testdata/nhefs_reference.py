"""Reference values for TestNHEFS (libs/causal/causal_test.go), from statsmodels.

Run: VDS_SHARED_DATA=<shared data dir> OMP_NUM_THREADS=1 /usr/bin/python3 nhefs_reference.py
(Debian python3-statsmodels 0.13, pandas 1.5). Output is recorded in nhefs_reference.txt.
"""
import os

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

d = pd.read_csv(os.path.join(os.environ["VDS_SHARED_DATA"], "causal", "nhefs.csv"))
d = d[d.wt82.notna()]
rhs = ("sex + race + age + I(age**2) + C(education) + smokeintensity + I(smokeintensity**2)"
       " + smokeyrs + I(smokeyrs**2) + C(exercise) + C(active) + wt71 + I(wt71**2)")
p = smf.logit("qsmk ~ " + rhs, d).fit(disp=0).predict(d)
pt = d.qsmk.mean()
sw = np.where(d.qsmk == 1, pt / p, (1 - pt) / (1 - p))
ipw = smf.gee("wt82_71 ~ qsmk", groups=d.seqn, data=d, weights=sw).fit()
ols = smf.ols("wt82_71 ~ qsmk + " + rhs, d).fit(cov_type="HC1")
print("rows", len(d))
for name, r in (("ipw_gee_sandwich", ipw), ("ols_hc1", ols)):
    lo, hi = r.conf_int().loc["qsmk"]
    print("%s ate %.6f se %.6f ci %.6f %.6f" % (name, r.params["qsmk"], r.bse["qsmk"], lo, hi))
