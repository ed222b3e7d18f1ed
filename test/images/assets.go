package images

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pylonlb/pylon/test/envtest"
)

// NodeAssetsEnv names the directory hack/node-assets.sh prints: kubelet,
// kube-proxy, kube-controller-manager, kube-scheduler, containerd,
// containerd-shim-runc-v2, ctr and runc. `make test` sets it.
const NodeAssetsEnv = "PYLON_NODE_ASSETS"

// NodeBinaries are the files NodeAssetsEnv's directory holds.
func NodeBinaries() []string {
	return []string{
		"kubelet", "kube-proxy", "kube-controller-manager", "kube-scheduler",
		"containerd", "containerd-shim-runc-v2", "ctr", "runc",
	}
}

// NodeAssets returns the directory named by NodeAssetsEnv after checking it
// holds every one of NodeBinaries(). Unset or incomplete, it skips t, loudly,
// or fails it when PYLON_REQUIRE_ENVTEST=1 (as `make test` sets), so CI
// cannot pass by skipping.
func NodeAssets(t testing.TB) string {
	t.Helper()
	const how = "run `make test` or set PYLON_NODE_ASSETS=$(hack/node-assets.sh)"
	dir := os.Getenv(NodeAssetsEnv)
	problem := NodeAssetsEnv + " is unset"
	if dir != "" {
		problem = ""
		for _, b := range NodeBinaries() {
			if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.Mode()&0o111 == 0 {
				problem = NodeAssetsEnv + "=" + dir + " has no executable " + b
				break
			}
		}
	}
	if problem == "" {
		return dir
	}
	if os.Getenv(envtest.RequireEnv) == "1" {
		t.Fatalf("no node binaries: %s and %s=1 requires them: %s", problem, envtest.RequireEnv, how)
	}
	t.Skipf("SKIPPED: no node binaries: %s: %s", problem, how)
	return ""
}
