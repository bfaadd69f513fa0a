# MealSync server image: a static Go binary on distroless, run as non-root.
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
RUN --mount=type=cache,target=/root/.cache/go-build \
    mkdir -p /out/data && \
    CGO_ENABLED=0 GOCACHE=/root/.cache/go-build go build -trimpath \
      -ldflags "-s -w \
        -X github.com/mealsync/mealsync/internal/buildinfo.Version=${VERSION} \
        -X github.com/mealsync/mealsync/internal/buildinfo.Commit=${COMMIT} \
        -X github.com/mealsync/mealsync/internal/buildinfo.BuildTime=${BUILD_TIME}" \
      -o /out/mealsync ./cmd/mealsync

# --- runtime: no shell, no package manager; CA certificates and tzdata ------
FROM gcr.io/distroless/static-debian12:nonroot

ARG VERSION=dev
ARG COMMIT=unknown
ARG BUILD_TIME=unknown
LABEL org.opencontainers.image.title="mealsync" \
      org.opencontainers.image.description="MealSync API server: recipes, meal plans and shopping lists" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${BUILD_TIME}"

COPY --from=build /out/mealsync /mealsync
COPY --from=build --chown=65532:65532 /out/data /data
WORKDIR /data
ENV MEALSYNC_DATABASE_URL=sqlite:/data/mealsync.db

# The distroless image's "nonroot" user, given by number so that a runtime
# enforcing runAsNonRoot can check it without reading /etc/passwd.
USER 65532:65532
EXPOSE 8081
# The binary asks its own readiness endpoint: the image has no shell or curl.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 CMD ["/mealsync","healthcheck"]
ENTRYPOINT ["/mealsync"]
CMD ["serve"]
