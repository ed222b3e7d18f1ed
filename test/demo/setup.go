package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/images"
	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// Names the demo uses in the lab's cluster.
const (
	// pylonNamespace is where pylon runs (its memberlist key Secret).
	pylonNamespace = "pylon-system"
	// demoNamespace holds the demo's Services.
	demoNamespace = "demo"
	// servicePort is the Services' port.
	servicePort = 80
)

// steps lists the demo in order.
func (d *demo) steps() []step {
	speakers := []string{"nodes/*/pods/" + pylonNamespace + "_*speaker*/*/*.log"}
	controller := []string{"nodes/*/pods/" + pylonNamespace + "_*controller*/*/*.log"}
	return []step{
		{name: "checks: root, the lab's tools, the test API server, the node binaries", timeout: 10 * time.Second, run: d.preflight},
		{name: "read the configuration in docs/examples", timeout: 10 * time.Second, run: d.readExamples},
		{name: "build the images: pylon's controller and speaker, the backend; and pylonctl", timeout: 15 * time.Minute, run: d.build},
		{name: "lab up: API server, 3 real nodes (containerd, kubelet, kube-proxy), FRR router, 2 clients (waits for any other lab here)",
			timeout: d.opts.LockWait + 4*time.Minute,
			logs:    []string{"lab.log", "logs/apiserver.log", "logs/kubelet-*.log", "logs/containerd-*.log", "logs/frr-*.log"}, run: d.labUp},
		{name: "helm install pylon (deploy/charts/pylon); its CRDs served", timeout: 90 * time.Second,
			logs: []string{"logs/apiserver.log"}, run: d.helmInstall},
		{name: "pylon's pods Ready: the controller, a speaker on each node", timeout: 2 * time.Minute,
			logs: append(append([]string{"logs/kubelet-*.log", "logs/kube-scheduler.log"}, controller...), speakers...), run: d.waitPylon},
		{name: "apply docs/examples; BGP sessions from every node", timeout: 60 * time.Second,
			logs: append(append([]string{"frr/bgpd.log"}, controller...), speakers...), run: d.apply},
		{name: "backend pods Ready; Services get addresses from the pools", timeout: 90 * time.Second,
			logs: append([]string{"logs/kubelet-*.log", "logs/kube-controller-manager.log"}, controller...), run: d.services},
		{name: "layer 2: the local client reaches web-l2", timeout: 30 * time.Second, logs: append([]string{"logs/kube-proxy-*.log"}, speakers...), run: d.layer2},
		{name: "BGP: the remote client reaches web-bgp through the router", timeout: 30 * time.Second,
			logs: append([]string{"frr/bgpd.log"}, speakers...), run: d.bgp},
		{name: "pylonctl (kubectl pylon): status, and why web-l2 has its address and who answers for it", timeout: 30 * time.Second,
			logs: controller, run: d.pylonctl},
		{name: "failover: web-l2's owner fails", timeout: 60 * time.Second,
			logs: append([]string{"frr/bgpd.log"}, speakers...), run: d.failover},
		{name: "the failed node comes back", timeout: 90 * time.Second,
			logs: append([]string{"frr/bgpd.log", "logs/kubelet-*.log"}, speakers...), run: d.comeBack},
	}
}

