package speaker

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/pylonlb/pylon/speaker/election"
)

// TestExplainL2AgreesWithPlanL2: over random clusters (labels, liveness,
// NetworkUnavailable, Local Services and their endpoints, NoInterface
// lists, shared addresses), the owner ExplainL2 gives every address is the
// owner PlanL2 records on every node, and its standings say why each other
// node is out.
func TestExplainL2AgreesWithPlanL2(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cfg := testConfig(t)
	for round := range 200 {
		var ns []election.Node
		for i := range 5 {
			n := election.Node{Name: fmt.Sprintf("node-%d", i+1), Labels: labels.Set{}, Alive: rng.IntN(5) > 0, NetworkUnavailable: rng.IntN(8) == 0}
			if rng.IntN(4) > 0 {
				n.Labels["l2"] = "yes"
			}
			if rng.IntN(8) == 0 {
				n.Labels[election.ExcludeLabel] = ""
			}
			ns = append(ns, n)
		}
		var svcs []Service
		noIfc := map[string]map[netip.Addr]bool{}
		for i := range 12 {
			ip := netip.AddrFrom4([4]byte{198, 51, 100, byte(1 + rng.IntN(8))}) // some shared
			s := Service{Key: fmt.Sprintf("ns/s%02d", i), IPs: []netip.Addr{ip}, Local: rng.IntN(2) == 0, EndpointNodes: map[string]bool{}}
			for _, n := range ns {
				if rng.IntN(3) == 0 {
					s.EndpointNodes[n.Name] = true
				}
			}
			if rng.IntN(6) == 0 {
				n := ns[rng.IntN(len(ns))].Name
				if noIfc[n] == nil {
					noIfc[n] = map[netip.Addr]bool{}
				}
				noIfc[n][ip] = true
			}
			svcs = append(svcs, s)
		}
		in := Inputs{Nodes: ns, Services: svcs, Config: cfg, NoInterface: noIfc}
		neutral := PlanL2(in)
		for _, s := range svcs {
			ip := s.IPs[0]
			e := ExplainL2(in, ip)
			if e.Skipped != "" || e.Pool != "l2" || !slices.Equal(e.Advertisements, []string{"ad"}) {
				t.Fatalf("round %d, %s: %+v", round, ip, e)
			}
			if got, want := e.Owner(), neutral.Owners[ip]; got != want {
				t.Fatalf("round %d, %s: ExplainL2 owner %q, PlanL2 from no node %q", round, ip, got, want)
			}
			for i, n := range ns {
				in.Node, in.Links, in.NodeIPs = n.Name, eth0(i+1), addrs(fmt.Sprintf("198.18.0.%d", 11+i))
				if got := PlanL2(in).Owners[ip]; got != e.Owner() {
					t.Fatalf("round %d, %s: PlanL2 on %s owner %q, ExplainL2 %q (%v)", round, ip, n.Name, got, e.Owner(), e.Nodes)
				}
			}
			in.Node, in.Links, in.NodeIPs = "", nil, nil
			// The first Service by key decides the traffic policy.
			first := firstByKey(svcs, ip)
			es := election.Service{Advertisements: cfg.L2Advertisements, Local: first.Local, EndpointNodes: first.EndpointNodes}
			for _, n := range ns {
				want := election.Check(n, es)
				if want == election.ReasonEligible && noIfc[n.Name][ip] {
					want = ReasonNoInterface
				}
				if r := e.Nodes[n.Name]; r != want {
					t.Fatalf("round %d, %s: %s stands %s, want %s", round, ip, n.Name, r, want)
				}
				if eligible := slices.Contains(e.Ranked, n.Name); eligible != (want == election.ReasonEligible) {
					t.Fatalf("round %d, %s: %s stands %s, ranked %v", round, ip, n.Name, want, e.Ranked)
				}
			}
		}
	}
}

func firstByKey(svcs []Service, ip netip.Addr) Service {
	var first Service
	for _, s := range svcs {
		if slices.Contains(s.IPs, ip) && (first.Key == "" || s.Key < first.Key) {
			first = s
		}
	}
	return first
}

