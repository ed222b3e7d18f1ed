package speaker

import (
	"net/netip"
	"slices"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/pylonlb/pylon/speaker/bgp"
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
	if bgpNodeOut(in) != "" {
		return out
	}
	for _, s := range in.Services {
		if bgpServiceOut(in, s) != "" {
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

// BGPOffer says whether in.Node offers ip to BGP, as BGPIPs decides it:
// the Services behind it when it does, else why not.
func BGPOffer(in Inputs, ip netip.Addr) (keys []string, whyNot string) {
	if why := bgpNodeOut(in); why != "" {
		return nil, why
	}
	if why := unannounceable(in, ip); why != "" {
		return nil, "it must never be announced: " + why
	}
	whyNot = "no served LoadBalancer Service has it"
	for _, s := range in.Services {
		if !slices.Contains(s.IPs, ip) {
			continue
		}
		if why := bgpServiceOut(in, s); why != "" {
			whyNot = s.Key + ": " + why
			continue
		}
		keys = append(keys, s.Key)
	}
	if len(keys) == 0 {
		return nil, whyNot
	}
	slices.Sort(keys)
	return slices.Compact(keys), ""
}

// bgpNodeOut says why in.Node offers nothing to BGP; "" when it may.
func bgpNodeOut(in Inputs) string {
	for _, n := range in.Nodes {
		if n.Name != in.Node {
			continue
		}
		if n.Labels.Has(election.ExcludeLabel) {
			return "the node has the label " + election.ExcludeLabel
		}
		if n.NetworkUnavailable {
			return "the node's NetworkUnavailable condition is True"
		}
	}
	return ""
}

// bgpServiceOut says why in.Node offers none of s's addresses; "" when it
// offers them.
func bgpServiceOut(in Inputs, s Service) string {
	switch {
	case len(s.EndpointNodes) == 0:
		return "no ready endpoint"
	case s.Local && !s.EndpointNodes[in.Node]:
		return "externalTrafficPolicy Local and no ready endpoint on this node"
	}
	return ""
}

// BGPServiceLabels returns the labels of the Services behind each offered
// address (as BGPIPs gives them), for the serviceSelectors of
// bgp.PlanFor.
func BGPServiceLabels(in Inputs, offered map[netip.Addr][]string) bgp.ServiceLabels {
	byKey := make(map[string]labels.Set, len(in.Services))
	for _, s := range in.Services {
		byKey[s.Key] = s.Labels
	}
	out := make(bgp.ServiceLabels, len(offered))
	for ip, keys := range offered {
		for _, k := range keys {
			out[ip] = append(out[ip], byKey[k])
		}
	}
	return out
}
