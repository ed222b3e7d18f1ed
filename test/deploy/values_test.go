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
		if ns := o.namespace(); ns != "" && ns != otherNS && o.key() != "v1/ConfigMap "+dashboardNS+"/"+otherName+"-grafana-dashboard" {
			t.Errorf("%s is not in the release namespace %s", o.key(), otherNS)
		}
	}
	ctrl := find(t, objs, "apps/v1/Deployment", otherName+"-controller")
	spk := find(t, objs, "apps/v1/DaemonSet", otherName+"-speaker")
	if r := ctrl["spec"].(map[string]any)["replicas"]; r != float64(3) {
		t.Errorf("controller replicas %v, want 3", r)
	}
	for _, c := range []struct {
		o                    object
		image, args, lastArg string
		nodeSel              map[string]any
		priority, nodeLabel  string
		annotation, env      string
	}{
		{ctrl, "registry.example/pylon/controller:v9.9.9", "--load-balancer-class=example.com/pylon --zap-log-level=debug --memberlist-key-secret=lab-keys --metrics-secure=false", "--workers=16",
			map[string]any{"node-role.kubernetes.io/control-plane": "", "kubernetes.io/os": "linux"},
			"system-cluster-critical", "pylonlb.io/controller", "example.com/controller", "GOMAXPROCS"},
		{spk, "registry.example/pylon/speaker:v9.9.9", "--load-balancer-class=example.com/pylon --zap-log-level=debug --memberlist-key-secret=lab-keys --metrics-secure=false --memberlist-port=17946 --bgp=false", "--handoff-delay=2s",
			map[string]any{"pylonlb.io/speaker": "true", "kubernetes.io/os": "linux"},
			"pylon-speakers", "pylonlb.io/speaker-zone", "example.com/speaker", "GOMEMLIMIT"},
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
		// extraArgs come last, so that they win over the chart's.
		if args[len(args)-1] != c.lastArg {
			t.Errorf("%s: args %v do not end in extraArgs %s", c.o.key(), args, c.lastArg)
		}
		// Helm merges maps: the default kubernetes.io/os stays unless set to null.
		if !reflect.DeepEqual(spec["nodeSelector"], c.nodeSel) {
			t.Errorf("%s: nodeSelector %v", c.o.key(), spec["nodeSelector"])
		}
		if spec["priorityClassName"] != c.priority {
			t.Errorf("%s: priorityClassName %v, want %s", c.o.key(), spec["priorityClassName"], c.priority)
		}
		if ps := spec["imagePullSecrets"]; !reflect.DeepEqual(ps, []any{map[string]any{"name": "registry-creds"}}) {
			t.Errorf("%s: imagePullSecrets %v", c.o.key(), ps)
		}
		// The controller's default podAntiAffinity is dropped by null.
		if want := map[string]any{"nodeAffinity": nodeAffinity(c.nodeLabel)}; !reflect.DeepEqual(spec["affinity"], want) {
			t.Errorf("%s: affinity %v, want %v", c.o.key(), spec["affinity"], want)
		}
		tmeta := c.o["spec"].(map[string]any)["template"].(map[string]any)["metadata"].(map[string]any)
		if a, _ := tmeta["annotations"].(map[string]any); a[c.annotation] != "yes" {
			t.Errorf("%s: pod annotations %v lack %s", c.o.key(), tmeta["annotations"], c.annotation)
		}
		var envs []string
		for _, e := range ctr["env"].([]any) {
			envs = append(envs, e.(map[string]any)["name"].(string))
		}
		if !slices.Contains(envs, c.env) || !slices.Contains(envs, "POD_NAMESPACE") {
			t.Errorf("%s: env %v lacks %s or POD_NAMESPACE", c.o.key(), envs, c.env)
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
	find(t, objs, "policy/v1/PodDisruptionBudget", otherName+"-controller")
	sm := find(t, objs, "monitoring.coreos.com/v1/ServiceMonitor", otherName)
	if l := sm.meta()["labels"].(map[string]any); l["release"] != "prom" {
		t.Errorf("ServiceMonitor labels %v lack additionalLabels", l)
	}
	ep := sm["spec"].(map[string]any)["endpoints"].([]any)[0].(map[string]any)
	if ep["scheme"] != "http" || ep["interval"] != "15s" {
		t.Errorf("ServiceMonitor endpoint %v", ep)
	}
	sv := nonDefaults()["metrics"].(map[string]any)["serviceMonitor"].(map[string]any)
	if !reflect.DeepEqual(ep["relabelings"], sv["relabelings"]) || !reflect.DeepEqual(ep["metricRelabelings"], sv["metricRelabelings"]) {
		t.Errorf("ServiceMonitor endpoint relabelings %v, metricRelabelings %v", ep["relabelings"], ep["metricRelabelings"])
	}
	checkMonitoring(t, objs, otherName)
	vap := find(t, objs, "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy", otherName+"-speaker-own-speakerstatus")
	mc := vap["spec"].(map[string]any)["matchConditions"].([]any)[0].(map[string]any)["expression"].(string)
	if !strings.Contains(mc, "system:serviceaccount:"+otherNS+":"+otherName+"-speaker'") {
		t.Errorf("the admission policy does not name the release namespace's speaker: %s", mc)
	}
	crb := find(t, objs, "rbac.authorization.k8s.io/v1/ClusterRoleBinding", otherName+"-speaker")
	if s := crb["subjects"].([]any)[0].(map[string]any); s["namespace"] != otherNS {
		t.Errorf("ClusterRoleBinding subject %v", s)
	}
	reader := find(t, objs, "rbac.authorization.k8s.io/v1/ClusterRoleBinding", otherName+"-metrics-reader")
	want := []any{map[string]any{"kind": "ServiceAccount", "name": "prometheus-k8s", "namespace": "monitoring"}}
	if !reflect.DeepEqual(reader["subjects"], want) || reader["roleRef"].(map[string]any)["name"] != otherName+"-metrics-reader" {
		t.Errorf("metrics reader binding: roleRef %v subjects %v", reader["roleRef"], reader["subjects"])
	}
	checkReferences(t, objs, otherName, otherNS)
}
