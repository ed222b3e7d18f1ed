package images

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

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

// CheckNodeAssets says why dir cannot serve as the node stack's binaries:
// it is empty, or lacks an executable one of NodeBinaries(); nil when it
// can.
func CheckNodeAssets(dir string) error {
	if dir == "" {
		return errors.New(NodeAssetsEnv + " is unset")
	}
	for _, b := range NodeBinaries() {
		if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.Mode()&0o111 == 0 {
			return fmt.Errorf("%s has no executable %s (hack/node-assets.sh builds it)", dir, b)
		}
	}
	return nil
}

// NodeAssets returns the directory named by NodeAssetsEnv after checking it
// holds every one of NodeBinaries(). Unset or incomplete, it skips t, loudly,
// or fails it when PYLON_REQUIRE_ENVTEST=1 (as `make test` sets), so CI
// cannot pass by skipping.
func NodeAssets(t envtest.TB) string {
	t.Helper()
	const how = "run `make test` or set PYLON_NODE_ASSETS=$(hack/node-assets.sh)"
	dir := os.Getenv(NodeAssetsEnv)
	err := CheckNodeAssets(dir)
	if err == nil {
		return dir
	}
	problem := err.Error()
	if os.Getenv(envtest.RequireEnv) == "1" {
		t.Fatalf("no node binaries: %s and %s=1 requires them: %s", problem, envtest.RequireEnv, how)
	}
	t.Skipf("SKIPPED: no node binaries: %s: %s", problem, how)
	return ""
}
