package e2e

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/config"
	"github.com/pylonlb/pylon/test/gen"
	"github.com/pylonlb/pylon/test/images"
	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// TestLab checks the lab itself with one lab for all subtests, in order:
// the cluster, the router, the controller on it, every probe against a
// plain `ip addr add` on a node, BGP through the router, and the faults.
func TestLab(t *testing.T) {
	l := lab.Start(t, lab.Options{})
	ctx := t.Context()
	t.Run("nodes are registered and ready", func(t *testing.T) { testNodes(ctx, t, l) })
	t.Run("router is up and reachable from every node", func(t *testing.T) { testRouter(ctx, t, l) })
	var vips []netip.Addr
	t.Run("controller assigns addresses from the pools", func(t *testing.T) { vips = testController(ctx, t, l) })
	if len(vips) != 2 {
		t.Fatalf("no dual-stack Service to probe with: %v", vips)
	}
	t.Run("probes see the node holding the address", func(t *testing.T) { testProbes(ctx, t, l, vips[0], vips[1]) })
	t.Run("sampler sees the gap when the address moves", func(t *testing.T) { testSampler(ctx, t, l, vips[0]) })
	t.Run("remote client reaches the address over BGP with ECMP", func(t *testing.T) { testBGP(ctx, t, l, vips[0]) })
	t.Run("faults", func(t *testing.T) { testFaults(ctx, t, l) })
}

func testNodes(ctx context.Context, t *testing.T, l *lab.Lab) {
	var nodes corev1.NodeList
	if err := l.Client.List(ctx, &nodes); err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != len(l.Nodes) {
		t.Fatalf("%d Nodes in the API, lab has %d", len(nodes.Items), len(l.Nodes))
	}
	for _, n := range l.Nodes {
		var node corev1.Node
		if err := l.Client.Get(ctx, client.ObjectKey{Name: n.Name}, &node); err != nil {
			t.Fatal(err)
		}
		var ips []string
		for _, a := range node.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				ips = append(ips, a.Address)
			}
		}
		if want := []string{n.IPv4.String(), n.IPv6.String()}; !slices.Equal(ips, want) {
			t.Errorf("node %s: InternalIPs %v, want %v", n.Name, ips, want)
		}
		if !lab.NodeReady(&node) {
			t.Errorf("node %s is not Ready: %v", n.Name, node.Status.Conditions)
		}
		// The node's own kubeconfig reaches the API server from inside
		// the node's namespace.
		out, err := n.Run(ctx, l.API.KubectlPath, "--kubeconfig", n.Kubeconfig, "get", "node", n.Name, "-o", "name")
		if err != nil || strings.TrimSpace(string(out)) != "node/"+n.Name {
			t.Errorf("kubectl from %s's namespace: %q, %v", n.Name, out, err)
		}
	}
}

func testRouter(ctx context.Context, t *testing.T, l *lab.Lab) {
	for _, n := range l.Nodes {
		c, err := n.DialContext(ctx, "tcp", net.JoinHostPort(l.Router.IPv4.String(), "179"))
		if err != nil {
			t.Errorf("%s cannot reach BGP on the router: %v", n.Name, err)
			continue
		}
		c.Close()
	}
	out, err := l.Router.Vtysh(ctx, "show bgp summary")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), fmt.Sprintf("local AS number %d", lab.RouterASN)) && !strings.Contains(string(out), "No BGP neighbors") {
		t.Errorf("vtysh show bgp summary: %s", out)
	}
	v, err := l.Router.View(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Sessions) != 0 || len(v.Routes) != 0 {
		t.Errorf("a fresh router has sessions %v and routes %v", v.Sessions, v.Routes)
	}
}