func TestExplainL2Standings(t *testing.T) {
	cfg := testConfig(t)
	vip := netip.MustParseAddr("198.51.100.7")
	ns := []election.Node{
		{Name: "a", Labels: labels.Set{"l2": "yes"}, Alive: true},
		{Name: "b", Labels: labels.Set{"l2": "yes", election.ExcludeLabel: "true"}, Alive: true},
		{Name: "c", Labels: labels.Set{"l2": "no"}, Alive: true},
		{Name: "d", Labels: labels.Set{"l2": "yes"}, Alive: false},
		{Name: "e", Labels: labels.Set{"l2": "yes"}, Alive: true},
		{Name: "f", Labels: labels.Set{"l2": "yes"}, Alive: true},
	}
	in := Inputs{Nodes: ns, Config: cfg, Services: []Service{
		{Key: "ns/b", IPs: []netip.Addr{vip}},
		// The first by key decides: Local, endpoints on a and f.
		{Key: "ns/a", IPs: []netip.Addr{vip}, Local: true, EndpointNodes: map[string]bool{"a": true, "f": true, "c": true}},
	}, NoInterface: map[string]map[netip.Addr]bool{"f": {vip: true}}}
	e := ExplainL2(in, vip)
	want := map[string]election.Reason{
		"a": election.ReasonEligible, "b": election.ReasonExcluded, "c": election.ReasonNotSelected,
		"d": election.ReasonNotAlive, "e": election.ReasonNoEndpoint, "f": ReasonNoInterface,
	}
	for n, r := range want {
		if e.Nodes[n] != r {
			t.Errorf("%s stands %s, want %s (all: %v)", n, e.Nodes[n], r, e.Nodes)
		}
	}
	if !e.Local || e.Owner() != "a" || !slices.Equal(e.Ranked, []string{"a"}) {
		t.Errorf("owner %q, ranked %v, local %v; want a alone, Local", e.Owner(), e.Ranked, e.Local)
	}

	for _, tc := range []struct {
		name string
		ip   string
		want string
	}{
		{"no Service has it", "198.51.100.9", "no served LoadBalancer Service has it"},
		{"never announced", "127.0.0.1", "it must never be announced: "},
		{"a Node's address", "198.51.100.200", "it must never be announced: an address of Node a"},
		{"no pool", "192.0.2.1", "no IPPool holds it"},
		{"pool without advertisement", "203.0.113.1", "no L2Advertisement covers its IPPool"},
	} {
		ip := netip.MustParseAddr(tc.ip)
		in := Inputs{Nodes: ns, Config: cfg, ClusterNodeIPs: map[netip.Addr]string{netip.MustParseAddr("198.51.100.200"): "a"}}
		if tc.ip != "198.51.100.9" {
			in.Services = []Service{{Key: "ns/x", IPs: []netip.Addr{ip}}}
		}
		got := ExplainL2(in, ip)
		if len(got.Skipped) < len(tc.want) || got.Skipped[:len(tc.want)] != tc.want || got.Owner() != "" {
			t.Errorf("%s: Skipped %q, owner %q; want %q...", tc.name, got.Skipped, got.Owner(), tc.want)
		}
	}
}

// TestBGPOfferAgreesWithBGPIPs: BGPOffer offers exactly what BGPIPs does,
// on every node, and says why not otherwise.
func TestBGPOfferAgreesWithBGPIPs(t *testing.T) {
	a, b, c := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.2"), netip.MustParseAddr("198.51.100.3")
	ns := []election.Node{
		{Name: "n1"}, {Name: "n2", NetworkUnavailable: true}, {Name: "n3", Labels: labels.Set{election.ExcludeLabel: ""}}, {Name: "n4"},
	}
	in := Inputs{Nodes: ns, Config: testConfig(t), Services: []Service{
		{Key: "ns/cluster", IPs: []netip.Addr{a}, EndpointNodes: map[string]bool{"n4": true}},
		{Key: "ns/local", IPs: []netip.Addr{b}, Local: true, EndpointNodes: map[string]bool{"n4": true}},
		{Key: "ns/none", IPs: []netip.Addr{c}},
		{Key: "ns/shares", IPs: []netip.Addr{a}, Local: true, EndpointNodes: map[string]bool{"n1": true}},
		{Key: "ns/loopback", IPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, EndpointNodes: map[string]bool{"n1": true}},
	}}
	want := map[string]map[netip.Addr]string{ // node -> address -> Services or why not
		"n1": {a: "ns/cluster,ns/shares", b: "ns/local: externalTrafficPolicy Local and no ready endpoint on this node", c: "ns/none: no ready endpoint"},
		"n2": {a: "the node's NetworkUnavailable condition is True"},
		"n3": {a: "the node has the label " + election.ExcludeLabel},
		"n4": {a: "ns/cluster", b: "ns/local", c: "ns/none: no ready endpoint"},
	}
	for _, n := range ns {
		in.Node = n.Name
		ips := BGPIPs(in)
		for _, ip := range []netip.Addr{a, b, c, netip.MustParseAddr("127.0.0.1")} {
			keys, why := BGPOffer(in, ip)
			if !slices.Equal(keys, ips[ip]) {
				t.Errorf("%s %s: BGPOffer %v, BGPIPs %v", n.Name, ip, keys, ips[ip])
			}
			if (len(keys) == 0) == (why == "") {
				t.Errorf("%s %s: keys %v and why %q", n.Name, ip, keys, why)
			}
			got := why
			if len(keys) > 0 {
				got = fmt.Sprint(keys[0])
				for _, k := range keys[1:] {
					got += "," + k
				}
			}
			if w, ok := want[n.Name][ip]; ok && got != w {
				t.Errorf("%s %s: %q, want %q", n.Name, ip, got, w)
			}
		}
	}
}
