#!/usr/bin/env bash
# promtool.sh builds Prometheus' promtool at a fixed release through the Go
# module proxy and prints its path. The tests check the chart's alerting
# rules with it (`promtool check rules`, `promtool test rules`:
# test/deploy). The binary is cached under the user's cache dir, keyed by
# version, like the API server (hack/envtest-assets.sh) and the node stack
# (hack/node-assets.sh); progress goes to stderr, stdout is only the path.
#
#   PYLON_PROMTOOL=$(hack/promtool.sh) go test ./test/deploy/
#
# Environment:
#   PYLON_PROMETHEUS_VERSION  Prometheus release (its Go module version, default below)
#   PYLON_ASSETS_CACHE        cache root (default: ${XDG_CACHE_HOME:-~/.cache}/pylon/promtool)
set -euo pipefail
# shellcheck source=lib/assets.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/assets.sh"

# Prometheus 3.x publishes its Go module as v0.3xx.y (v0.316.0 is 3.16.0).
version=${PYLON_PROMETHEUS_VERSION:-0.316.0}
cache_root=${PYLON_ASSETS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pylon/promtool}
dir="$cache_root/prometheus-$version"

log() { printf 'promtool: %s\n' "$*" >&2; }

if [[ -x "$dir/promtool" ]]; then echo "$dir/promtool"; exit 0; fi
command -v go >/dev/null || { log "go is not on PATH"; exit 1; }
assets_lock "$cache_root"
if [[ -x "$dir/promtool" ]]; then echo "$dir/promtool"; exit 0; fi

work=$(mktemp -d "${TMPDIR:-/tmp}/pylon-promtool.XXXXXX")
trap 'rm -rf "$work"' EXIT
export GOFLAGS=-mod=mod CGO_ENABLED=0 GOWORK=off
start=$(date +%s)
log "building promtool v$version"
# remove_all_sd leaves out service discovery (cloud SDKs): half the build.
GOBIN="$work/out" go install -trimpath -tags remove_all_sd -ldflags "-s -w" "github.com/prometheus/prometheus/cmd/promtool@v$version"
assets_publish "$work/out" "$dir"
log "built in $(($(date +%s) - start))s: $dir/promtool"
echo "$dir/promtool"
