package metallb

import (
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/config"
)

// An advertisement covers the pools named or selected, from the nodes
// selected; several advertisements covering a pool add up, in MetalLB and in
// pylon alike (layer 2: a node is eligible when one selects it, and answers
// on the union of their interfaces; BGP: each makes its routes). So where
// MetalLB lists several pool or node selectors that one selector cannot say,
// the advertisement is split into one per combination, which is exact.

// parts returns the pool and node selector combinations of an
// advertisement, and notes a split.
func parts(s *source, poolSels, nodeSels []metav1.LabelSelector) [][2]*v1alpha1.LabelSelector {
	pools, nodes := eachOf(poolSels), eachOf(nodeSels)
	var out [][2]*v1alpha1.LabelSelector
	for _, p := range pools {
		for _, n := range nodes {
			out = append(out, [2]*v1alpha1.LabelSelector{p, n})
		}
	}
	if len(out) > 1 {
		s.out.note("", Info, "pylon takes one pool selector and one node selector per advertisement, and these cannot be merged: split into %d advertisements (%s-1 … %s-%d), which together cover the same pools from the same nodes", len(out), s.ref.Name, s.ref.Name, len(out))
	}
	return out
}

// poolSelector is the pool selector of a part: nil (none) when MetalLB's
// list was empty, an empty selector (every pool) when it held one.
func poolSelector(sel *v1alpha1.LabelSelector, listed int) *v1alpha1.LabelSelector {
	if sel == nil && listed > 0 {
		return &v1alpha1.LabelSelector{}
	}
	return sel
}

func partName(s *source, i, n int) string {
	if n == 1 {
		return s.ref.Name
	}
	return fmt.Sprintf("%s-%d", s.ref.Name, i+1)
}

func objectNames(names []string) []v1alpha1.ObjectName {
	var out []v1alpha1.ObjectName
	for _, n := range names {
		out = append(out, v1alpha1.ObjectName(n))
	}
	return out
}

// serviceSelectors maps MetalLB's per-Service advertisement selectors to
// pylon's, which mean the same: a Service is covered when any selects it,
// every Service when there are none.
func serviceSelectors(s *source, in []metav1.LabelSelector) []v1alpha1.LabelSelector {
	s.track.use("spec.serviceSelectors")
	var out []v1alpha1.LabelSelector
	for _, sel := range in {
		out = append(out, *selector(sel))
	}
	return out
}

func (c *converter) convertL2Advertisements() {
	for _, s := range c.byKind[KindL2Advertisement] {
		var spec l2Spec
		if !c.spec(s, &spec) {
			continue
		}
		for _, f := range []string{"spec.ipAddressPools", "spec.ipAddressPoolSelectors", "spec.nodeSelectors"} {
			s.track.use(f)
		}
		s.track.use("spec.interfaces") // pylon's validation checks the names
		var ifaces []v1alpha1.InterfaceName
		for _, name := range spec.Interfaces {
			ifaces = append(ifaces, v1alpha1.InterfaceName(name))
		}
		if len(spec.Interfaces) == 0 {
			s.out.note("spec.interfaces", Changed, "unset: MetalLB answers on every interface of the node; pylon answers on the interfaces whose subnet holds the address, else on the one with the node's InternalIP: list the interfaces if clients reach the address through another")
		}
		services := serviceSelectors(s, spec.ServiceSelectors)
		if s.track.has("spec.preferredNodeSelectors") {
			s.track.unmapped("spec.preferredNodeSelectors", "pylon elects the answering node among those selected without preferences (by a hash of node and address)")
		}
		ps := parts(s, spec.IPAddressPoolSelectors, spec.NodeSelectors)
		for i, p := range ps {
			ad := v1alpha1.L2Advertisement{TypeMeta: typeMeta("L2Advertisement"), ObjectMeta: meta(s, partName(s, i, len(ps)))}
			ad.Spec.IPPools = objectNames(spec.IPAddressPools)
			ad.Spec.IPPoolSelector = poolSelector(p[0], len(spec.IPAddressPoolSelectors))
			ad.Spec.NodeSelector = p[1]
			ad.Spec.Interfaces = slices.Clone(ifaces)
			ad.Spec.ServiceSelectors = slices.Clone(services)
			if c.claim(s, "L2Advertisement", ad.Name) {
				c.res.Resources.L2Advertisements = append(c.res.Resources.L2Advertisements, ad)
			}
		}
	}
}

