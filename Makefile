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
# The Go release everything is built and tested with: the latest patch of
# go1.26, which carries the standard library's security fixes (govulncheck
# fails on older ones). The go command fetches it through the module proxy
# once; a newer toolchain that go.mod asks for still wins.
export GOTOOLCHAIN := go1.26.11+auto

BUF_VERSION            := v1.75.0
PROTOC_GEN_GO_VERSION  := v1.36.12
PROTOC_GEN_GRPC_VERSION:= v1.6.2
GRPC_GATEWAY_VERSION   := v2.33.0
GOLANGCI_LINT_VERSION  := v2.15.0
GRPCURL_VERSION        := v1.9.4
GOVULNCHECK_VERSION    := v1.9.0
# promtool of a current Prometheus 3 (its Go module is versioned v0.3xx.y for
# Prometheus 3.xx.y), beside Debian's 2.42 from system-deps: the alert rules
# and their unit tests must hold on both.
PROMETHEUS_VERSION     := v0.316.0
# The Go vulnerability database is built offline from this commit of the
# golang.org/x/vulndb module (its data/osv files); bump it to pick up new
# advisories.
VULNDB_VERSION         := v0.0.0-20261105234957-e22db6528018

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := protobuf-compiler protobuf-compiler-grpc ruby ruby-grpc ruby-google-protobuf redis-server prometheus chromium

GO_TEST_FLAGS ?= -race -count=1 -timeout=15m
FUZZTIME ?= 5s
# How long the fuzzer may shrink a new input: short, so that a short run does
# not end ("context deadline exceeded") while it is still shrinking one.
FUZZMINTIME ?= 1s

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
$(BIN)/.govulncheck-$(GOVULNCHECK_VERSION):
	go install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)
	@touch $@
# In a directory of its own, so that it does not shadow Debian's promtool on
# PATH; the versioned directory is its stamp.
PROMTOOL3 := $(BIN)/prometheus-$(PROMETHEUS_VERSION)/promtool
$(PROMTOOL3):
	GOBIN=$(dir $@) go install github.com/prometheus/prometheus/cmd/promtool@$(PROMETHEUS_VERSION)
VULNDB := $(BIN)/vulndb-$(VULNDB_VERSION)
$(VULNDB)/index/db.json:
	go install golang.org/x/vulndb/cmd/indexdb@$(VULNDB_VERSION)
	rm -rf $(VULNDB)
	indexdb -out $(VULNDB) -vulns "$$(go mod download -json golang.org/x/vulndb@$(VULNDB_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p')/data/osv"

GEN_TOOLS := $(BIN)/.buf-$(BUF_VERSION) $(BIN)/.protoc-gen-go-$(PROTOC_GEN_GO_VERSION) \
	$(BIN)/.protoc-gen-go-grpc-$(PROTOC_GEN_GRPC_VERSION) $(BIN)/.grpc-gateway-$(GRPC_GATEWAY_VERSION)

.PHONY: tools
tools: $(GEN_TOOLS) $(BIN)/.golangci-lint-$(GOLANGCI_LINT_VERSION) $(BIN)/.grpcurl-$(GRPCURL_VERSION) ## Install the pinned Go tools into ./bin.

.PHONY: system-deps
system-deps: ## Install protoc, the gRPC Ruby plugin, Ruby gRPC, redis-server, promtool and Chromium if missing.
	@missing=""; \
	command -v protoc >/dev/null || missing="$$missing protobuf-compiler"; \
	command -v grpc_ruby_plugin >/dev/null || missing="$$missing protobuf-compiler-grpc"; \
	command -v ruby >/dev/null || missing="$$missing ruby"; \
	ruby -e 'require "grpc"' 2>/dev/null || missing="$$missing ruby-grpc ruby-google-protobuf"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
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
	golangci-lint run --allow-serial-runners ./...
	buf lint
	buf format -d --exit-code proto
	@if git rev-parse --verify -q main >/dev/null && [ "$$(git rev-parse HEAD)" != "$$(git rev-parse main)" ]; then \
	  echo "buf breaking --against main"; buf breaking --against '.git#branch=main'; \
	fi

# The inner loop's tests: -short skips the soak-like ones (the chaos soak,
# the load harness's end-to-end run); results of unchanged packages come
# from the test cache (add -count=1 to run them all again).
CHECK_TEST_FLAGS ?= -race -short -timeout=10m

.PHONY: check
check: system-deps ## The fast inner loop: go build, lint, Go tests with -race and -short (no chaos soak, fuzzing, client suites, govulncheck).
	go build ./...
	$(MAKE) --no-print-directory lint
	go test $(CHECK_TEST_FLAGS) $$(go list ./... | grep -v '/internal/chaos$$')

.PHONY: test
test: system-deps check-generate check-console lint check-deploy ## Everything CI runs: generated-code drift, lint, deploy files, all tests with -race, govulncheck.
	go test $(GO_TEST_FLAGS) $$(go list ./... | grep -v '/internal/chaos$$')
	$(MAKE) --no-print-directory test-clients
	$(MAKE) --no-print-directory test-node
	$(MAKE) --no-print-directory test-console
	$(MAKE) --no-print-directory chaos
	$(MAKE) --no-print-directory fuzz
	$(MAKE) --no-print-directory vulncheck

# The official OpenAI and Anthropic SDKs, the Vercel AI SDK and LangChain
# from npm, pinned in test/sdk's committed lockfile, against the real
# gateway binary. `npm ci` runs when
# node_modules is missing or older than the lockfile.
SDK_TEST_DIR := test/sdk

$(SDK_TEST_DIR)/node_modules/.package-lock.json: $(SDK_TEST_DIR)/package.json $(SDK_TEST_DIR)/package-lock.json
	cd $(SDK_TEST_DIR) && npm ci --no-audit --no-fund
	@touch $@

