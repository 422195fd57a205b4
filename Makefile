# The one entry point for building, testing and packaging. `make help` lists
# the targets.

GO      ?= go
BIN     := bin
MODULE  := github.com/oatkit/oat
CMDS    := docker-credential-oat oat-proxy
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)

# Reproducible builds: no paths, no build id, the version stamped in.
GOFLAGS_BUILD := -trimpath -ldflags='-buildid= -X $(MODULE)/internal/version.Tag=$(VERSION)'

STATICCHECK_VERSION := v0.8.2
GOVULNCHECK_VERSION := v1.9.0
CRANE_VERSION       := v0.22.1
TOOLS := $(CURDIR)/.tools

FUZZTIME ?= 20s

.DEFAULT_GOAL := help
.PHONY: help build build-all build-darwin test e2e bench bench-proxy fuzz lint vuln package demo clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9%\/.-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: $(addprefix $(BIN)/,$(CMDS)) ## build both binaries into ./bin

$(BIN)/%: FORCE
	$(GO) build $(GOFLAGS_BUILD) -o $@ ./cmd/$*

FORCE:

PLATFORMS := linux/amd64 linux/arm64 windows/amd64

build-all: ## cross-build both binaries into dist/ (linux amd64/arm64, windows amd64; macOS: make build-darwin on a Mac)
	@set -e; for p in $(PLATFORMS); do \
	  os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
	  for c in $(CMDS); do \
	    echo "dist/$$os-$$arch/$$c$$ext"; \
	    CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build $(GOFLAGS_BUILD) -o dist/$$os-$$arch/$$c$$ext ./cmd/$$c; \
	  done; \
	done

build-darwin: ## macOS binaries with the Keychain backend (needs macOS and cgo)
	@[ "$$(uname -s)" = Darwin ] || { echo "build-darwin runs on macOS: the Keychain backend needs cgo and Apple's SDK"; exit 1; }
	@for c in $(CMDS); do CGO_ENABLED=1 $(GO) build $(GOFLAGS_BUILD) -o dist/darwin-$$(go env GOARCH)/$$c ./cmd/$$c; done

test: ## unit, integration and script tests (race detector), then the many-process vault tests
	$(GO) test -race -count=1 ./...
	$(GO) test -count=1 -run 'TestManyProcesses|TestKilledStores' ./internal/vault/

e2e: build $(TOOLS)/crane ## the end-to-end suite: dockerd, docker, crane, skopeo, ctr (root; installs Debian packages)
	scripts/install-e2e-deps
	PATH="$(TOOLS):$$PATH" $(GO) test -tags e2e -count=1 -timeout 30m -v ./test/e2e/

bench: build ## whole-process timings of the helper (and, as root, of the helpers people use today)
	@if [ "$$(id -u)" = 0 ]; then scripts/install-e2e-deps; fi
	scripts/bench

bench-proxy: build $(TOOLS)/crane ## crane pulling a 1 GiB layer direct vs through oat-proxy (root, like e2e)
	scripts/install-e2e-deps
	OAT_E2E_BENCH=1 PATH="$(TOOLS):$$PATH" $(GO) test -tags e2e -count=1 -timeout 30m -v -run TestProxyThroughput ./test/e2e/

fuzz: ## run every fuzz target for FUZZTIME each (20s; FUZZTIME=10m make fuzz for the long run)
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

lint: $(TOOLS)/staticcheck ## go vet, staticcheck, gofmt and go mod tidy checks
	$(GO) vet -tags e2e ./...
	$(TOOLS)/staticcheck -tags e2e ./...
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }

vuln: $(TOOLS)/govulncheck ## known vulnerabilities in the code's call graph (needs vuln.go.dev)
	$(TOOLS)/govulncheck ./...

$(TOOLS)/staticcheck:
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(TOOLS)/crane:
	GOBIN=$(TOOLS) $(GO) install github.com/google/go-containerregistry/cmd/crane@$(CRANE_VERSION)

$(TOOLS)/govulncheck:
	GOBIN=$(TOOLS) $(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)

package: build ## .deb and .rpm (see packaging/)
	@echo "packaging is not built yet; see packaging/README.md"; exit 1

demo: build ## the stand-in hub, an OAT stored and used through the helper
	$(GO) run ./cmd/oat-demo --bin $(BIN)

clean: ## remove what the build made
	rm -rf $(BIN) $(TOOLS) dist
