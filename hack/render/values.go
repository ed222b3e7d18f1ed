package main

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Release is the version the manifests install: the images' tag (with a
// leading v) and the chart's version.
const Release = "0.1.0"

// Values are the chart's values. Defaults() is both the chart's
// values.yaml and what the plain manifests are rendered from. The yaml
// names are the chart's value paths; comments for values.yaml are in
// valueDocs.
type Values struct {
	Image             ImageValues      `json:"image"`
	LoadBalancerClass string           `json:"loadBalancerClass"`
	LogLevel          string           `json:"logLevel"`
	CRDs              CRDValues        `json:"crds"`
	Memberlist        MemberlistValues `json:"memberlist"`
	Layer2            Layer2Values     `json:"layer2"`
	BGP               BGPValues        `json:"bgp"`
	Metrics           MetricsValues    `json:"metrics"`
	Controller        ControllerValues `json:"controller"`
	Speaker           SpeakerValues    `json:"speaker"`
}

// ImageValues name the two images.
type ImageValues struct {
	Controller string `json:"controller"`
	Speaker    string `json:"speaker"`
	// Tag is both images' tag; empty means the chart's appVersion.
	Tag        string            `json:"tag"`
	PullPolicy corev1.PullPolicy `json:"pullPolicy"`
}

// CRDValues: whether the chart installs (and upgrades) the CRDs.
type CRDValues struct {
	Install bool `json:"install"`
}

// MemberlistValues configure the speakers' membership protocol.
type MemberlistValues struct {
	Port          int32  `json:"port"`
	KeySecretName string `json:"keySecretName"`
}

// Layer2Values: layer-2 mode needs raw sockets (NET_RAW).
type Layer2Values struct {
	Enabled bool `json:"enabled"`
}

// BGPValues: the speaker's embedded BGP speaker (--bgp).
type BGPValues struct {
	Enabled bool `json:"enabled"`
}

// MetricsValues configure both components' Prometheus endpoints.
type MetricsValues struct {
	Enabled        bool                 `json:"enabled"`
	Secure         bool                 `json:"secure"`
	ServiceMonitor ServiceMonitorValues `json:"serviceMonitor"`
}

// ServiceMonitorValues: a prometheus-operator ServiceMonitor for both.
type ServiceMonitorValues struct {
	Enabled  bool   `json:"enabled"`
	Interval string `json:"interval"`
}

// ControllerValues configure the controller Deployment.
type ControllerValues struct {
	Replicas     int32                       `json:"replicas"`
	Resources    corev1.ResourceRequirements `json:"resources"`
	NodeSelector map[string]string           `json:"nodeSelector"`
	Tolerations  []corev1.Toleration         `json:"tolerations"`
}

// SpeakerValues configure the speaker DaemonSet.
type SpeakerValues struct {
	Resources    corev1.ResourceRequirements `json:"resources"`
	NodeSelector map[string]string           `json:"nodeSelector"`
	Tolerations  []corev1.Toleration         `json:"tolerations"`
}

// Defaults are the chart's default values and the plain manifests' settings.
func Defaults() Values {
	res := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
	}
	return Values{
		Image: ImageValues{
			Controller: "ghcr.io/pylonlb/pylon-controller",
			Speaker:    "ghcr.io/pylonlb/pylon-speaker",
			PullPolicy: corev1.PullIfNotPresent,
		},
		LogLevel:   "info",
		CRDs:       CRDValues{Install: true},
		Memberlist: MemberlistValues{Port: 7946, KeySecretName: "pylon-memberlist"},
		Layer2:     Layer2Values{Enabled: true},
		BGP:        BGPValues{Enabled: true},
		Metrics:    MetricsValues{Enabled: true, Secure: true, ServiceMonitor: ServiceMonitorValues{Interval: "30s"}},
		Controller: ControllerValues{Replicas: 2, Resources: res, NodeSelector: map[string]string{corev1.LabelOSStable: "linux"}, Tolerations: []corev1.Toleration{}},
		Speaker: SpeakerValues{
			Resources:    *res.DeepCopy(),
			NodeSelector: map[string]string{corev1.LabelOSStable: "linux"},
			Tolerations: []corev1.Toleration{{
				Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule,
			}},
		},
	}
}

// valueDocs are values.yaml's comments, by value path.
func valueDocs() map[string]string {
	return map[string]string{
		"image":                           "The two images, built by the Dockerfile at the repository's root.",
		"image.tag":                       "Tag of both images; empty: the chart's appVersion.",
		"image.pullPolicy":                "Always, IfNotPresent or Never.",
		"loadBalancerClass":               "Serve Services of this spec.loadBalancerClass only; empty: Services that set no class.",
		"logLevel":                        "debug, info or error (zap levels; a number n also logs V(n)).",
		"crds":                            "Install and upgrade pylon's CRDs with the chart. They are kept on uninstall\n(helm.sh/resource-policy: keep): deleting them would delete every IPPool.",
		"memberlist":                      "Speakers find each other and agree on live nodes with memberlist.",
		"memberlist.port":                 "TCP and UDP on every node (host network); open it between nodes.",
		"memberlist.keySecretName":        "Secret with the encryption keys; the controller creates it when missing.",
		"layer2":                          "Layer-2 mode (ARP/NDP) needs the NET_RAW capability; a BGP-only cluster can\nturn it off, and the speaker then runs with no capability at all.",
		"bgp":                             "The speaker's embedded BGP speaker (--bgp), configured by BGPPeer and\nBGPAdvertisement. It dials out to port 179 and never listens: no capability.",
		"metrics":                         "Prometheus metrics: controller :8080, speaker :7472 (host network).",
		"metrics.enabled":                 "Serve metrics and create the metrics Services.",
		"metrics.secure":                  "HTTPS; a scraper needs a token whose identity may get /metrics\n(bind the ClusterRole pylon-metrics-reader to it).",
		"metrics.serviceMonitor":          "A prometheus-operator ServiceMonitor for both (needs its CRD).",
		"metrics.serviceMonitor.interval": "Scrape interval.",
		"controller":                      "The controller Deployment: one leader works, the others stand by.",
		"controller.replicas":             "With 2 or more, a PodDisruptionBudget keeps one up through drains.",
		"controller.resources":            "Measured peak: about 90 MiB with 5,000 Services (docs/benchmarks.md).",
		"speaker":                         "The speaker DaemonSet: one per node, host network.",
		"speaker.nodeSelector":            "Nodes that run a speaker; only they can announce addresses.",
		"speaker.tolerations":             "Control-plane nodes run a speaker too, so they may own addresses.",
	}
}
