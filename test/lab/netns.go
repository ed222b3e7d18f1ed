package lab

import (
	"context"
	"fmt"

	"github.com/pylonlb/pylon/test/netlab"
)

// buildNetwork creates the namespaces (netlab: accept_dad=0 before any
// link), the bridge, every link and address, and the host's link into the
// segment.
func (l *Lab) buildNetwork(ctx context.Context) error {
	t := l.topo
	sw, err := l.AddSwitch(ctx, "sw")
	if err != nil {
		return err
	}
	l.sw = sw
	for _, h := range t.hosts() {
		// Nodes that never answer ARP for an address on another
		// interface nor use it as ARP source.
		kv := []string{"net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2"}
		if h == &t.router || h == t.router2 {
			kv = append(kv, "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
		}
		if _, err := l.AddNetns(ctx, h.Name, kv...); err != nil {
			return err
		}
	}
	for _, h := range t.segmentHosts() {
		if err := sw.Plug(ctx, portName(h), h.Netns, HostIf); err != nil {
			return err
		}
	}
	// The router's second link, to the remote client.
	if err := netlab.IP(ctx, t.router.Netns, fmt.Sprintf("link add %s type veth peer name %s netns %s", routerRemoteIf, HostIf, t.remote.Netns)); err != nil {
		return err
	}
	if t.router2 != nil {
		// The second router's link to the remote client's second
		// interface.
		if err := netlab.IP(ctx, t.router2.Netns, fmt.Sprintf("link add %s type veth peer name %s netns %s", routerRemoteIf, routerRemoteIf, t.remote.Netns)); err != nil {
			return err
		}
	}
	for _, h := range t.hosts() {
		if err := netlab.IP(ctx, h.Netns, hostLines(t, h)...); err != nil {
			return err
		}
	}
	if t.router2 != nil {
		// ip -batch takes no -6, and a rule's family is not inferred from
		// its source address.
		if _, err := netlab.Run(ctx, "", "ip", "-n", t.remote.Netns, "-6", "rule", "add", "from", t.remote2V6.String(), "table", fmt.Sprint(Remote2Table)); err != nil {
			return err
		}
	}
	return l.buildHostLink(ctx)
}

// buildHostLink gives the host (the root namespace, where the API server
// runs) a link into the bridge with the segment's .1 addresses.
func (l *Lab) buildHostLink(ctx context.Context) error {
	t := l.topo
	link, err := l.AddHostLink("h")
	if err != nil {
		return err
	}
	if link != t.hostLink {
		return fmt.Errorf("host link %s, want %s", link, t.hostLink)
	}
	if err := netlab.IP(ctx, "", fmt.Sprintf("link add %s type veth peer name p-h netns %s", t.hostLink, t.sw)); err != nil {
		return err
	}
	if err := netlab.IP(ctx, t.sw, "link set p-h master "+l.sw.Bridge+" up"); err != nil {
		return err
	}
	if err := netlab.Sysctl(ctx, "", "net.ipv6.conf."+t.hostLink+".accept_dad=0"); err != nil {
		return err
	}
	return netlab.IP(ctx, "",
		fmt.Sprintf("addr add %s/%d dev %s", t.hostV4, SegmentV4.Bits(), t.hostLink),
		fmt.Sprintf("addr add %s/%d dev %s nodad", t.hostV6, SegmentV6.Bits(), t.hostLink),
		"link set "+t.hostLink+" up")
}

// segmentHosts are the namespaces with a port on the bridge.
func (t *topology) segmentHosts() []*Host {
	hs := append(t.routers(), &t.local)
	for _, n := range t.nodes {
		hs = append(hs, &n.Host)
	}
	return hs
}

// portName is a host's port on the bridge: p-<name>.
func portName(h *Host) string { return "p-" + h.Name }

// hostLines are the ip commands that address one host and route from it.
func hostLines(t *topology, h *Host) []string {
	v4, v6 := SegmentV4.Bits(), SegmentV6.Bits()
	if h.Name == t.remote.Name {
		v4, v6 = RemoteV4.Bits(), RemoteV6.Bits()
	}
	lines := []string{
		"link set lo up",
		fmt.Sprintf("link set %s address %s", HostIf, h.MAC),
		fmt.Sprintf("addr add %s/%d dev %s", h.IPv4, v4, HostIf),
		fmt.Sprintf("addr add %s/%d dev %s nodad", h.IPv6, v6, HostIf),
		"link set " + HostIf + " up",
	}
	if t.router2 != nil && h.Name == t.router2.Name {
		v4, v6 := rem2(1)
		return append(lines,
			fmt.Sprintf("link set %s address %s", routerRemoteIf, macFor(v4)),
			fmt.Sprintf("addr add %s/%d dev %s", v4, Remote2V4.Bits(), routerRemoteIf),
			fmt.Sprintf("addr add %s/%d dev %s nodad", v6, Remote2V6.Bits(), routerRemoteIf),
			"link set "+routerRemoteIf+" up")
	}
	switch h.Name {
	case t.router.Name:
		lines = append(lines,
			fmt.Sprintf("link set %s address %s", routerRemoteIf, macFor(t.routerRemoteV4)),
			fmt.Sprintf("addr add %s/%d dev %s", t.routerRemoteV4, RemoteV4.Bits(), routerRemoteIf),
			fmt.Sprintf("addr add %s/%d dev %s nodad", t.routerRemV6, RemoteV6.Bits(), routerRemoteIf),
			"link set "+routerRemoteIf+" up")
	case t.remote.Name:
		lines = append(lines,
			"route add default via "+t.routerRemoteV4.String(),
			"route add default via "+t.routerRemV6.String())
		if t.router2 != nil {
			r2v4, r2v6 := rem2(1)
			table := fmt.Sprint(Remote2Table)
			lines = append(lines,
				fmt.Sprintf("link set %s address %s", routerRemoteIf, macFor(t.remote2V4)),
				fmt.Sprintf("addr add %s/%d dev %s", t.remote2V4, Remote2V4.Bits(), routerRemoteIf),
				fmt.Sprintf("addr add %s/%d dev %s nodad", t.remote2V6, Remote2V6.Bits(), routerRemoteIf),
				"link set "+routerRemoteIf+" up",
				fmt.Sprintf("route add %s dev %s table %s", Remote2V4, routerRemoteIf, table),
				fmt.Sprintf("route add %s dev %s table %s", Remote2V6, routerRemoteIf, table),
				"route add default via "+r2v4.String()+" table "+table,
				"route add default via "+r2v6.String()+" table "+table,
				"rule add from "+t.remote2V4.String()+" table "+table)
		}
	case t.local.Name:
		// On-link: the local client ARPs (NDPs) for pool addresses on
		// the segment, as a client of a layer-2 load balancer does.
		for _, p := range []string{PoolV4.String(), PoolV4Alt.String(), PoolV6.String()} {
			lines = append(lines, fmt.Sprintf("route add %s dev %s", p, HostIf))
		}
	default: // a node: replies to the remote client go through the router
		lines = append(lines,
			"route add default via "+t.router.IPv4.String(),
			"route add default via "+t.router.IPv6.String())
		if t.router2 != nil {
			lines = append(lines,
				fmt.Sprintf("route add %s via %s", Remote2V4, t.router2.IPv4),
				fmt.Sprintf("route add %s via %s", Remote2V6, t.router2.IPv6))
		}
	}
	return lines
}
