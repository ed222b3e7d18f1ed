package lab

import (
	"context"
	"net"
	"slices"

	"github.com/pylonlb/pylon/test/netlab"
)

// DeleteInterface deletes node n's segment interface (HostIf), and with it
// its port on the bridge: a NIC gone, or a virtual interface deleted by a
// network agent. n loses the segment, its addresses and its routes, while
// its processes go on. RecreateInterface makes it again.
func (l *Lab) DeleteInterface(ctx context.Context, n *Node) error {
	return netlab.IP(ctx, n.Netns, "link del "+HostIf)
}

// RecreateInterface makes node n's segment interface again after
// DeleteInterface, as a network agent does: the same name, addresses and
// routes, on the bridge again, but a new interface (a new index) with a new
// MAC, which it returns. n.MAC becomes the new MAC, so NodeByMAC finds n by
// it; set it before anything reads n.MAC concurrently.
func (l *Lab) RecreateInterface(ctx context.Context, n *Node) (net.HardwareAddr, error) {
	mac := slices.Clone(n.MAC)
	mac[1]++ // still locally administered, and no other host's
	n.MAC = mac
	if err := l.sw.Plug(ctx, n.port, n.Netns, HostIf); err != nil {
		return nil, err
	}
	return mac, netlab.IP(ctx, n.Netns, hostLines(l.topo, &n.Host)...)
}
