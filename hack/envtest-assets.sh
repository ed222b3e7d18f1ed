#!/usr/bin/env bash
# envtest-assets.sh builds the kube-apiserver, etcd and kubectl binaries that
# pylon's tests run against, from source fetched through the Go module proxy,
# and prints the directory that holds them (use it as KUBEBUILDER_ASSETS).
#
# Nothing is downloaded but Go modules: a fresh machine with only Go can run it.
# The binaries are cached under the user's cache dir, keyed by version, so a
# second run prints the directory at once. Progress goes to stderr; stdout is
# only the directory.
#
#   KUBEBUILDER_ASSETS=$(hack/envtest-assets.sh) go test ./...
#
# Environment:
#   PYLON_KUBE_VERSION   Kubernetes release to build (default below)
#   PYLON_ETCD_VERSION   etcd server release to build (default below)
#   PYLON_ASSETS_CACHE   cache root (default: ${XDG_CACHE_HOME:-~/.cache}/pylon/envtest)
set -euo pipefail
# shellcheck source=lib/assets.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/assets.sh"

kube_version=${PYLON_KUBE_VERSION:-1.37.2}
etcd_version=${PYLON_ETCD_VERSION:-3.6.16}
cache_root=${PYLON_ASSETS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pylon/envtest}
dir="$cache_root/k8s-$kube_version-etcd-$etcd_version"

bins=(kube-apiserver etcd kubectl)

log() { printf 'envtest-assets: %s\n' "$*" >&2; }

assets_exit_if_cached "$dir" "${bins[@]}"

command -v go >/dev/null || { log "go is not on PATH"; exit 1; }
assets_lock "$cache_root"
assets_exit_if_cached "$dir" "${bins[@]}"

work=$(mktemp -d "${TMPDIR:-/tmp}/pylon-envtest-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
out="$work/out"
mkdir -p "$out"
export GOFLAGS=-mod=mod CGO_ENABLED=0 GOWORK=off
ldflags="-s -w"

build_kube() {
	local src="$work/kube"
	kube_wrapper_module "$src" pylon.local/envtest-kube "$kube_version" kube-apiserver kubectl
	log "building kube-apiserver v$kube_version (about 5 minutes on 2 cores)"
	kube_build "$src" "$kube_version" kube-apiserver "$out/kube-apiserver"
	log "building kubectl v$kube_version"
	kube_build "$src" "$kube_version" kubectl "$out/kubectl"
}

build_etcd() {
	local src="$work/etcd"
	mkdir -p "$src"
	cat >"$src/go.mod" <<-EOF
		module pylon.local/envtest-etcd

		go 1.26

		require go.etcd.io/etcd/server/v3 v$etcd_version
	EOF
	cat >"$src/main.go" <<-'EOF'
		// Command etcd is etcd's server, built from go.etcd.io/etcd/server/v3.
		package main

		import (
			"os"

			"go.etcd.io/etcd/server/v3/etcdmain"
		)

		func main() { etcdmain.Main(os.Args) }
	EOF
	log "resolving etcd dependencies"
	(cd "$src" && go mod tidy >/dev/null 2>"$work/etcd-tidy.log") || { cat "$work/etcd-tidy.log" >&2; return 1; }
	log "building etcd v$etcd_version (about 2 minutes on 2 cores)"
	(cd "$src" && go build -trimpath -ldflags "$ldflags" -o "$out/etcd" .)
}

start=$(date +%s)
build_etcd
build_kube
assets_publish "$out" "$dir"
log "built in $(($(date +%s) - start))s: $dir"
echo "$dir"
