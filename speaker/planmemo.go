package speaker

import (
	"maps"
	"net/netip"
	"reflect"
	"slices"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/pylonlb/pylon/speaker/bgp"
)

// planMemo remembers the last pass's plans with what they were computed
// from. PlanL2 and the BGP plan (bgpPlan) are pure functions of the pass's
// Inputs; when every input equals the last pass's, the last plans are this
// pass's, and a pass with nothing to do does not elect 50,000 addresses
// again. The Services are compared by serviceMemo's count of changes;
// everything else in Inputs (the nodes, the configuration, the node's
// links and addresses, the yielded and no-interface addresses) is small
// and compared whole. The plans handed out are shared: nothing may change
// them (nothing does: a pass reads its plans).
type planMemo struct {
	valid    bool
	services uint64
	// bgpOn says whether bgp was made.
	bgpOn bool
	// in is the last pass's Inputs without its Services.
	in  Inputs
	l2  Plan
	bgp bgpPlan
}

// bgpPlan is what applyBGP derives from the Inputs: the addresses offered
// to BGP with their Services (BGPIPs) and the peers and paths (bgp.PlanFor).
type bgpPlan struct {
	offered map[netip.Addr][]string
	plan    bgp.Plan
}

// plans returns PlanL2(in) and the BGP plan (bgpOn: whether to make one),
// from memory when in equals the last pass's inputs and services is the
// serviceMemo's count of changes they were made at. A pass calls it once
// and hands the BGP plan to applyBGP.
func (m *planMemo) plans(in Inputs, services uint64, node string, bgpOn bool) (Plan, bgpPlan) {
	key := in
	key.Services = nil
	if m.valid && m.services == services && m.bgpOn == bgpOn && reflect.DeepEqual(m.in, key) {
		return m.l2, m.bgp
	}
	l2 := PlanL2(in)
	var bp bgpPlan
	if bgpOn {
		bp = planBGP(in, node)
	}
	// The memory keeps copies of the maps a caller could change after
	// this pass (the yielded addresses are the reconciler's own).
	key.Yield = maps.Clone(in.Yield)
	*m = planMemo{valid: true, services: services, bgpOn: bgpOn, in: key, l2: l2, bgp: bp}
	return l2, bp
}

// planBGP is applyBGP's plan: the addresses offered (none without an
// advertisement) and bgp.PlanFor over them with this node's labels.
func planBGP(in Inputs, node string) bgpPlan {
	offered := map[netip.Addr][]string{}
	if in.Config != nil && len(in.Config.BGPAdvertisements) > 0 {
		offered = BGPIPs(in)
	}
	ips := make([]netip.Addr, 0, len(offered))
	for ip := range offered {
		ips = append(ips, ip)
	}
	slices.SortFunc(ips, netip.Addr.Compare)
	var mine labels.Set
	for _, n := range in.Nodes {
		if n.Name == node {
			mine = n.Labels
		}
	}
	return bgpPlan{offered: offered, plan: bgp.PlanFor(in.Config, mine, ips, BGPServiceLabels(in, offered))}
}
