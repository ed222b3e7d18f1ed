package speaker

import (
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/pylonlb/pylon/speaker/bgp"
)

// bgpPort is where the speaker listens for passive peers' routers.
const bgpPort = 179

// passiveListen returns the addresses this node listens on for its passive
// peers, sorted: each passive peer's source address, or else the node's
// InternalIP and ExternalIP addresses of the peer's family. Nil without a
// passive peer: the speaker then only dials, and listens on no port.
func passiveListen(peers []bgp.Peer, node *corev1.Node) []netip.Addr {
	var out []netip.Addr
	for _, p := range peers {
		if !p.Passive {
			continue
		}
		if p.SourceAddress.IsValid() {
			out = append(out, p.SourceAddress)
			continue
		}
		if node == nil {
			continue
		}
		for _, a := range node.Status.Addresses {
			if a.Type != corev1.NodeInternalIP && a.Type != corev1.NodeExternalIP {
				continue
			}
			if ip, err := netip.ParseAddr(a.Address); err == nil && ip.Is4() == p.Address.Is4() {
				out = append(out, ip.Unmap())
			}
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}

// node returns the Node called name, or nil.
func (s *snapshot) node(name string) *corev1.Node {
	for _, n := range s.nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}
