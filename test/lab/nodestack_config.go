package lab

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"text/template"
)

// nodeFiles are the paths of one node's stack, all under
// Dir/nodes/<node>.
type nodeFiles struct {
	Dir string
	// containerd
	ContainerdConfig, ContainerdSock, ContainerdRoot, ContainerdState, RuncRoot string
	// CNI
	CNIConfDir, CNIDataDir string
	// kubelet
	KubeletConfig, KubeletRoot, PodLogs string
	// kube-proxy
	ProxyConfig string
}

func newNodeFiles(labDir string, n *Node) nodeFiles {
	d := filepath.Join(labDir, "nodes", n.Name)
	return nodeFiles{
		Dir:              d,
		ContainerdConfig: filepath.Join(d, "containerd.toml"),
		ContainerdSock:   filepath.Join(d, "containerd.sock"),
		ContainerdRoot:   filepath.Join(d, "containerd", "root"),
		ContainerdState:  filepath.Join(d, "containerd", "state"),
		RuncRoot:         filepath.Join(d, "runc"),
		CNIConfDir:       filepath.Join(d, "cni"),
		CNIDataDir:       filepath.Join(d, "cni-ipam"),
		KubeletConfig:    filepath.Join(d, "kubelet.yaml"),
		KubeletRoot:      filepath.Join(d, "kubelet"),
		PodLogs:          filepath.Join(d, "pods"),
		ProxyConfig:      filepath.Join(d, "kube-proxy.yaml"),
	}
}

// nodeConfig is what the templates need for one node.
type nodeConfig struct {
	nodeFiles
	Node        string
	NodeIP      netip.Addr
	PodCIDR     netip.Prefix
	ClusterCIDR netip.Prefix
	PauseImage  string
	Runc        string
	CNIBinDir   string
	// KubeProxyKubeconfig is kube-proxy's (user system:kube-proxy).
	KubeProxyKubeconfig string
	// NodeLeaseSeconds is the kubelet's nodeLeaseDurationSeconds.
	NodeLeaseSeconds int
	// ProxyMode and StrictARP are NodeStack's, ProxyMode never empty.
	ProxyMode string
	StrictARP bool
}

// containerdTemplate is containerd v2's configuration (version 3) for one
// node: its own root, state, sockets and runc root; the lab's pause image;
// restrict_oom_score_adj, without which every sandbox fails here (root
// without CAP_SYS_RESOURCE cannot lower oom_score_adj: `runc create
// failed: ... can't get final child's PID from pipe: EOF`); sandbox
// network namespaces under the node's state directory rather than the
// shared /run/netns; NRI off (its socket would be shared by the nodes);
// the opt plugin's directory in the node's too. Version 3, which
// containerd v2.4 migrates with a warning: under version 4 it ignores the
// [grpc] and [ttrpc] addresses and listens on the machine's default
// /run/containerd/containerd.sock, which every node would share.
var containerdTemplate = template.Must(template.New("containerd").Parse(`version = 3
root = "{{.ContainerdRoot}}"
state = "{{.ContainerdState}}"
disabled_plugins = ["io.containerd.nri.v1.nri"]

[grpc]
  address = "{{.ContainerdSock}}"

[ttrpc]
  address = "{{.ContainerdSock}}.ttrpc"

[plugins.'io.containerd.internal.v1.opt']
  path = "{{.Dir}}/containerd/opt"

[plugins.'io.containerd.cri.v1.images'.pinned_images]
  sandbox = "{{.PauseImage}}"

[plugins.'io.containerd.cri.v1.runtime']
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true

[plugins.'io.containerd.cri.v1.runtime'.cni]
  bin_dirs = ["{{.CNIBinDir}}"]
  conf_dir = "{{.CNIConfDir}}"

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
  BinaryName = "{{.Runc}}"
  Root = "{{.RuncRoot}}"
  SystemdCgroup = false
`))

// cniTemplate is the node's pod network: a bridge cni0 that is the pods'
// gateway, no masquerading (nodes route pod ranges to each other), one
// /24 per node from host-local IPAM with its own data directory.
var cniTemplate = template.Must(template.New("cni").Parse(`{
  "cniVersion": "1.0.0",
  "name": "pylonlab",
  "plugins": [{
    "type": "bridge",
    "bridge": "cni0",
    "isGateway": true,
    "ipMasq": false,
    "hairpinMode": true,
    "ipam": {
      "type": "host-local",
      "ranges": [[{"subnet": "{{.PodCIDR}}"}]],
      "routes": [{"dst": "0.0.0.0/0"}],
      "dataDir": "{{.CNIDataDir}}"
    }
  }]
}
`))

// kubeletTemplate is the node's KubeletConfiguration: cgroup v1 without
// systemd (no QoS cgroups, no node allocatable enforcement, no eviction,
// no image GC), the node's own containerd, directories and pod range, no
// resolv.conf for pods (there is no cluster DNS), and a lease of
// NodeLeaseSeconds renewed every quarter of it with the status posted
// every 3 s, so that a dead node goes NotReady within
// NodeMonitorGracePeriod (the defaults: 40 s, 10 s, 50 s). Its API (logs, exec)
// serves on the node's address, to anyone: see the package doc.
var kubeletTemplate = template.Must(template.New("kubelet").Parse(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
containerRuntimeEndpoint: unix://{{.ContainerdSock}}
podLogsDir: {{.PodLogs}}
resolvConf: ""
makeIPTablesUtilChains: false
evictionHard: {}
imageGCHighThresholdPercent: 100
localStorageCapacityIsolation: false
podCIDR: {{.PodCIDR}}
address: {{.NodeIP}}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
serializeImagePulls: false
nodeLeaseDurationSeconds: {{.NodeLeaseSeconds}}
nodeStatusUpdateFrequency: 3s
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
`))

// proxyTemplate is the node's KubeProxyConfiguration: the NodeStack's
// mode (and strictARP in ipvs mode), the cluster's pod range, conntrack
// left as the kernel has it, metrics and health on the node namespace's
// loopback.
var proxyTemplate = template.Must(template.New("kube-proxy").Parse(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: {{.ProxyMode}}
{{- if eq .ProxyMode "ipvs"}}
ipvs:
  strictARP: {{.StrictARP}}
{{- end}}
clusterCIDR: {{.ClusterCIDR}}
hostnameOverride: {{.Node}}
clientConnection:
  kubeconfig: {{.KubeProxyKubeconfig}}
conntrack:
  maxPerCore: 0
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
`))

// writeNodeConfigs renders every configuration file of one node.
func writeNodeConfigs(c nodeConfig) error {
	for _, d := range []string{c.Dir, c.CNIConfDir, c.CNIDataDir, c.KubeletRoot, c.PodLogs, c.RuncRoot} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		t    *template.Template
		path string
	}{
		{containerdTemplate, c.ContainerdConfig},
		{cniTemplate, filepath.Join(c.CNIConfDir, "10-pylonlab.conflist")},
		{kubeletTemplate, c.KubeletConfig},
		{proxyTemplate, c.ProxyConfig},
	} {
		var b bytes.Buffer
		if err := f.t.Execute(&b, c); err != nil {
			return err
		}
		if err := os.WriteFile(f.path, b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}
