package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/images"
	"github.com/pylonlb/pylon/test/netlab"
)

// Options shape a lab. The zero value is a usable three-node lab.
type Options struct {
	// Nodes is the number of node namespaces; 0 means 3.
	Nodes int
	// NodeASN is the AS the router expects the nodes in; 0 accepts any AS
	// but the router's own (eBGP, FRR's "remote-as external").
	NodeASN uint32
	// BGPPassword, when set, is the TCP MD5 password the router requires.
	BGPPassword string
	// BFD, when set, runs BFD on the router's sessions with the nodes
	// (FRR's bfdd, BIRD's bfd protocol; see BFD).
	BFD *BFD
	// Router is the router: "" (FRR) or RouterBIRD (BIRD 2, the same
	// addresses and neighbours; Router.View, Sessions, KernelRoutes and
	// BFDPeers read it; FRR's vtysh helpers are FRR's alone).
	Router string
	// SecondRouter, RouterFRR or RouterBIRD, adds a second router r2 on
	// the segment (198.18.0.3, 2001:db8:18::3) with its own link to the
	// remote client (Remote2V4/V6): Lab.Router2. Without RouteReflector
	// it is configured as r1 is (same AS, the nodes peer with both).
	SecondRouter string
	// RouteReflector makes r1 an iBGP route reflector in the nodes' AS
	// (RouterASN: NodeASN must be 0 or that), the nodes its clients, and
	// r2 (SecondRouter, required) an iBGP non-client of r1 that does not
	// peer with the nodes: an upstream learning the nodes' routes through
	// the reflector. No BFD, no password.
	RouteReflector bool
	// BackendBinary is the nodes' HTTP backend (test/lab/backend); empty:
	// built with `go build` into the lab's directory.
	BackendBinary string
	// NodeStack shapes the node stack every lab's nodes run: containerd,
	// kubelet and kube-proxy (NodeStack.ProxyMode, nftables by default) in
	// every node namespace, kube-controller-manager and kube-scheduler next
	// to the API server. nil, or an empty Assets: the binaries in
	// $PYLON_NODE_ASSETS (hack/node-assets.sh) and only the pause image.
	NodeStack *NodeStack
	// LockWait bounds the wait for another lab on this machine to end; 0
	// means 15 minutes (in `make test` the lab and e2e packages run at the
	// same time, and an e2e package holds labs one after another).
	LockWait time.Duration
	// Logf receives the lab's progress and problems; nil: only the lab's
	// log file (Dir/lab.log).
	Logf func(format string, args ...any)
}

// Lab is a running network lab. It is a network layer lab (test/netlab,
// holding the machine's lab lock) with the cluster on top: Prefix, Dir,
// StartProcess, KeepDir, PIDs, Namespaces and Close come from there. Close
// stops every process (what tests started, the node stack, the backends,
// FRR last), removes what the node stack leaves on the host, stops the API
// server and removes the namespaces, the host's link, the record and Dir.
type Lab struct {
	*netlab.Lab
	// Nodes are the node namespaces, n1 … nN.
	Nodes []*Node
	// Router is the router, r1 (FRR or BIRD: Options.Router).
	Router *Router
	// Router2 is the second router, r2 (Options.SecondRouter); nil
	// without one.
	Router2 *Router
	// LocalClient (c1) is on the segment; RemoteClient (c2) is behind the
	// router.
	LocalClient, RemoteClient *Host
	// RemoteVia2IPv4 and RemoteVia2IPv6 are the remote client's addresses
	// on its link to r2 (with Options.SecondRouter): what it sends from
	// them (Host.GetFrom) goes through r2, the rest through r1.
	RemoteVia2IPv4, RemoteVia2IPv6 netip.Addr
	// HostIPv4 and HostIPv6 are the host's addresses on the segment; the
	// API server listens on HostIPv4.
	HostIPv4, HostIPv6 netip.Addr
	// API is the lab's kube-apiserver and etcd, in the host's namespace.
	API *envtest.Env
	// Client is a cluster-admin client of API.
	Client client.Client
	// Kubeconfig is a cluster-admin kubeconfig file (the controller's).
	Kubeconfig string
	// Backends are the nodes' HTTP backends, in node order.
	Backends []*Process
	// BringUp is how long New took once it had the machine's lab lock.
	BringUp time.Duration

	opts Options
	topo *topology
	sw   *netlab.Switch

	cutMu sync.Mutex
	cut   map[string]string
}

