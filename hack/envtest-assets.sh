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

kube_version=${PYLON_KUBE_VERSION:-1.37.2}
etcd_version=${PYLON_ETCD_VERSION:-3.6.16}
cache_root=${PYLON_ASSETS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pylon/envtest}
dir="$cache_root/k8s-$kube_version-etcd-$etcd_version"

log() { printf 'envtest-assets: %s\n' "$*" >&2; }

if [[ -x "$dir/kube-apiserver" && -x "$dir/etcd" && -x "$dir/kubectl" ]]; then
	echo "$dir"
	exit 0
fi

command -v go >/dev/null || { log "go is not on PATH"; exit 1; }
mkdir -p "$cache_root"
# One builder at a time: concurrent `make test` runs wait for the first.
exec 9>"$cache_root/.lock"
if command -v flock >/dev/null; then flock 9; fi
if [[ -x "$dir/kube-apiserver" && -x "$dir/etcd" && -x "$dir/kubectl" ]]; then
	echo "$dir"
	exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/pylon-envtest-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
out="$work/out"
mkdir -p "$out"
export GOFLAGS=-mod=mod CGO_ENABLED=0 GOWORK=off
ldflags="-s -w"

build_kube() {
	local src="$work/kube" kmod
	mkdir -p "$src"
	log "fetching k8s.io/kubernetes v$kube_version go.mod"
	kmod=$(cd "$src" && go mod download -json "k8s.io/kubernetes@v$kube_version" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')
	[[ -f "$kmod" ]] || { log "could not fetch k8s.io/kubernetes@v$kube_version"; return 1; }
	{
		echo "module pylon.local/envtest-kube"
		echo
		echo "go $(go env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1/')"
		echo
		echo "require k8s.io/kubernetes v$kube_version"
		echo
		# Every staging module k8s.io/kubernetes replaces with ./staging/... is
		# published on its own as v0.<minor>.<patch>.
		sed -n 's#^\t\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p' "$kmod" | while read -r m; do
			echo "replace $m => $m v0.${kube_version#*.}"
		done
	} >"$src/go.mod"
	cat >"$src/tools.go" <<-'EOF'
		//go:build tools

		package tools

		import (
			_ "k8s.io/kubernetes/cmd/kube-apiserver"
			_ "k8s.io/kubernetes/cmd/kubectl"
		)
	EOF
	log "resolving kube-apiserver dependencies"
	(cd "$src" && go mod tidy -e >/dev/null 2>"$work/tidy.log") || { cat "$work/tidy.log" >&2; return 1; }
	local vflags="-X k8s.io/component-base/version.gitVersion=v$kube_version -X k8s.io/client-go/pkg/version.gitVersion=v$kube_version"
	log "building kube-apiserver v$kube_version (about 5 minutes on 2 cores)"
	(cd "$src" && go build -trimpath -ldflags "$ldflags $vflags" -o "$out/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver)
	log "building kubectl v$kube_version"
	(cd "$src" && go build -trimpath -ldflags "$ldflags $vflags" -o "$out/kubectl" k8s.io/kubernetes/cmd/kubectl)
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
mkdir -p "$(dirname "$dir")"
rm -rf "$dir.tmp"
mv "$out" "$dir.tmp"
rm -rf "$dir"
mv "$dir.tmp" "$dir"
log "built in $(($(date +%s) - start))s: $dir"
echo "$dir"
