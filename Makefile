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
NFPM_VERSION        := v2.45.2
ACTIONLINT_VERSION  := v1.7.12
# the clients of the end-to-end suite, from the Go module proxy
ORAS_VERSION        := v1.3.6
REGCTL_VERSION      := v0.11.1
BUILDX_VERSION      := v0.38.0
TOOLS := $(CURDIR)/.tools

FUZZTIME ?= 20s
SOAKTIME ?= 10m

.DEFAULT_GOAL := help
.PHONY: help build build-all build-darwin test test-race test-demo test-chart e2e check-package bench bench-proxy bench-crane load soak fuzz lint vuln generate package demo clean

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

# The packaging directory is a module of its own (packaging/go.mod): the
# chart's tests decode into the Kubernetes types, which the binaries do
# without. Its packages but the chart's run in make test; make test-chart
# runs the chart's, with the pinned helm.
PACKAGING := packaging
# A failed list (an untidy go.mod) fails the target: it never narrows the
# test to nothing.
PACKAGING_TEST = pkgs=$$($(GO) -C $(PACKAGING) list ./...) && $(GO) -C $(PACKAGING) test $(1) -count=1 $$(echo "$$pkgs" | grep -vx '$(MODULE)/$(PACKAGING)/helm')

# The packages whose code runs goroutines of its own: make test runs them
# again under the race detector (make test-race runs every package so).
RACE_PKGS := $(addprefix ./internal/,proxy proxycmd store vault keycache filelock metrics oat)

test: ## unit, integration and script tests, the many-process vault tests and the proxy's short load and soak, then the race detector on the packages with goroutines (CI adds test-race, test-demo, test-chart)
	$(GO) test -count=1 -skip '^TestDemo$$' ./...
	$(call PACKAGING_TEST,)
	$(GO) test -race -count=1 $(RACE_PKGS)

test-race: ## every package of both modules under the race detector, but the demo's and the chart's (test-demo, test-chart)
	$(GO) test -race -count=1 -skip '^TestDemo$$' ./...
	$(call PACKAGING_TEST,-race)

test-demo: $(TOOLS)/crane ## make demo's story as a test (TestDemo: builds both binaries, runs it with crane and, when installed, docker; race detector on)
	$(GO) test -race -count=1 -run '^TestDemo$$' ./cmd/oat-demo/internal/demo/

test-chart: $(TOOLS)/helm ## the Helm chart's checks: helm lint and helm template with the pinned helm, every object decoded into its Kubernetes type (race detector on)
	OAT_HELM=$(TOOLS)/helm $(GO) -C $(PACKAGING) test -race -count=1 ./helm/

E2E_CLIENTS := $(TOOLS)/crane $(TOOLS)/helm $(TOOLS)/oras $(TOOLS)/regctl $(TOOLS)/docker-buildx

e2e: build check-package $(E2E_CLIENTS) ## the end-to-end suite: dockerd, docker and buildx, crane, skopeo, ctr, helm, oras, regctl, podman, and the packages (root; installs Debian packages)
	scripts/install-e2e-deps
	PATH="$(TOOLS):$$PATH" $(GO) test -tags e2e -count=1 -timeout 30m -v ./test/e2e/

check-package: package $(TOOLS)/actionlint ## the packaging checks of e2e alone: lintian, systemd-analyze, dpkg into a throwaway root, rpm, actionlint, ruby -c
	scripts/install-e2e-deps
	PATH="$(TOOLS):$$PATH" $(GO) test -tags e2e -count=1 -v ./test/packaging/

bench: build ## whole-process timings of the helper (and, as root, of the helpers people use today), then bench-proxy
	@if [ "$$(id -u)" = 0 ]; then scripts/install-e2e-deps; fi
	scripts/bench
	$(MAKE) --no-print-directory bench-proxy

bench-proxy: build ## oat-proxy's CPU and memory against a bare Go proxy, HAProxy (mode tcp, splice) and mitmproxy, with targets (OAT_BENCH_SCALE=16 for a quick run; as root, installs haproxy and mitmproxy)
	@if [ "$$(id -u)" = 0 ]; then scripts/install-e2e-deps; fi
	$(GO) run ./bench/proxy --bin $(BIN)

bench-crane: build $(TOOLS)/crane ## crane pulling a 1 GiB layer direct vs through oat-proxy in the e2e namespace (root, like e2e)
	scripts/install-e2e-deps
	OAT_E2E_BENCH=1 PATH="$(TOOLS):$$PATH" $(GO) test -tags e2e -count=1 -timeout 30m -v -run TestProxyThroughput ./test/e2e/

load: ## the proxy under load: 2,000 connections, 100,000 mixed requests to the stand-in hub, zero errors, bounded RSS (make test runs 200 and 5,000)
	OAT_LOAD=full $(GO) test -count=1 -timeout 30m -v -run '^TestLoad$$' ./internal/proxy/

