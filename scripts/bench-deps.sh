#!/bin/sh
# Installs the Debian packages the benchmarks' peers need (the tests do not need them):
# pandas (ingest, profiling), scikit-learn and XGBoost (ml), statsmodels (causal, metakb),
# bubblewrap (sandbox). Installs only what is missing; without root it says what to install.
set -eu
pkgs="python3-pandas python3-sklearn python3-xgboost python3-statsmodels python3-matplotlib bubblewrap"
missing=""
for p in $pkgs; do
	dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "the benchmarks need these Debian packages:$missing (sudo apt-get install$missing)" >&2
	exit 1
fi
echo "installing benchmark peers:$missing"
apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
