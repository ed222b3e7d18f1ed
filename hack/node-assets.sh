#!/usr/bin/env bash
# node-assets.sh builds the binaries of a Kubernetes node and of the control
# plane around the API server, at the API server's version, from source
# fetched through the Go module proxy, and prints the directory that holds
# them:
#
#   kubelet, kube-proxy, kube-controller-manager, kube-scheduler  k8s.io/kubernetes
#   containerd, containerd-shim-runc-v2, ctr  github.com/containerd/containerd/v2
#   runc                                      github.com/opencontainers/runc
#
# runc is built with cgo and seccomp, so it needs gcc and libseccomp-dev
# (hack/install-deps.sh installs them); everything else is static. The
# binaries are cached under the user's cache dir, keyed by version, so a
# second run prints the directory at once. Progress goes to stderr; stdout is
# only the directory. hack/envtest-assets.sh builds the API server, etcd and
# kubectl the same way.
#
#   PYLON_NODE_ASSETS=$(hack/node-assets.sh) go test ./test/images/
#
# Environment:
#   PYLON_KUBE_VERSION        Kubernetes release to build (default below)
#   PYLON_CONTAINERD_VERSION  containerd release to build (default below)
#   PYLON_RUNC_VERSION        runc release to build (default below)
#   PYLON_ASSETS_CACHE        cache root (default: ${XDG_CACHE_HOME:-~/.cache}/pylon/node)
set -euo pipefail
# shellcheck source=lib/assets.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/assets.sh"

kube_version=${PYLON_KUBE_VERSION:-1.37.2}
containerd_version=${PYLON_CONTAINERD_VERSION:-2.4.2}
runc_version=${PYLON_RUNC_VERSION:-1.5.3}
cache_root=${PYLON_ASSETS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pylon/node}
dir="$cache_root/k8s-$kube_version-containerd-$containerd_version-runc-$runc_version"
kube_cmds=(kubelet kube-proxy kube-controller-manager kube-scheduler)
containerd_cmds=(containerd containerd-shim-runc-v2 ctr)
bins=("${kube_cmds[@]}" "${containerd_cmds[@]}" runc)

log() { printf 'node-assets: %s\n' "$*" >&2; }

assets_exit_if_cached "$dir" "${bins[@]}"

command -v go >/dev/null || { log "go is not on PATH"; exit 1; }
assets_lock "$cache_root"
assets_exit_if_cached "$dir" "${bins[@]}"

work=$(mktemp -d "${TMPDIR:-/tmp}/pylon-node-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
out="$work/out"
mkdir -p "$out"
export GOFLAGS=-mod=mod CGO_ENABLED=0 GOWORK=off

build_kube() {
	local src="$work/kube" c
	kube_wrapper_module "$src" pylon.local/node-kube "$kube_version" "${kube_cmds[@]}"
	for c in "${kube_cmds[@]}"; do
		log "building $c v$kube_version"
		kube_build "$src" "$kube_version" "$c" "$out/$c"
	done
}

# containerd and runc replace nothing in their go.mod, so `go install
# module/cmd@version` builds them at the exact version (no version list is
# asked of the proxy).
build_containerd() {
	local m=github.com/containerd/containerd/v2 c pkgs=()
	for c in "${containerd_cmds[@]}"; do pkgs+=("$m/cmd/$c@v$containerd_version"); done
	log "building ${containerd_cmds[*]} v$containerd_version (about 1 minute on 2 cores)"
	GOBIN="$out" go install -trimpath -tags 'no_btrfs no_devmapper no_zfs' \
		-ldflags "-s -w -X $m/version.Version=v$containerd_version -X $m/version.Package=$m" "${pkgs[@]}"
}

build_runc() {
	command -v gcc >/dev/null && [[ -f /usr/include/seccomp.h ]] ||
		{ log "runc needs gcc and libseccomp-dev: run hack/install-deps.sh"; return 1; }
	log "building runc v$runc_version (cgo, seccomp)"
	CGO_ENABLED=1 GOBIN="$out" go install -trimpath -tags seccomp \
		-ldflags "-s -w -X main.version=$runc_version" "github.com/opencontainers/runc@v$runc_version"
}

start=$(date +%s)
build_runc
build_containerd
build_kube
assets_publish "$out" "$dir"
log "built in $(($(date +%s) - start))s: $dir"
echo "$dir"
