package main

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Ports the manifests use; the commands' flag defaults, passed explicitly.
const (
	controllerMetricsPort = 8080
	controllerHealthPort  = 8081
	speakerMetricsPort    = 7472
	speakerHealthPort     = 7473
	// nonRootUID is the distroless "nonroot" user the images run as.
	nonRootUID = 65532
)

func ptr[T any](v T) *T { return &v }

// image is a component's image reference.
func image(t *tpl, repo, valuePath string) string {
	return t.str(fmt.Sprintf("%s:v%s", repo, Release),
		fmt.Sprintf(`{{ printf "%%s:%%s" %s (.Values.image.tag | default .Chart.AppVersion) | quote }}`, valuePath))
}

// commonArgs are the flags both commands take alike.
func commonArgs(v Values, metricsPort, healthPort int) []opt {
	return []opt{
		{value: fmt.Sprintf("--health-probe-bind-address=:%d", healthPort)},
		{value: "--metrics-bind-address=" + metricsAddr(v.Metrics.Enabled, metricsPort),
			text: fmt.Sprintf(`{{ printf "--metrics-bind-address=%%s" (ternary ":%d" "0" .Values.metrics.enabled) | quote }}`, metricsPort)},
		{value: fmt.Sprintf("--metrics-secure=%t", v.Metrics.Secure), text: `{{ printf "--metrics-secure=%t" .Values.metrics.secure | quote }}`},
		{value: "--memberlist-key-secret=" + v.Memberlist.KeySecretName, text: `{{ printf "--memberlist-key-secret=%s" .Values.memberlist.keySecretName | quote }}`},
		{value: "--zap-log-level=" + v.LogLevel, text: `{{ printf "--zap-log-level=%v" .Values.logLevel | quote }}`},
		{value: "--load-balancer-class=" + v.LoadBalancerClass, on: v.LoadBalancerClass != "", cond: ".Values.loadBalancerClass",
			text: `{{ printf "--load-balancer-class=%s" .Values.loadBalancerClass | quote }}`},
	}
}

func metricsAddr(on bool, port int) string {
	if !on {
		return "0"
	}
	return fmt.Sprintf(":%d", port)
}

// probes are the liveness and readiness probes on the named health port.
func probes(c *corev1.Container) {
	get := func(path string) corev1.ProbeHandler {
		return corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("healthz")}}
	}
	c.LivenessProbe = &corev1.Probe{ProbeHandler: get("/healthz"), InitialDelaySeconds: 10, PeriodSeconds: 10, FailureThreshold: 3}
	c.ReadinessProbe = &corev1.Probe{ProbeHandler: get("/readyz"), PeriodSeconds: 5, FailureThreshold: 3}
}

// namespaceEnv tells a command its namespace (its --namespace default).
func namespaceEnv() corev1.EnvVar {
	return corev1.EnvVar{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}
}

