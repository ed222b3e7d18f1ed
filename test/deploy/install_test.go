package deploy

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/pylonlb/pylon/test/envtest"
)

const (
	pylonNS = "pylon-system"
	// otherNS is where the chart is rendered with non-default values.
	otherNS = "lb-system"
	// dashboardNS is where those values put the Grafana dashboard.
	dashboardNS = "lb-dashboards"
)

// otherName is the fullnameOverride of nonDefaults.
const otherName = "lb"

// nonDefaults changes every value the chart has.
func nonDefaults() map[string]any {
	return map[string]any{
		"fullnameOverride": otherName,
		"imagePullSecrets": []any{map[string]any{"name": "registry-creds"}},
		"image": map[string]any{
			"controller": "registry.example/pylon/controller", "speaker": "registry.example/pylon/speaker",
			"tag": "v9.9.9", "pullPolicy": "Always",
		},
		"loadBalancerClass": "example.com/pylon",
		"logLevel":          "debug",
		"crds":              map[string]any{"install": false},
		"memberlist":        map[string]any{"port": 17946, "keySecretName": "lab-keys"},
		"layer2":            map[string]any{"enabled": false},
		"bgp":               map[string]any{"enabled": false},
		"metrics": map[string]any{
			"enabled": true, "secure": false,
			"readerBinding": map[string]any{"enabled": true, "serviceAccount": map[string]any{"name": "prometheus-k8s", "namespace": "monitoring"}},
			"serviceMonitor": map[string]any{"enabled": true, "interval": "15s",
				"additionalLabels":  map[string]any{"release": "prom"},
				"relabelings":       []any{map[string]any{"sourceLabels": []any{"__meta_kubernetes_pod_node_name"}, "targetLabel": "node"}},
				"metricRelabelings": []any{map[string]any{"sourceLabels": []any{"__name__"}, "regex": "go_.*", "action": "drop"}},
			},
			"prometheusRule":   map[string]any{"enabled": true, "additionalLabels": map[string]any{"role": "alert-rules"}},
			"grafanaDashboard": map[string]any{"enabled": true, "labels": map[string]any{"dashboards": "pylon"}, "namespace": dashboardNS},
		},
		"controller": map[string]any{
			"replicas":     3,
			"nodeSelector": map[string]any{"node-role.kubernetes.io/control-plane": ""},
			"tolerations":  []any{map[string]any{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}},
			"resources":    map[string]any{"requests": map[string]any{"cpu": "10m", "memory": "32Mi"}},
			// Helm merges maps: null drops the default podAntiAffinity.
			"affinity":          map[string]any{"podAntiAffinity": nil, "nodeAffinity": nodeAffinity("pylonlb.io/controller")},
			"priorityClassName": "system-cluster-critical",
			"podAnnotations":    map[string]any{"example.com/controller": "yes"},
			"extraArgs":         []any{"--workers=16"},
			"extraEnv":          []any{map[string]any{"name": "GOMAXPROCS", "value": "2"}},
		},
		"speaker": map[string]any{
			"nodeSelector":      map[string]any{"pylonlb.io/speaker": "true"},
			"tolerations":       []any{map[string]any{"operator": "Exists"}},
			"resources":         map[string]any{"limits": map[string]any{"memory": "128Mi"}},
			"affinity":          map[string]any{"nodeAffinity": nodeAffinity("pylonlb.io/speaker-zone")},
			"priorityClassName": "pylon-speakers",
			"podAnnotations":    map[string]any{"example.com/speaker": "yes"},
			"extraArgs":         []any{"--handoff-delay=2s"},
			"extraEnv":          []any{map[string]any{"name": "GOMEMLIMIT", "value": "200MiB"}},
		},
	}
}

// nodeAffinity requires nodes that have the label key.
func nodeAffinity(key string) map[string]any {
	return map[string]any{"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{
		"nodeSelectorTerms": []any{map[string]any{"matchExpressions": []any{map[string]any{"key": key, "operator": "Exists"}}}},
	}}
}

// minimal turns off what can be turned off.
func minimal() map[string]any {
	return map[string]any{
		"metrics": map[string]any{"enabled": false, "serviceMonitor": map[string]any{"enabled": true},
			"prometheusRule": map[string]any{"enabled": true}, "grafanaDashboard": map[string]any{"enabled": true}},
		"controller": map[string]any{"replicas": 1},
	}
}

