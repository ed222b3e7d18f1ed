# syntax=docker/dockerfile:1
# pylon's images: one build stage, then one small image per command.
#
#   docker build --target controller --build-arg VERSION=v0.1.0 --build-arg REVISION=$(git rev-parse HEAD) -t ghcr.io/pylonlb/pylon-controller:v0.1.0 .
#   docker build --target speaker    --build-arg VERSION=v0.1.0 --build-arg REVISION=$(git rev-parse HEAD) -t ghcr.io/pylonlb/pylon-speaker:v0.1.0 .
#
# The binaries are static (CGO_ENABLED=0) and carry VERSION and REVISION
# (`controller --version`). The images are distroless "static" with the
# nonroot user (65532): no shell, no package manager, CA certificates and
# tzdata only. The speaker's pods run it as UID 0 with every capability but
# NET_RAW dropped (see docs/install.md: Kubernetes grants added capabilities
# to root only).

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
ENV GOTOOLCHAIN=local CGO_ENABLED=0
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG REVISION=
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X github.com/pylonlb/pylon/cmd/internal/version.version=${VERSION} -X github.com/pylonlb/pylon/cmd/internal/version.revision=${REVISION}" \
      -o /out/ ./cmd/controller ./cmd/speaker

FROM gcr.io/distroless/static-debian12:nonroot AS speaker
COPY --from=build /out/speaker /speaker
USER 65532:65532
ENTRYPOINT ["/speaker"]

# The last stage is the default target.
FROM gcr.io/distroless/static-debian12:nonroot AS controller
COPY --from=build /out/controller /controller
USER 65532:65532
ENTRYPOINT ["/controller"]
