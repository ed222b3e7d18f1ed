package layer2_test

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/pylonlb/pylon/speaker/layer2"
)

func ExampleChoose() {
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	links := []layer2.Link{
		{Name: "lo", Up: true, Loopback: true},
		{Name: "eth0", Up: true, HardwareAddr: mac, Master: "br0"},
		{Name: "br0", Kind: "bridge", Up: true, HardwareAddr: mac,
			Prefixes: []netip.Prefix{netip.MustParsePrefix("192.0.2.11/24")}},
		{Name: "eth1", Up: true, HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 2},
			Prefixes: []netip.Prefix{netip.MustParsePrefix("198.51.100.2/25")}},
	}
	nodeIPs := []netip.Addr{netip.MustParseAddr("192.0.2.11")}

	// The subnet covering the address wins.
	fmt.Println(layer2.Choose(netip.MustParseAddr("198.51.100.10"), links, nil, nodeIPs))
	// No subnet covers it: the link holding the node's InternalIP.
	fmt.Println(layer2.Choose(netip.MustParseAddr("203.0.113.10"), links, nil, nodeIPs))
	// Named interfaces, but never a bridge port.
	fmt.Println(layer2.Choose(netip.MustParseAddr("203.0.113.10"), links, []string{"eth0", "eth1"}, nodeIPs))
	// Output:
	// [eth1]
	// [br0]
	// [eth1]
}
