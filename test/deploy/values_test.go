package deploy

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// checkOtherValues checks that every non-default value reached the
// objects it is meant for.
func checkOtherValues(t *testing.T, objs []object) {
	t.Helper()
	for _, o := range objs {
		if o["kind"] == "CustomResourceDefinition" {
			t.Errorf("crds.install=false, yet the chart renders %s", o.key())
		}
		if ns := o.namespace(); ns != "" && ns != otherNS && o.key() != "v1/ConfigMap "+dashboardNS+"/pylon-grafana-dashboard" {
			t.Errorf("%s is not in the release namespace %s", o.key(), otherNS)
		}
	}
	ctrl := find(t, objs, "apps/v1/Deployment", "pylon-controller")
	spk := find(t, objs, "apps/v1/DaemonSet", "pylon-speaker")
	if r := ctrl["spec"].(map[string]any)["replicas"]; r != float64(3) {
		t.Errorf("controller replicas %v, want 3", r)
	}
	for _, c := range []struct {
		o           object
		image, args string
		nodeSel     map[string]any
	}{
		{ctrl, "registry.example/pylon/controller:v9.9.9", "--load-balancer-class=example.com/pylon --zap-log-level=debug --memberlist-key-secret=lab-keys --metrics-secure=false",
			map[string]any{"node-role.kubernetes.io/control-plane": "", "kubernetes.io/os": "linux"}},
		{spk, "registry.example/pylon/speaker:v9.9.9", "--load-balancer-class=example.com/pylon --zap-log-level=debug --memberlist-key-secret=lab-keys --metrics-secure=false --memberlist-port=17946 --bgp=false",
			map[string]any{"pylonlb.io/speaker": "true", "kubernetes.io/os": "linux"}},
	} {
		spec := podSpec(t, c.o)
		ctr := spec["containers"].([]any)[0].(map[string]any)
		if ctr["image"] != c.image || ctr["imagePullPolicy"] != "Always" {
			t.Errorf("%s: image %v %v", c.o.key(), ctr["image"], ctr["imagePullPolicy"])
		}
		args := containerArgs(t, c.o)
		for _, a := range strings.Fields(c.args) {
			if !slices.Contains(args, a) {
				t.Errorf("%s: args %v lack %s", c.o.key(), args, a)
			}
		}
		// Helm merges maps: the default kubernetes.io/os stays unless set to null.
		if !reflect.DeepEqual(spec["nodeSelector"], c.nodeSel) {
			t.Errorf("%s: nodeSelector %v", c.o.key(), spec["nodeSelector"])
		}
	}
	sctr := podSpec(t, spk)["containers"].([]any)[0].(map[string]any)
	if caps := sctr["securityContext"].(map[string]any)["capabilities"].(map[string]any); caps["add"] != nil {
		t.Errorf("layer2.enabled=false, yet the speaker adds %v", caps["add"])
	}
	for _, p := range sctr["ports"].([]any) {
		p := p.(map[string]any)
		if strings.HasPrefix(p["name"].(string), "memberlist") && p["containerPort"] != float64(17946) {
			t.Errorf("speaker port %v", p)
		}
	}
	if lim := sctr["resources"].(map[string]any)["limits"].(map[string]any)["memory"]; lim != "128Mi" {
		t.Errorf("speaker resources %v", sctr["resources"])
	}
	if tol := podSpec(t, spk)["tolerations"]; !reflect.DeepEqual(tol, []any{map[string]any{"operator": "Exists"}}) {
		t.Errorf("speaker tolerations %v", tol)
	}
	find(t, objs, "policy/v1/PodDisruptionBudget", "pylon-controller")
	sm := find(t, objs, "monitoring.coreos.com/v1/ServiceMonitor", "pylon")
	ep := sm["spec"].(map[string]any)["endpoints"].([]any)[0].(map[string]any)
	if ep["scheme"] != "http" || ep["interval"] != "15s" {
		t.Errorf("ServiceMonitor endpoint %v", ep)
	}
	checkMonitoring(t, objs)
	vap := find(t, objs, "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy", "pylon-speaker-own-speakerstatus")
	mc := vap["spec"].(map[string]any)["matchConditions"].([]any)[0].(map[string]any)["expression"].(string)
	if !strings.Contains(mc, "system:serviceaccount:"+otherNS+":pylon-speaker") {
		t.Errorf("the admission policy does not name the release namespace's speaker: %s", mc)
	}
	crb := find(t, objs, "rbac.authorization.k8s.io/v1/ClusterRoleBinding", "pylon-speaker")
	if s := crb["subjects"].([]any)[0].(map[string]any); s["namespace"] != otherNS {
		t.Errorf("ClusterRoleBinding subject %v", s)
	}
}
