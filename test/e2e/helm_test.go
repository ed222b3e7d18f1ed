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
	rel, err := chart.Install(ctx, kubeconfig, ns, vals, func(format string, v ...any) { t.Logf("helm: "+format, v...) })
	if err != nil {
		t.Fatal(err)
	}
	return rel
}
