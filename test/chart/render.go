package chart

import (
	"fmt"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
)

// Render renders the chart in dir as `helm template pylon dir --namespace
// ns --kube-version kubeVersion` does, with vals over its values.yaml: the
// output of each template by its name in the chart (for example
// "pylon/templates/rbac.yaml"), NOTES.txt included, the helpers
// (_helpers.tpl) left out. Like helm template it fails when the chart's
// kubeVersion excludes kubeVersion; unlike it, it also fails on a template
// that reads a value values.yaml does not have (the engine's strict mode).
func Render(dir, ns string, vals map[string]any, kubeVersion string) (map[string]string, error) {
	ch, err := loader.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("load the chart: %w", err)
	}
	kv, err := chartutil.ParseKubeVersion(kubeVersion)
	if err != nil {
		return nil, err
	}
	if !chartutil.IsCompatibleRange(ch.Metadata.KubeVersion, kv.String()) {
		return nil, fmt.Errorf("chart requires kubeVersion %s, which excludes Kubernetes %s", ch.Metadata.KubeVersion, kv)
	}
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = *kv
	rv, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{Name: Release, Namespace: ns, Revision: 1, IsInstall: true}, caps)
	if err != nil {
		return nil, err
	}
	out, err := engine.Engine{Strict: true}.Render(ch, rv)
	if err != nil {
		return nil, fmt.Errorf("helm template: %w", err)
	}
	return out, nil
}