func (c *converter) convertBGPAdvertisements() {
	for _, s := range c.byKind[KindBGPAdvertisement] {
		var spec bgpAdvSpec
		if !c.spec(s, &spec) {
			continue
		}
		for _, f := range []string{"spec.ipAddressPools", "spec.ipAddressPoolSelectors", "spec.nodeSelectors", "spec.aggregationLength", "spec.aggregationLengthV6", "spec.localPref"} {
			s.track.use(f)
		}
		base := v1alpha1.BGPAdvertisementSpec{
			IPPools:             objectNames(spec.IPAddressPools),
			AggregationLength:   spec.AggregationLength,
			AggregationLengthV6: spec.AggregationLengthV6,
		}
		if spec.LocalPref > 0 {
			base.LocalPref = ptr.To(int64(spec.LocalPref))
		}
		base.Communities = c.communitiesOf(s, spec.Communities)
		base.Peers = c.peersOf(s, spec.Peers)
		base.ServiceSelectors = serviceSelectors(s, spec.ServiceSelectors)
		ps := parts(s, spec.IPAddressPoolSelectors, spec.NodeSelectors)
		for i, p := range ps {
			ad := v1alpha1.BGPAdvertisement{TypeMeta: typeMeta("BGPAdvertisement"), ObjectMeta: meta(s, partName(s, i, len(ps))), Spec: base}
			ad.Spec.IPPoolSelector = poolSelector(p[0], len(spec.IPAddressPoolSelectors))
			ad.Spec.NodeSelector = p[1]
			if c.claim(s, "BGPAdvertisement", ad.Name) {
				c.res.Resources.BGPAdvertisements = append(c.res.Resources.BGPAdvertisements, ad)
			}
		}
	}
}

// communitiesOf resolves Community aliases and checks each value.
func (c *converter) communitiesOf(s *source, in []string) []v1alpha1.Community {
	var out []v1alpha1.Community
	for i, name := range in {
		path := fmt.Sprintf("spec.communities[%d]", i)
		value := name
		if v, ok := c.communities[name]; ok {
			value = v
			s.out.note(path, Info, "alias %s is %s", name, v)
		}
		if _, err := config.ParseCommunity(value); err != nil {
			s.track.unmapped(path, "neither a Community alias read nor a community pylon accepts (%v); left out", err)
			continue
		}
		s.track.use(path)
		out = append(out, v1alpha1.Community(value))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// peersOf maps MetalLB peer names to the pylon BGPPeers made from them.
func (c *converter) peersOf(s *source, in []string) []v1alpha1.ObjectName {
	var out []v1alpha1.ObjectName
	for i, name := range in {
		path := fmt.Sprintf("spec.peers[%d]", i)
		s.track.use(path)
		made, ok := c.peerNames[name]
		if !ok {
			out = append(out, v1alpha1.ObjectName(name)) // pylon's validation reports a missing peer
			continue
		}
		if len(made) != 1 || made[0] != name {
			s.out.note(path, Info, "BGPPeer %s became %v", name, made)
		}
		out = append(out, objectNames(made)...)
	}
	return out
}

// convertCommunities reads the aliases; pylon has no alias object, so the
// values are written into the BGPAdvertisements that use them.
func (c *converter) convertCommunities() {
	for _, s := range c.byKind[KindCommunity] {
		var spec communitySpec
		if !c.spec(s, &spec) {
			continue
		}
		for i, a := range spec.Communities {
			path := fmt.Sprintf("spec.communities[%d]", i)
			if _, dup := c.communities[a.Name]; dup {
				s.track.unmapped(path, "alias %s is defined twice (MetalLB refuses that); the first definition is used", a.Name)
				continue
			}
			s.track.use(path)
			c.communities[a.Name] = a.Value
		}
		s.out.note("", Info, "pylon has no community aliases: BGPAdvertisements that name one get its value")
	}
}
