package speaker

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/config"
	"github.com/pylonlb/pylon/speaker/election"
	"github.com/pylonlb/pylon/speaker/layer2"
)

// testConfig: pool "l2" (198.51.100.0/24) advertised on nodes labelled
// l2=yes, pool "quiet" (203.0.113.0/24) advertised nowhere.
func testConfig(t testing.TB, ifaces ...string) *config.Config {
	t.Helper()
	var names []v1alpha1.InterfaceName
	for _, i := range ifaces {
		names = append(names, v1alpha1.InterfaceName(i))
	}
	cfg := config.Parse(config.Resources{
		Pools: []v1alpha1.IPPool{
			{ObjectMeta: metav1.ObjectMeta{Name: "l2"}, Spec: v1alpha1.IPPoolSpec{Addresses: []v1alpha1.AddressRange{"198.51.100.0/24", "2001:db8:51::/64"}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "quiet"}, Spec: v1alpha1.IPPoolSpec{Addresses: []v1alpha1.AddressRange{"203.0.113.0/24"}}},
		},
		L2Advertisements: []v1alpha1.L2Advertisement{{
			ObjectMeta: metav1.ObjectMeta{Name: "ad"},
			Spec: v1alpha1.L2AdvertisementSpec{
				IPPools:      []v1alpha1.ObjectName{"l2"},
				NodeSelector: &v1alpha1.LabelSelector{MatchLabels: map[string]v1alpha1.LabelValue{"l2": "yes"}},
				Interfaces:   names,
			},
		}},
	})
	if len(cfg.Problems) > 0 {
		t.Fatalf("test config has problems: %v", cfg.Problems)
	}
	return cfg
}

func nodes(alive ...bool) []election.Node {
	var out []election.Node
	for i, a := range alive {
		out = append(out, election.Node{Name: fmt.Sprintf("node-%d", i+1), Labels: labels.Set{"l2": "yes"}, Alive: a})
	}
	return out
}

// eth0 is a node's link on the lab segment.
func eth0(i int) []layer2.Link {
	return []layer2.Link{{
		Name: "eth0", Up: true, HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, byte(i)},
		Prefixes: []netip.Prefix{netip.MustParsePrefix(fmt.Sprintf("198.18.0.%d/24", 10+i)), netip.MustParsePrefix("2001:db8:18::/64")},
	}}
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// planAll computes every node's plan over the same inputs.
func planAll(t *testing.T, in Inputs) map[string]Plan {
	t.Helper()
	out := map[string]Plan{}
	for i, n := range in.Nodes {
		in.Node, in.Links, in.NodeIPs = n.Name, eth0(i+1), addrs(fmt.Sprintf("198.18.0.%d", 11+i))
		out[n.Name] = PlanL2(in)
	}
	return out
}

func TestEveryAddressHasExactlyOneAnsweringNode(t *testing.T) {
	var svcs []Service
	for i := range 60 {
		svcs = append(svcs, Service{Key: fmt.Sprintf("ns/s%d", i), IPs: addrs(fmt.Sprintf("198.51.100.%d", i+1), fmt.Sprintf("2001:db8:51::%x", i+1))})
	}
	plans := planAll(t, Inputs{Nodes: nodes(true, true, true), Services: svcs, Config: testConfig(t)})
	perNode := map[string]int{}
	for _, s := range svcs {
		for _, ip := range s.IPs {
			var answering []string
			for name, p := range plans {
				if a, ok := p.L2[ip]; ok {
					answering = append(answering, name)
					if !slices.Equal(a.Interfaces, []string{"eth0"}) || !slices.Equal(a.Services, []string{s.Key}) {
						t.Errorf("%s on %s: %+v", ip, name, a)
					}
				}
				if p.Owners[ip] != plans["node-1"].Owners[ip] {
					t.Errorf("%s: nodes disagree on the owner", ip)
				}
			}
			if len(answering) != 1 {
				t.Fatalf("%s answered by %v", ip, answering)
			}
			perNode[answering[0]]++
		}
	}
	if len(perNode) != 3 {
		t.Errorf("120 addresses spread over %d nodes: %v", len(perNode), perNode)
	}
}