// preflight checks what the lab needs before anything is built.
func (d *demo) preflight(context.Context) ([]string, error) {
	if err := lab.Preflight(); errors.Is(err, lab.ErrNotRoot) {
		return nil, fmt.Errorf("not root (uid %d): %w; run `sudo make demo`", os.Geteuid(), err)
	} else if err != nil {
		return nil, fmt.Errorf("%w; `make demo` installs what is missing (hack/install-deps.sh)", err)
	}
	assets := os.Getenv(envtest.AssetsEnv)
	if assets == "" {
		return nil, fmt.Errorf("%w; hack/envtest-assets.sh builds the binaries and prints their directory (`make demo` runs it)", envtest.ErrNoAssets)
	}
	for _, bin := range []string{"kube-apiserver", "etcd", "kubectl"} {
		if _, err := os.Stat(filepath.Join(assets, bin)); err != nil {
			return nil, fmt.Errorf("%s=%s: %w; run hack/envtest-assets.sh", envtest.AssetsEnv, assets, err)
		}
	}
	d.nodeAssets = os.Getenv(images.NodeAssetsEnv)
	if d.nodeAssets == "" {
		return nil, fmt.Errorf("%s is unset: hack/node-assets.sh builds the node binaries and prints their directory (`make demo` runs it)", images.NodeAssetsEnv)
	}
	for _, bin := range images.NodeBinaries() {
		if _, err := os.Stat(filepath.Join(d.nodeAssets, bin)); err != nil {
			return nil, fmt.Errorf("%s=%s: %w; run hack/node-assets.sh", images.NodeAssetsEnv, d.nodeAssets, err)
		}
	}
	for _, need := range []string{"nsenter", filepath.Join(lab.CNIBinDir, "bridge"), filepath.Join(lab.CNIBinDir, "host-local")} {
		if _, err := exec.LookPath(need); err != nil {
			return nil, fmt.Errorf("the node stack needs %s: %w; `make demo` installs it (hack/install-deps.sh)", need, err)
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	if d.root, err = envtest.RepoRoot(wd); err != nil {
		return nil, fmt.Errorf("run the demo in the pylon repository: %w", err)
	}
	return []string{
		"root; ip, nft, sysctl, arping, ndisc6, FRR, nsenter and the CNI plugins installed",
		"kube-apiserver, etcd and kubectl in " + assets,
		"kubelet, kube-proxy, kube-controller-manager, kube-scheduler, containerd, ctr and runc in " + d.nodeAssets,
	}, nil
}

func (d *demo) readExamples(context.Context) ([]string, error) {
	dir := d.opts.Examples
	if dir == "" {
		dir = filepath.Join(d.root, "docs", "examples")
	}
	ex, err := readExamples(dir)
	if err != nil {
		return nil, err
	}
	d.ex = ex
	return ex.describe(), nil
}

// The images' names: the chart's image values point at them.
const imageRepo, imageTag = "pylon.local", "demo"

func (d *demo) build(ctx context.Context) ([]string, error) {
	began := time.Now()
	defer func() { d.sum.Build = time.Since(began) }()
	d.binDir = d.opts.BinDir
	if d.binDir == "" {
		dir, err := os.MkdirTemp("", "pylon-demo-")
		if err != nil {
			return nil, err
		}
		d.binDir, d.ownBins = dir, true
	}
	imgs, err := images.Pylon(ctx, d.binDir, imageRepo, imageTag)
	if err != nil {
		return nil, err
	}
	backend, err := lab.BuildBackendImage(ctx, d.binDir)
	if err != nil {
		return nil, err
	}
	// pylonctl runs here, as an operator's kubectl plugin would.
	if d.pylonctlBin, err = images.BuildStatic(ctx, "./cmd/pylonctl", d.binDir, "v"+imageTag); err != nil {
		return nil, err
	}
	d.images = append(imgs, backend)
	lines := []string{"static go builds of ./cmd/controller, ./cmd/speaker, ./test/lab/backend and ./cmd/pylonctl into " + d.binDir + "; images, no daemon:"}
	for _, im := range d.images {
		lines = append(lines, fmt.Sprintf("  %s (entrypoint %s)", im.Ref, strings.Join(im.Entrypoint, " ")))
	}
	return lines, nil
}

func (d *demo) labUp(ctx context.Context) ([]string, error) {
	began := time.Now()
	l, err := lab.New(ctx, lab.Options{
		Nodes:     3,
		NodeASN:   d.ex.nodeASNs()[0],
		LockWait:  d.opts.LockWait,
		NodeStack: &lab.NodeStack{Assets: d.nodeAssets, Images: d.images},
	})
	if err != nil {
		return nil, err
	}
	d.lab = l
	d.sum.Lab, d.sum.LogDir = l.Prefix, l.Dir
	lines := []string{fmt.Sprintf("lab %s up in %v; logs in %s", l.Prefix, round(l.BringUp), l.Dir)}
	d.sum.LockWait = time.Since(began) - l.BringUp
	if d.sum.LockWait > time.Second {
		lines = append(lines, fmt.Sprintf("(waited %v for another lab on this machine first)", round(d.sum.LockWait)))
	}
	lines = append(lines, fmt.Sprintf("API server %s, bound on the segment; etcd on loopback; kube-controller-manager and kube-scheduler beside it", l.API.APIServerURL()))
	lines = append(lines, fmt.Sprintf("router r1 %s AS %d (FRR, expects the nodes in AS %d); remote link %s",
		l.Router.IPv4, lab.RouterASN, d.ex.nodeASNs()[0], l.Router.RemoteIPv4))
	var nodes []string
	for _, n := range l.Nodes {
		nodes = append(nodes, fmt.Sprintf("%s %s (pods %s)", n.Name, n.IPv4, n.PodCIDR()))
	}
	lines = append(lines, "nodes "+strings.Join(nodes, ", "))
	lines = append(lines, "each node: containerd with the images imported, a kubelet (registered its Node, Ready), kube-proxy in nftables mode")
	lines = append(lines, fmt.Sprintf("local client c1 %s on the segment; remote client c2 %s behind the router",
		l.LocalClient.IPv4, l.RemoteClient.IPv4))
	return lines, nil
}

// crdsServed waits until the API server serves every kind of pylon's
// CRDs (the chart created them; each is served once Established).
func (d *demo) crdsServed(ctx context.Context) ([]string, error) {
	var names []string
	var out []byte
	_, err := poll.Until(ctx, pollEvery, 0, "the API server to serve pylon's kinds", func(ctx context.Context) (bool, string, error) {
		var list apiextensionsv1.CustomResourceDefinitionList
		if err := d.lab.Client.List(ctx, &list); err != nil {
			return false, err.Error(), nil
		}
		names = nil
		for _, c := range list.Items {
			if c.Spec.Group == v1alpha1.GroupVersion().Group {
				names = append(names, c.Name)
			}
		}
		slices.Sort(names)
		var err error
		if out, err = d.lab.API.Kubectl(ctx, "api-resources", "--api-group=pylonlb.io"); err != nil {
			return false, fmt.Sprintf("kubectl api-resources: %v: %s", err, out), nil
		}
		served := len(indent(string(out))) - 1
		return len(names) > 0 && served == len(names), fmt.Sprintf("%d CRDs of pylon's, %d kinds served", len(names), served), nil
	})
	lines := []string{fmt.Sprintf("CRDs from the chart: %s", strings.Join(names, ", ")), "$ kubectl api-resources --api-group=pylonlb.io"}
	return append(lines, indent(string(out))...), err
}

// indent splits command output into lines for a step's detail.
func indent(out string) []string {
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		lines = append(lines, "  "+l)
	}
	return lines
}
