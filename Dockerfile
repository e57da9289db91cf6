# syntax=docker/dockerfile:1
#
# The gateway as a static binary on a distroless base, running as nonroot.
#   docker build -t llmgateway .
#   docker run --rm -p 50051:50051 -p 8080:8080 -p 9090:9090 llmgateway
# With no LLMGW_CONFIG_DIR it serves the embedded default configuration
# (the simulator, or the real vendors when OPENAI_API_KEY /
# ANTHROPIC_API_KEY are set); mount a directory at /etc/llmgateway and set
# LLMGW_CONFIG_DIR=/etc/llmgateway for your own.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/gateway ./cmd/gateway

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gateway /gateway
COPY config/defaults/ /etc/llmgateway/
ENV LLMGW_GRPC_ADDR=0.0.0.0:50051 \
    LLMGW_HTTP_ADDR=0.0.0.0:8080 \
    LLMGW_ADMIN_ADDR=0.0.0.0:9090
EXPOSE 50051 8080 9090
USER 65532:65532
ENTRYPOINT ["/gateway"]
