"""Python peer for bench/causal/run.sh: the same estimators with statsmodels and scikit-learn.

Usage: VDS_SHARED_DATA=<dir> OMP_NUM_THREADS=1 /usr/bin/python3 peer.py OUT.json
Writes rows {Dataset, Method, Estimand, Estimate, Low, High, Seconds, PEHE} like the Go side.
"""
import json
import os
import sys
import time

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from sklearn.ensemble import HistGradientBoostingRegressor

DATA = os.path.join(os.environ["VDS_SHARED_DATA"], "causal")
rows = []


def timed(dataset, method, estimand, fn):
    t0 = time.perf_counter()
    r = fn()
    est, lo, hi = r[:3]
    row = dict(Dataset=dataset, Method=method, Estimand=estimand, Estimate=float(est), Low=float(lo), High=float(hi),
               Seconds=time.perf_counter() - t0)
    if len(r) > 3:
        row["PEHE"] = float(r[3])
    rows.append(row)


def ci(est, se):
    return est, est - 1.959964 * se, est + 1.959964 * se


# NSW experiment: difference in means with a Welch interval.
nsw = pd.read_csv(os.path.join(DATA, "nsw_experimental.csv"))


def nsw_dim():
    r = smf.ols("re78 ~ treat", nsw).fit(cov_type="HC2")
    lo, hi = r.conf_int().loc["treat"]
    return r.params["treat"], lo, hi


timed("nsw_experimental", "difference_in_means", "ate", nsw_dim)

# Lalonde (PSID controls), ATT.
la = pd.read_csv(os.path.join(DATA, "lalonde.csv"))
rhs = "age + I(age**2) + educ + I(educ**2) + C(race) + married + nodegree + re74 + re75"


def la_naive():
    r = smf.ols("re78 ~ treat", la).fit(cov_type="HC1")
    lo, hi = r.conf_int().loc["treat"]
    return r.params["treat"], lo, hi


def la_ps():
    return smf.logit("treat ~ " + rhs, la).fit(disp=0).predict(la).clip(1e-8, 1 - 1e-8)


def la_reg():
    ctrl = la[la.treat == 0]
    m0 = smf.ols("re78 ~ " + rhs, ctrl).fit()
    tr = la[la.treat == 1]
    d = tr.re78 - m0.predict(tr)
    return ci(d.mean(), d.std(ddof=1) / np.sqrt(len(d)))


def la_ipw(trim=0.01):
    p = la_ps()
    keep = (p >= trim) & (p <= 1 - trim)
    d, p = la[keep], p[keep]
    w = np.where(d.treat == 1, 1.0, p / (1 - p))
    r = sm.WLS(d.re78, sm.add_constant(d.treat), weights=w).fit(cov_type="HC0")
    lo, hi = r.conf_int().loc["treat"]
    return r.params["treat"], lo, hi


def la_aipw(trim=0.01):
    p = la_ps()
    keep = (p >= trim) & (p <= 1 - trim)
    d, p = la[keep].copy(), p[keep]
    m0 = smf.ols("re78 ~ " + rhs, d[d.treat == 0]).fit().predict(d)
    r = d.re78 - m0
    t = d.treat.values
    p1 = t.mean()
    odds = p / (1 - p)
    muA = r[t == 1].mean()
    c = (odds[t == 0] * r[t == 0]).sum() / odds[t == 0].sum()
    q = odds[t == 0].sum() / len(d)
    phi = np.where(t == 1, (r - muA) / p1, -odds * (r - c) / q)
    return ci(muA - c, phi.std(ddof=1) / np.sqrt(len(d)))


def la_match():
    p = la_ps()
    lp = np.log(p / (1 - p)).values
    cal = 0.2 * lp.std(ddof=1)
    t = la.treat.values
    y = la.re78.values
    # Nearest control on the logit propensity, with replacement; tied nearest controls are averaged
    # (sklearn's NearestNeighbors would pick one of them by index order).
    c, yc = lp[t == 0], y[t == 0]
    diffs = []
    for v, yy in zip(lp[t == 1], y[t == 1]):
        dist = np.abs(c - v)
        best = dist.min()
        if best <= cal:
            tied = np.abs(dist - best) <= 1e-12 * max(1.0, abs(v))
            diffs.append(yy - yc[tied].mean())
    diffs = np.array(diffs)
    return ci(diffs.mean(), diffs.std(ddof=1) / np.sqrt(len(diffs)))


timed("lalonde", "difference_in_means", "att", la_naive)
timed("lalonde", "regression_adjustment", "att", la_reg)
timed("lalonde", "ipw", "att", la_ipw)
timed("lalonde", "aipw", "att", la_aipw)
timed("lalonde", "matching", "att", la_match)

