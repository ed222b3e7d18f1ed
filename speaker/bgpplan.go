package speaker

import (
	"net/netip"
	"slices"

	"github.com/pylonlb/pylon/speaker/election"
)

// BGPIPs returns the addresses this node offers to BGP, and the Services
// behind each: every served address whose Service has a ready endpoint
// (with externalTrafficPolicy Local, one on this node), provided the node
// is not excluded (the exclusion label, NetworkUnavailable). An address that
// must never be announced (see unannounceable) is left out. Which peers
// hear which of them is the BGP plan's business (bgp.PlanFor:
// advertisements, their node selectors and pools).
func BGPIPs(in Inputs) map[netip.Addr][]string {
	out := map[netip.Addr][]string{}
	for _, n := range in.Nodes {
		if n.Name == in.Node && (n.Labels.Has(election.ExcludeLabel) || n.NetworkUnavailable) {
			return out
		}
	}
	for _, s := range in.Services {
		if s.Local && !s.EndpointNodes[in.Node] || len(s.EndpointNodes) == 0 {
			continue
		}
		for _, ip := range s.IPs {
			if unannounceable(in, ip) != "" {
				continue
			}
			out[ip] = append(out[ip], s.Key)
		}
	}
	for ip := range out {
		slices.Sort(out[ip])
		out[ip] = slices.Compact(out[ip])
	}
	return out
}
