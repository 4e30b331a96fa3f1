# vds — build, generate, run and test. See README.md.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
TOOLS := $(BIN)/tools
GW200 = $(shell $(GO) env GOMODCACHE)/github.com/grpc-ecosystem/grpc-gateway/v2@v2.0.0
# The platform home: VDS_HOME when set (as vds itself reads it), else ~/.vds; `make run HOME_DIR=...` also works.
HOME_DIR ?= $(or $(VDS_HOME),$(HOME)/.vds)
GO_TAGS := duckdb_arrow
MODULES := gen libs services cmd/vds

.PHONY: all build tools generate generate-check lint run test test-short clean fmt vet web bench-deps bench-ml bench-ml-meta metakb bench-ingest bench-profiling bench-causal bench-sandbox bench-ops

all: build

# Code generators, built offline from pinned modules.
tools: $(TOOLS)/buf $(TOOLS)/protoc-gen-go $(TOOLS)/protoc-gen-go-grpc $(TOOLS)/protoc-gen-grpc-gateway $(TOOLS)/protoc-gen-openapiv2

$(TOOLS)/buf: tools/go.mod
	cd tools && GOWORK=off $(GO) build -o $@ github.com/bufbuild/buf/cmd/buf
$(TOOLS)/protoc-gen-go: gen/go.mod
	cd gen && GOWORK=off $(GO) build -o $@ google.golang.org/protobuf/cmd/protoc-gen-go
$(TOOLS)/protoc-gen-go-grpc: tools/go.mod
	cd tools && GOWORK=off $(GO) build -o $@ google.golang.org/grpc/cmd/protoc-gen-go-grpc
$(TOOLS)/protoc-gen-grpc-gateway: tools/go.mod
	cd tools && GOWORK=off $(GO) build -o $@ github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway
$(TOOLS)/protoc-gen-openapiv2: tools/go.mod
	cd tools && GOWORK=off $(GO) build -o $@ github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2

# google/api/annotations.proto comes from the grpc-gateway v2.0.0 module in the module cache
# (the Buf Schema Registry is not reachable); it is copied into the ignored third_party/ folder.
third_party/googleapis/google/api/annotations.proto:
	@test -d "$(GW200)" || (cd tools && $(GO) mod download github.com/grpc-ecosystem/grpc-gateway/v2@v2.0.0)
	mkdir -p third_party/googleapis/google/api
	cp "$(GW200)"/third_party/googleapis/google/api/{annotations,http,httpbody}.proto third_party/googleapis/google/api/
	chmod u+w third_party/googleapis/google/api/*.proto

generate: tools third_party/googleapis/google/api/annotations.proto
	$(TOOLS)/buf lint
	rm -rf gen/vds gen/openapi
	PATH="$(TOOLS):$$PATH" $(TOOLS)/buf generate proto
	cd gen && $(GO) mod tidy

# Fails when gen/ is not what `make generate` produces from proto/.
generate-check: generate
	@git diff --exit-code --stat -- gen || (echo "gen/ is stale: run 'make generate' and commit" >&2; exit 1)
	@test -z "$$(git status --porcelain -- gen)" || (git status --porcelain -- gen; echo "gen/ has untracked generated files: run 'make generate' and commit" >&2; exit 1)

lint: tools third_party/googleapis/google/api/annotations.proto
	$(TOOLS)/buf lint

# The web app (web/, TypeScript + Vite) built into services/gateway/webui/dist, which the gateway
# embeds; without it the binary serves a placeholder page. npm reaches only the npm registry.
web:
	@if [ -f web/package.json ]; then cd web && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; } && npm run build; fi

build:
	mkdir -p $(BIN)
	cd cmd/vds && $(GO) build -tags $(GO_TAGS) -o $(BIN)/vds .

# The platform on embedded defaults (NATS, SQLite, local object store) under $(HOME_DIR).
# Builds the web app first when npm is available.
run:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory web; else echo "npm not found: the web app is a placeholder page (make web needs npm)"; fi
	$(MAKE) --no-print-directory build
	$(BIN)/vds up --home "$(HOME_DIR)"

test:
	./scripts/test.sh

# Benchmarks: each runs vds side by side with its peers in one run and writes bench/results/<area>*.md
# with the machine and the command (see each script's header for its arguments and what it needs).
# bench-deps installs the peers' Debian packages (pandas, scikit-learn, XGBoost, statsmodels, bubblewrap).
bench-deps:
	./scripts/bench-deps.sh
bench-ml: bench-deps
	./bench/ml/run.sh $(ARGS)
bench-ml-meta: bench-deps
	./bench/ml/metalearning.sh $(ARGS)
# the meta-learning knowledge base of libs/learn (derived numbers from public datasets)
metakb: bench-deps
	./libs/learn/cmd/metakb/build.sh $(ARGS)
bench-ingest: bench-deps
	sh bench/ingest/run.sh $(ARGS)
bench-profiling: bench-deps
	./bench/profiling/run.sh $(ARGS)
bench-causal: bench-deps
	./bench/causal/run.sh $(ARGS)
bench-sandbox: bench-deps
	./bench/sandbox/run.sh $(ARGS)
bench-ops:
	./bench/ops/run.sh $(ARGS)

fmt:
	gofmt -w $$(git ls-files '*.go' | grep -v '^gen/')

vet:
	for m in $(MODULES); do (cd $$m && $(GO) vet -tags $(GO_TAGS) ./...) || exit 1; done

clean:
	rm -rf $(BIN) third_party
