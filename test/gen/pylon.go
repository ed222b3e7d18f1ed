package gen

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// IPPoolModifier sets one thing of an IPPool.
type IPPoolModifier = func(*v1alpha1.IPPool)

// IPPool returns the IPPool name, with no addresses until modifiers add
// some.
func IPPool(name string, mods ...IPPoolModifier) *v1alpha1.IPPool {
	return apply(&v1alpha1.IPPool{ObjectMeta: metav1.ObjectMeta{Name: name}}, mods)
}

// Addresses adds ranges (CIDRs or first-last) to the pool.
func Addresses(ranges ...string) IPPoolModifier {
	return func(p *v1alpha1.IPPool) {
		for _, r := range ranges {
			p.Spec.Addresses = append(p.Spec.Addresses, v1alpha1.AddressRange(r))
		}
	}
}

// AutoAssign sets the pool's autoAssign.
func AutoAssign(on bool) IPPoolModifier {
	return func(p *v1alpha1.IPPool) { p.Spec.AutoAssign = ptr.To(on) }
}

// AvoidBuggyIPs sets the pool's avoidBuggyIPs.
func AvoidBuggyIPs() IPPoolModifier {
	return func(p *v1alpha1.IPPool) { p.Spec.AvoidBuggyIPs = true }
}

// BGPPeerModifier sets one thing of a BGPPeer.
type BGPPeerModifier = func(*v1alpha1.BGPPeer)

// BGPPeer returns the BGPPeer name: a session from myASN to peerASN at
// address.
func BGPPeer(name string, myASN, peerASN int64, address string, mods ...BGPPeerModifier) *v1alpha1.BGPPeer {
	return apply(&v1alpha1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.BGPPeerSpec{
		MyASN: v1alpha1.ASN(myASN), PeerASN: v1alpha1.ASN(peerASN), PeerAddress: address,
	}}, mods)
}

// BGPAdvertisementModifier sets one thing of a BGPAdvertisement.
type BGPAdvertisementModifier = func(*v1alpha1.BGPAdvertisement)

// BGPAdvertisement returns the BGPAdvertisement name, which advertises
// every pool until modifiers say otherwise.
func BGPAdvertisement(name string, mods ...BGPAdvertisementModifier) *v1alpha1.BGPAdvertisement {
	return apply(&v1alpha1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: name}}, mods)
}

// L2AdvertisementModifier sets one thing of an L2Advertisement.
type L2AdvertisementModifier = func(*v1alpha1.L2Advertisement)

// L2Advertisement returns the L2Advertisement name, which announces every
// pool until modifiers say otherwise.
func L2Advertisement(name string, mods ...L2AdvertisementModifier) *v1alpha1.L2Advertisement {
	return apply(&v1alpha1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: name}}, mods)
}

// BGPPools makes a BGPAdvertisement advertise the named pools.
func BGPPools(pools ...string) BGPAdvertisementModifier {
	return func(a *v1alpha1.BGPAdvertisement) { a.Spec.IPPools = append(a.Spec.IPPools, names(pools)...) }
}

// L2Pools makes an L2Advertisement announce the named pools.
func L2Pools(pools ...string) L2AdvertisementModifier {
	return func(a *v1alpha1.L2Advertisement) { a.Spec.IPPools = append(a.Spec.IPPools, names(pools)...) }
}

func names(ss []string) []v1alpha1.ObjectName {
	out := make([]v1alpha1.ObjectName, len(ss))
	for i, s := range ss {
		out[i] = v1alpha1.ObjectName(s)
	}
	return out
}

// apply runs the modifiers on o, in order, and returns it.
func apply[T any](o T, mods []func(T)) T {
	for _, m := range mods {
		m(o)
	}
	return o
}
