package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/kube"
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
	in := action.NewInstall(helmConfig(t, kubeconfig, ns))
	in.ReleaseName, in.Namespace, in.Timeout = "pylon", ns, time.Minute
	rel, err := in.RunWithContext(ctx, pylonChart(t), vals)
	if err != nil {
		t.Fatalf("helm install: %v", err)
	}
	return rel
}

// helmUpgrade upgrades release "pylon" in ns to deploy/charts/pylon with
// vals, as `helm upgrade pylon deploy/charts/pylon --namespace ns --values
// …` does (the values replace the release's, they are not reused). It does
// not wait for the workloads.
func helmUpgrade(ctx context.Context, t testing.TB, kubeconfig, ns string, vals map[string]any) *release.Release {
	t.Helper()
	up := action.NewUpgrade(helmConfig(t, kubeconfig, ns))
	up.Namespace, up.Timeout = ns, time.Minute
	rel, err := up.RunWithContext(ctx, "pylon", pylonChart(t), vals)
	if err != nil {
		t.Fatalf("helm upgrade: %v", err)
	}
	return rel
}

// helmUninstall uninstalls release "pylon" from ns, as `helm uninstall
// pylon --namespace ns` does (history not kept). It does not wait for the
// deleted objects to be gone.
func helmUninstall(t testing.TB, kubeconfig, ns string) *release.UninstallReleaseResponse {
	t.Helper()
	un := action.NewUninstall(helmConfig(t, kubeconfig, ns))
	un.Timeout = time.Minute
	res, err := un.Run("pylon")
	if err != nil {
		t.Fatalf("helm uninstall: %v", err)
	}
	return res
}

// pylonChart loads deploy/charts/pylon.
func pylonChart(t testing.TB) *chart.Chart {
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
	return ch
}

// helmConfig is the Helm SDK's configuration for releases in ns through
// kubeconfig, with releases stored in Secrets (Helm's default).
func helmConfig(t testing.TB, kubeconfig, ns string) *action.Configuration {
	t.Helper()
	flags := genericclioptions.NewConfigFlags(false)
	cache := t.TempDir()
	flags.KubeConfig, flags.Namespace, flags.CacheDir = &kubeconfig, &ns, &cache
	// The field manager of Helm's writes: "helm", as the helm command sets
	// it, not the test binary's name (Helm's default), so that the
	// inventory tells Helm's objects from the test's.
	kube.ManagedFieldsManager = "helm"
	cfg := new(action.Configuration)
	if err := cfg.Init(flags, ns, "secret", func(format string, v ...any) { t.Logf("helm: "+format, v...) }); err != nil {
		t.Fatal(err)
	}
	return cfg
}
