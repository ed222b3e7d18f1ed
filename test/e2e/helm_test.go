package e2e

import (
	"context"
	"testing"

	"helm.sh/helm/v3/pkg/release"

	"github.com/pylonlb/pylon/test/chart"
)

// helmInstall installs deploy/charts/pylon as release "pylon" into ns
// (chart.Install) and fails t if Helm does.
func helmInstall(ctx context.Context, t testing.TB, kubeconfig, ns string, vals map[string]any) *release.Release {
	t.Helper()
	rel, err := chart.Install(ctx, kubeconfig, ns, vals, helmLog(t))
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// helmUpgrade upgrades release "pylon" in ns with vals (chart.Upgrade) and
// fails t if Helm does.
func helmUpgrade(ctx context.Context, t testing.TB, kubeconfig, ns string, vals map[string]any) *release.Release {
	t.Helper()
	rel, err := chart.Upgrade(ctx, kubeconfig, ns, vals, helmLog(t))
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// helmUninstall uninstalls release "pylon" from ns (chart.Uninstall) and
// fails t if Helm does.
func helmUninstall(t testing.TB, kubeconfig, ns string) *release.UninstallReleaseResponse {
	t.Helper()
	res, err := chart.Uninstall(kubeconfig, ns, helmLog(t))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// helmLog sends Helm's messages to t's log.
func helmLog(t testing.TB) func(format string, v ...any) {
	return func(format string, v ...any) { t.Logf("helm: "+format, v...) }
}
