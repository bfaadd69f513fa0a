# MealSync server image: a static Go binary on scratch, run as non-root.
#
#   docker build -t mealsync \
#     --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg BUILD_TIME=$(date -u +%Y-%m-%dT%H:%M:%SZ) .
#
# The SQLite database (the default store) lives in /data, owned by the image's
# user: mount a volume there to keep it. test/image builds this file unmodified
# with buildah and runs what it holds.

# --- build: the official Go image, the Go version of go.mod -----------------
FROM golang:1.26-bookworm AS build
WORKDIR /src

# Modules get a layer of their own, keyed on go.mod and go.sum alone: a change
# to the code reuses it and fetches nothing.
COPY go.mod go.sum ./
RUN go mod download

# Declared after the download so that a new version or commit keeps its cache.
ARG VERSION=dev
ARG COMMIT=unknown
ARG BUILD_TIME=unknown

COPY . .
# The compiler's cache survives between builds in a cache mount, so a warm
# rebuild recompiles only the packages that changed (SQLite's pure-Go driver
# alone takes a minute cold). /out/data becomes the runtime's empty /data.
# nethttpomithttp2 leaves net/http's HTTP/2 out (half a megabyte): the
# server speaks HTTP/1.1 to nginx, which terminates TLS and HTTP/2 for the
# clients, and the outbound calls (S3, the AI provider) work over HTTP/1.1.
RUN --mount=type=cache,target=/root/.cache/go-build \
    mkdir -p /out/data /out/etc/ssl/certs /out/tmp && chmod 1777 /out/tmp && \
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/data:/sbin/nologin\n' > /out/etc/passwd && \
    printf 'root:x:0:\nnonroot:x:65532:\n' > /out/etc/group && \
    cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ && \
    CGO_ENABLED=0 GOCACHE=/root/.cache/go-build go build -trimpath -tags nethttpomithttp2 \
      -ldflags "-s -w \
        -X github.com/mealsync/mealsync/internal/buildinfo.Version=${VERSION} \
        -X github.com/mealsync/mealsync/internal/buildinfo.Commit=${COMMIT} \
        -X github.com/mealsync/mealsync/internal/buildinfo.BuildTime=${BUILD_TIME}" \
      -o /out/mealsync ./cmd/mealsync

# --- runtime: scratch with a passwd entry and CA certificates ---------------
# Nothing but the binary, its user and the CA roots (for S3 and the AI
# provider over TLS): no shell, no package manager, no time zone data (the
# server works in UTC). distroless/static would add ~2 MB of the 20 MB budget.
FROM scratch

ARG VERSION=dev
ARG COMMIT=unknown
ARG BUILD_TIME=unknown
LABEL org.opencontainers.image.title="mealsync" \
      org.opencontainers.image.description="MealSync API server: recipes, meal plans and shopping lists" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${BUILD_TIME}"

COPY --from=build /out/etc /etc
COPY --from=build /out/tmp /tmp
COPY --from=build /out/mealsync /mealsync
COPY --from=build --chown=65532:65532 /out/data /data
WORKDIR /data
ENV MEALSYNC_DATABASE_URL=sqlite:/data/mealsync.db
# Production behaviour unless told otherwise: no start without a secret of the
# operator's own (MEALSYNC_JWT_SECRET), JSON logs. MEALSYNC_ENV=development
# makes a random signing key instead, kept in /data.
ENV MEALSYNC_ENV=production

# The "nonroot" user (as in distroless), given by number so that a runtime
# enforcing runAsNonRoot can check it without reading /etc/passwd.
USER 65532:65532
EXPOSE 8081
# The binary asks its own readiness endpoint: the image has no shell or curl.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 CMD ["/mealsync","healthcheck"]
ENTRYPOINT ["/mealsync"]
CMD ["serve"]
