# Gantry's Dockerfile before the dev stage stopped needing emulation (commit
# 8261641): its dev tools are installed with apt-get in a stage of the target
# platform, so for arm64 apt and dpkg run under QEMU. Kept for the benchmark.
# Gantry's default Dockerfile for a Go service: `prod` and `dev` targets.
#
# No "# syntax=" line: BuildKit's built-in frontend supports everything used
# here, and a builder without internet access could not pull another.
#
# Build stages run on $BUILDPLATFORM and cross-compile with GOOS/GOARCH, so a
# two-platform build compiles natively on the runner; the prod runtime stage
# has no RUN, so it needs no emulation for any platform.
#
# Gantry passes MAIN_PACKAGE, GO_LDFLAGS (the -X version stamps) and
# SOURCE_DATE_EPOCH (the commit time), and sets the OCI labels with --label.
# The base images are arguments so that air-gapped builders and tests can
# point them at a registry of their own.

ARG GO_IMAGE=golang:1.26-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot
ARG DEV_IMAGE=debian:bookworm-slim

# Modules first: they change less often than the code, so this layer and the
# module cache survive most commits.
FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS source
WORKDIR /src
# GOWORK=off: a service's go.work joins its magefiles module, which the
# image must not build against.
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOWORK=off
COPY go.mod go.sum* ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .

FROM source AS build-prod
ARG TARGETOS TARGETARCH
ARG MAIN_PACKAGE=.
ARG GO_LDFLAGS=
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w ${GO_LDFLAGS}" -o /out/service "${MAIN_PACKAGE}"

FROM source AS build-dev
ARG TARGETOS TARGETARCH
ARG MAIN_PACKAGE=.
ARG GO_LDFLAGS=
ARG DELVE_VERSION=v1.27.2
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -gcflags="all=-N -l" -ldflags="${GO_LDFLAGS}" -o /out/service "${MAIN_PACKAGE}"
# Delve for the target platform; a cross-compiled `go install` writes to
# $GOPATH/bin/<os>_<arch>/, a native one to $GOPATH/bin/.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go install github.com/go-delve/delve/cmd/dlv@${DELVE_VERSION} && \
    bin="$(go env GOPATH)/bin" && \
    if [ -f "$bin/${TARGETOS}_${TARGETARCH}/dlv" ]; then bin="$bin/${TARGETOS}_${TARGETARCH}"; fi && \
    cp "$bin/dlv" /out/dlv

# prod: the static binary on a minimal, shell-less runtime, as non-root.
FROM ${RUNTIME_IMAGE} AS prod
COPY --from=build-prod /out/service /usr/local/bin/service
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/service"]

# dev: the debug binary, Delve and the tools one may need to look inside.
FROM ${DEV_IMAGE} AS dev
RUN apt-get update && \
    apt-get install -y --no-install-recommends \
      bash ca-certificates curl dnsutils htop iputils-ping jq less \
      net-tools procps strace tcpdump vim-tiny && \
    rm -rf /var/lib/apt/lists/* && \
    groupadd --gid 65532 nonroot && \
    useradd --uid 65532 --gid 65532 --create-home --shell /bin/bash nonroot
COPY --from=build-dev /out/service /usr/local/bin/service
COPY --from=build-dev /out/dlv /usr/local/bin/dlv
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/service"]
