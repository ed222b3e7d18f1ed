package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/lab"
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
	speakers := []string{"logs/speaker-*.log"}
	return []step{
		{name: "checks: root, the lab's tools, the test API server", timeout: 10 * time.Second, run: d.preflight},
		{name: "read the configuration in docs/examples", timeout: 10 * time.Second, run: d.readExamples},
		{name: "build the controller, the speaker and the nodes' backend", timeout: 15 * time.Minute, run: d.build},
		{name: "lab up: API server, 3 nodes, FRR router, 2 clients (waits for any other lab here)", timeout: d.opts.LockWait + 3*time.Minute,
			logs: []string{"lab.log", "logs/apiserver.log", "logs/frr-*.log"}, run: d.labUp},
		{name: "pylon's CRDs installed and served", timeout: 30 * time.Second, logs: []string{"logs/apiserver.log"}, run: d.crds},
		{name: "start the controller and a speaker on each node", timeout: 90 * time.Second,
			logs: append([]string{"logs/controller.log"}, speakers...), run: d.startPylon},
		{name: "apply docs/examples; BGP sessions from every node", timeout: 60 * time.Second,
			logs: append([]string{"frr/bgpd.log", "logs/controller.log"}, speakers...), run: d.apply},
		{name: "Services get addresses from the pools", timeout: 30 * time.Second, logs: []string{"logs/controller.log"}, run: d.services},
		{name: "layer 2: the local client reaches web-l2", timeout: 30 * time.Second, logs: speakers, run: d.layer2},
		{name: "BGP: the remote client reaches web-bgp through the router", timeout: 30 * time.Second,
			logs: append([]string{"frr/bgpd.log"}, speakers...), run: d.bgp},
		{name: "failover: web-l2's owner fails", timeout: 60 * time.Second,
			logs: append([]string{"frr/bgpd.log"}, speakers...), run: d.failover},
		{name: "the failed node comes back", timeout: 90 * time.Second,
			logs: append([]string{"frr/bgpd.log"}, speakers...), run: d.comeBack},
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
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	if d.root, err = envtest.RepoRoot(wd); err != nil {
		return nil, fmt.Errorf("run the demo in the pylon repository: %w", err)
	}
	return []string{
		"root; ip, nft, sysctl, arping, ndisc6 and FRR installed",
		"kube-apiserver, etcd and kubectl in " + assets,
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

// binaries are the programs the demo runs in the lab.
type binaries struct{ controller, speaker, backend string }

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
	var err error
	for _, b := range []struct {
		pkg string
		out *string
	}{{"./cmd/controller", &d.bins.controller}, {"./cmd/speaker", &d.bins.speaker}, {"./test/lab/backend", &d.bins.backend}} {
		if *b.out, err = lab.BuildCommand(ctx, b.pkg, d.binDir); err != nil {
			return nil, err
		}
	}
	return []string{"go build ./cmd/controller ./cmd/speaker ./test/lab/backend into " + d.binDir}, nil
}

func (d *demo) labUp(ctx context.Context) ([]string, error) {
	began := time.Now()
	l, err := lab.New(ctx, lab.Options{
		Nodes:         3,
		NodeASN:       d.ex.nodeASNs()[0],
		BackendBinary: d.bins.backend,
		LockWait:      d.opts.LockWait,
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
	lines = append(lines, fmt.Sprintf("API server %s, bound on the segment; etcd on loopback", l.API.APIServerURL()))
	lines = append(lines, fmt.Sprintf("router r1 %s AS %d (FRR, expects the nodes in AS %d); remote link %s",
		l.Router.IPv4, lab.RouterASN, d.ex.nodeASNs()[0], l.Router.RemoteIPv4))
	var nodes []string
	for _, n := range l.Nodes {
		nodes = append(nodes, fmt.Sprintf("%s %s", n.Name, n.IPv4))
	}
	lines = append(lines, "nodes "+strings.Join(nodes, ", ")+" (a Ready Node each; a backend answering with the node's name)")
	lines = append(lines, fmt.Sprintf("local client c1 %s on the segment; remote client c2 %s behind the router",
		l.LocalClient.IPv4, l.RemoteClient.IPv4))
	return lines, nil
}

func (d *demo) crds(ctx context.Context) ([]string, error) {
	var names []string
	for _, c := range d.lab.API.CRDs {
		names = append(names, c.Name)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return nil, errors.New("the lab's API server installed no CRDs from deploy/crds")
	}
	out, err := d.lab.API.Kubectl(ctx, "api-resources", "--api-group=pylonlb.io")
	if err != nil {
		return nil, fmt.Errorf("kubectl api-resources: %w: %s", err, out)
	}
	lines := []string{fmt.Sprintf("installed from deploy/crds: %s", strings.Join(names, ", ")), "$ kubectl api-resources --api-group=pylonlb.io"}
	lines = append(lines, indent(string(out))...)
	if got := len(indent(string(out))) - 1; got != len(names) {
		return lines, fmt.Errorf("the API server serves %d pylon kinds, want %d", got, len(names))
	}
	return lines, nil
}

// indent splits command output into lines for a step's detail.
func indent(out string) []string {
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		lines = append(lines, "  "+l)
	}
	return lines
}