// controllerDeployment runs the controller: replicas with leader election,
// non-root, read-only root filesystem, no capabilities, seccomp
// RuntimeDefault (Pod Security "restricted"), spread over nodes.
func controllerDeployment(t *tpl, v Values) doc {
	c := corev1.Container{
		Name:            "controller",
		Image:           image(t, v.Image.Controller, ".Values.image.controller"),
		ImagePullPolicy: corev1.PullPolicy(t.str(string(v.Image.PullPolicy), "{{ .Values.image.pullPolicy | quote }}")),
		Args:            t.items(append([]opt{{value: "--leader-elect"}}, commonArgs(v, controllerMetricsPort, controllerHealthPort)...)...),
		Env:             []corev1.EnvVar{namespaceEnv()},
		Ports: []corev1.ContainerPort{
			{Name: "metrics", ContainerPort: controllerMetricsPort, Protocol: corev1.ProtocolTCP},
			{Name: "healthz", ContainerPort: controllerHealthPort, Protocol: corev1.ProtocolTCP},
		},
		Resources: v.Controller.Resources,
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr(false),
			ReadOnlyRootFilesystem:   ptr(true),
			RunAsNonRoot:             ptr(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
	}
	probes(&c)
	sel := labels("controller")
	d := &appsv1.Deployment{
		ObjectMeta: t.meta(controllerName, "controller"),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(t.num(v.Controller.Replicas, "{{ .Values.controller.replicas }}")),
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels("controller")},
				Spec: corev1.PodSpec{
					ServiceAccountName: controllerName,
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr(true),
						RunAsUser:      ptr(int64(nonRootUID)),
						RunAsGroup:     ptr(int64(nonRootUID)),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers:   []corev1.Container{c},
					NodeSelector: v.Controller.NodeSelector,
					Tolerations:  v.Controller.Tolerations,
					Affinity: &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
						PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
							Weight: 100,
							PodAffinityTerm: corev1.PodAffinityTerm{
								LabelSelector: &metav1.LabelSelector{MatchLabels: sel},
								TopologyKey:   corev1.LabelHostname,
							},
						}},
					}},
				},
			},
		},
	}
	d.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind("Deployment"))
	return doc{obj: d, blocks: []blockAt{
		{"spec.template.spec.containers[0].resources", ".Values.controller.resources"},
		{"spec.template.spec.nodeSelector", ".Values.controller.nodeSelector"},
		{"spec.template.spec.tolerations", ".Values.controller.tolerations"},
	}}
}

// controllerPDB keeps one controller up through voluntary disruptions; a
// single replica gets none (it would block every drain).
func controllerPDB(t *tpl, v Values) doc {
	p := &policyv1.PodDisruptionBudget{
		ObjectMeta: t.meta(controllerName, "controller"),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: ptr(intstr.FromInt32(1)),
			Selector:     &metav1.LabelSelector{MatchLabels: labels("controller")},
		},
	}
	p.SetGroupVersionKind(policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"))
	return doc{obj: p, on: v.Controller.Replicas > 1, cond: "gt (int .Values.controller.replicas) 1"}
}

// speakerDaemonSet runs a speaker on every selected node: host network (it
// answers ARP/NDP and speaks BGP as the node), NET_RAW only (raw ARP and
// ICMPv6 sockets; BGP dials out and needs nothing), read-only root
// filesystem, never privileged. It runs as UID 0 because Kubernetes grants
// added capabilities to root only (no ambient capabilities for non-root
// users); every other capability is dropped and privilege escalation is
// off.
func speakerDaemonSet(t *tpl, v Values) doc {
	caps := &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}
	for _, c := range t.items(opt{value: "NET_RAW", on: v.Layer2.Enabled, cond: ".Values.layer2.enabled"}) {
		caps.Add = append(caps.Add, corev1.Capability(c))
	}
	port := func() int32 { return t.num(v.Memberlist.Port, "{{ .Values.memberlist.port }}") }
	c := corev1.Container{
		Name:            "speaker",
		Image:           image(t, v.Image.Speaker, ".Values.image.speaker"),
		ImagePullPolicy: corev1.PullPolicy(t.str(string(v.Image.PullPolicy), "{{ .Values.image.pullPolicy | quote }}")),
		Args: t.items(append(commonArgs(v, speakerMetricsPort, speakerHealthPort),
			opt{value: fmt.Sprintf("--memberlist-port=%d", v.Memberlist.Port), text: `{{ printf "--memberlist-port=%v" .Values.memberlist.port | quote }}`},
			opt{value: fmt.Sprintf("--bgp=%t", v.BGP.Enabled), text: `{{ printf "--bgp=%t" .Values.bgp.enabled | quote }}`})...),
		Env: []corev1.EnvVar{
			{Name: "NODE_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
			namespaceEnv(),
		},
		Ports: []corev1.ContainerPort{
			{Name: "memberlist-tcp", ContainerPort: port(), Protocol: corev1.ProtocolTCP},
			{Name: "memberlist-udp", ContainerPort: port(), Protocol: corev1.ProtocolUDP},
			{Name: "metrics", ContainerPort: speakerMetricsPort, Protocol: corev1.ProtocolTCP},
			{Name: "healthz", ContainerPort: speakerHealthPort, Protocol: corev1.ProtocolTCP},
		},
		Resources: v.Speaker.Resources,
		SecurityContext: &corev1.SecurityContext{
			Privileged:               ptr(false),
			AllowPrivilegeEscalation: ptr(false),
			ReadOnlyRootFilesystem:   ptr(true),
			RunAsUser:                ptr(int64(0)),
			RunAsNonRoot:             ptr(false),
			Capabilities:             caps,
		},
	}
	probes(&c)
	d := &appsv1.DaemonSet{
		ObjectMeta: t.meta(speakerName, "speaker"),
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels("speaker")},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{
				Type:          appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr(intstr.FromInt32(1))},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels("speaker")},
				Spec: corev1.PodSpec{
					ServiceAccountName: speakerName,
					HostNetwork:        true,
					DNSPolicy:          corev1.DNSClusterFirstWithHostNet,
					// The speaker hands its addresses over on SIGTERM within
					// --handoff-delay (1 s) and a memberlist leave (1 s).
					TerminationGracePeriodSeconds: ptr(int64(30)),
					SecurityContext: &corev1.PodSecurityContext{
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers:   []corev1.Container{c},
					NodeSelector: v.Speaker.NodeSelector,
					Tolerations:  v.Speaker.Tolerations,
				},
			},
		},
	}
	d.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind("DaemonSet"))
	return doc{obj: d, blocks: []blockAt{
		{"spec.template.spec.containers[0].resources", ".Values.speaker.resources"},
		{"spec.template.spec.nodeSelector", ".Values.speaker.nodeSelector"},
		{"spec.template.spec.tolerations", ".Values.speaker.tolerations"},
	}}
}

