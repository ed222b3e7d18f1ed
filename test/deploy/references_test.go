package deploy

import (
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"

	"github.com/pylonlb/pylon/test/chart"
)

// TestChartNames renders the chart with its default names and with a
// fullnameOverride, and checks that every object is named after it and
// that every reference between objects holds (checkReferences); the
// default names are pylon.yaml's, which upgrades must keep.
func TestChartNames(t *testing.T) {
	root := filepath.Join("..", "..")
	for _, c := range []struct {
		fullname string
		vals     map[string]any
	}{
		{"pylon", nil},
		{"edge-lb", map[string]any{"fullnameOverride": "edge-lb"}},
	} {
		t.Run(c.fullname, func(t *testing.T) {
			m, notes := renderChart(t, root, otherNS, c.vals)
			objs := decode(t, m)
			checkReferences(t, objs, c.fullname, otherNS)
			for _, o := range []object{
				find(t, objs, "apps/v1/Deployment", c.fullname+"-controller"),
				find(t, objs, "apps/v1/DaemonSet", c.fullname+"-speaker"),
			} {
				if a := "--memberlist-key-secret=" + c.fullname + "-memberlist"; !slices.Contains(containerArgs(t, o), a) {
					t.Errorf("%s: args %v lack %s", o.key(), containerArgs(t, o), a)
				}
			}
			for _, want := range []string{"kubectl get ippools.pylonlb.io", "kubectl get pylon\n", "ClusterRole\n" + c.fullname + "-metrics-reader"} {
				if !strings.Contains(notes, want) {
					t.Errorf("NOTES.txt lacks %q:\n%s", want, notes)
				}
			}
		})
	}
}