soak: ## 10 minutes of paced mixed load through the proxy, RSS and goroutines printed each minute and required flat (not in CI)
	OAT_SOAK=$(SOAKTIME) $(GO) test -count=1 -timeout 30m -v -run '^TestSoak$$' ./internal/proxy/

fuzz: ## run every fuzz target for FUZZTIME each (20s; FUZZTIME=10m make fuzz for the long run)
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

lint: $(TOOLS)/staticcheck ## go vet, staticcheck, gofmt and go mod tidy checks, in both modules (the root and packaging/)
	$(GO) vet -tags e2e ./...
	$(TOOLS)/staticcheck -tags e2e ./...
	$(GO) -C $(PACKAGING) vet ./...
	cd $(PACKAGING) && $(TOOLS)/staticcheck ./...
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }
	@$(GO) -C $(PACKAGING) mod tidy -diff || { echo "$(PACKAGING)/go.mod/go.sum are not tidy: run go mod tidy in $(PACKAGING)"; exit 1; }

vuln: $(TOOLS)/govulncheck ## known vulnerabilities in the code's call graph (needs vuln.go.dev)
	$(TOOLS)/govulncheck ./...
	$(TOOLS)/govulncheck -C $(PACKAGING) ./...

$(TOOLS)/staticcheck:
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(TOOLS)/crane:
	GOBIN=$(TOOLS) $(GO) install github.com/google/go-containerregistry/cmd/crane@$(CRANE_VERSION)

$(TOOLS)/oras:
	GOBIN=$(TOOLS) $(GO) install oras.land/oras/cmd/oras@$(ORAS_VERSION)

$(TOOLS)/regctl:
	GOBIN=$(TOOLS) $(GO) install github.com/regclient/regclient/cmd/regctl@$(REGCTL_VERSION)

# buildx as the docker CLI plugin it is: the e2e tests link it into each
# client's DOCKER_CONFIG/cli-plugins.
$(TOOLS)/docker-buildx:
	GOBIN=$(TOOLS)/buildx-bin $(GO) install github.com/docker/buildx/cmd/buildx@$(BUILDX_VERSION)
	mv $(TOOLS)/buildx-bin/buildx $@ && rmdir $(TOOLS)/buildx-bin

$(TOOLS)/nfpm:
	GOBIN=$(TOOLS) $(GO) install github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION)

$(TOOLS)/actionlint:
	GOBIN=$(TOOLS) $(GO) install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

$(TOOLS)/govulncheck:
	GOBIN=$(TOOLS) $(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)

generate: ## man pages and shell completions from the command tables, into packaging/
	$(GO) -C $(PACKAGING) run ./gen

package: $(TOOLS)/nfpm ## .deb and .rpm for linux amd64 and arm64 into dist/ (see packaging/)
	NFPM=$(TOOLS)/nfpm GO=$(GO) VERSION=$(VERSION) LDFLAGS_X='-X $(MODULE)/internal/version.Tag=$(VERSION)' scripts/package

demo: build $(TOOLS)/crane ## the story: a stand-in Docker Hub, an OAT with scopes, a push refused through oat-proxy and without it
	PATH="$(TOOLS):$$PATH" $(GO) run ./cmd/oat-demo --bin $(BIN)

clean: ## remove what the build made
	rm -rf $(BIN) $(TOOLS) dist

# Kubernetes: the Helm chart's checks (make test-chart runs them with the
# pinned helm, which e2e uses too) and the container image.
HELM_VERSION := v3.21.4

$(TOOLS)/helm:
	GOBIN=$(TOOLS) $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

IMAGE_PLATFORMS := linux/amd64,linux/arm64
IMAGE ?=

.PHONY: image
image: ## the container image (static binaries, no shell, non-root) as an OCI layout in dist/image; IMAGE=ref also pushes it
	@set -e; for p in $$(echo $(IMAGE_PLATFORMS) | tr , ' '); do arch=$${p#*/}; \
	  for c in $(CMDS); do \
	    echo "dist/image-bin/linux-$$arch/$$c"; \
	    CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build $(GOFLAGS_BUILD) -o dist/image-bin/linux-$$arch/$$c ./cmd/$$c; \
	  done; \
	done
	$(GO) -C $(PACKAGING) run ./image --bins $(CURDIR)/dist/image-bin --out $(CURDIR)/dist/image --platforms $(IMAGE_PLATFORMS) \
	  --version $(VERSION) --revision "$$(git rev-parse HEAD 2>/dev/null)" \
	  --created "$$(git log -1 --format=%cI 2>/dev/null || echo 1970-01-01T00:00:00Z)" $(if $(IMAGE),--push $(IMAGE))