.PHONY: test-node
test-node: $(SDK_TEST_DIR)/node_modules/.package-lock.json ## The OpenAI and Anthropic Node SDKs, the AI SDK and LangChain against bin/gateway (compatible API).
	go build -trimpath -o $(BIN)/gateway ./cmd/gateway
	cd $(SDK_TEST_DIR) && GATEWAY_BIN=$(BIN)/gateway npm test

# The operator console's pages: TypeScript built by Vite (pinned in
# console/web's committed lockfile) into console/dist, which the binary
# embeds. The build is deterministic; check-console fails when the
# committed files differ from a fresh build.
CONSOLE_DIR := console/web

$(CONSOLE_DIR)/node_modules/.package-lock.json: $(CONSOLE_DIR)/package.json $(CONSOLE_DIR)/package-lock.json
	cd $(CONSOLE_DIR) && npm ci --no-audit --no-fund
	@touch $@

.PHONY: console
console: $(CONSOLE_DIR)/node_modules/.package-lock.json ## Build the console's pages into console/dist (embedded in bin/gateway).
	cd $(CONSOLE_DIR) && npm run build

.PHONY: check-console
check-console: console ## Fail if console/dist differs from what `make console` produces.
	@if [ -n "$$(git status --porcelain -- console/dist)" ]; then \
	  echo "console/dist is out of date: run 'make console' and commit the result"; \
	  git status --porcelain -- console/dist; exit 1; \
	fi

.PHONY: test-console
test-console: system-deps $(CONSOLE_DIR)/node_modules/.package-lock.json ## The console in headless Chromium (playwright-core, axe-core) against bin/gateway; screenshots in console/web/test-results.
	go build -trimpath -o $(BIN)/gateway ./cmd/gateway
	cd $(CONSOLE_DIR) && GATEWAY_BIN=$(BIN)/gateway npm test

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
	@# run; one that did not (the fuzzing engine's own "context deadline
	@# exceeded" when its time is up, now and then on a busy machine) is
	@# retried, twice at most.
	@grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u | while read -r pkg; do \
	  for f in $$(grep -h '^func Fuzz' $$pkg/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "fuzz $$pkg $$f"; \
	    for try in 1 2 3; do \
	      if go test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME) "$$pkg" > .fuzz.log 2>&1; then break; fi; \
	      grep -v 'fuzz: elapsed' .fuzz.log | tail -n 30; \
	      if [ -n "$$(git status --porcelain -- "$$pkg/testdata/fuzz" 2>/dev/null)" ] || [ $$try = 3 ]; then rm -f .fuzz.log; exit 1; fi; \
	      echo "retrying $$f: no crashing input was saved"; \
	    done; \
	  done; \
	done; rm -f .fuzz.log

# ---- clients ---------------------------------------------------------------

.PHONY: test-clients
test-clients: test-ruby test-grpcurl ## The Ruby client's tests and docs/api.md's grpcurl commands against a live gateway.

.PHONY: test-ruby
test-ruby: system-deps build ## The Ruby client's tests (minitest) against a live bin/gateway.
	ruby -Iclients/ruby/lib -Igen/ruby -Iclients/ruby/test \
	  -e 'Dir["clients/ruby/test/*_test.rb"].sort.each { |f| require File.expand_path(f) }'

.PHONY: test-grpcurl
test-grpcurl: build $(BIN)/.grpcurl-$(GRPCURL_VERSION) ## Run docs/api.md's grpcurl commands verbatim against a live gateway.
	LLMGW_TEST_GATEWAY=$(BIN)/gateway go test -count=1 -run '^TestDocsGrpcurl$$' ./cmd/gateway/

# The load harness's flags, e.g. BENCH_FLAGS='-paths grpc-miss,floor -compare bench/results/latest.json'.
BENCH_FLAGS ?=

.PHONY: bench
bench: build system-deps ## Load harness: simulator, floor proxy and gateway side by side, one table (about 7 minutes); JSON in bench/results/latest.json.
	go build -trimpath -o $(BIN)/loadgen ./cmd/loadgen
	$(BIN)/loadgen $(BENCH_FLAGS)

.PHONY: bench-go
bench-go: ## Go benchmarks of the hot paths (-benchmem).
	go test -run '^$$' -bench . -benchmem ./...

# ---- deployment and security -----------------------------------------------

.PHONY: check-deploy
check-deploy: system-deps build $(PROMTOOL3) ## Alert rules and their unit tests (Prometheus 2.42 and 3), scrape config, dashboard, Kubernetes manifests (offline).
	@# Debian's promtool (system-deps), then the pinned Prometheus 3 one.
	@for p in /usr/bin/promtool $(PROMTOOL3); do \
	  echo "== $$p"; \
	  $$p check rules deploy/prometheus/alerts.yml; \
	  $$p test rules deploy/prometheus/*_test.yml; \
	  $$p check config deploy/prometheus/prometheus.yml; \
	done
	@# deploy/validate is a module of its own: the manifests against the
	@# Kubernetes OpenAPI schemas (k8s.io/kubernetes from the module proxy),
	@# their wiring, the real gateway on the ConfigMap, the dashboard's JSON
	@# and queries, and the alerts' metric names and runbook links.
	cd deploy/validate && go vet ./... && GATEWAY_BIN=$(BIN)/gateway go test -count=1 ./...

.PHONY: vulncheck
vulncheck: $(BIN)/.govulncheck-$(GOVULNCHECK_VERSION) $(VULNDB)/index/db.json ## govulncheck against the pinned vulnerability database (built offline).
	govulncheck -db file://$(VULNDB) ./...