// checkReferences checks what every rendering of the chart must hold:
// every object and pod template carries the recommended labels and Helm's;
// every object but the CRDs is named fullname or fullname-…; each
// workload's selector is the fixed pair (name pylon, its component) that
// upgrades cannot change, and its ServiceAccount is rendered; the
// PodDisruptionBudget and the Services select a workload's pods and the
// ServiceMonitor the Services; bindings name rendered roles and
// ServiceAccounts of namespace ns (but the metrics reader's, which names
// Prometheus's); the admission policy names the speaker's ServiceAccount
// and its binding the policy; and both components use one key Secret.
func checkReferences(t *testing.T, objs []object, fullname, ns string) {
	t.Helper()
	meta, err := chartutil.LoadChartfile(filepath.Join(chartFiles, "..", "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	common := map[string]any{
		"app.kubernetes.io/name":       "pylon",
		"app.kubernetes.io/instance":   chart.Release,
		"app.kubernetes.io/version":    meta.AppVersion,
		"app.kubernetes.io/managed-by": "Helm",
		"helm.sh/chart":                meta.Name + "-" + meta.Version,
	}
	labelled := func(what string, labels map[string]any, component bool) {
		for k, v := range common {
			if labels[k] != v {
				t.Errorf("%s: label %s is %v, want %v", what, k, labels[k], v)
			}
		}
		if c, _ := labels["app.kubernetes.io/component"].(string); component && c == "" {
			t.Errorf("%s has no app.kubernetes.io/component label", what)
		}
	}
	byName := map[string]object{}
	var workloads []object
	for _, o := range objs {
		byName[o.kind()+" "+o.name()] = o
		labels, _ := o.meta()["labels"].(map[string]any)
		crd := o["kind"] == "CustomResourceDefinition"
		labelled(o.key(), labels, !crd)
		if n := o.name(); !crd && n != fullname && !strings.HasPrefix(n, fullname+"-") {
			t.Errorf("%s is not named after %s", o.key(), fullname)
		}
		if o["kind"] == "Deployment" || o["kind"] == "DaemonSet" {
			workloads = append(workloads, o)
		}
	}
	has := func(kind, name string) bool { _, ok := byName[kind+" "+name]; return ok }
	if len(workloads) != 2 {
		t.Fatalf("%d workloads rendered, want the controller and the speaker", len(workloads))
	}

	podLabels := map[string]map[string]any{} // by workload key
	for _, w := range workloads {
		tmpl := w["spec"].(map[string]any)["template"].(map[string]any)
		tl, _ := tmpl["metadata"].(map[string]any)["labels"].(map[string]any)
		labelled(w.key()+" pod template", tl, true)
		podLabels[w.key()] = tl
		component := w.meta()["labels"].(map[string]any)["app.kubernetes.io/component"]
		sel := w["spec"].(map[string]any)["selector"].(map[string]any)["matchLabels"]
		if want := map[string]any{"app.kubernetes.io/name": "pylon", "app.kubernetes.io/component": component}; !reflect.DeepEqual(sel, want) {
			t.Errorf("%s: selector %v, want %v (a selector cannot change on upgrade)", w.key(), sel, want)
		}
		if !selects(sel, tl) {
			t.Errorf("%s: selector %v does not select its pod template's labels %v", w.key(), sel, tl)
		}
		if sa := podSpec(t, w)["serviceAccountName"]; !has("v1/ServiceAccount", fmt.Sprint(sa)) {
			t.Errorf("%s runs as ServiceAccount %v, which is not rendered", w.key(), sa)
		}
	}
	selectsOnePod := func(what string, sel any) {
		n := 0
		for _, l := range podLabels {
			if selects(sel, l) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: selector %v selects the pods of %d workloads, want 1", what, sel, n)
		}
	}

	var metricsServices []object
	for _, o := range objs {
		spec, _ := o["spec"].(map[string]any)
		switch o["kind"] {
		case "PodDisruptionBudget":
			selectsOnePod(o.key(), spec["selector"].(map[string]any)["matchLabels"])
		case "Service":
			selectsOnePod(o.key(), spec["selector"])
			metricsServices = append(metricsServices, o)
		case "RoleBinding", "ClusterRoleBinding":
			ref := o["roleRef"].(map[string]any)
			if !has("rbac.authorization.k8s.io/v1/"+ref["kind"].(string), ref["name"].(string)) {
				t.Errorf("%s binds %s %s, which is not rendered", o.key(), ref["kind"], ref["name"])
			}
			for _, s := range o["subjects"].([]any) {
				s := s.(map[string]any)
				switch {
				case o.name() == fullname+"-metrics-reader":
					// Prometheus's ServiceAccount, wherever it runs.
				case s["kind"] != "ServiceAccount" || s["namespace"] != ns || !has("v1/ServiceAccount", s["name"].(string)):
					t.Errorf("%s: subject %v is not a rendered ServiceAccount of %s", o.key(), s, ns)
				}
			}
		case "ValidatingAdmissionPolicy":
			spk := byName["apps/v1/DaemonSet "+fullname+"-speaker"]
			if spk == nil {
				t.Fatalf("no speaker DaemonSet %s-speaker", fullname)
			}
			user := fmt.Sprintf("'system:serviceaccount:%s:%s'", ns, podSpec(t, spk)["serviceAccountName"])
			mc := spec["matchConditions"].([]any)[0].(map[string]any)["expression"].(string)
			if !strings.Contains(mc, user) {
				t.Errorf("%s: matchCondition %q does not name the speaker %s", o.key(), mc, user)
			}
		case "ValidatingAdmissionPolicyBinding":
			if p := spec["policyName"].(string); !has("admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy", p) {
				t.Errorf("%s binds policy %s, which is not rendered", o.key(), p)
			}
		}
	}
	for _, o := range objs {
		if o["kind"] != "ServiceMonitor" {
			continue
		}
		sel := o["spec"].(map[string]any)["selector"].(map[string]any)["matchLabels"]
		for _, s := range metricsServices {
			if !selects(sel, s.meta()["labels"].(map[string]any)) {
				t.Errorf("%s: selector %v misses %s", o.key(), sel, s.key())
			}
		}
	}
	var keys []string
	for _, w := range workloads {
		for _, a := range containerArgs(t, w) {
			if strings.HasPrefix(a, "--memberlist-key-secret=") {
				keys = append(keys, a)
			}
		}
	}
	if len(keys) != 2 || keys[0] != keys[1] {
		t.Errorf("the components' key Secrets: %v, want one, the same", keys)
	}
}

// selects reports whether the matchLabels sel (non-empty) are all among
// labels.
func selects(sel any, labels map[string]any) bool {
	m, _ := sel.(map[string]any)
	if len(m) == 0 {
		return false
	}
	for k, v := range m {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// TestChartRefusesBadValues checks that values.schema.json refuses values
// of the wrong type, outside their enum or range, or unknown (a misspelt
// key would otherwise be ignored), as `helm install` and `helm template`
// do (the Helm SDK's rendering validates against it) and `helm lint` does.
func TestChartRefusesBadValues(t *testing.T) {
	dir := filepath.Join("..", "..", chart.Dir)
	kv, err := chartutil.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		vals map[string]any
		want string // the path the error names
	}{
		"pullPolicy not in its enum":     {map[string]any{"image": map[string]any{"pullPolicy": "Sometimes"}}, "/image/pullPolicy"},
		"port as a string":               {map[string]any{"memberlist": map[string]any{"port": "7946"}}, "/memberlist/port"},
		"port out of range":              {map[string]any{"memberlist": map[string]any{"port": 70000}}, "/memberlist/port"},
		"boolean as a string":            {map[string]any{"layer2": map[string]any{"enabled": "yes"}}, "/layer2/enabled"},
		"negative replicas":              {map[string]any{"controller": map[string]any{"replicas": -1}}, "/controller/replicas"},
		"misspelt key":                   {map[string]any{"speaker": map[string]any{"nodeselector": map[string]any{"a": "b"}}}, "nodeselector"},
		"unknown top-level key":          {map[string]any{"replicas": 3}, "replicas"},
		"log level not a level":          {map[string]any{"logLevel": "verbose"}, "/logLevel"},
		"fullname not a DNS label":       {map[string]any{"fullnameOverride": "Edge_LB"}, "/fullnameOverride"},
		"fullname too long":              {map[string]any{"fullnameOverride": strings.Repeat("a", 41)}, "/fullnameOverride"},
		"pull secret as a string":        {map[string]any{"imagePullSecrets": []any{"registry-creds"}}, "/imagePullSecrets/0"},
		"extra arg that is no flag":      {map[string]any{"speaker": map[string]any{"extraArgs": []any{"handoff-delay=2s"}}}, "/speaker/extraArgs/0"},
		"extra env without a name":       {map[string]any{"controller": map[string]any{"extraEnv": []any{map[string]any{"value": "2"}}}}, "/controller/extraEnv/0"},
		"interval not a duration":        {map[string]any{"metrics": map[string]any{"serviceMonitor": map[string]any{"interval": "30 seconds"}}}, "/metrics/serviceMonitor/interval"},
		"label value not a string":       {map[string]any{"metrics": map[string]any{"serviceMonitor": map[string]any{"additionalLabels": map[string]any{"release": 1}}}}, "additionalLabels"},
		"reader binding without account": {map[string]any{"metrics": map[string]any{"readerBinding": map[string]any{"enabled": true}}}, "/metrics/readerBinding/serviceAccount"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := chart.Render(dir, otherNS, c.vals, kubeVersion)
			if err == nil || !strings.Contains(err.Error(), "values don't meet the specifications of the schema") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("render = %v; want the schema to refuse %s", err, c.want)
			}
			t.Logf("render: %v", err)
			var lintErrs []string
			for _, m := range lint.AllWithKubeVersion(dir, c.vals, otherNS, kv).Messages {
				if m.Severity >= support.ErrorSev {
					lintErrs = append(lintErrs, m.Error())
				}
			}
			if !strings.Contains(strings.Join(lintErrs, "\n"), c.want) {
				t.Errorf("helm lint does not refuse %s: %q", c.want, lintErrs)
			}
		})
	}
	// Every value nonDefaults sets, and the defaults, pass.
	for _, vals := range []map[string]any{nil, nonDefaults(), minimal()} {
		if _, err := chart.Render(dir, otherNS, vals, kubeVersion); err != nil {
			t.Errorf("render %v: %v", vals, err)
		}
	}
}
