package layer2

import (
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/pylonlb/pylon/config"
)

// node is a typical node's links: a NIC, a bridge holding the node's
// address with a port, a VLAN, a VRF with a member, and links that must
// never answer.
func node() []Link {
	mac := func(b byte) net.HardwareAddr { return net.HardwareAddr{2, 0, 0, 0, 0, b} }
	p := netip.MustParsePrefix
	return []Link{
		{Name: "lo", Up: true, Loopback: true, HardwareAddr: make(net.HardwareAddr, 6), Prefixes: []netip.Prefix{p("127.0.0.1/8"), p("::1/128")}},
		{Name: "eth0", Up: true, HardwareAddr: mac(1), Master: "br0"},
		{Name: "br0", Kind: "bridge", Up: true, HardwareAddr: mac(1), Prefixes: []netip.Prefix{p("192.0.2.11/24"), p("2001:db8:1::11/64"), p("fe80::1/64")}},
		{Name: "eth1", Up: true, HardwareAddr: mac(2), Prefixes: []netip.Prefix{p("198.18.0.11/24"), p("fe80::2/64")}},
		{Name: "eth1.100", Kind: "vlan", Up: true, HardwareAddr: mac(2), Prefixes: []netip.Prefix{p("198.18.100.11/24"), p("2001:db8:100::11/64")}},
		{Name: "eth2", Up: true, HardwareAddr: mac(3), Master: "blue", Prefixes: []netip.Prefix{p("198.18.200.11/24")}},
		{Name: "blue", Kind: "vrf", Up: true, HardwareAddr: mac(4)},
		{Name: "eth3", Up: false, HardwareAddr: mac(5), Prefixes: []netip.Prefix{p("198.18.50.11/24")}},
		{Name: "kube-ipvs0", Kind: "dummy", Up: true, NoARP: true, HardwareAddr: mac(6), Prefixes: []netip.Prefix{p("198.51.100.0/24")}},
		{Name: "wg0", Kind: "wireguard", Up: true, Prefixes: []netip.Prefix{p("198.51.100.128/25")}},
		{Name: "bond0", Kind: "bond", Up: true, HardwareAddr: mac(7), Prefixes: []netip.Prefix{p("203.0.113.11/24")}},
		{Name: "eth4", Up: true, HardwareAddr: mac(7), Master: "bond0"},
		{Name: "vip0", Kind: "dummy", Up: true, HardwareAddr: mac(8), Prefixes: []netip.Prefix{p("203.0.113.200/32")}},
	}
}

func TestChoose(t *testing.T) {
	nodeIPs := []netip.Addr{netip.MustParseAddr("192.0.2.11"), netip.MustParseAddr("2001:db8:1::11")}
	for _, tc := range []struct {
		name    string
		ip      string
		names   []string
		nodeIPs []netip.Addr
		want    []string
	}{
		{"subnet on a bridge: the bridge, not its port", "192.0.2.50", nil, nodeIPs, []string{"br0"}},
		{"subnet on a NIC", "198.18.0.50", nil, nodeIPs, []string{"eth1"}},
		{"subnet on a VLAN", "198.18.100.50", nil, nodeIPs, []string{"eth1.100"}},
		{"VRF member answers", "198.18.200.50", nil, nodeIPs, []string{"eth2"}},
		{"bond, not its member", "203.0.113.50", nil, nodeIPs, []string{"bond0"}},
		{"IPv6 subnet", "2001:db8:100::50", nil, nodeIPs, []string{"eth1.100"}},
		{"IPv4-mapped is IPv4", "::ffff:198.18.0.50", nil, nodeIPs, []string{"eth1"}},
		{"down link's subnet is skipped: InternalIP fallback", "198.18.50.50", nil, nodeIPs, []string{"br0"}},
		{"NOARP and no-MAC links are skipped: InternalIP fallback", "198.51.100.10", nil, nodeIPs, []string{"br0"}},
		{"a /32 covers nothing else: InternalIP fallback", "203.0.113.201", nil, nodeIPs, []string{"bond0"}},
		{"fallback prefers the InternalIP of the family", "2001:db8:51::10", nil, nodeIPs, []string{"br0"}},
		{"fallback to the other family's InternalIP", "2001:db8:51::10", nil, []netip.Addr{netip.MustParseAddr("198.18.0.11")}, []string{"eth1"}},
		{"IPv6 fallback to a v6 InternalIP on another link", "2001:db8:51::10", nil, []netip.Addr{netip.MustParseAddr("198.18.0.11"), netip.MustParseAddr("2001:db8:100::11")}, []string{"eth1.100"}},
		{"nothing fits", "198.51.100.10", nil, nil, nil},
		{"named interfaces win over subnets", "192.0.2.50", []string{"eth1", "eth1.100"}, nodeIPs, []string{"eth1", "eth1.100"}},
		{"named bridge port, loopback, NOARP, down: refused", "192.0.2.50", []string{"eth0", "lo", "kube-ipvs0", "eth3", "eth4"}, nodeIPs, nil},
		{"named but missing", "192.0.2.50", []string{"eth9"}, nodeIPs, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Choose(netip.MustParseAddr(tc.ip), node(), tc.names, tc.nodeIPs); !slices.Equal(got, tc.want) {
				t.Errorf("Choose(%s, %v) = %v, want %v", tc.ip, tc.names, got, tc.want)
			}
		})
	}
}

func TestChooseEnslavedToMissingMaster(t *testing.T) {
	links := []Link{{Name: "eth0", Up: true, HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1}, Master: "gone",
		Prefixes: []netip.Prefix{netip.MustParsePrefix("198.18.0.11/24")}}}
	if got := Choose(netip.MustParseAddr("198.18.0.50"), links, nil, nil); got != nil {
		t.Errorf("Choose = %v, want nothing: the master is unknown", got)
	}
}

func TestInterfacesFor(t *testing.T) {
	nodeIPs := []netip.Addr{netip.MustParseAddr("192.0.2.11")}
	ip := netip.MustParseAddr("198.18.0.50")
	named := &config.L2Advertisement{Name: "named", Interfaces: []string{"eth1.100", "eth0"}}
	deflt := &config.L2Advertisement{Name: "default"}
	for _, tc := range []struct {
		name string
		ads  []*config.L2Advertisement
		want []string
	}{
		{"no advertisement", nil, nil},
		{"default choice", []*config.L2Advertisement{deflt}, []string{"eth1"}},
		{"named (the bridge port is refused)", []*config.L2Advertisement{named}, []string{"eth1.100"}},
		{"union of both", []*config.L2Advertisement{named, deflt}, []string{"eth1", "eth1.100"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := InterfacesFor(ip, node(), tc.ads, nodeIPs); !slices.Equal(got, tc.want) {
				t.Errorf("InterfacesFor = %v, want %v", got, tc.want)
			}
		})
	}
}
