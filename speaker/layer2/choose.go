package layer2

import (
	"net"
	"net/netip"
	"slices"

	"github.com/pylonlb/pylon/config"
)

// Link is what interface choice needs to know about one network interface.
// ReadLinks takes a snapshot of the node's links; tests build them by hand.
type Link struct {
	Name         string
	HardwareAddr net.HardwareAddr
	// Kind is the link's type as the kernel names it ("bridge", "vlan",
	// "veth", "bond", "vrf"), empty for a physical NIC.
	Kind string
	// Master names the link this one is enslaved to (a bridge, a bond, a
	// VRF), empty when none.
	Master   string
	Up       bool
	Loopback bool
	// NoARP: the link does not resolve neighbours (IFF_NOARP), so it cannot
	// answer ARP or NDP either.
	NoARP bool
	// Prefixes are the link's addresses with their prefix lengths.
	Prefixes []netip.Prefix
}

// usable reports whether l can answer ARP and NDP: up, an Ethernet address,
// not loopback, not NOARP and not a port of a bridge or bond (frames for
// those are answered on the master). Membership of a VRF is fine.
func usable(l Link, byName map[string]Link) bool {
	if !l.Up || l.Loopback || l.NoARP || len(l.HardwareAddr) != 6 {
		return false
	}
	if l.Master != "" {
		m, ok := byName[l.Master]
		return ok && m.Kind == "vrf"
	}
	return true
}

// Choose returns the interfaces, sorted, that answer for ip among links:
//
//   - when names is not empty, the usable links so named;
//   - otherwise the usable links with an address whose subnet covers ip
//     (host routes, /32 and /128, cover nothing but themselves and are
//     skipped);
//   - otherwise the usable links holding one of nodeIPs (the node's
//     InternalIPs) of ip's family, and failing that of any family.
//
// A link is usable when it is up, has an Ethernet address, and is not a
// loopback, a NOARP link, or a port of a bridge or bond. Choose returns nil
// when no link fits.
func Choose(ip netip.Addr, links []Link, names []string, nodeIPs []netip.Addr) []string {
	ip = ip.Unmap()
	byName := make(map[string]Link, len(links))
	for _, l := range links {
		byName[l.Name] = l
	}
	pick := func(match func(Link) bool) []string {
		var out []string
		for _, l := range links {
			if usable(l, byName) && match(l) {
				out = append(out, l.Name)
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	if len(names) > 0 {
		return pick(func(l Link) bool { return slices.Contains(names, l.Name) })
	}
	if out := pick(func(l Link) bool { return covers(l, ip) }); len(out) > 0 {
		return out
	}
	holds := func(sameFamily bool) func(Link) bool {
		return func(l Link) bool {
			for _, p := range l.Prefixes {
				for _, n := range nodeIPs {
					if p.Addr() == n.Unmap() && (!sameFamily || n.Unmap().Is4() == ip.Is4()) {
						return true
					}
				}
			}
			return false
		}
	}
	if out := pick(holds(true)); len(out) > 0 {
		return out
	}
	return pick(holds(false))
}

func covers(l Link, ip netip.Addr) bool {
	for _, p := range l.Prefixes {
		if p.Bits() < p.Addr().BitLen() && p.Masked().Contains(ip) {
			return true
		}
	}
	return false
}

// InterfacesFor returns, sorted, the interfaces that answer for ip given the
// L2Advertisements that cover ip's pool and select this node: the union of
// Choose over each advertisement's interface list. It returns nil when ads
// is empty.
func InterfacesFor(ip netip.Addr, links []Link, ads []*config.L2Advertisement, nodeIPs []netip.Addr) []string {
	var out []string
	for _, ad := range ads {
		out = append(out, Choose(ip, links, ad.Interfaces, nodeIPs)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
