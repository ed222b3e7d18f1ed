package speaker

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"

	"github.com/pylonlb/pylon/config"
)

// unannounceable reports why the speaker must never announce ip, over ARP,
// NDP or BGP, whatever a Service's status says: it lies in one of
// config.SpecialRanges (loopback, link-local, multicast, …) or is a Node's
// address. The controller never hands such an address out; this is the
// speakers' own check, so that a status written by hand or by an older
// controller still cannot hijack a node's address or announce loopback.
// It returns "" when ip may be announced.
func unannounceable(in Inputs, ip netip.Addr) string {
	if u, ok := config.Special(ip); ok {
		return u.String()
	}
	if node, ok := in.ClusterNodeIPs[ip.Unmap()]; ok {
		return "an address of Node " + node
	}
	return ""
}

// clusterNodeIPs maps every Node's InternalIP and ExternalIP addresses to
// the Node's name.
func (s *snapshot) clusterNodeIPs() map[netip.Addr]string {
	out := map[netip.Addr]string{}
	for _, n := range s.nodes {
		for _, a := range n.Status.Addresses {
			if a.Type != corev1.NodeInternalIP && a.Type != corev1.NodeExternalIP {
				continue
			}
			if ip, err := netip.ParseAddr(a.Address); err == nil {
				out[ip.Unmap()] = n.Name
			}
		}
	}
	return out
}