// TestDeploy shares one API server between the install checks; the order
// matters: dry-runs into other namespaces come before pylon.yaml is
// applied for real, so that no field manager owns the cluster-scoped
// objects they render differently.
func TestDeploy(t *testing.T) {
	env := envtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	root := env.RepoRoot
	installMonitoringCRDs(t, env)
	for _, ns := range []string{otherNS, dashboardNS, "lb-minimal"} {
		if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("ChartWithOtherValues", func(t *testing.T) {
		m, _ := renderChart(t, root, otherNS, nonDefaults())
		checkOtherValues(t, decode(t, m))
		apply(ctx, t, env, writeTemp(t, "other.yaml", m), true)
	})
	t.Run("SpeakerCapabilities", func(t *testing.T) { testSpeakerCapabilities(t, root) })
	t.Run("ChartMinimal", func(t *testing.T) {
		m, _ := renderChart(t, root, "lb-minimal", minimal())
		objs := decode(t, m)
		for _, o := range objs {
			switch k := o["kind"]; k {
			case "Service", "PodDisruptionBudget", "ServiceMonitor", "PrometheusRule", "ConfigMap":
				t.Errorf("%s rendered with metrics off and one replica", o.key())
			}
		}
		if args := containerArgs(t, find(t, objs, "apps/v1/Deployment", "pylon-controller")); !slices.Contains(args, "--metrics-bind-address=0") {
			t.Errorf("metrics off, controller args %v", args)
		}
		apply(ctx, t, env, writeTemp(t, "minimal.yaml", m), true)
	})

	all := filepath.Join(root, "deploy", "pylon.yaml")
	if !t.Run("ApplyPylonYAML", func(t *testing.T) {
		apply(ctx, t, env, all, false)
		apply(ctx, t, env, all, true) // an upgrade to the same manifests
	}) {
		t.Fatal("pylon.yaml does not apply: the checks that need it installed cannot run")
	}
	plain := readObjects(t, all)

	t.Run("KustomizeBaseIsPylonYAML", func(t *testing.T) {
		out, err := env.Kubectl(ctx, "kustomize", filepath.Join(root, "deploy", "kustomize"))
		if err != nil {
			t.Fatalf("kubectl kustomize: %v\n%s", err, out)
		}
		sameObjects(t, "pylon.yaml", plain, "kustomize build", decode(t, out))
		apply(ctx, t, env, filepath.Join(root, "deploy", "kustomize"), true)
	})
	t.Run("ChartDefaultsArePylonYAML", func(t *testing.T) {
		m, notes := renderChart(t, root, pylonNS, nil)
		fromChart := decode(t, m)
		checkReferences(t, fromChart, "pylon", pylonNS)
		for _, o := range fromChart {
			if o["kind"] == "CustomResourceDefinition" {
				if a, _ := o.meta()["annotations"].(map[string]any); a["helm.sh/resource-policy"] != "keep" {
					t.Errorf("chart CRD %s is not kept on uninstall", o.name())
				}
				delete(o.meta()["annotations"].(map[string]any), "helm.sh/resource-policy")
			}
			// pylon.yaml, which kubectl manages, leaves out the labels
			// that say Helm does (checkReferences saw them here).
			labelSets := []any{o.meta()["labels"]}
			spec, _ := o["spec"].(map[string]any)
			if tmpl, ok := spec["template"].(map[string]any); ok {
				labelSets = append(labelSets, tmpl["metadata"].(map[string]any)["labels"])
			}
			for _, l := range labelSets {
				l, _ := l.(map[string]any)
				delete(l, "app.kubernetes.io/managed-by")
				delete(l, "helm.sh/chart")
			}
		}
		// Helm installs into a namespace it is given; pylon.yaml makes it.
		sameObjects(t, "pylon.yaml", plain, "helm template (defaults)", fromChart, "v1/Namespace")
		if !strings.Contains(notes, "pod-security.kubernetes.io/enforce=privileged") {
			t.Errorf("NOTES.txt does not say how to label the namespace:\n%s", notes)
		}
		apply(ctx, t, env, writeTemp(t, "defaults.yaml", m), true)
	})
	t.Run("PodSecurity", func(t *testing.T) { testPodSecurity(ctx, t, env, plain) })
	t.Run("ConfigurationExamples", func(t *testing.T) { testConfigurationExamples(ctx, t, env) })
	t.Run("RBAC", func(t *testing.T) { testRBAC(ctx, t, env) })
}

// apply runs kubectl apply --server-side (strict field validation, the
// default) of path, a file or a kustomize directory, and fails on an error
// or a warning.
func apply(ctx context.Context, t *testing.T, env *envtest.Env, path string, dryRun bool) {
	t.Helper()
	args := []string{"apply", "--server-side", "--field-manager=pylon-install", "--validate=strict"}
	if strings.HasSuffix(path, ".yaml") {
		args = append(args, "-f", path)
	} else {
		args = append(args, "-k", path)
	}
	if dryRun {
		args = append(args, "--dry-run=server")
	}
	out, err := env.Kubectl(ctx, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if strings.Contains(string(out), "Warning") {
		t.Errorf("kubectl %s warned:\n%s", strings.Join(args, " "), out)
	}
	t.Logf("kubectl %s:\n%s", strings.Join(args, " "), out)
}

// installMonitoringCRDs stand in for prometheus-operator's ServiceMonitor
// and PrometheusRule CRDs, with no schema: enough for the API server to
// take the chart's objects (their content is checked in checkOtherValues
// and checkMonitoring).
func installMonitoringCRDs(t *testing.T, env *envtest.Env) {
	t.Helper()
	var crds []*apiextensionsv1.CustomResourceDefinition
	for _, kind := range []string{"ServiceMonitor", "PrometheusRule"} {
		lower := strings.ToLower(kind)
		crds = append(crds, &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: lower + "s.monitoring.coreos.com"},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: "monitoring.coreos.com", Scope: apiextensionsv1.NamespaceScoped,
				Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: lower + "s", Singular: lower, Kind: kind, ListKind: kind + "List"},
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
					Name: "v1", Served: true, Storage: true,
					Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
						Type: "object", XPreserveUnknownFields: ptr.To(true),
					}},
				}},
			},
		})
	}
	if err := env.InstallCRDs(crds...); err != nil {
		t.Fatalf("monitoring CRDs: %v", err)
	}
}
