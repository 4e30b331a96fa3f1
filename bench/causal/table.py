"""Merges the vds and peer rows of bench/causal/run.sh into a Markdown table (stdout)."""
import json
import platform
import subprocess
import sys
import time

vds = json.load(open(sys.argv[1]))
peer = {(r["Dataset"], r["Method"]): r for r in json.load(open(sys.argv[2]))}
truth = {
    "nsw_experimental": "1794.34 (experiment)",
    "lalonde": "1794 experimental; literature 1200-2000 (ATT)",
    "nhefs": "IPW 3.44, regression 3.46 (What If)",
    "ihdp_1": "4.016 (mean mu1 - mu0)",
}


def cpu():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def go_version():
    try:
        return subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "go"


print("# Causal engine: accuracy and time against statsmodels / scikit-learn\n")
print("Command: `sh bench/causal/run.sh` (one run). Machine: %s, %d cores visible, %s; peer: /usr/bin/python3 %s with "
      "statsmodels and scikit-learn, OMP_NUM_THREADS=1. Date: %s.\n" % (
          cpu(), __import__("os").cpu_count(), go_version(), platform.python_version(), time.strftime("%Y-%m-%d")))
print("Estimates without refutations (those refit several times and are timed separately by the tests). "
      "T/X-learners: vds uses its AutoML (ridge vs gradient-boosted trees chosen by 3-fold CV, 2 s budget per "
      "nuisance model); the peer uses HistGradientBoostingRegressor with fixed settings. Time ratio = vds / peer.\n")
print("| dataset | method | estimand | vds estimate [95% CI] | peer estimate [95% CI] | vds sqrt(PEHE) | peer sqrt(PEHE) | vds s | peer s | time ratio | reference |")
print("|---|---|---|---|---|---:|---:|---:|---:|---:|---|")
for r in vds:
    if r["Method"] == "pc":
        continue
    p = peer.get((r["Dataset"], r["Method"]))
    fmt = lambda x: "%.4g [%.4g, %.4g]" % (x["Estimate"], x["Low"], x["High"])
    pe = lambda x: ("%.3f" % x["PEHE"]) if x and x.get("PEHE") else ""
    print("| %s | %s | %s | %s | %s | %s | %s | %.3f | %s | %s | %s |" % (
        r["Dataset"], r["Method"], r["Estimand"], fmt(r), fmt(p) if p else "-", pe(r), pe(p),
        r["Seconds"], "%.3f" % p["Seconds"] if p else "-",
        "%.1f" % (r["Seconds"] / p["Seconds"]) if p and p["Seconds"] > 0 else "-", truth.get(r["Dataset"], "")))
pcs = [r for r in vds if r["Method"] == "pc"]
if pcs:
    print("\n## PC skeleton recovery (simulated linear-Gaussian DAG, 10 nodes, 12 edges, n = 5000, alpha 0.01)\n")
    print("No Python peer: causal-learn is not installable here.\n")
    print("| run | skeleton F1 | seconds |\n|---|---:|---:|")
    for r in pcs:
        print("| %s | %.3f | %.3f |" % (r["Dataset"], r["F1"], r["Seconds"]))
