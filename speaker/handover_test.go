package speaker

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/pylonlb/pylon/speaker/election"
	"github.com/pylonlb/pylon/speaker/layer2"
)

// converge plans every node, publishes each node's NoInterface as its
// SpeakerStatus would, and again, until nothing changes; links gives each
// node's links. It returns the last plans and how many rounds it took.
func converge(t *testing.T, in Inputs, links map[string][]layer2.Link) (map[string]Plan, int) {
	t.Helper()
	for round := 1; round <= 5; round++ {
		plans := map[string]Plan{}
		next := map[string]map[netip.Addr]bool{}
		for i, n := range in.Nodes {
			in.Node, in.Links, in.NodeIPs = n.Name, links[n.Name], addrs(fmt.Sprintf("198.18.0.%d", 11+i))
			p := PlanL2(in)
			plans[n.Name] = p
			for _, ip := range p.NoInterface {
				if next[n.Name] == nil {
					next[n.Name] = map[netip.Addr]bool{}
				}
				next[n.Name][ip] = true
			}
		}
		if fmt.Sprint(next) == fmt.Sprint(in.NoInterface) {
			return plans, round
		}
		in.NoInterface = next
	}
	t.Fatal("published lists did not settle in 5 rounds")
	return nil, 0
}

// TestNoInterfaceHandsOver: a node without a usable interface publishes
// the addresses it would own, and the next node in rank answers them, one
// node an address. When its interface is back it takes them back once it
// has said so.
func TestNoInterfaceHandsOver(t *testing.T) {
	var svcs []Service
	for i := range 30 {
		svcs = append(svcs, Service{Key: fmt.Sprintf("ns/s%d", i), IPs: addrs(fmt.Sprintf("198.51.100.%d", i+1))})
	}
	in := Inputs{Nodes: nodes(true, true, true), Services: svcs, Config: testConfig(t)}
	names := []string{"node-1", "node-2", "node-3"}
	links := map[string][]layer2.Link{"node-1": eth0(1), "node-2": nil, "node-3": eth0(3)}
	answering := func(plans map[string]Plan, ip netip.Addr) []string {
		var out []string
		for _, n := range names {
			if _, ok := plans[n].L2[ip]; ok {
				out = append(out, n)
			}
		}
		return out
	}

	plans, rounds := converge(t, in, links)
	if rounds != 2 {
		t.Errorf("settled in %d rounds, want 2 (node-2 publishes once)", rounds)
	}
	published := map[string]map[netip.Addr]bool{"node-2": {}}
	handed := 0
	for _, s := range svcs {
		ip := s.IPs[0]
		ranked := election.Ranked(ip, names)
		want := ranked[0]
		if want == "node-2" {
			want = ranked[1]
			published["node-2"][ip] = true
			handed++
		}
		if got := answering(plans, ip); len(got) != 1 || got[0] != want {
			t.Errorf("%s (ranking %v) answered by %v, want %s", ip, ranked, got, want)
		}
		for _, n := range names {
			if o := plans[n].Owners[ip]; o != want {
				t.Errorf("%s: %s says the owner is %s, want %s", ip, n, o, want)
			}
		}
	}
	if handed == 0 {
		t.Fatal("node-2 owned none of the addresses: the test tests nothing")
	}

	// The interface is back, node-2's list still published: node-2 does
	// not answer yet (the others would not know to stop), and lists none.
	links["node-2"] = eth0(2)
	in.NoInterface = published
	in.Node, in.Links, in.NodeIPs = "node-2", links["node-2"], addrs("198.18.0.12")
	if p := PlanL2(in); len(p.L2) != 0 || len(p.NoInterface) != 0 {
		t.Errorf("back but still published: node-2 answers %d addresses and lists %v, want none and none", len(p.L2), p.NoInterface)
	}
	// Once its list is empty, it owns its addresses again.
	plans, _ = converge(t, Inputs{Nodes: in.Nodes, Services: svcs, Config: in.Config}, links)
	for _, s := range svcs {
		ip := s.IPs[0]
		want, _ := election.Owner(ip, names)
		if got := answering(plans, ip); len(got) != 1 || got[0] != want {
			t.Errorf("after the interface came back %s answered by %v, want %s", ip, got, want)
		}
	}
}
