#!/usr/bin/env bash
# The README's test command (`make test`): vet and test every Go module of the workspace, then the
# web app's tests when it exists. Tests read ../shared/data in place (VDS_SHARED_DATA overrides it).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
TAGS=duckdb_arrow
export VDS_SHARED_DATA="${VDS_SHARED_DATA:-$(cd .. && pwd)/shared/data}"
PKGS=(./gen/... ./libs/... ./services/... ./cmd/vds/...)

echo "== go vet"
$GO vet -tags "$TAGS" "${PKGS[@]}"

# The ONNX export test (libs/learn) scores models in onnxruntime-node from tests/onnx.
if [[ -f tests/onnx/package.json ]] && command -v npm >/dev/null 2>&1; then
  (cd tests/onnx && { [[ node_modules/.package-lock.json -nt package-lock.json ]] || npm ci --no-audit --no-fund; })
fi

echo "== go test"
# -p 2: this is a 2-core machine; packages that start the whole mesh are heavy.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
$GO test -tags "$TAGS" -count=1 -p 2 -timeout 25m "${PKGS[@]}" 2>&1 | tee "$log"
passed=$(grep -c '^ok ' "$log" || true)

echo "== chart checks (helm lint, template, strict decoding, policies)"
(cd tools/chartcheck && GOWORK=off $GO vet ./... && GOWORK=off $GO test -count=1 ./...)
passed=$((passed + 1))

if [[ -f web/package.json ]]; then
  echo "== web tests"
  # Browser test (web/test/e2e.mjs): needs npm and Debian's chromium; skipped without them outside CI.
  if ! command -v npm >/dev/null 2>&1 || [[ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]]; then
    if [[ "${CI:-}" == "true" ]]; then echo "web tests need npm and chromium in CI" >&2; exit 1; fi
    echo "SKIP web tests: npm or ${CHROMIUM:-/usr/bin/chromium} not found (apt-get install -y chromium npm)"
  else
    (cd web && { [[ node_modules/.package-lock.json -nt package-lock.json ]] || npm ci --no-audit --no-fund; } && npm test)
    passed=$((passed + 1))
  fi
fi

# Every step above stops the script on a failure, so reaching here means none failed.
echo "test packages: $passed passed, 0 failed"
