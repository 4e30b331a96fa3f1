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

echo "== go test"
# -p 2: this is a 2-core machine; packages that start the whole mesh are heavy.
$GO test -tags "$TAGS" -count=1 -p 2 -timeout 25m "${PKGS[@]}"

if [[ -f web/package.json ]]; then
  echo "== web tests"
  (cd web && { [[ -d node_modules ]] || npm ci --no-audit --no-fund; } && npm test)
fi
