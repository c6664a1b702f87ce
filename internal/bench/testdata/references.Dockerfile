# The references the prod image is measured against: the same stripped
# binary (bin/service, built by the benchmark) on the runtimes people use.
# Base images are the test environment's stand-ins.
ARG RUNTIME_IMAGE
ARG DEV_IMAGE

# The floor: the binary alone.
FROM scratch AS binary-only
COPY bin/service /service
ENTRYPOINT ["/service"]

# Gantry's prod runtime by hand: scratch, CA bundle, a non-root user.
FROM scratch AS scratch-ca-user
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY passwd group /etc/
COPY bin/service /service
USER 65532:65532
ENTRYPOINT ["/service"]

# A distroless/static-like base (the static stand-in).
FROM ${RUNTIME_IMAGE} AS distroless-like
COPY bin/service /service
USER 65532:65532
ENTRYPOINT ["/service"]

# The RFC's first draft: Debian slim with curl and CA certificates.
FROM ${DEV_IMAGE} AS debian-slim-curl
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl && \
    rm -rf /var/lib/apt/lists/* && useradd --uid 65532 --no-create-home nonroot
COPY bin/service /service
USER 65532:65532
ENTRYPOINT ["/service"]

# A shell-ful minimal base with a user added, in place of Alpine (whose
# packages this machine cannot reach): static BusyBox.
FROM scratch AS busybox-user
COPY busybox /bin/busybox
COPY passwd group /etc/
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY bin/service /service
USER 65532:65532
ENTRYPOINT ["/service"]
