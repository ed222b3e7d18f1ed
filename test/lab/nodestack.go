package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/test/images"
	"github.com/pylonlb/pylon/test/netlab"
)

// NodeStack makes the lab's nodes real Kubernetes nodes (Options.NodeStack):
// containerd, the kubelet and kube-proxy in every node namespace,
// kube-controller-manager and kube-scheduler next to the API server.
type NodeStack struct {
	// Assets is the directory hack/node-assets.sh prints: kubelet,
	// kube-proxy, kube-controller-manager, kube-scheduler, containerd,
	// containerd-shim-runc-v2, ctr and runc.
	Assets string
	// Images are imported into every node's containerd besides PauseImage.
	Images []images.Image
	// ProxyMode is kube-proxy's mode: "" or ProxyNftables (the default),
	// ProxyIptables (needs iptables-restore: Debian's iptables) or
	// ProxyIPVS (needs IPVSAvailable).
	ProxyMode string
	// StrictARP is kube-proxy's ipvs.strictARP; only with ProxyIPVS. Without
	// it an IPVS node keeps the kernel's ARP defaults (arp_ignore=0,
	// arp_announce=0) instead of the lab's, as a real node has them.
	StrictARP bool
}

// kube-proxy's modes (KubeProxyConfiguration.mode).
const (
	ProxyNftables = "nftables"
	ProxyIptables = "iptables"
	ProxyIPVS     = "ipvs"
)

// proxyMode is ns's kube-proxy mode, or why the lab cannot run it here.
func (ns *NodeStack) proxyMode() (string, error) {
	mode := ns.ProxyMode
	if mode == "" {
		mode = ProxyNftables
	}
	if ns.StrictARP && mode != ProxyIPVS {
		return "", fmt.Errorf("node stack: StrictARP is an IPVS setting, and the proxy mode is %s", mode)
	}
	switch mode {
	case ProxyNftables:
		return mode, nil
	case ProxyIptables:
		for _, b := range []string{"iptables", "iptables-save", "iptables-restore"} {
			if _, err := exec.LookPath(b); err != nil {
				return "", fmt.Errorf("node stack: kube-proxy in iptables mode needs %s: apt-get install -y iptables (hack/install-deps.sh does)", b)
			}
		}
		return mode, nil
	case ProxyIPVS:
		if err := IPVSAvailable(); err != nil {
			return "", fmt.Errorf("node stack: kube-proxy in ipvs mode: %w", err)
		}
		return mode, nil
	}
	return "", fmt.Errorf("node stack: unknown proxy mode %q (want %s, %s or %s)", ns.ProxyMode, ProxyNftables, ProxyIptables, ProxyIPVS)
}

// nodeStackOf is o with the defaults filled in: the binaries from
// $PYLON_NODE_ASSETS when o or its Assets is empty. It checks that every
// binary is there.
func nodeStackOf(o *NodeStack) (*NodeStack, error) {
	var ns NodeStack
	if o != nil {
		ns = *o
	}
	if ns.Assets == "" {
		ns.Assets = os.Getenv(images.NodeAssetsEnv)
	}
	if err := images.CheckNodeAssets(ns.Assets); err != nil {
		return nil, fmt.Errorf("%w: %w (`make test` sets %s; or %s=$(hack/node-assets.sh))", ErrNoNodeAssets, err, images.NodeAssetsEnv, images.NodeAssetsEnv)
	}
	return &ns, nil
}

// ErrNoNodeAssets is returned by New when the node stack's binaries are
// missing.
var ErrNoNodeAssets = errors.New("no node binaries")

// PauseImage is the pod sandbox image every node's containerd has: the
// lab's own pause program, built and imported at bring-up.
const PauseImage = "pylon.local/pause:dev"

// ClusterCIDR holds the nodes' pod ranges (see Node.PodCIDR), inside the
// lab's 198.18.0.0/15 and below the Service range 198.19.192.0/18.
var ClusterCIDR = netip.MustParsePrefix("198.19.0.0/18")

// CNIBinDir is where the CNI plugins are (Debian's
// containernetworking-plugins).
const CNIBinDir = "/usr/lib/cni"

// NodeMonitorGracePeriod is how long after a node's last lease renewal
// kube-controller-manager marks it NotReady (its default is 50 s), and
// NodeLeaseSeconds the kubelets' lease (default 40 s, renewed every
// quarter): shortened so that tests of dead nodes wait seconds, not a
// minute.
const (
	NodeMonitorGracePeriod = 15 * time.Second
	NodeLeaseSeconds       = 15
)

// nodeReadyTimeout bounds the wait for every Node to be Ready.
const nodeReadyTimeout = 2 * time.Minute

