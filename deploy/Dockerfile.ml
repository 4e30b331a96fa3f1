# syntax=docker/dockerfile:1
# The vds ml service. Build from the repository root:
#   docker build -f deploy/Dockerfile.ml -t vds/ml:dev .
# Stage 1 compiles with cgo (DuckDB links prebuilt static libraries); stage 2 is a distroless
# runtime with glibc and libstdc++ only, running as the non-root user 65532.
ARG GO_VERSION=1.26
FROM golang:${GO_VERSION}-bookworm AS build
ENV GOCACHE=/go/cache
WORKDIR /src
# Each module builds alone (GOWORK=off, its go.mod replaces its siblings by path).
# Module files first, so dependency downloads stay cached while sources change.
COPY gen/go.mod gen/go.sum gen/
COPY libs/go.mod libs/go.sum libs/
COPY services/go.mod services/go.sum services/
COPY cmd/vds/go.mod cmd/vds/go.sum cmd/vds/
RUN --mount=type=cache,target=/go/pkg/mod cd services && GOWORK=off go mod download
COPY gen/ gen/
COPY libs/ libs/
COPY services/ services/
COPY cmd/vds/ cmd/vds/
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/go/cache \
    cd services && GOWORK=off CGO_ENABLED=1 go build -tags duckdb_arrow -trimpath -ldflags="-s -w" -o /out/ml ./ml

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/ml /usr/local/bin/ml
USER 65532:65532
# State that must survive nothing lives here: the chart mounts an emptyDir (the root FS is read-only).
ENV VDS_HOME=/var/lib/vds
ENTRYPOINT ["/usr/local/bin/ml"]
EXPOSE 9000 9090
