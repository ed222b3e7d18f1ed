package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/test/envtest"
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
	// BFD, when set, starts bfdd on the router and runs BFD on its
	// sessions with the nodes (see BFD).
	BFD *BFD
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

// Lab is a running network lab. Close tears it down.
type Lab struct {
	// Prefix starts every name this run creates ("pyl1a2b3c").
	Prefix string
	// Dir holds logs (logs/<process>.log, lab.log), FRR's state (frr/),
	// kubeconfigs (kube/), the API server's files (api/) and binaries
	// (bin/). Close removes it unless KeepDir was called.
	Dir string
	// Nodes are the node namespaces, n1 … nN.
	Nodes []*Node
	// Router is the FRR router, r1.
	Router *Router
	// LocalClient (c1) is on the segment; RemoteClient (c2) is behind the
	// router.
	LocalClient, RemoteClient *Host
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

	opts    Options
	topo    *topology
	lock    *machineLock
	logFile *os.File

	mu     sync.Mutex
	procs  []*Process
	keep   bool
	closed bool

	cutMu sync.Mutex
	cut   map[string]string

	recordMu sync.Mutex
}

// New builds a lab: it waits for the machine's lab lock, removes what
// crashed earlier runs left, then builds the network, starts FRR, the API
// server and the backends, then every node's containerd, kubelet and
// kube-proxy, and waits until every Node is Ready. On error it tears down whatever it built.
func New(ctx context.Context, o Options) (*Lab, error) {
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	if o.LockWait == 0 {
		o.LockWait = 15 * time.Minute
	}
	ns, err := nodeStackOf(o.NodeStack)
	if err != nil {
		return nil, err
	}
	o.NodeStack = ns
	if err := Preflight(); err != nil {
		return nil, err
	}
	lockCtx, cancel := context.WithTimeout(ctx, o.LockWait)
	waited := time.Now()
	lock, err := acquireLock(lockCtx)
	cancel()
	if err != nil {
		return nil, err
	}
	// Bring-up time starts once this lab has the machine to itself.
	began := time.Now()
	lockWait := began.Sub(waited)
	prefix, err := newPrefix()
	if err != nil {
		return nil, errors.Join(err, lock.release())
	}
	topo, err := newTopology(prefix, o.Nodes)
	if err != nil {
		return nil, errors.Join(err, lock.release())
	}
	l := &Lab{
		Prefix: prefix, Dir: filepath.Join(os.TempDir(), "pylonlab-"+prefix),
		Nodes: topo.nodes, LocalClient: &topo.local, RemoteClient: &topo.remote,
		HostIPv4: topo.hostV4, HostIPv6: topo.hostV6,
		opts: o, topo: topo, lock: lock, cut: map[string]string{},
	}
	if err := l.build(ctx, began, lockWait); err != nil {
		l.KeepDir()
		err = fmt.Errorf("lab %s (logs kept in %s): %w", l.Prefix, l.Dir, err)
		return nil, errors.Join(err, l.Close())
	}
	return l, nil
}