// PodCIDR is the node's pod range: 198.19.<index>.0/24.
func (n *Node) PodCIDR() netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 19, byte(n.Index), 0}), 24)
}

// startNodeStack starts the control plane's controllers, then every
// node's containerd, kubelet and kube-proxy, and waits until every Node is
// Ready.
func (l *Lab) startNodeStack(ctx context.Context) error {
	mode, err := l.opts.NodeStack.proxyMode()
	if err != nil {
		return err
	}
	began := time.Now()
	tarball, err := l.writeImages(ctx)
	if err != nil {
		return err
	}
	kubeDir := filepath.Join(l.Dir, "kube")
	ca := filepath.Join(kubeDir, "ca.crt")
	if err := os.WriteFile(ca, l.API.Config.CAData, 0o644); err != nil {
		return err
	}
	proxyKC, err := l.writeUserKubeconfig("kube-proxy", "system:kube-proxy")
	if err != nil {
		return err
	}
	if err := l.startControllers(ca); err != nil {
		return err
	}
	// Routes to every node's pods: from the host (where the API server
	// is) and from each other node.
	var hostRoutes []string
	for _, n := range l.Nodes {
		hostRoutes = append(hostRoutes, fmt.Sprintf("route add %s via %s", n.PodCIDR(), n.IPv4))
	}
	if err := netlab.IP(ctx, "", hostRoutes...); err != nil {
		return fmt.Errorf("routes to the pods: %w", err)
	}
	err = l.onEveryNode(func(n *Node) error { return l.startNode(ctx, n, mode, proxyKC, tarball) })
	l.RecordProcs()
	if err != nil {
		return err
	}
	l.Logf("node stack started in %v", time.Since(began).Round(time.Millisecond))
	return l.waitNodesReady(ctx)
}

// writeImages builds the pause program and writes it and the options'
// images into one tarball for `ctr images import`.
func (l *Lab) writeImages(ctx context.Context) (string, error) {
	bin := filepath.Join(l.Dir, "bin")
	pause, err := images.BuildPause(ctx, bin)
	if err != nil {
		return "", err
	}
	imgs := append([]images.Image{{Ref: PauseImage, Binary: pause}}, l.opts.NodeStack.Images...)
	path := filepath.Join(l.Dir, "images.tar")
	if err := images.WriteTarball(path, imgs...); err != nil {
		return "", err
	}
	return path, nil
}

// writeUserKubeconfig writes Dir/kube/<file>.kubeconfig for a client
// certificate user of the API server.
func (l *Lab) writeUserKubeconfig(file, user string, groups ...string) (string, error) {
	_, kc, err := l.API.AddUser(user, groups...)
	if err != nil {
		return "", err
	}
	path := filepath.Join(l.Dir, "kube", file+".kubeconfig")
	return path, os.WriteFile(path, kc, 0o600)
}

// startControllers starts kube-controller-manager and kube-scheduler in
// the host's namespace, as cluster admins, without leader election and
// without serving.
func (l *Lab) startControllers(ca string) error {
	assets := l.opts.NodeStack.Assets
	if _, err := l.StartProcess(ProcessSpec{
		Name: "kube-controller-manager", Path: filepath.Join(assets, "kube-controller-manager"), Layer: layerKube,
		Args: []string{
			"--kubeconfig=" + l.Kubeconfig, "--leader-elect=false", "--secure-port=0",
			"--service-account-private-key-file=" + l.API.ServiceAccountKeyFile(),
			"--root-ca-file=" + ca, "--cluster-cidr=" + ClusterCIDR.String(),
			"--node-monitor-grace-period=" + NodeMonitorGracePeriod.String(), "--node-monitor-period=1s",
		},
	}); err != nil {
		return err
	}
	_, err := l.StartProcess(ProcessSpec{
		Name: "kube-scheduler", Path: filepath.Join(assets, "kube-scheduler"), Layer: layerKube,
		Args: []string{"--kubeconfig=" + l.Kubeconfig, "--leader-elect=false", "--secure-port=0"},
	})
	return err
}

