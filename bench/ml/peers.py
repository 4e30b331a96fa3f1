#!/usr/bin/python3
"""Benchmark peers for vds AutoML: prepare the tasks and their folds, score scikit-learn's
HistGradientBoosting and XGBoost with defaults (single-threaded) on the same 5 folds, and merge the
table with vds's results.

  peers.py prepare WORKDIR     writes WORKDIR/tasks.json, one CSV and one folds file per task
  peers.py score WORKDIR       writes WORKDIR/peers.json (only the tasks named in VDS_BENCH_ML_TASKS,
                               comma-separated, when it is set; their results replace those tasks'
                               entries of an existing peers.json)
  peers.py table WORKDIR OUT   merges WORKDIR/peers.json and WORKDIR/vds.json into OUT (markdown)

Run it through bench/ml/run.sh, which sets OMP_NUM_THREADS=1.
"""
import gzip
import json
import os
import platform
import sys
import time

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold

SHARED = os.environ.get("VDS_SHARED_DATA") or os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")
SK = os.path.join(os.path.dirname(__import__("sklearn").__file__), "datasets", "data")

# name, source, target, task, columns to exclude
TASKS = [
    ("telco_churn", "tabular/telco_churn.csv", "Churn", "binary", ["customerID"]),
    ("titanic", "tabular/titanic.csv", "survived", "binary", ["alive"]),
    ("breast_cancer", "sk:breast_cancer", "target", "binary", []),
    ("penguins", "tabular/penguins.csv", "species", "multiclass", []),
    ("iris", "tabular/iris.csv", "species", "multiclass", []),
    ("wine", "sk:wine", "target", "multiclass", []),
    ("digits", "sk:digits", "target", "multiclass", []),
    ("tips", "tabular/tips.csv", "tip", "regression", []),
    ("mpg", "tabular/mpg.csv", "mpg", "regression", ["name"]),
    ("diamonds", "tabular/diamonds.csv", "price", "regression", []),
    ("healthexp", "tabular/healthexp.csv", "Life_Expectancy", "regression", []),
    ("diabetes", "sk:diabetes", "target", "regression", []),
    ("boston", "sk:boston", "MEDV", "regression", []),
]


def sk_frame(name):
    if name == "breast_cancer":
        d = pd.read_csv(os.path.join(SK, "breast_cancer.csv"), skiprows=1, header=None)
        d.columns = [f"x{i}" for i in range(d.shape[1] - 1)] + ["target"]
        return d
    if name == "wine":
        d = pd.read_csv(os.path.join(SK, "wine_data.csv"), skiprows=1, header=None)
        d.columns = [f"x{i}" for i in range(d.shape[1] - 1)] + ["target"]
        d["target"] = "class" + d["target"].astype(int).astype(str)
        return d
    if name == "digits":
        d = pd.read_csv(os.path.join(SK, "digits.csv.gz"), header=None)
        d.columns = [f"p{i}" for i in range(64)] + ["target"]
        d["target"] = "digit" + d["target"].astype(int).astype(str)
        return d
    if name == "diabetes":
        x = np.loadtxt(gzip.open(os.path.join(SK, "diabetes_data_raw.csv.gz")))
        y = np.loadtxt(gzip.open(os.path.join(SK, "diabetes_target.csv.gz")))
        d = pd.DataFrame(x, columns=["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"])
        d["target"] = y
        return d
    if name == "boston":
        return pd.read_csv(os.path.join(SK, "boston_house_prices.csv"), skiprows=1)
    raise KeyError(name)


def prepare(work):
    os.makedirs(work, exist_ok=True)
    out = []
    for name, src, target, task, exclude in TASKS:
        if src.startswith("sk:"):
            d = sk_frame(src[3:])
            path = os.path.join(work, name + ".csv")
            d.to_csv(path, index=False)
        else:
            path = os.path.abspath(os.path.join(SHARED, src))
            d = pd.read_csv(path)
        keep = d[target].notna()
        idx = np.flatnonzero(keep.values)
        y = d[target][keep]
        if task == "regression":
            split = KFold(5, shuffle=True, random_state=0).split(idx)
        else:
            split = StratifiedKFold(5, shuffle=True, random_state=0).split(idx, y)
        fold = np.full(len(d), -1)
        for k, (_, te) in enumerate(split):
            fold[idx[te]] = k
        fpath = os.path.join(work, name + ".folds")
        np.savetxt(fpath, fold, fmt="%d")
        out.append({"name": name, "csv": path, "target": target, "task": task, "exclude": exclude, "folds": fpath, "rows": int(keep.sum()), "cols": d.shape[1] - 1 - len(exclude)})
    json.dump(out, open(os.path.join(work, "tasks.json"), "w"), indent=1)


