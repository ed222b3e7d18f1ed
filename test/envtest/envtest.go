package envtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/modfile"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crenvtest "sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/pylonlb/pylon/api/v1alpha1"
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
// when the test that started it ends.
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
}

// Start starts etcd and kube-apiserver from $KUBEBUILDER_ASSETS, installs
// every CRD in deploy/crds, waits until they are served, and registers a
// cleanup that stops both processes.
//
// Without KUBEBUILDER_ASSETS it skips t (or fails it when
// PYLON_REQUIRE_ENVTEST=1). Any other problem fails t.
func Start(t testing.TB) *Env {
	t.Helper()
	assets := os.Getenv(AssetsEnv)
	if assets == "" {
		const how = "run `make test` or set KUBEBUILDER_ASSETS=$(hack/envtest-assets.sh)"
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("no test API server: %s is unset and %s=1 requires one: %s", AssetsEnv, RequireEnv, how)
		}
		t.Skipf("SKIPPED: no test API server: %s", how)
	}
	kubectl := filepath.Join(assets, "kubectl")
	for _, bin := range []string{"kube-apiserver", "etcd", "kubectl"} {
		if _, err := os.Stat(filepath.Join(assets, bin)); err != nil {
			t.Fatalf("%s=%s has no %s (build it with hack/envtest-assets.sh): %v", AssetsEnv, assets, bin, err)
		}
	}

	wd, err := os.Getwd()
	if err != nil {
		t.Fatalf("working directory: %v", err)
	}
	root, err := RepoRoot(wd)
	if err != nil {
		t.Fatal(err)
	}

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatalf("register client-go kinds: %v", err)
	}
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		t.Fatalf("register CRD kinds: %v", err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatalf("register %s kinds: %v", v1alpha1.GroupVersion(), err)
	}

	crdDir := filepath.Join(root, "deploy", "crds")
	te := &crenvtest.Environment{
		BinaryAssetsDirectory: assets,
		Scheme:                scheme,
		CRDDirectoryPaths:     []string{crdDir},
		ErrorIfCRDPathMissing: true,
	}
	te.ControlPlane.KubectlPath = kubectl
	// Dual-stack Services (ipFamilyPolicy RequireDualStack) need a cluster
	// IP range of each family. Reserved ranges: nothing is ever sent there.
	te.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", ServiceClusterIPRange)
	if os.Getenv("KUBEBUILDER_CONTROLPLANE_START_TIMEOUT") == "" {
		te.ControlPlaneStartTimeout = startTimeout
	}
	began := time.Now()
	cfg, err := te.Start()
	if err != nil {
		// Start can fail after etcd or the API server is up (a CRD the
		// server refuses, for one): stop whatever runs.
		if stopErr := te.Stop(); stopErr != nil {
			t.Logf("stop the half-started test API server: %v", stopErr)
		}
		t.Fatalf("start the test API server from %s with the CRDs in %s: %v", assets, crdDir, err)
	}
	t.Cleanup(func() {
		if err := te.Stop(); err != nil {
			t.Errorf("stop the test API server: %v", err)
		}
	})
	t.Logf("test API server up at %s with %d CRDs in %v", cfg.Host, len(te.CRDs), time.Since(began).Round(time.Millisecond))

	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatalf("client for the test API server: %v", err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, te.KubeConfig, 0o600); err != nil {
		t.Fatalf("write kubeconfig: %v", err)
	}
	return &Env{
		Config:         cfg,
		Scheme:         scheme,
		Client:         c,
		CRDs:           te.CRDs,
		RepoRoot:       root,
		CRDDir:         crdDir,
		KubeconfigPath: kubeconfig,
		KubectlPath:    kubectl,
	}
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
