# pylon's build. `make test` does all set-up a fresh machine needs (it builds
# the test API server from the Go module proxy on first use) and ends with
# go test's own summary lines.
SHELL := /usr/bin/env bash
GO ?= go
STATICCHECK_VERSION ?= v0.8.2
export GOTOOLCHAIN ?= local

.PHONY: all generate lint build test envtest-assets node-assets demo images release

all: generate lint build test

## generate: CRD manifests (deploy/crds) and deepcopy functions from the api/ markers,
## RBAC roles (deploy/rbac) from the +kubebuilder:rbac markers in controller/ and speaker/;
## then hack/manifests copies the CRDs and roles into the Helm chart's files/ (the chart
## itself, deploy/charts/pylon, is written by hand) and renders deploy/pylon.yaml and
## deploy/kustomize from the chart.
generate:
	$(GO) tool controller-gen object paths=./api/...
	$(GO) tool controller-gen crd paths=./api/... output:crd:artifacts:config=deploy/crds
	$(GO) tool controller-gen rbac:roleName=pylon-controller paths=./controller/... output:rbac:artifacts:config=deploy/rbac/controller
	$(GO) tool controller-gen rbac:roleName=pylon-speaker paths=./speaker/... output:rbac:artifacts:config=deploy/rbac/speaker
	$(GO) run ./hack/manifests -crds deploy/crds -rbac deploy/rbac -chart deploy/charts/pylon -out deploy
	gofmt -w api

## lint: gofmt, go vet and staticcheck; fails on any finding.
lint:
	@out=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

## build: all commands into bin/.
build:
	$(GO) build -o bin/ ./cmd/...

## images: the controller and speaker images from the Dockerfile (needs a docker daemon
## with BuildKit). VERSION defaults to the chart's appVersion (deploy/charts/pylon/Chart.yaml),
## the tag the manifests install.
IMAGE_REPO ?= ghcr.io/pylonlb
VERSION ?= $(shell sed -n 's/^appVersion: *//p' deploy/charts/pylon/Chart.yaml)
## REVISION: the commit the binaries report, with -dirty when tracked files differ from it.
REVISION ?= $(shell git rev-parse HEAD)$(shell git diff --quiet HEAD -- || echo -dirty)
images:
	for c in controller speaker; do \
		docker build --target $$c --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) \
			-t $(IMAGE_REPO)/pylon-$$c:$(VERSION) . || exit 1; \
	done

## release: a release's artifacts in dist/ (docs/release.md), without a daemon: the
## packaged chart, pylon.yaml, the controller and speaker images for linux/amd64 and
## linux/arm64 (one multi-platform OCI archive each) and SHA256SUMS. VERSION must be
## the chart's appVersion (change Chart.yaml and run `make generate` to release another).
release:
	rm -rf dist
	$(GO) run ./hack/release -version $(VERSION) -revision $(REVISION) -out dist

## envtest-assets: build (or reuse) kube-apiserver, etcd and kubectl for the tests.
envtest-assets:
	@hack/envtest-assets.sh

## node-assets: build (or reuse) the node stack for the tests: kubelet, kube-proxy,
## kube-controller-manager, kube-scheduler, containerd, its shim, ctr and runc.
node-assets:
	@hack/node-assets.sh

## test: everything — unit tests, the envtest suites against a real API server
## and, as root, the end-to-end tests in the network lab (one package may take
## several minutes: the e2e scenarios run one lab after another). The API server
## and the node stack are built on first use (hack/envtest-assets.sh,
## hack/node-assets.sh), and so is promtool, which checks the chart's alerts
## (hack/promtool.sh). test/e2e, the longest package, runs in its own go test
## next to the others' from the start (in one go test it waited minutes for a
## free slot behind the controller and speaker suites); the others' output
## streams, test/e2e's follows when both are done, so the last lines are go
## test's own summary.
test:
	@assets=$$(hack/envtest-assets.sh) || { echo "make test: could not build the test API server (see above)"; exit 1; }; \
	node=$$(hack/node-assets.sh) || { echo "make test: could not build the node binaries (see above)"; exit 1; }; \
	promtool=$$(hack/promtool.sh) || { echo "make test: could not build promtool (see above)"; exit 1; }; \
	export KUBEBUILDER_ASSETS=$$assets PYLON_NODE_ASSETS=$$node PYLON_PROMTOOL=$$promtool PYLON_REQUIRE_ENVTEST=1; \
	e2e=$$(mktemp); trap 'rm -f "$$e2e"' EXIT; \
	$(GO) test -count=1 -timeout 30m ./test/e2e/ >"$$e2e" 2>&1 & pid=$$!; \
	$(GO) test -count=1 -timeout 30m $$($(GO) list ./... | grep -v '/test/e2e$$') 2>&1; rest=$$?; \
	wait $$pid; rc=$$?; cat "$$e2e"; \
	[ $$rest = 0 ] && [ $$rc = 0 ]

## demo: pylon installed by Helm on a cluster of real nodes (containerd, kubelet,
## kube-proxy) in a network lab on this machine, step by step with a timing each, then
## a summary and teardown (docs/demo.md). Needs root; installs what is missing
## (hack/install-deps.sh) and builds the test API server and the node stack on first use.
## KEEP=1: after the summary, leave the lab running until Ctrl-C, and say how to reach it.
demo:
	@if [ "$$(id -u)" != 0 ]; then \
		echo "make demo: needs root: the lab builds network namespaces, veths and nftables tables. Run: sudo make demo" >&2; exit 1; fi
	@hack/install-deps.sh
	@command -v $(GO) >/dev/null || { echo "make demo: no Go on root's PATH; pylon needs Go 1.26 (sudo env \"PATH=\$$PATH\" make demo keeps yours)" >&2; exit 1; }
	@assets=$$(hack/envtest-assets.sh) || { echo "make demo: could not build the test API server (see above)" >&2; exit 1; }; \
	node=$$(hack/node-assets.sh) || { echo "make demo: could not build the node binaries (see above)" >&2; exit 1; }; \
	KUBEBUILDER_ASSETS=$$assets PYLON_NODE_ASSETS=$$node $(GO) run ./cmd/pylonlab demo $(if $(filter 1,$(KEEP)),-keep)