func TestPlanL2(t *testing.T) {
	vip := addrs("198.51.100.7")
	owner := func(ns []election.Node) string {
		var names []string
		for _, n := range ns {
			if n.Alive {
				names = append(names, n.Name)
			}
		}
		o, _ := election.Owner(vip[0], names)
		return o
	}
	all := nodes(true, true, true)
	first := owner(all)
	// The owner's speaker dies: someone else answers.
	dead := nodes(true, true, true)
	for i := range dead {
		if dead[i].Name == first {
			dead[i].Alive = false
		}
	}
	second := owner(dead)
	// Local policy: only the node with the endpoint may answer.
	var other string
	for _, n := range all {
		if n.Name != first {
			other = n.Name
			break
		}
	}
	unlabelled := nodes(true, true, true)
	for i := range unlabelled {
		if unlabelled[i].Name == first {
			unlabelled[i].Labels = labels.Set{}
		}
	}
	for _, tc := range []struct {
		name    string
		nodes   []election.Node
		svc     Service
		cfg     *config.Config
		yield   bool
		want    string // the node answering, "" for none
		noIface bool
	}{
		{name: "owner answers", nodes: all, svc: Service{Key: "a/b", IPs: vip}, want: first},
		{name: "dead owner replaced", nodes: dead, svc: Service{Key: "a/b", IPs: vip}, want: second},
		{name: "node not selected by the advertisement", nodes: unlabelled, svc: Service{Key: "a/b", IPs: vip}, want: owner(dead)},
		{name: "local policy: endpoint node", nodes: all, svc: Service{Key: "a/b", IPs: vip, Local: true, EndpointNodes: map[string]bool{other: true}}, want: other},
		{name: "local policy: no endpoint, nobody", nodes: all, svc: Service{Key: "a/b", IPs: vip, Local: true}, want: ""},
		{name: "pool without advertisement", nodes: all, svc: Service{Key: "a/b", IPs: addrs("203.0.113.5")}, want: ""},
		{name: "address in no pool", nodes: all, svc: Service{Key: "a/b", IPs: addrs("192.0.2.1")}, want: ""},
		{name: "yielded", nodes: all, svc: Service{Key: "a/b", IPs: vip}, yield: true, want: ""},
		{name: "interface list names none of the node's", nodes: all, svc: Service{Key: "a/b", IPs: vip}, cfg: testConfig(t, "bond7"), want: "", noIface: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			if cfg == nil {
				cfg = testConfig(t)
			}
			in := Inputs{Nodes: tc.nodes, Services: []Service{tc.svc}, Config: cfg}
			if tc.yield {
				in.Yield = map[netip.Addr]bool{tc.svc.IPs[0]: true}
			}
			var got []string
			sawNoIface := false
			for name, p := range planAll(t, in) {
				if _, ok := p.L2[tc.svc.IPs[0]]; ok {
					got = append(got, name)
				}
				if len(p.NoInterface) > 0 {
					sawNoIface = true
				}
			}
			want := []string{}
			if tc.want != "" {
				want = []string{tc.want}
			}
			if len(got) == 0 {
				got = []string{}
			}
			if !slices.Equal(got, want) || sawNoIface != tc.noIface {
				t.Fatalf("answering %v (no interface: %v), want %v (%v)", got, sawNoIface, want, tc.noIface)
			}
		})
	}
}

func TestSharedAddressListsEveryService(t *testing.T) {
	vip := addrs("198.51.100.9")
	plans := planAll(t, Inputs{Nodes: nodes(true, true), Config: testConfig(t), Services: []Service{
		{Key: "ns/web", IPs: vip}, {Key: "ns/dns", IPs: vip},
	}})
	for _, p := range plans {
		if a, ok := p.L2[vip[0]]; ok && !slices.Equal(a.Services, []string{"ns/dns", "ns/web"}) {
			t.Fatalf("shared address lists %v", a.Services)
		}
	}
}
