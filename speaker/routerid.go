package speaker

import (
	"errors"
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
)

// AnnotationRouterID on a Node sets that node's BGP router ID, an IPv4
// address. Without it the node's first IPv4 InternalIP is used.
const AnnotationRouterID = "pylonlb.io/bgp-router-id"

// errNoRouterID marks a node whose BGP router ID cannot be derived.
var errNoRouterID = errors.New("no BGP router ID")

// RouterIDFor returns the BGP router ID of the node: its
// pylonlb.io/bgp-router-id annotation, else its first IPv4 InternalIP. A
// router ID is 32 bits, so an IPv6-only node needs the annotation; an
// annotation that is not an IPv4 address is an error, never silently
// replaced by the node's address.
func RouterIDFor(n *corev1.Node) (id netip.Addr, source string, err error) {
	if v, ok := n.Annotations[AnnotationRouterID]; ok {
		a, err := netip.ParseAddr(v)
		if err != nil || !a.Is4() || a.IsUnspecified() {
			return netip.Addr{}, "", fmt.Errorf("%w: Node %s annotation %s=%q must be an IPv4 address other than 0.0.0.0, such as 198.18.0.11", errNoRouterID, n.Name, AnnotationRouterID, v)
		}
		return a, "annotation " + AnnotationRouterID, nil
	}
	for _, addr := range n.Status.Addresses {
		if addr.Type != corev1.NodeInternalIP {
			continue
		}
		if a, err := netip.ParseAddr(addr.Address); err == nil && a.Unmap().Is4() {
			return a.Unmap(), "InternalIP", nil
		}
	}
	return netip.Addr{}, "", fmt.Errorf("%w: Node %s has no IPv4 InternalIP (IPv6-only?); set the annotation %s to an IPv4 address unique among the BGP speakers", errNoRouterID, n.Name, AnnotationRouterID)
}