def features(d, target, exclude):
    x = d.drop(columns=[target] + exclude)
    cats = []
    for c in x.columns:
        if x[c].dtype == object or x[c].dtype == bool:
            num = pd.to_numeric(x[c], errors="coerce")
            if num.notna().sum() >= 0.95 * x[c].notna().sum() and x[c].dtype == object:
                x[c] = num  # a numeric column with a few blanks (TotalCharges)
            else:
                x[c] = x[c].astype("category").cat.codes.replace(-1, np.nan)
                cats.append(c)
    return x.astype(float), cats


def metric(task, y, p, classes):
    from sklearn.metrics import log_loss, mean_squared_error, roc_auc_score
    if task == "binary":
        return roc_auc_score(y, p[:, 1])
    if task == "multiclass":
        return log_loss(y, p, labels=classes)
    return mean_squared_error(y, p) ** 0.5


def score(work):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    try:
        import xgboost as xgb
    except ImportError:
        xgb = None
    tasks = json.load(open(os.path.join(work, "tasks.json")))
    only = [n for n in os.environ.get("VDS_BENCH_ML_TASKS", "").split(",") if n]
    out = os.path.join(work, "peers.json")
    res = json.load(open(out)) if only and os.path.exists(out) else {}
    for t in tasks:
        if only and t["name"] not in only:
            continue
        d = pd.read_csv(t["csv"])
        fold = np.loadtxt(t["folds"], dtype=int)
        keep = fold >= 0
        d, fold = d[keep].reset_index(drop=True), fold[keep]
        x, cats = features(d, t["target"], t["exclude"])
        task = t["task"]
        if task == "regression":
            y = d[t["target"]].astype(float).values
            classes = None
        else:
            codes = d[t["target"]].astype(str).astype("category")
            classes = list(range(len(codes.cat.categories)))
            y = codes.cat.codes.values
            if task == "binary":
                # the positive class is the minority one (as vds picks it when names do not say)
                pos = int(np.argmin(np.bincount(y)))
                y = (y == pos).astype(int)
                classes = [0, 1]
        mask = np.array([c in cats for c in x.columns])
        peers = {"sklearn_hgb": lambda: (HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier)(categorical_features=mask if mask.any() else None, random_state=0)}
        if xgb is not None:
            peers["xgboost"] = lambda: (xgb.XGBRegressor if task == "regression" else xgb.XGBClassifier)(n_jobs=1, random_state=0)
        for name, make in peers.items():
            scores, t0 = [], time.time()
            for k in range(5):
                tr, te = fold != k, fold == k
                m = make()
                m.fit(x[tr], y[tr])
                p = m.predict(x[te]) if task == "regression" else m.predict_proba(x[te])
                if task == "multiclass" and p.shape[1] < len(classes):  # a class missing from a training fold
                    full = np.zeros((p.shape[0], len(classes)))
                    full[:, m.classes_] = p
                    p = full
                scores.append(metric(task, y[te], p, classes))
            res.setdefault(t["name"], {})[name] = {"mean": float(np.mean(scores)), "std": float(np.std(scores)), "folds": scores, "seconds": time.time() - t0}
            print(f"{t['name']:14s} {name:12s} {np.mean(scores):.4f}", flush=True)
    json.dump(res, open(out, "w"), indent=1)


def speed_prepare(work):
    from sklearn.datasets import make_classification
    x, y = make_classification(n_samples=100000, n_features=20, random_state=0)
    split = (np.random.RandomState(0).rand(len(y)) < 0.2).astype(int)
    d = pd.DataFrame(x, columns=[f"x{i}" for i in range(20)])
    d["y"], d["split"] = y, split
    d.to_csv(os.path.join(work, "speed.csv"), index=False)


def speed(work):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    import xgboost as xgb
    d = pd.read_csv(os.path.join(work, "speed.csv"))
    tr, te = d[d.split == 0], d[d.split == 1]
    cols = [f"x{i}" for i in range(20)]
    res = {}
    for name, m in [("xgboost_hist", xgb.XGBClassifier(n_estimators=200, max_depth=6, learning_rate=0.1, tree_method="hist", n_jobs=1, random_state=0)),
                    ("sklearn_hgb", HistGradientBoostingClassifier(max_iter=200, max_depth=6, learning_rate=0.1, early_stopping=False, random_state=0))]:
        t0, c0 = time.time(), time.process_time()
        m.fit(tr[cols], tr.y)
        secs, cpu = time.time() - t0, time.process_time() - c0
        res[name] = {"seconds": secs, "cpu_seconds": cpu, "auc": roc_auc_score(te.y, m.predict_proba(te[cols])[:, 1])}
        print(name, res[name], flush=True)
    json.dump(res, open(os.path.join(work, "peers_speed.json"), "w"))


