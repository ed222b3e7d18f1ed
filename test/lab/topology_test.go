package lab

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/pylonlb/pylon/test/netlab"
)

func TestTopologyNamesAndAddresses(t *testing.T) {
	// A prefix as netlab makes them for a lab holding the lock.
	prefix := "pyl1a2b3c"
	topo, err := newTopology(prefix, MaxNodes)
	if err != nil {
		t.Fatal(err)
	}
	topo.withSecondRouter() // r2 too: every name, address and MAC below
	if len(topo.hosts()) != MaxNodes+4 {
		t.Fatalf("%d hosts, want the nodes, r1, r2, c1 and c2", len(topo.hosts()))
	}
	names := append(topo.namespaces(), topo.hostLink)
	for _, n := range names {
		if !netlab.InFamily(n) {
			t.Errorf("%s is outside the lab family: a crashed run's %s would never be cleaned", n, n)
		}
	}
	// Interface names: IFNAMSIZ is 16 with the NUL.
	if len(topo.hostLink) > 15 {
		t.Errorf("host link name %q is longer than 15 bytes", topo.hostLink)
	}
	reserved := []netip.Prefix{netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("2001:db8::/32")}
	addrs := map[netip.Addr]string{}
	macs := map[string]string{}
	for _, h := range topo.hosts() {
		for _, a := range []netip.Addr{h.IPv4, h.IPv6} {
			if !reserved[0].Contains(a) && !reserved[1].Contains(a) {
				t.Errorf("%s: %s is outside the reserved ranges", h.Name, a)
			}
			if other, dup := addrs[a]; dup {
				t.Errorf("%s and %s share %s", h.Name, other, a)
			}
			addrs[a] = h.Name
		}
		if other, dup := macs[h.MAC.String()]; dup {
			t.Errorf("%s and %s share MAC %s", h.Name, other, h.MAC)
		}
		macs[h.MAC.String()] = h.Name
		if h.MAC[0]&0x02 == 0 || h.MAC[0]&0x01 != 0 {
			t.Errorf("%s: MAC %s is not a locally administered unicast address", h.Name, h.MAC)
		}
		if len(portName(h)) > 15 {
			t.Errorf("bridge port %q is too long", portName(h))
		}
	}
	for _, p := range []netip.Prefix{SegmentV4, SegmentV6, RemoteV4, RemoteV6, Remote2V4, Remote2V6} {
		if !p.Overlaps(reserved[0]) && !p.Overlaps(reserved[1]) {
			t.Errorf("link %s is outside the reserved ranges", p)
		}
	}
	// 198.19.192.0/18 is the test API server's Service range.
	for _, p := range []netip.Prefix{RemoteV4, Remote2V4} {
		if p.Overlaps(netip.MustParsePrefix("198.19.192.0/18")) {
			t.Errorf("remote link %s overlaps the API server's Service range", p)
		}
	}
	if !Remote2V4.Contains(topo.remote2V4) || !Remote2V6.Contains(topo.remote2V6) || topo.router2.IPv4.String() != "198.18.0.3" {
		t.Errorf("r2 at %s, the remote client on r2's link at %s %s", topo.router2.IPv4, topo.remote2V4, topo.remote2V6)
	}
	n1 := topo.nodes[0]
	if n1.Name != "n1" || n1.IPv4.String() != "198.18.0.11" || n1.IPv6.String() != "2001:db8:18::11" || n1.MAC.String() != "02:00:c6:12:00:0b" {
		t.Errorf("node 1 is %s %s %s %s", n1.Name, n1.IPv4, n1.IPv6, n1.MAC)
	}
	if !strings.HasPrefix(n1.Netns, prefix+"-") {
		t.Errorf("node namespace %s lacks the run prefix", n1.Netns)
	}
}

func TestTopologyBounds(t *testing.T) {
	for _, n := range []int{0, -1, MaxNodes + 1} {
		if _, err := newTopology("pyl000000", n); err == nil {
			t.Errorf("%d nodes accepted", n)
		}
	}
}
