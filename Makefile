# The LLM gateway's build. `make help` lists the targets.
#
# Go tools are pinned below and installed into ./bin; system packages
# (protoc 3.21 and the gRPC Ruby plugin for the Ruby stubs, redis-server for
# the Redis-backed tests) come from the system package manager when missing.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

BIN := $(CURDIR)/bin
export PATH := $(BIN):$(PATH)
export GOBIN := $(BIN)

BUF_VERSION            := v1.75.0
PROTOC_GEN_GO_VERSION  := v1.36.12
PROTOC_GEN_GRPC_VERSION:= v1.6.2
GRPC_GATEWAY_VERSION   := v2.33.0
GOLANGCI_LINT_VERSION  := v2.15.0
GRPCURL_VERSION        := v1.9.4

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := protobuf-compiler protobuf-compiler-grpc ruby-grpc ruby-google-protobuf redis-server

GO_TEST_FLAGS ?= -race -count=1 -timeout=15m
FUZZTIME ?= 5s

.PHONY: help
help: ## List the targets.
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

# ---- tools -----------------------------------------------------------------

# Each tool is stamped with its version, so bumping a version reinstalls it.
$(BIN)/.buf-$(BUF_VERSION):
	go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	@touch $@
$(BIN)/.protoc-gen-go-$(PROTOC_GEN_GO_VERSION):
	go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	@touch $@
$(BIN)/.protoc-gen-go-grpc-$(PROTOC_GEN_GRPC_VERSION):
	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GRPC_VERSION)
	@touch $@
$(BIN)/.grpc-gateway-$(GRPC_GATEWAY_VERSION):
	go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$(GRPC_GATEWAY_VERSION)
	go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@$(GRPC_GATEWAY_VERSION)
	@touch $@
$(BIN)/.golangci-lint-$(GOLANGCI_LINT_VERSION):
	go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	@touch $@
$(BIN)/.grpcurl-$(GRPCURL_VERSION):
	go install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION)
	@touch $@

GEN_TOOLS := $(BIN)/.buf-$(BUF_VERSION) $(BIN)/.protoc-gen-go-$(PROTOC_GEN_GO_VERSION) \
	$(BIN)/.protoc-gen-go-grpc-$(PROTOC_GEN_GRPC_VERSION) $(BIN)/.grpc-gateway-$(GRPC_GATEWAY_VERSION)

.PHONY: tools
tools: $(GEN_TOOLS) $(BIN)/.golangci-lint-$(GOLANGCI_LINT_VERSION) $(BIN)/.grpcurl-$(GRPCURL_VERSION) ## Install the pinned Go tools into ./bin.

.PHONY: system-deps
system-deps: ## Install protoc, the gRPC Ruby plugin, Ruby gRPC and redis-server if missing.
	@missing=""; \
	command -v protoc >/dev/null || missing="$$missing protobuf-compiler"; \
	command -v grpc_ruby_plugin >/dev/null || missing="$$missing protobuf-compiler-grpc"; \
	ruby -e 'require "grpc"' 2>/dev/null || missing="$$missing ruby-grpc ruby-google-protobuf"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

# ---- code generation -------------------------------------------------------

.PHONY: generate
generate: $(GEN_TOOLS) system-deps ## Regenerate gen/ from proto/ (Go, grpc-gateway, OpenAPI, Ruby).
	buf generate

.PHONY: check-generate
check-generate: generate ## Fail if gen/ differs from what `make generate` produces.
	@if [ -n "$$(git status --porcelain -- gen)" ]; then \
	  echo "gen/ is out of date: run 'make generate' and commit the result"; \
	  git status --porcelain -- gen; git diff --stat -- gen; exit 1; \
	fi

# ---- build and run ---------------------------------------------------------

.PHONY: build
build: ## Build bin/gateway and bin/llmsim.
	go build -trimpath -o $(BIN)/gateway ./cmd/gateway
	go build -trimpath -o $(BIN)/llmsim ./cmd/llmsim

.PHONY: run
run: ## Run the gateway with the embedded default config (simulator, no keys, no Redis).
	go run ./cmd/gateway

# ---- quality ---------------------------------------------------------------

.PHONY: lint
lint: $(GEN_TOOLS) $(BIN)/.golangci-lint-$(GOLANGCI_LINT_VERSION) ## gofmt, go vet, golangci-lint, buf lint/format/breaking.
	@bad=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/')); \
	  if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	go vet ./...
	golangci-lint run ./...
	buf lint
	buf format -d --exit-code proto
	@if git rev-parse --verify -q main >/dev/null && [ "$$(git rev-parse HEAD)" != "$$(git rev-parse main)" ]; then \
	  echo "buf breaking --against main"; buf breaking --against '.git#branch=main'; \
	fi

.PHONY: test
test: system-deps check-generate lint ## Everything CI runs: generated-code drift, lint, and all tests with -race.
	go test $(GO_TEST_FLAGS) $$(go list ./... | grep -v '/internal/chaos$$')
	$(MAKE) --no-print-directory chaos
	$(MAKE) --no-print-directory fuzz

# The chaos soak runs on its own, not beside the other packages' tests, so
# that neither starves the other of CPU.
CHAOS_DURATION ?= 90s
CHAOS_TIMEOUT ?= 15m

.PHONY: chaos
chaos: system-deps ## Chaos soak: 3 replicas, Redis and simulators under load and faults for CHAOS_DURATION (default 90s); prints its figures.
	go test -race -count=1 -timeout=$(CHAOS_TIMEOUT) -v ./internal/chaos -chaos.duration=$(CHAOS_DURATION)

.PHONY: fuzz
fuzz: ## Run every Fuzz target for FUZZTIME each (default 5s; seed corpora run in `go test` anyway).
	@# A failure that saved a crashing input (testdata/fuzz/...) fails the
	@# run; one that did not (the fuzzing engine's own hiccup) is retried once.
	@grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u | while read -r pkg; do \
	  for f in $$(grep -h '^func Fuzz' $$pkg/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "fuzz $$pkg $$f"; \
	    for try in 1 2; do \
	      if go test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) "$$pkg" > .fuzz.log 2>&1; then break; fi; \
	      grep -v 'fuzz: elapsed' .fuzz.log | tail -n 30; \
	      if [ -n "$$(git status --porcelain -- "$$pkg/testdata/fuzz")" ] || [ $$try = 2 ]; then rm -f .fuzz.log; exit 1; fi; \
	      echo "retrying $$f once: no crashing input was saved"; \
	    done; \
	  done; \
	done; rm -f .fuzz.log

.PHONY: bench
bench: ## Go benchmarks of the hot paths.
	go test -run '^$$' -bench . -benchmem ./...