def table(work, out):
    tasks = json.load(open(os.path.join(work, "tasks.json")))
    peers = json.load(open(os.path.join(work, "peers.json")))
    vds = json.load(open(os.path.join(work, "vds.json")))
    meta = vds.get("_meta", {})
    lines = ["# vds AutoML against scikit-learn HistGradientBoosting and XGBoost (defaults)", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}; Python peers single-threaded (OMP_NUM_THREADS=1, n_jobs=1).",
             f"Command: `bench/ml/run.sh {meta.get('budget', '')}`; vds budget per outer fold: {meta.get('budget', '?')} s (the issue asks for 60 s).",
             "Protocol: the same 5 outer folds (stratified for classification, seed 0) for every system; vds runs its whole AutoML (inner CV, search, refit) on each outer training part and is scored on the held-out part.",
             "Metrics: ROC AUC for binary (higher is better), log loss for multiclass and RMSE for regression (lower is better).", "",
             "| task | rows | task type | metric | vds AutoML | sklearn HGB | XGBoost | vds vs best peer | vds best learner (fold 1) |",
             "|---|---|---|---|---|---|---|---|---|"]
    wins = within = shown = 0
    for t in tasks:
        n = t["name"]
        v = vds.get(n)
        if v is None or n not in peers:
            continue
        shown += 1
        metric_name = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}[t["task"]]
        higher = t["task"] == "binary"
        pv = [peers[n][k]["mean"] for k in ("sklearn_hgb", "xgboost") if k in peers.get(n, {})]
        best = max(pv) if higher else min(pv)
        rel = (v["mean"] - best) / abs(best) * (1 if higher else -1)
        if rel >= 0:
            wins += 1
        elif rel >= -0.005:
            within += 1
        cell = lambda k: f"{peers[n][k]['mean']:.4f} ± {peers[n][k]['std']:.4f}" if k in peers.get(n, {}) else "n/a"
        lines.append(f"| {n} | {t['rows']} | {t['task']} | {metric_name} | {v['mean']:.4f} ± {v['std']:.4f} | {cell('sklearn_hgb')} | {cell('xgboost')} | {rel*100:+.2f}% | {v.get('best', '')} |")
    lines += ["", f"vds scores at least as well as the best peer on {wins} of {shown} tasks, within 0.5% on {within} more."]
    if os.path.exists(os.path.join(work, "vds_speed.json")) and os.path.exists(os.path.join(work, "peers_speed.json")):
        vs = json.load(open(os.path.join(work, "vds_speed.json")))
        ps = json.load(open(os.path.join(work, "peers_speed.json")))
        lines += ["", "## Gradient boosting alone: make_classification 100k x 20 (seed 0), 80/20 holdout, 200 trees, depth 6, learning rate 0.1, one thread", "",
                  "The machine is shared, so wall time includes waiting for a core; CPU seconds (of the fitting process) are the fairer comparison.", "",
                  "| learner | fit wall seconds | fit CPU seconds | holdout ROC AUC | CPU time vs XGBoost hist |", "|---|---|---|---|---|",
                  f"| vds gbdt | {vs['seconds']:.2f} | {vs.get('cpu_seconds', float('nan')):.2f} | {vs['auc']:.4f} | {vs.get('cpu_seconds', float('nan')) / ps['xgboost_hist'].get('cpu_seconds', float('nan')):.2f}x |"]
        for k, v in ps.items():
            lines.append(f"| {k} | {v['seconds']:.2f} | {v.get('cpu_seconds', float('nan')):.2f} | {v['auc']:.4f} | {v.get('cpu_seconds', float('nan')) / ps['xgboost_hist'].get('cpu_seconds', float('nan')):.2f}x |")
    open(out, "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "prepare":
        prepare(sys.argv[2])
    elif cmd == "score":
        score(sys.argv[2])
    elif cmd == "speed-prepare":
        speed_prepare(sys.argv[2])
    elif cmd == "speed":
        speed(sys.argv[2])
    elif cmd == "table":
        table(sys.argv[2], sys.argv[3])