// testController builds and runs pylon's controller on the host under
// the shipped RBAC, gives it a dual-stack pool, and returns the addresses
// it assigns to a dual-stack Service.
func testController(ctx context.Context, t *testing.T, l *lab.Lab) []netip.Addr {
	bin, err := images.BuildStatic(ctx, "./cmd/controller", t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	// As shipped: its ServiceAccount's token and rights (shipped_test.go).
	ctrl, err := l.StartControllerAs(controllerKubeconfig(t, l, installShipped(t, l)), bin,
		"--namespace="+pylonNS, "--metrics-bind-address=0", "--health-probe-bind-address=0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { checkNotRefused(t, nil, ctrl) })
	mustCreate(ctx, t, l.Client, gen.IPPool("lab", gen.Addresses(lab.PoolV4.String(), lab.PoolV6.String())))
	svc := lab.LoadBalancerService("default", "web", 80)
	svc.Spec.IPFamilyPolicy = ptr.To(corev1.IPFamilyPolicyRequireDualStack)
	svc.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
	mustCreate(ctx, t, l.Client, svc)
	if err := l.SetEndpoints(ctx, svc, lab.ReadyOn("n1", "n2", "n3")...); err != nil {
		t.Fatal(err)
	}
	var vips []netip.Addr
	poll.Eventually(t, 50*time.Millisecond, 30*time.Second, "the controller to assign both families", func() error {
		if !ctrl.Running() {
			t.Fatalf("the controller exited: %v\n%s", ctrl.ExitErr(), ctrl.Log())
		}
		if err := l.Client.Get(ctx, client.ObjectKeyFromObject(svc), svc); err != nil {
			return err
		}
		vips = config.IngressIPs(svc)
		if len(vips) != 2 {
			return fmt.Errorf("ingress %v", svc.Status.LoadBalancer.Ingress)
		}
		return nil
	})
	slices.SortFunc(vips, func(a, b netip.Addr) int { return a.BitLen() - b.BitLen() })
	if !lab.PoolV4.Contains(vips[0]) || !lab.PoolV6.Contains(vips[1]) {
		t.Fatalf("assigned %v, want one from %s and one from %s", vips, lab.PoolV4, lab.PoolV6)
	}
	t.Logf("controller assigned %v", vips)
	return vips
}

// testProbes puts the addresses on n2 by hand and checks that every probe
// sees n2: ARP and NDP answers with n2's MAC, HTTP taken by n2 (kube-proxy
// there DNATs it to a backend).
func testProbes(ctx context.Context, t *testing.T, l *lab.Lab, v4, v6 netip.Addr) {
	n2 := l.Node("n2")
	c1 := l.LocalClient
	for _, vip := range []netip.Addr{v4, v6} {
		macs, err := c1.WhoHas(ctx, vip, 300*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(macs) != 0 {
			t.Errorf("%s: answered by %v before any node holds it", vip, macs)
		}
	}
	if err := n2.IP(ctx, fmt.Sprintf("addr add %s/32 dev eth0", v4), fmt.Sprintf("addr add %s/128 dev eth0 nodad", v6)); err != nil {
		t.Fatal(err)
	}
	for _, vip := range []netip.Addr{v4, v6} {
		macs, err := c1.WhoHas(ctx, vip, 300*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(macs) != 1 || l.NodeByMAC(macs[0]) != n2 {
			t.Errorf("%s: answered by %v, want only n2's %s", vip, macs, n2.MAC)
		}
		// kube-proxy DNATs to a backend on any node (Cluster policy); the
		// backend answers with the node that took the traffic.
		poll.Eventually(t, 50*time.Millisecond, 10*time.Second, "n2 to answer HTTP for "+vip.String(), func() error {
			got, err := c1.Get(ctx, vip, 80, time.Second)
			if err != nil || got != "n2" {
				return fmt.Errorf("GET %s from c1: %q, %v; want n2", vip, got, err)
			}
			return nil
		})
	}
	// A second holder shows up as a second answer (a split brain).
	n3 := l.Node("n3")
	if err := n3.IP(ctx, fmt.Sprintf("addr add %s/32 dev eth0", v4)); err != nil {
		t.Fatal(err)
	}
	macs, err := c1.WhoHas(ctx, v4, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var who []string
	for _, m := range macs {
		if n := l.NodeByMAC(m); n != nil {
			who = append(who, n.Name)
		}
	}
	slices.Sort(who)
	if !slices.Equal(who, []string{"n2", "n3"}) {
		t.Errorf("with %s on n2 and n3, answers from %v (%v)", v4, who, macs)
	}
	if err := n3.IP(ctx, fmt.Sprintf("addr del %s/32 dev eth0", v4)); err != nil {
		t.Fatal(err)
	}
	// c1's kernel took whichever ARP reply came last into its neighbour
	// entry: n3's, maybe. Every node's kube-proxy serves the address
	// (Cluster policy), so that stale entry would keep c1 on n3.
	if err := c1.IP(ctx, "neigh flush dev eth0"); err != nil {
		t.Fatal(err)
	}
}

// testSampler moves the IPv4 address from n2 to n3 with a pause in
// between, as a failover without gratuitous ARP would after the client's
// cache expired, and checks the sampler's account of it.
func testSampler(ctx context.Context, t *testing.T, l *lab.Lab, vip netip.Addr) {
	n2, n3, c1 := l.Node("n2"), l.Node("n3"), l.LocalClient
	s := c1.StartSampler(ctx, vip, 80)
	poll.Eventually(t, 50*time.Millisecond, 5*time.Second, "answers from n2", func() error {
		if r := s.Snapshot(); r.Answers["n2"] < 10 {
			return fmt.Errorf("so far %v", r)
		}
		return nil
	})
	const pause = 300 * time.Millisecond
	if err := n2.IP(ctx, fmt.Sprintf("addr del %s/32 dev eth0", vip)); err != nil {
		t.Fatal(err)
	}
	// Forget n2's MAC, as a client does when its entry expires.
	if err := c1.IP(ctx, "neigh flush dev eth0"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(pause)
	if err := n3.IP(ctx, fmt.Sprintf("addr add %s/32 dev eth0", vip)); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 50*time.Millisecond, 10*time.Second, "answers from n3", func() error {
		if r := s.Snapshot(); r.Answers["n3"] < 10 {
			return fmt.Errorf("so far %v", r)
		}
		return nil
	})
	r, _ := s.Stop()
	t.Logf("sampler: %v", r)
	if r.LongestGap < pause || r.LongestGap > 5*time.Second {
		t.Errorf("longest gap %v, want at least the %v pause and less than 5s", r.LongestGap, pause)
	}
	if len(r.Changes) != 1 || r.Changes[0].From != "n2" || r.Changes[0].To != "n3" {
		t.Errorf("changes %v, want one, n2 to n3", r.Changes)
	}
	if !r.Changes[0].At.After(r.GapFrom) || r.Changes[0].At.Before(r.GapTo) {
		t.Errorf("the change at %v is not where the gap ends (%v to %v)", r.Changes[0].At, r.GapFrom, r.GapTo)
	}
	if err := n3.IP(ctx, fmt.Sprintf("addr del %s/32 dev eth0", vip)); err != nil {
		t.Fatal(err)
	}
}

// testBGP announces the address from n1 and n2 with a throwaway BGP
// speaker and checks the router's view (sessions, paths, communities,
// ECMP in the kernel) and the remote client's traffic through it.
func testBGP(ctx context.Context, t *testing.T, l *lab.Lab, vip netip.Addr) {
	const asn = 64512
	prefix := netip.PrefixFrom(vip, 32)
	peers := map[string]*bgpPeer{}
	for _, name := range []string{"n1", "n2"} {
		n := l.Node(name)
		p, err := dialBGP(ctx, n, l.Router.IPv4, asn)
		if err != nil {
			t.Fatalf("BGP from %s: %v", name, err)
		}
		t.Cleanup(p.close)
		peers[name] = p
		if err := p.announce([]netip.Prefix{prefix}, n.IPv4, asn, []string{"64512:100", fmt.Sprintf("64512:%d", n.Index)}, []string{fmt.Sprintf("64512:1:%d", n.Index)}); err != nil {
			t.Fatal(err)
		}
	}
	n1, n2 := l.Node("n1").IPv4, l.Node("n2").IPv4
	poll.Eventually(t, 50*time.Millisecond, 10*time.Second, "ECMP over n1 and n2 in the router's kernel", func() error {
		routes, err := l.Router.KernelRoutes(ctx)
		if err != nil {
			return err
		}
		if got := routes[prefix]; !slices.Equal(got, []netip.Addr{n1, n2}) {
			return fmt.Errorf("%s via %v", prefix, got)
		}
		return nil
	})
	v, err := l.Router.View(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"n1", "n2"} {
		n := l.Node(name)
		s, ok := v.Session(n.IPv4)
		if !ok || !s.Established() || !s.Dynamic || s.RemoteAS != asn || s.PrefixesReceived["ipv4"] != 1 {
			t.Errorf("session with %s: %+v (found %v)", name, s, ok)
		}
	}
	if got := v.NextHops(prefix); !slices.Equal(got, []netip.Addr{n1, n2}) {
		t.Errorf("FRR's next hops for %s: %v, want n1 and n2", prefix, got)
	}
	for _, p := range v.Routes[prefix] {
		idx := map[netip.Addr]int{n1: 1, n2: 2}[p.Peer]
		wantComm := []string{fmt.Sprintf("64512:%d", idx), "64512:100"}
		if !slices.Equal(p.Communities, wantComm) || !slices.Equal(p.LargeCommunities, []string{fmt.Sprintf("64512:1:%d", idx)}) || !p.Multipath || !slices.Equal(p.ASPath, []uint32{asn}) {
			t.Errorf("path from %s: %+v", p.Peer, p)
		}
	}

	// The remote client reaches the address through the router; the
	// answering node is one of the two next hops.
	got, err := l.RemoteClient.Get(ctx, vip, 80, time.Second)
	if err != nil || (got != "n1" && got != "n2") {
		t.Fatalf("GET %s from the remote client: %q, %v; want n1 or n2", vip, got, err)
	}
	// n2's session drops: its path goes, traffic goes to n1 only.
	peers["n2"].close()
	poll.Eventually(t, 50*time.Millisecond, 10*time.Second, "n2's path to go", func() error {
		routes, err := l.Router.KernelRoutes(ctx)
		if err != nil {
			return err
		}
		if got := routes[prefix]; !slices.Equal(got, []netip.Addr{n1}) {
			return fmt.Errorf("%s via %v", prefix, got)
		}
		return nil
	})
	for range 5 {
		if got, err := l.RemoteClient.Get(ctx, vip, 80, time.Second); err != nil || got != "n1" {
			t.Errorf("GET %s from the remote client after n2 left: %q, %v; want n1", vip, got, err)
		}
	}
	peers["n1"].close()
}

func testFaults(ctx context.Context, t *testing.T, l *lab.Lab) {
	n3, c1 := l.Node("n3"), l.LocalClient
	backend := func() error {
		_, err := c1.Get(ctx, n3.IPv4, lab.BackendPort, 300*time.Millisecond)
		return err
	}
	if err := backend(); err != nil {
		t.Fatalf("n3's backend before any fault: %v", err)
	}
	t.Run("cut and heal", func(t *testing.T) {
		if err := l.Cut(ctx, n3); err != nil {
			t.Fatal(err)
		}
		if err := backend(); err == nil {
			t.Error("n3 answers while cut off")
		}
		if err := l.Heal(ctx, n3); err != nil {
			t.Fatal(err)
		}
		poll.Eventually(t, 50*time.Millisecond, 5*time.Second, "n3 back after heal", backend)
	})
	t.Run("link down and up", func(t *testing.T) {
		if err := l.LinkDown(ctx, n3); err != nil {
			t.Fatal(err)
		}
		if err := backend(); err == nil {
			t.Error("n3 answers with its link down")
		}
		if err := l.LinkUp(ctx, n3); err != nil {
			t.Fatal(err)
		}
		poll.Eventually(t, 50*time.Millisecond, 5*time.Second, "n3 back after link up", backend)
	})
	t.Run("kill, restart and term a process", func(t *testing.T) {
		b := l.Backends[2]
		pid := b.PID()
		if err := b.Kill(); err != nil {
			t.Fatal(err)
		}
		if b.Running() || backend() == nil {
			t.Fatal("n3's backend still answers after SIGKILL")
		}
		if err := b.Start(); err != nil {
			t.Fatal(err)
		}
		if b.PID() == pid {
			t.Errorf("restarted backend has the old pid %d", pid)
		}
		poll.Eventually(t, 50*time.Millisecond, 5*time.Second, "the backend back after start", backend)
		if err := b.Restart(); err != nil {
			t.Fatal(err)
		}
		poll.Eventually(t, 50*time.Millisecond, 5*time.Second, "the backend back after restart", backend)
		if err := b.Term(time.Second); err != nil {
			t.Errorf("backend did not stop on SIGTERM: %v", err)
		}
		if err := b.Start(); err != nil {
			t.Fatal(err)
		}
		poll.Eventually(t, 50*time.Millisecond, 5*time.Second, "the backend back", backend)
		if log := b.Log(); strings.Count(log, "=== ") != 4 {
			t.Errorf("the backend's log should show four starts:\n%s", log)
		}
	})
	t.Run("restart the API server", func(t *testing.T) {
		if err := l.RestartAPIServer(); err != nil {
			t.Fatal(err)
		}
		var node corev1.Node
		if err := l.Client.Get(ctx, client.ObjectKey{Name: "n1"}, &node); err != nil {
			t.Errorf("the old client after an API server restart: %v", err)
		}
		out, err := l.Node("n1").Run(ctx, l.API.KubectlPath, "--kubeconfig", l.Node("n1").Kubeconfig, "get", "service", "web", "-o", "name")
		if err != nil || strings.TrimSpace(string(out)) != "service/web" {
			t.Errorf("a node's kubeconfig after an API server restart: %q, %v", out, err)
		}
	})
}

func mustCreate(ctx context.Context, t *testing.T, c client.Client, o client.Object) {
	t.Helper()
	if err := c.Create(ctx, o); err != nil {
		t.Fatalf("create %T %s: %v", o, o.GetName(), err)
	}
}