// New builds a lab: it waits for the machine's lab lock, removes what
// crashed earlier runs left, then builds the network, starts FRR, the API
// server and the backends, then every node's containerd, kubelet and
// kube-proxy, and waits until every Node is Ready. On error it tears down whatever it built.
func New(ctx context.Context, o Options) (*Lab, error) {
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	ns, err := nodeStackOf(o.NodeStack)
	if err != nil {
		return nil, err
	}
	o.NodeStack = ns
	if err := Preflight(); err != nil {
		return nil, err
	}
	if o.Nodes < 1 || o.Nodes > MaxNodes {
		return nil, fmt.Errorf("%d nodes: want 1 to %d", o.Nodes, MaxNodes)
	}
	if err := checkTopologyOptions(&o); err != nil {
		return nil, err
	}
	l := &Lab{opts: o, cut: map[string]string{}}
	l.Lab, err = netlab.New(ctx, netlab.Options{
		Lock: true, LockWait: o.LockWait, Logf: o.Logf,
		// Containers outlive containerd: kill them and their shims,
		// remove what they share with the host, unmount what is under
		// the run's directory.
		CleanDir:   cleanNodeStack,
		ExtraProcs: l.apiProcs,
	})
	if err != nil {
		return nil, err
	}
	if err := l.build(ctx); err != nil {
		l.KeepDir()
		err = fmt.Errorf("lab %s (logs kept in %s): %w", l.Prefix, l.Dir, err)
		return nil, errors.Join(err, l.Close())
	}
	return l, nil
}

// apiProcs are etcd and the API server, for the lab's record;
// kube-controller-manager's command line names the API server's directory
// too, and is recorded as the lab's own.
func (l *Lab) apiProcs() []netlab.ProcRecord {
	if l.API == nil {
		return nil
	}
	return netlab.ProcsNaming(l.API.Dir(), os.Getpid())
}

func (l *Lab) build(ctx context.Context) error {
	began := l.Began
	// Stopped after every process, before the namespaces go: the node
	// stack's leftovers on the host, then the API server.
	l.AfterStop(func() error {
		_, _, err := cleanNodeStack(l.Dir)
		if l.API != nil {
			err = errors.Join(err, l.API.Stop())
		}
		return err
	})
	if err := os.MkdirAll(filepath.Join(l.Dir, "bin"), 0o755); err != nil {
		return err
	}
	topo, err := newTopology(l.Prefix, l.opts.Nodes)
	if err != nil {
		return err
	}
	if l.opts.SecondRouter != "" {
		topo.withSecondRouter()
		l.RemoteVia2IPv4, l.RemoteVia2IPv6 = topo.remote2V4, topo.remote2V6
	}
	l.topo, l.Nodes, l.LocalClient, l.RemoteClient = topo, topo.nodes, &topo.local, &topo.remote
	l.HostIPv4, l.HostIPv6 = topo.hostV4, topo.hostV6
	if err := l.buildNetwork(ctx); err != nil {
		return fmt.Errorf("build the network: %w", err)
	}
	l.Logf("network up in %v", time.Since(began).Round(time.Millisecond))

	// The API server takes seconds: start it while the rest comes up.
	apiLog, err := os.OpenFile(filepath.Join(l.Dir, "logs", "apiserver.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer apiLog.Close()
	apiDone := make(chan error, 1)
	go func() {
		env, err := envtest.Launch(envtest.Options{
			BindAddress: l.HostIPv4, Dir: filepath.Join(l.Dir, "api"), Logs: apiLog,
			Nodes: true,
			// An API server whose etcd is gone may ignore SIGTERM.
			StopTimeout: 5 * time.Second,
		})
		l.API = env
		apiDone <- err
	}()
	startRouter := l.startFRR
	if l.opts.Router == RouterBIRD {
		startRouter = l.startBIRD
	}
	errFRR := startRouter(ctx, l.opts)
	if errFRR == nil && l.topo.router2 != nil {
		errFRR = l.startRouter2(ctx, l.opts)
	}
	errBackends := l.startBackends(ctx)
	errAPI := <-apiDone
	l.RecordProcs()
	if err := errors.Join(errFRR, errBackends, errAPI); err != nil {
		return err
	}
	l.Logf("API server up at %s in %v", l.API.APIServerURL(), l.API.StartupTime.Round(time.Millisecond))
	l.Client, l.Kubeconfig = l.API.Client, l.API.KubeconfigPath
	if err := l.writeNodeKubeconfigs(); err != nil {
		return err
	}
	if err := l.startNodeStack(ctx); err != nil {
		return fmt.Errorf("node stack: %w", err)
	}
	l.BringUp = time.Since(began)
	l.Logf("lab %s up in %v: %d nodes, logs in %s", l.Prefix, l.BringUp.Round(time.Millisecond), len(l.Nodes), l.Dir)
	return nil
}

// startBackends starts each node's HTTP backend on BackendPort. It
// answers with the name of the node that took the client's traffic: its
// own, or the other node's whose address a forwarded connection comes
// from (test/lab/backend).
func (l *Lab) startBackends(ctx context.Context) error {
	bin := l.opts.BackendBinary
	if bin == "" {
		var err error
		if bin, err = images.BuildStatic(ctx, "./test/lab/backend", filepath.Join(l.Dir, "bin"), ""); err != nil {
			return err
		}
	}
	var addrs []string
	for _, n := range l.Nodes {
		addrs = append(addrs, n.Name+"="+n.IPv4.String(), n.Name+"="+n.IPv6.String())
	}
	var err error
	l.Backends, err = l.startOnNodes(layerBackend, "backend", bin, fmt.Sprintf("--listen=:%d", BackendPort), "--node-addrs="+strings.Join(addrs, ","))
	return err
}

// HostLink is the host's link into the segment.
func (l *Lab) HostLink() string { return l.topo.hostLink }
