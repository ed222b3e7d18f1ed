# assets.sh: what hack/envtest-assets.sh and hack/node-assets.sh share: the
# version-keyed cache with its lock, and building Kubernetes commands from
# k8s.io/kubernetes through the Go module proxy. Sourced by both; not a
# script of its own.
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces each staging
# module (k8s.io/api, k8s.io/apiserver, ...) with ./staging/src/.... A
# throw-away wrapper module requires it and replaces each staging module with
# its published v0.<minor>.<patch> release instead.
#
# The caller sets GOFLAGS=-mod=mod GOWORK=off (and CGO_ENABLED) and defines
# log MESSAGE... (progress to stderr).

# assets_exit_if_cached DIR NAME...: when DIR holds every NAME, executable,
# prints DIR and ends the script: nothing to build.
assets_exit_if_cached() {
	local d=$1 b
	shift
	for b in "$@"; do [[ -x "$d/$b" ]] || return 0; done
	echo "$d"
	exit 0
}

# assets_lock ROOT: creates the cache root and waits for its lock, held on
# fd 9 until the script exits: one builder at a time, concurrent `make test`
# runs wait for the first.
assets_lock() {
	mkdir -p "$1"
	exec 9>"$1/.lock"
	if command -v flock >/dev/null; then flock 9; fi
}

# assets_publish OUT DIR: moves the freshly built directory OUT to DIR,
# replacing whatever was there.
assets_publish() {
	local out=$1 dir=$2
	mkdir -p "$(dirname "$dir")"
	rm -rf "$dir.tmp"
	mv "$out" "$dir.tmp"
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
}

# kube_wrapper_module DIR MODULE VERSION CMD...: writes the wrapper module
# MODULE into DIR, requiring k8s.io/kubernetes vVERSION and importing
# k8s.io/kubernetes/cmd/CMD for each CMD, and resolves its dependencies.
kube_wrapper_module() {
	local src=$1 module=$2 version=$3 kmod c
	shift 3
	mkdir -p "$src"
	log "fetching k8s.io/kubernetes v$version go.mod"
	kmod=$(cd "$src" && go mod download -json "k8s.io/kubernetes@v$version" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')
	[[ -f "$kmod" ]] || { log "could not fetch k8s.io/kubernetes@v$version"; return 1; }
	{
		echo "module $module"
		echo
		echo "go $(go env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1/')"
		echo
		echo "require k8s.io/kubernetes v$version"
		echo
		# Every staging module k8s.io/kubernetes replaces with ./staging/... is
		# published on its own as v0.<minor>.<patch>.
		sed -n 's#^\t\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p' "$kmod" | while read -r m; do
			echo "replace $m => $m v0.${version#*.}"
		done
	} >"$src/go.mod"
	{
		printf '//go:build tools\n\npackage tools\n\nimport (\n'
		for c in "$@"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"; done
		printf ')\n'
	} >"$src/tools.go"
	log "resolving $* dependencies"
	(cd "$src" && go mod tidy -e >/dev/null 2>"$src/tidy.log") || { cat "$src/tidy.log" >&2; return 1; }
}

# kube_build DIR VERSION CMD OUT: builds k8s.io/kubernetes/cmd/CMD in the
# wrapper module at DIR into OUT, stripped, with the version `CMD --version`
# prints.
kube_build() {
	local src=$1 version=$2 cmd=$3 out=$4
	local vflags="-X k8s.io/component-base/version.gitVersion=v$version -X k8s.io/client-go/pkg/version.gitVersion=v$version"
	(cd "$src" && go build -trimpath -ldflags "-s -w $vflags" -o "$out" "k8s.io/kubernetes/cmd/$cmd")
}
