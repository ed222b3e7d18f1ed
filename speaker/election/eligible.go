package election

import (
	"slices"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/pylonlb/pylon/config"
)

// ExcludeLabel, present on a node with any value, keeps the node from
// answering for load-balancer addresses, as Kubernetes' own service
// controller does.
const ExcludeLabel = "node.kubernetes.io/exclude-from-external-load-balancers"

// Node is what the election needs to know about one node.
type Node struct {
	Name   string
	Labels labels.Set
	// NetworkUnavailable: the node's NetworkUnavailable condition is True.
	NetworkUnavailable bool
	// Alive: the node's speaker is alive in memberlist.
	Alive bool
}

// Service is what the election needs to know about the Service behind one
// address.
type Service struct {
	// Advertisements are the L2Advertisements covering the address's pool
	// (see AdvertisementsFor). A node must be selected by one of them.
	Advertisements []*config.L2Advertisement
	// Local: the Service has externalTrafficPolicy Local.
	Local bool
	// EndpointNodes holds the nodes with a ready endpoint of the Service;
	// it is read only when Local is set.
	EndpointNodes map[string]bool
}

// Reason says why a node may or may not own an address. Reasons double as
// event reasons and status fields, so they are CamelCase and stable.
type Reason string

// Reasons, in the order Check tests them.
const (
	ReasonEligible           Reason = "Eligible"
	ReasonExcluded           Reason = "ExcludedByLabel"
	ReasonNetworkUnavailable Reason = "NetworkUnavailable"
	ReasonNotAlive           Reason = "NotAlive"
	ReasonNotSelected        Reason = "NotSelected"
	ReasonNoEndpoint         Reason = "NoReadyEndpoint"
)

// Check says whether node may own an address of svc, and if not, the first
// reason why not.
func Check(node Node, svc Service) Reason {
	switch {
	case node.Labels.Has(ExcludeLabel):
		return ReasonExcluded
	case node.NetworkUnavailable:
		return ReasonNetworkUnavailable
	case !node.Alive:
		return ReasonNotAlive
	case !Selected(node.Labels, svc.Advertisements):
		return ReasonNotSelected
	case svc.Local && !svc.EndpointNodes[node.Name]:
		return ReasonNoEndpoint
	}
	return ReasonEligible
}

// Eligible returns the names of the nodes that may own an address of svc,
// sorted and without duplicates, ready for Owner.
func Eligible(nodes []Node, svc Service) []string {
	var out []string
	for _, n := range nodes {
		if Check(n, svc) == ReasonEligible {
			out = append(out, n.Name)
		}
	}
	// Nodes usually come sorted (the speaker's inputs are): checking costs
	// one comparison a node, sorting cost a quarter of a pass.
	if !slices.IsSorted(out) {
		slices.Sort(out)
	}
	return slices.Compact(out)
}

// Selected reports whether any of ads selects a node with these labels.
// It runs for every node and address of a pass, so it does not allocate.
func Selected(nodeLabels labels.Set, ads []*config.L2Advertisement) bool {
	return slices.ContainsFunc(ads, func(ad *config.L2Advertisement) bool { return selects(ad, nodeLabels) })
}

// Selecting returns the advertisements among ads whose node selector
// matches a node with these labels, in the order given. The speaker uses it
// to learn which interfaces its own node should answer on.
func Selecting(nodeLabels labels.Set, ads []*config.L2Advertisement) []*config.L2Advertisement {
	var out []*config.L2Advertisement
	for _, ad := range ads {
		if selects(ad, nodeLabels) {
			out = append(out, ad)
		}
	}
	return out
}

func selects(ad *config.L2Advertisement, nodeLabels labels.Set) bool {
	return ad.NodeSelector == nil || ad.NodeSelector.Matches(nodeLabels)
}

// AdvertisementsFor returns the advertisements among ads that cover the pool
// called pool, in the order given.
func AdvertisementsFor(ads []*config.L2Advertisement, pool string) []*config.L2Advertisement {
	var out []*config.L2Advertisement
	for _, ad := range ads {
		if slices.Contains(ad.Pools, pool) {
			out = append(out, ad)
		}
	}
	return out
}
