package envtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"golang.org/x/mod/modfile"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crenvtest "sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Environment variables that Start reads.
const (
	// AssetsEnv names the directory holding kube-apiserver, etcd and kubectl.
	AssetsEnv = "KUBEBUILDER_ASSETS"
	// RequireEnv, set to "1", turns a missing AssetsEnv into a test failure
	// instead of a skip.
	RequireEnv = "PYLON_REQUIRE_ENVTEST"
)

// ServiceClusterIPRange is the test API server's Service cluster IP ranges,
// one per family, from the reserved benchmarking and documentation ranges;
// the IPv4 one holds 16,382 Services, room for the 5,000-Service benchmarks.
const ServiceClusterIPRange = "198.19.192.0/18,2001:db8:ffff::/112"

// modulePath identifies the repository root: the directory whose go.mod
// declares this module.
const modulePath = "github.com/pylonlb/pylon"

// startTimeout is how long etcd and the API server each get to come up when
// KUBEBUILDER_CONTROLPLANE_START_TIMEOUT does not say: envtest's 20s default
// is short for a loaded CI machine.
const startTimeout = 90 * time.Second

// Env is a running API server with pylon's CRDs installed. Start stops it
// when the test that started it ends; Launch leaves that to Stop.
type Env struct {
	// Config reaches the API server as a cluster admin (system:masters).
	Config *rest.Config
	// Scheme holds client-go's built-in kinds, CustomResourceDefinition and
	// pylon's v1alpha1 kinds.
	Scheme *runtime.Scheme
	// Client is a controller-runtime client built on Config and Scheme. It
	// reads straight from the API server (no cache).
	Client client.Client
	// CRDs are the CustomResourceDefinitions installed from CRDDir.
	CRDs []*apiextensionsv1.CustomResourceDefinition
	// RepoRoot is the repository's root directory (where go.mod is).
	RepoRoot string
	// CRDDir is RepoRoot/deploy/crds, the directory the CRDs came from.
	CRDDir string
	// KubeconfigPath is a kubeconfig file for Config, for kubectl and other
	// tools run as separate processes.
	KubeconfigPath string
	// KubectlPath is the kubectl binary built with the API server.
	KubectlPath string
	// StartupTime is how long etcd, the API server and the CRDs took to
	// come up.
	StartupTime time.Duration

	te     *crenvtest.Environment
	dir    string
	ownDir bool
}

// TB is what Start needs of a test: *testing.T and *testing.B have it.
// The package takes it instead of importing testing, so that commands
// (cmd/pylonlab) link it without the testing package.
type TB interface {
	Helper()
	Cleanup(func())
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
}

// Start starts etcd and kube-apiserver from $KUBEBUILDER_ASSETS, installs
// every CRD in deploy/crds, waits until they are served, and registers a
// cleanup that stops both processes.
//
// Without KUBEBUILDER_ASSETS it skips t (or fails it when
// PYLON_REQUIRE_ENVTEST=1). Any other problem fails t.
func Start(t TB) *Env {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with Options: another bind address, a directory to
// keep, a log destination.
func StartWith(t TB, o Options) *Env {
	t.Helper()
	env, err := Launch(o)
	if errors.Is(err, ErrNoAssets) {
		const how = "run `make test` or set KUBEBUILDER_ASSETS=$(hack/envtest-assets.sh)"
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("no test API server: %s is unset and %s=1 requires one: %s", AssetsEnv, RequireEnv, how)
		}
		t.Skipf("SKIPPED: no test API server: %s", how)
	}
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stop the test API server: %v", err)
		}
	})
	t.Logf("test API server up at %s with %d CRDs in %v", env.Config.Host, len(env.CRDs), env.StartupTime.Round(time.Millisecond))
	return env
}

// Kubectl runs kubectl against the environment with args and returns its
// combined stdout and stderr. A non-zero exit is an *exec.ExitError.
func (e *Env) Kubectl(ctx context.Context, args ...string) ([]byte, error) {
	full := append([]string{
		"--kubeconfig=" + e.KubeconfigPath,
		// Keep discovery caches out of $HOME.
		"--cache-dir=" + filepath.Join(filepath.Dir(e.KubeconfigPath), "kubectl-cache"),
	}, args...)
	cmd := exec.CommandContext(ctx, e.KubectlPath, full...)
	cmd.Dir = e.RepoRoot
	// Only this kubeconfig: not one from the developer's environment.
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e.KubeconfigPath)
	return cmd.CombinedOutput()
}

// RepoRoot walks up from dir to the directory whose go.mod declares module
// github.com/pylonlb/pylon, so tests find deploy/ and docs/ from whichever
// package directory `go test` runs them in.
func RepoRoot(dir string) (string, error) {
	for d := dir; ; {
		if mod, err := modulePathOf(filepath.Join(d, "go.mod")); err == nil && mod == modulePath {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod of module %s in %s or any directory above it", modulePath, dir)
		}
		d = parent
	}
}

// modulePathOf returns the module path a go.mod file declares.
func modulePathOf(gomod string) (string, error) {
	data, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	return modfile.ModulePath(data), nil
}
