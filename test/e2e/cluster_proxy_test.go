package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// TestClusterIptables is TestCluster's first scenario on nodes whose
// kube-proxy runs in iptables mode (nf_tables backend): layer 2 and BGP
// traffic reach the backend's pods through kube-proxy's iptables rules
// (and no nftables rules of kube-proxy exist), then with
// externalTrafficPolicy Local: pylon announces from the nodes with a pod
// only, kube-proxy delivers to the local pod and drops on a node without
// one. After teardown the host has none of kube-proxy's rules.
func TestClusterIptables(t *testing.T) {
	// Registered first, so it runs after the lab's teardown.
	t.Cleanup(func() { checkHostWithoutProxyRules(t) })
	c := startCluster(t, lab.NodeStack{ProxyMode: lab.ProxyIptables})
	for _, s := range []clusterScenario{
		{"HelmInstall", clusterHelmInstall},
		{"LocalTrafficPolicy", clusterLocalTraffic},
	} {
		if !t.Run(s.name, func(t *testing.T) { s.run(t, c) }) {
			t.Fatalf("scenario %s failed: the later ones start from its state and do not run", s.name)
		}
	}
}

// checkProxyRules checks, in every node's namespace, that kube-proxy
// serves the addresses in the cluster's mode and in no other: nftables
// mode has its table "ip kube-proxy" naming them and no KUBE-SERVICES
// chain in iptables; iptables mode a KUBE-SERVICES rule for each and no
// kube-proxy table in nftables; ipvs mode has them on kube-ipvs0 and no
// kube-proxy table in nftables. kube-proxy's own /proxyMode must say the
// mode too.
func (c *cluster) checkProxyRules(t *testing.T, ips ...netip.Addr) {
	t.Helper()
	for _, n := range c.lab.Nodes {
		if got := proxyModeOn(t, c, n); got != c.proxyMode {
			t.Errorf("kube-proxy on %s says its mode is %q, want %q", n.Name, got, c.proxyMode)
		}
		poll.Eventually(t, 50*time.Millisecond, 10*time.Second, fmt.Sprintf("kube-proxy's %s rules for %v on %s", c.proxyMode, ips, n.Name), func() (bool, string) {
			tables, err := n.Run(c.ctx, "nft", "list", "tables")
			if err != nil {
				return false, err.Error()
			}
			saved, err := n.Run(c.ctx, "iptables-save")
			if err != nil {
				return false, err.Error()
			}
			nftProxy := slices.Contains(strings.Split(string(tables), "\n"), "table ip kube-proxy")
			var rules []byte
			switch c.proxyMode {
			case lab.ProxyNftables:
				if !nftProxy || strings.Contains(string(saved), ":KUBE-SERVICES") {
					return false, fmt.Sprintf("nft tables %q, iptables KUBE-SERVICES %v", tables, strings.Contains(string(saved), ":KUBE-SERVICES"))
				}
				if rules, err = n.Run(c.ctx, "nft", "list", "table", "ip", "kube-proxy"); err != nil {
					return false, err.Error()
				}
			case lab.ProxyIptables:
				if nftProxy {
					return false, fmt.Sprintf("nftables has kube-proxy's table: %q", tables)
				}
				rules = saved
			case lab.ProxyIPVS:
				if nftProxy {
					return false, fmt.Sprintf("nftables has kube-proxy's table: %q", tables)
				}
				if rules, err = n.Run(c.ctx, "ip", "-o", "addr", "show", "dev", "kube-ipvs0"); err != nil {
					return false, err.Error()
				}
			}
			for _, ip := range ips {
				want := ip.String()
				if c.proxyMode == lab.ProxyIptables {
					want = "-A KUBE-SERVICES -d " + ip.String() + "/32 "
				}
				if !strings.Contains(string(rules), want) {
					return false, fmt.Sprintf("no %q in %d bytes of rules", want, len(rules))
				}
			}
			if n == c.lab.Nodes[0] {
				t.Logf("%s: nftables tables %q; %d iptables KUBE-SERVICES rules", n.Name, strings.Split(strings.TrimSpace(string(tables)), "\n"), strings.Count(string(saved), "-A KUBE-SERVICES "))
			}
			return true, ""
		})
	}
}

// proxyModeOn asks node n's kube-proxy its mode (GET /proxyMode on its
// metrics address, 127.0.0.1:10249 in the node's namespace).
func proxyModeOn(t *testing.T, c *cluster, n *lab.Node) string {
	t.Helper()
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: n.DialContext}}
	req, err := http.NewRequestWithContext(c.ctx, http.MethodGet, "http://127.0.0.1:10249/proxyMode", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err.Error()
	}
	return strings.TrimSpace(string(body))
}