// startNode writes one node's configurations, routes and kubelet
// credentials, then starts its daemons (startNodeDaemons) with the images
// imported; kube-proxy runs in mode.
func (l *Lab) startNode(ctx context.Context, n *Node, mode, proxyKC, tarball string) error {
	ns := l.opts.NodeStack
	assets := ns.Assets
	c := nodeConfig{
		nodeFiles: newNodeFiles(l.Dir, n), Node: n.Name, NodeIP: n.IPv4,
		PodCIDR: n.PodCIDR(), ClusterCIDR: ClusterCIDR, PauseImage: PauseImage,
		Runc: filepath.Join(assets, "runc"), CNIBinDir: CNIBinDir, KubeProxyKubeconfig: proxyKC,
		NodeLeaseSeconds: NodeLeaseSeconds, ProxyMode: mode, StrictARP: ns.StrictARP,
	}
	if err := writeNodeConfigs(c); err != nil {
		return err
	}
	// The node forwards between its pods and the segment, routes to the
	// other nodes' pods, and forwards what kube-proxy DNATs to an
	// endpoint on another node, in both families.
	kv := []string{"net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"}
	if mode == ProxyIPVS && !ns.StrictARP {
		// A real node's defaults: kube-ipvs0's addresses are then answered
		// on eth0 (what strictARP prevents, by setting the lab's values).
		kv = append(kv, "net.ipv4.conf.all.arp_ignore=0", "net.ipv4.conf.all.arp_announce=0")
	}
	if err := netlab.Sysctl(ctx, n.Netns, kv...); err != nil {
		return err
	}
	var routes []string
	for _, m := range l.Nodes {
		if m != n {
			routes = append(routes, fmt.Sprintf("route add %s via %s", m.PodCIDR(), m.IPv4))
		}
	}
	if len(routes) > 0 {
		if err := netlab.IP(ctx, n.Netns, routes...); err != nil {
			return err
		}
	}
	kubeletKC, err := l.writeUserKubeconfig(n.Name+"-kubelet", "system:node:"+n.Name, "system:nodes")
	if err != nil {
		return err
	}
	n.KubeletKubeconfig = kubeletKC
	return l.startNodeDaemons(ctx, n, c.nodeFiles, tarball)
}

// startNodeDaemons starts node n's containerd, imports tarball into it
// (none: its images are there already), then starts its kubelet (as
// system:node:<name>) and kube-proxy. After PowerOff it starts the same
// processes again, from their specs: the node boots.
func (l *Lab) startNodeDaemons(ctx context.Context, n *Node, f nodeFiles, tarball string) error {
	assets := l.opts.NodeStack.Assets
	// containerd finds its shim on PATH.
	env := []string{"NODE_NAME=" + n.Name, "PATH=" + assets + ":" + os.Getenv("PATH")}
	start := func(name string, args ...string) (*Process, error) {
		if p := l.Process(name + "-" + n.Name); p != nil {
			return p, p.Start()
		}
		layer := layerKube
		if name == "containerd" {
			layer = layerContainerd
		}
		return l.StartProcess(ProcessSpec{
			Name: name + "-" + n.Name, Netns: n.Netns, HostMounts: true, Layer: layer,
			Path: filepath.Join(assets, name), Args: args, Env: env,
		})
	}
	containerd, err := start("containerd", "--config="+f.ContainerdConfig)
	if err != nil {
		return err
	}
	if err := netlab.WaitFile(ctx, containerd, f.ContainerdSock); err != nil {
		return err
	}
	if tarball != "" {
		if err := l.importTarball(ctx, n, tarball); err != nil {
			return err
		}
	}
	if _, err := start("kubelet", "--config="+f.KubeletConfig, "--kubeconfig="+n.KubeletKubeconfig,
		"--root-dir="+f.KubeletRoot, "--hostname-override="+n.Name, "--node-ip="+n.IPv4.String()+","+n.IPv6.String()); err != nil {
		return err
	}
	_, err = start("kube-proxy", "--config="+f.ProxyConfig)
	return err
}

// waitNodesReady waits until every lab node has registered and is Ready.
func (l *Lab) waitNodesReady(ctx context.Context) error {
	began := time.Now()
	var notReady []string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, nodeReadyTimeout, true, func(ctx context.Context) (bool, error) {
		notReady = notReady[:0]
		for _, n := range l.Nodes {
			var node corev1.Node
			if err := l.Client.Get(ctx, client.ObjectKey{Name: n.Name}, &node); err != nil || !NodeReady(&node) {
				notReady = append(notReady, n.Name)
			}
		}
		return len(notReady) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("nodes %v not Ready after %v (see logs/kubelet-*.log): %w", notReady, nodeReadyTimeout, err)
	}
	l.Logf("every node Ready %v after the node stack started", time.Since(began).Round(time.Millisecond))
	return nil
}

// NodeReady reports whether n's Ready condition is True.
func NodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// onEveryNode runs f for every node at once and joins their errors, each
// naming its node.
func (l *Lab) onEveryNode(f func(n *Node) error) error {
	errs := make([]error, len(l.Nodes))
	var wg sync.WaitGroup
	for i, n := range l.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(n); err != nil {
				errs[i] = fmt.Errorf("node %s: %w", n.Name, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
