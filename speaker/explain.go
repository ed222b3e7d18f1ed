package speaker

import (
	"net/netip"
	"slices"

	"github.com/pylonlb/pylon/speaker/election"
)

// L2Explanation is how the speakers choose the node that answers ARP or
// NDP for one address, as a node that is none of the candidates sees it:
// every speaker with the same inputs (the same memberlist view) reaches
// the same owner (PlanL2).
type L2Explanation struct {
	// Skipped says why no node answers for the address over layer 2,
	// whatever the nodes: no Service in the inputs has it, it must never
	// be announced, no IPPool holds it, or no L2Advertisement covers its
	// pool, or none of those selects its Services. "" otherwise.
	Skipped string
	// Pool is the IPPool the address belongs to (PoolOf); "" when none.
	Pool string
	// Advertisements name the L2Advertisements covering the pool that
	// select one of the address's Services (serviceSelectors).
	Advertisements []string
	// NotSelecting name the L2Advertisements covering the pool whose
	// serviceSelectors select none of the address's Services: they take
	// no part in its election.
	NotSelecting []string
	// Local: the election follows externalTrafficPolicy Local (of the
	// first Service by key, as PlanL2 does for a shared address).
	Local bool
	// Nodes gives every node's standing for the address, by name:
	// election.Check's reason, or ReasonNoInterface for a node left out
	// because it published the address as one it has no interface for.
	Nodes map[string]election.Reason
	// Ranked are the eligible nodes in order of preference: the owner
	// first, then the node that takes over if it goes, and so on.
	Ranked []string
}

// Owner is the node that answers for the address: the first of Ranked;
// "" when no node is eligible.
func (e L2Explanation) Owner() string {
	if len(e.Ranked) == 0 {
		return ""
	}
	return e.Ranked[0]
}

// ExplainL2 explains the layer-2 election of ip among in.Nodes, for the
// Services in in.Services that use ip. Its owner is the one PlanL2 records
// in Plan.Owners when in.Node is not one of the candidates. in.Node is not
// read.
func ExplainL2(in Inputs, ip netip.Addr) L2Explanation {
	var svcs []Service
	for _, s := range in.Services {
		if slices.Contains(s.IPs, ip) {
			svcs = append(svcs, s)
		}
	}
	if len(svcs) == 0 || in.Config == nil {
		return L2Explanation{Skipped: "no served LoadBalancer Service has it"}
	}
	e := electL2(in, ip, svcs, nil)
	out := L2Explanation{Skipped: e.skip, NotSelecting: e.notSelecting}
	if e.pool != nil {
		out.Pool = e.pool.Name
	}
	if e.skip != "" {
		return out
	}
	out.Local = e.svc.Local
	for _, ad := range e.ads {
		out.Advertisements = append(out.Advertisements, ad.Name)
	}
	out.Nodes = make(map[string]election.Reason, len(in.Nodes))
	var eligible []string
	for _, n := range in.Nodes {
		r := election.Check(n, e.svc)
		if r == election.ReasonEligible && in.NoInterface[n.Name][ip] {
			r = ReasonNoInterface
		}
		out.Nodes[n.Name] = r
		if r == election.ReasonEligible {
			eligible = append(eligible, n.Name)
		}
	}
	out.Ranked = election.Ranked(ip, eligible)
	return out
}
