package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/release"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/pylonlb/pylon/test/envtest"
)

// helmInstall installs deploy/charts/pylon as release "pylon" into ns with
// the Helm SDK, as `helm install pylon deploy/charts/pylon --namespace ns
// --values …` does (the namespace must exist), through the cluster-admin
// kubeconfig. It does not wait for the workloads.
func helmInstall(ctx context.Context, t testing.TB, kubeconfig, ns string, vals map[string]any) *release.Release {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := envtest.RepoRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := loader.Load(filepath.Join(root, "deploy", "charts", "pylon"))
	if err != nil {
		t.Fatal(err)
	}
	flags := genericclioptions.NewConfigFlags(false)
	cache := t.TempDir()
	flags.KubeConfig, flags.Namespace, flags.CacheDir = &kubeconfig, &ns, &cache
	cfg := new(action.Configuration)
	if err := cfg.Init(flags, ns, "secret", func(format string, v ...any) { t.Logf("helm: "+format, v...) }); err != nil {
		t.Fatal(err)
	}
	in := action.NewInstall(cfg)
	in.ReleaseName, in.Namespace, in.Timeout = "pylon", ns, time.Minute
	rel, err := in.RunWithContext(ctx, ch, vals)
	if err != nil {
		t.Fatalf("helm install: %v", err)
	}
	return rel
}
