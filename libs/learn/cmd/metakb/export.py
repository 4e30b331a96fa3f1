#!/usr/bin/python3
"""Export the public datasets of the meta-learning knowledge base as plain CSV files.

  export.py WORKDIR   writes WORKDIR/manifest.json and one CSV per dataset

Sources: the benchmark tasks of bench/ml/peers.py (../shared/data and the data files of Debian's
scikit-learn), the other tables of ../shared/data, and the data sets shipped by Debian's
python3-statsmodels when it is installed. Only the derived numbers computed from them end up in
libs/learn/metakb.json (see main.go).
"""
import json
import os
import sys

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "..", "bench", "ml"))
import peers  # noqa: E402  (the benchmark's task list and scikit-learn loaders)

# more tables of ../shared/data: name, file, target, task, excluded columns
SHARED_MORE = [
    ("flights", "tabular/flights.csv", "passengers", "regression", []),
    ("taxis", "tabular/taxis.csv", "payment", "binary", ["pickup", "dropoff"]),
    ("lalonde", "causal/lalonde.csv", "re78", "regression", []),
    ("nhefs", "causal/nhefs.csv", "death", "binary", ["seqn", "yrdth", "modth", "dadth"]),
    ("nsw_experimental", "causal/nsw_experimental.csv", "re78", "regression", []),
    # other targets of the same tables (multiclass tasks are few otherwise)
    ("mpg_origin", "tabular/mpg.csv", "origin", "multiclass", ["name"]),
    ("penguins_island", "tabular/penguins.csv", "island", "multiclass", []),
    ("tips_day", "tabular/tips.csv", "day", "multiclass", []),
]

# statsmodels data sets with enough rows: name, target (None: the data set's endog), task
STATSMODELS = [
    ("anes96", "vote", "binary"),
    ("engel", "foodexp", "regression"),
    ("fair", "affairs", "regression"),
    ("grunfeld", "invest", "regression"),
    ("modechoice", "choice", "binary"),
    ("randhie", "mdvis", "regression"),
    ("star98", "NABOVE", "regression"),
    ("sunspots", "SUNACTIVITY", "regression"),
    ("cancer", "cancer", "regression"),
    ("macrodata", "infl", "regression"),
    ("heart", "survival", "regression"),
    ("spector", "GRADE", "binary"),
]


def main(work):
    os.makedirs(work, exist_ok=True)
    out = []

    def add(name, source, d, target, task, exclude, path=None):
        if target not in d.columns or d[target].notna().sum() < 40:
            print(f"skip {name}: target {target} missing or too few rows", flush=True)
            return
        if path is None:  # files of ../shared/data are read where they are (their hash is the file's)
            path = os.path.join(work, name + ".csv")
            d.to_csv(path, index=False)
        out.append({"name": name, "source": source, "csv": path, "target": target, "task": task, "exclude": exclude})
        print(f"{name}: {len(d)} rows, {d.shape[1]} columns, target {target} ({task})", flush=True)

    for name, src, target, task, exclude in peers.TASKS + SHARED_MORE:
        if src.startswith("sk:"):
            d, source = peers.sk_frame(src[3:]), "scikit-learn " + src[3:]
        else:
            p = os.path.join(peers.SHARED, src)
            if not os.path.exists(p):
                print(f"skip {name}: {src} not found", flush=True)
                continue
            d, source = pd.read_csv(p), "shared/data/" + src
            add(name, source, d, target, task, exclude, os.path.abspath(p))
            continue
        add(name, source, d, target, task, exclude)
    try:
        import statsmodels.api as sm
    except ImportError:
        print("statsmodels is not installed: its data sets are skipped", flush=True)
        sm = None
    if sm is not None:
        for name, target, task in STATSMODELS:
            try:
                ds = getattr(sm.datasets, name).load_pandas()
            except Exception as e:  # a data set missing from this statsmodels version
                print(f"skip statsmodels {name}: {e}", flush=True)
                continue
            d = ds.data.copy()
            add("sm_" + name, "statsmodels " + name, d, target, task, [])
    json.dump(out, open(os.path.join(work, "manifest.json"), "w"), indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