// checkHostWithoutProxyRules fails t if the host's own namespace has any of
// kube-proxy's rules: they belong in the node namespaces.
func checkHostWithoutProxyRules(t *testing.T) {
	t.Helper()
	// t's context is done once cleanups run.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	saved, err := exec.CommandContext(ctx, "iptables-save").Output()
	if err != nil {
		t.Errorf("iptables-save on the host: %v", err)
	}
	tables, err := exec.CommandContext(ctx, "nft", "list", "tables").Output()
	if err != nil {
		t.Errorf("nft list tables on the host: %v", err)
	}
	if strings.Contains(string(saved), "KUBE-") || strings.Contains(string(tables), "kube-proxy") {
		t.Errorf("kube-proxy's rules on the host:\n%s\n%s", saved, tables)
	}
}

// clusterLocalTraffic checks externalTrafficPolicy Local through
// kube-proxy: the router routes a BGP Service only over the nodes with a
// backend pod, a layer-2 Service is owned by one of them and every answer
// comes from the owner's own pod, and traffic for the BGP address sent to
// the node without a pod is dropped there (not forwarded to a pod
// elsewhere). It deletes its Services and route.
func clusterLocalTraffic(t *testing.T, c *cluster) {
	l, ctx := c.lab, c.ctx
	var pods corev1.PodList
	if err := l.Client.List(ctx, &pods, client.InNamespace(c.backend.Namespace), client.MatchingLabels(c.backend.Spec.Selector.MatchLabels)); err != nil {
		t.Fatal(err)
	}
	podOn := map[string]string{}
	var podNodes []string
	for _, p := range pods.Items {
		podOn[p.Spec.NodeName] = p.Name
		podNodes = append(podNodes, p.Spec.NodeName)
	}
	slices.Sort(podNodes)
	var podless *lab.Node
	for _, n := range l.Nodes {
		if podOn[n.Name] == "" {
			podless = n
		}
	}
	if len(podNodes) != 2 || podless == nil {
		t.Fatalf("backend pods on %v, want two of the three nodes", podNodes)
	}
	local := func(s *corev1.Service) {
		s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	}
	l2IP := c.backendService(t, "backend-local-lab", "lab", local)
	bgpIP := c.backendService(t, "backend-local-bgp", "bgp", local)
	t.Cleanup(func() {
		for _, name := range []string{"backend-local-lab", "backend-local-bgp"} {
			svc := &corev1.Service{}
			svc.Namespace, svc.Name = c.backend.Namespace, name
			if err := l.Client.Delete(ctx, svc); err != nil {
				t.Errorf("delete Service %s: %v", name, err)
			}
		}
	})
	c.checkProxyRules(t, l2IP, bgpIP)

	took := waitNextHops(t, l, bgpIP, 60*time.Second, podNodes...)
	t.Logf("the router routes %s over %v (the nodes with a pod) after %v", bgpIP, podNodes, took.Round(time.Millisecond))

	var owner string
	poll.Eventually(t, 50*time.Millisecond, 30*time.Second, "one node with a pod to own "+l2IP.String(), func() (bool, string) {
		who := answering(t, l, l2IP)
		if len(who) != 1 || podOn[who[0]] == "" {
			return false, fmt.Sprintf("answering ARP: %v; pods on %v", who, podNodes)
		}
		owner = who[0]
		return true, ""
	})
	for range 10 {
		got, err := l.LocalClient.Get(ctx, l2IP, 80, time.Second)
		if err != nil || got != podOn[owner] {
			t.Fatalf("%s owned by %s: HTTP answer %q (%v), want only its own pod %s", l2IP, owner, got, err, podOn[owner])
		}
	}
	t.Logf("%s owned by %s, every answer from its pod %s", l2IP, owner, podOn[owner])

	// The local client sends the BGP address to the node without a pod.
	route := fmt.Sprintf("route add %s/32 via %s", bgpIP, podless.IPv4)
	if err := l.LocalClient.IP(ctx, route); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := l.LocalClient.IP(ctx, "route del "+bgpIP.String()+"/32"); err != nil {
			t.Errorf("remove the local client's route: %v", err)
		}
	}()
	if got, err := l.LocalClient.Get(ctx, bgpIP, 80, time.Second); err == nil {
		t.Errorf("%s sent to %s, which has no pod: answered by %q, want it dropped", bgpIP, podless.Name, got)
	}
}