func (l *Lab) build(ctx context.Context, began time.Time, lockWait time.Duration) error {
	for _, d := range []string{l.Dir, filepath.Join(l.Dir, "logs"), filepath.Join(l.Dir, "bin")} {
		// Traversable by the frr user, which FRR's daemons drop to.
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(l.Dir, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(l.Dir, "lab.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	l.logFile = f
	if lockWait > time.Second {
		l.logf("waited %v for another lab on this machine to end", lockWait.Round(time.Millisecond))
	}
	left, err := cleanLeftovers(ctx)
	if !left.Empty() {
		l.logf("removed leftovers of earlier runs: %s", left)
	}
	if err != nil {
		return fmt.Errorf("remove leftovers of earlier runs: %w", err)
	}
	l.recordProcs()
	if err := buildNetwork(ctx, l.topo); err != nil {
		return fmt.Errorf("build the network: %w", err)
	}
	l.logf("network up in %v", time.Since(began).Round(time.Millisecond))

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
	errFRR := l.startFRR(ctx, l.opts)
	errBackends := l.startBackends(ctx)
	errAPI := <-apiDone
	l.recordProcs()
	if err := errors.Join(errFRR, errBackends, errAPI); err != nil {
		return err
	}
	l.logf("API server up at %s in %v", l.API.APIServerURL(), l.API.StartupTime.Round(time.Millisecond))
	l.Client, l.Kubeconfig = l.API.Client, l.API.KubeconfigPath
	if err := l.writeNodeKubeconfigs(); err != nil {
		return err
	}
	if err := l.startNodeStack(ctx); err != nil {
		return fmt.Errorf("node stack: %w", err)
	}
	l.BringUp = time.Since(began)
	l.logf("lab %s up in %v: %d nodes, logs in %s", l.Prefix, l.BringUp.Round(time.Millisecond), len(l.Nodes), l.Dir)
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
		if bin, err = BuildCommand(ctx, "./test/lab/backend", filepath.Join(l.Dir, "bin")); err != nil {
			return err
		}
	}
	var addrs []string
	for _, n := range l.Nodes {
		addrs = append(addrs, n.Name+"="+n.IPv4.String(), n.Name+"="+n.IPv6.String())
	}
	var err error
	l.Backends, err = l.StartOnNodes("backend", bin, fmt.Sprintf("--listen=:%d", BackendPort), "--node-addrs="+strings.Join(addrs, ","))
	return err
}

// KeepDir keeps Dir (the logs) when the lab is closed.
func (l *Lab) KeepDir() {
	l.mu.Lock()
	l.keep = true
	l.mu.Unlock()
}

// Close tears the lab down: every process (SIGTERM,
// then SIGKILL after DefaultGrace), what the node stack leaves on the host,
// the API server, the namespaces and the host's link, the record in
// StateDir, Dir (unless kept); then it releases the machine's lab lock.
// When something fails, the record and Dir stay for the next lab to clean
// up. It is safe to call twice.
func (l *Lab) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	keep := l.keep
	l.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	errs = append(errs, l.stopAll(DefaultGrace))
	// Containers outlive containerd: kill them and their shims, remove
	// what they share with the host, unmount what is under Dir.
	if _, _, err := cleanNodeStack(l.Dir); err != nil {
		errs = append(errs, err)
	}
	if l.API != nil {
		errs = append(errs, l.API.Stop())
	}
	for _, ns := range l.topo.namespaces() {
		if _, err := run(ctx, "", "ip", "netns", "del", ns); err != nil && nsExists(ns) {
			errs = append(errs, err)
		}
	}
	if _, err := run(ctx, "", "ip", "link", "del", l.topo.hostLink); err != nil && linkExists(l.topo.hostLink) {
		errs = append(errs, err)
	}
	err := errors.Join(errs...)
	if err != nil {
		keep = true
		l.logf("teardown: %v", err)
	}
	if l.logFile != nil {
		l.logFile.Close()
	}
	if !keep {
		errs = append(errs, os.RemoveAll(l.Dir))
	}
	// After a failed teardown the record stays, so that the next lab
	// removes what is left (the node stack's containers, say).
	if errors.Join(errs...) == nil {
		if err := os.Remove(recordPath(l.Prefix)); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	errs = append(errs, l.lock.release())
	return errors.Join(errs...)
}

// Namespaces lists every network namespace of the lab.
func (l *Lab) Namespaces() []string { return l.topo.namespaces() }

// HostLink is the host's link into the segment.
func (l *Lab) HostLink() string { return l.topo.hostLink }

// PIDs lists every process the lab runs now: its own and the API server's.
func (l *Lab) PIDs() []int {
	var pids []int
	for _, r := range l.procRecords() {
		pids = append(pids, r.PID)
	}
	return pids
}

func (l *Lab) procRecords() []procRecord {
	l.mu.Lock()
	procs := append([]*Process(nil), l.procs...)
	l.mu.Unlock()
	var recs []procRecord
	for _, p := range procs {
		if !p.Running() {
			continue
		}
		pid := p.PID()
		if st, ok := procStartTime(pid); ok {
			recs = append(recs, procRecord{Name: p.Spec.Name, PID: pid, StartTime: st})
		}
	}
	if l.API != nil {
		// etcd and the API server; kube-controller-manager's command line
		// names the API server's directory too, and is already listed.
		for _, r := range childrenNaming(l.API.Dir()) {
			if !slices.ContainsFunc(recs, func(o procRecord) bool { return o.PID == r.PID }) {
				recs = append(recs, r)
			}
		}
	}
	return recs
}

// recordProcs writes the lab's record for a later run to clean up after
// a crash of this one.
func (l *Lab) recordProcs() {
	// Nodes start their processes concurrently: one writer at a time, or
	// two would rename the same temporary file.
	l.recordMu.Lock()
	defer l.recordMu.Unlock()
	r := record{Prefix: l.Prefix, Owner: os.Getpid(), Dir: l.Dir, Procs: l.procRecords()}
	if err := writeRecord(r); err != nil {
		l.logf("write the lab's record: %v", err)
	}
}

func (l *Lab) logf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if l.logFile != nil {
		fmt.Fprintf(l.logFile, "%s %s\n", time.Now().Format(time.RFC3339Nano), msg)
	}
	if l.opts.Logf != nil {
		l.opts.Logf("lab: %s", msg)
	}
}