// metricsService gives a component's metrics endpoints a stable name for
// scrapers; the speaker's is headless (one endpoint per node).
func metricsService(t *tpl, v Values, component string, port int32, headless bool) doc {
	s := &corev1.Service{
		ObjectMeta: t.meta("pylon-"+component+"-metrics", component),
		Spec: corev1.ServiceSpec{
			Selector: labels(component),
			Ports:    []corev1.ServicePort{{Name: "metrics", Port: port, TargetPort: intstr.FromString("metrics"), Protocol: corev1.ProtocolTCP}},
		},
	}
	if headless {
		s.Spec.ClusterIP = corev1.ClusterIPNone
	}
	s.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Service"))
	return doc{obj: s, on: v.Metrics.Enabled, cond: ".Values.metrics.enabled"}
}

// serviceMonitor scrapes both metrics Services (prometheus-operator). Over
// HTTPS it presents Prometheus's own ServiceAccount token, which needs the
// ClusterRole pylon-metrics-reader; the certificate is self-signed.
func serviceMonitor(t *tpl, v Values) doc {
	scheme := "http"
	if v.Metrics.Secure {
		scheme = "https"
	}
	m := map[string]any{
		"apiVersion": "monitoring.coreos.com/v1",
		"kind":       "ServiceMonitor",
		"metadata":   map[string]any{"name": "pylon", "namespace": t.ns(), "labels": toAny(labels("metrics"))},
		"spec": map[string]any{
			"selector": map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/name": "pylon"}},
			"endpoints": []any{map[string]any{
				"port":            "metrics",
				"interval":        t.str(v.Metrics.ServiceMonitor.Interval, "{{ .Values.metrics.serviceMonitor.interval | quote }}"),
				"scheme":          t.str(scheme, `{{ ternary "https" "http" .Values.metrics.secure | quote }}`),
				"bearerTokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token",
				"tlsConfig":       map[string]any{"insecureSkipVerify": true},
			}},
		},
	}
	return doc{obj: m, on: v.Metrics.Enabled && v.Metrics.ServiceMonitor.Enabled,
		cond: "and .Values.metrics.enabled .Values.metrics.serviceMonitor.enabled"}
}

func toAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