# NHEFS (What If ch. 12 and 15).
nh = pd.read_csv(os.path.join(DATA, "nhefs.csv"))
nh = nh[nh.wt82.notna()]
nrhs = ("sex + race + age + I(age**2) + C(education) + smokeintensity + I(smokeintensity**2)"
        " + smokeyrs + I(smokeyrs**2) + C(exercise) + C(active) + wt71 + I(wt71**2)")


def nh_ipw():
    p = smf.logit("qsmk ~ " + nrhs, nh).fit(disp=0).predict(nh)
    pt = nh.qsmk.mean()
    sw = np.where(nh.qsmk == 1, pt / p, (1 - pt) / (1 - p))
    r = smf.gee("wt82_71 ~ qsmk", groups=nh.seqn, data=nh, weights=sw).fit()
    lo, hi = r.conf_int().loc["qsmk"]
    return r.params["qsmk"], lo, hi


def nh_reg():
    r = smf.ols("wt82_71 ~ qsmk + " + nrhs, nh).fit(cov_type="HC1")
    lo, hi = r.conf_int().loc["qsmk"]
    return r.params["qsmk"], lo, hi


def nh_aipw():
    p = smf.logit("qsmk ~ " + nrhs, nh).fit(disp=0).predict(nh).clip(0.01, 0.99)
    m1 = smf.ols("wt82_71 ~ " + nrhs, nh[nh.qsmk == 1]).fit().predict(nh)
    m0 = smf.ols("wt82_71 ~ " + nrhs, nh[nh.qsmk == 0]).fit().predict(nh)
    t, y = nh.qsmk.values, nh.wt82_71.values
    phi = m1 - m0 + t * (y - m1) / p - (1 - t) * (y - m0) / (1 - p)
    return ci(phi.mean(), phi.std(ddof=1) / np.sqrt(len(phi)))


timed("nhefs", "ipw", "ate", nh_ipw)
timed("nhefs", "regression_adjustment", "ate", nh_reg)
timed("nhefs", "aipw", "ate", nh_aipw)

# IHDP replication 1.
cols = ["treatment", "y_factual", "y_cfactual", "mu0", "mu1"] + ["x%d" % i for i in range(1, 26)]
ih = pd.read_csv(os.path.join(DATA, "ihdp_1.csv"), header=None, names=cols)
X = ih[["x%d" % i for i in range(1, 26)]].values
T = ih.treatment.values
Y = ih.y_factual.values
tau = (ih.mu1 - ih.mu0).values
Xc = sm.add_constant(X)
ps = sm.Logit(T, Xc).fit(disp=0).predict(Xc)


def pehe(c):
    return np.sqrt(np.mean((c - tau) ** 2))


def dr(m1, m0, c):
    e = ps.clip(0.01, 0.99)
    phi = m1 - m0 + T * (Y - m1) / e - (1 - T) * (Y - m0) / (1 - e)
    return (c.mean(), c.mean() - 1.959964 * phi.std(ddof=1) / np.sqrt(len(phi)),
            c.mean() + 1.959964 * phi.std(ddof=1) / np.sqrt(len(phi)), pehe(c))


def hgb():
    return HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05, early_stopping=True, random_state=0)


def ih_aipw():
    m1 = sm.OLS(Y[T == 1], Xc[T == 1]).fit().predict(Xc)
    m0 = sm.OLS(Y[T == 0], Xc[T == 0]).fit().predict(Xc)
    e = ps.clip(0.01, 0.99)
    phi = m1 - m0 + T * (Y - m1) / e - (1 - T) * (Y - m0) / (1 - e)
    r = ci(phi.mean(), phi.std(ddof=1) / np.sqrt(len(phi)))
    return r


def ih_t():
    m1 = hgb().fit(X[T == 1], Y[T == 1]).predict(X)
    m0 = hgb().fit(X[T == 0], Y[T == 0]).predict(X)
    return dr(m1, m0, m1 - m0)


def ih_x():
    m1 = hgb().fit(X[T == 1], Y[T == 1]).predict(X)
    m0 = hgb().fit(X[T == 0], Y[T == 0]).predict(X)
    d = np.where(T == 1, Y - m0, m1 - Y)
    t1 = hgb().fit(X[T == 1], d[T == 1]).predict(X)
    t0 = hgb().fit(X[T == 0], d[T == 0]).predict(X)
    return dr(m1, m0, ps * t0 + (1 - ps) * t1)


timed("ihdp_1", "aipw", "ate", ih_aipw)
timed("ihdp_1", "t_learner", "ate", ih_t)
timed("ihdp_1", "x_learner", "ate", ih_x)

with open(sys.argv[1], "w") as fh:
    json.dump(rows, fh, indent=2)
