package bgp

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/pylonlb/pylon/config"
)

// Plan is what one node should do over BGP: the sessions to open and the
// paths to announce on them. It is a pure function of the configuration, the
// node's labels and the service IPs the node announces (PlanFor).
type Plan struct {
	// ASN is the MyASN of the first selected peer; zero without peers.
	// For Options.ASN.
	ASN uint32
	// Peers are the BGPPeers whose nodeSelector selects the node, by name.
	Peers []Peer
	// Paths are the prefixes to announce, sorted (IPv4 first), one per
	// prefix and attribute set (see PlanFor).
	Paths []Path
	// Unadvertised lists the IPs no BGPAdvertisement announces from this
	// node to any of its peers (no advertisement covers the IP's pool or
	// selects the node, or the peers it names are not selected here).
	Unadvertised []netip.Addr
	// NotSelecting names, per IP, the BGPAdvertisements that select the
	// node and cover the IP's pool but whose serviceSelectors select none
	// of the Services using it: they do not announce it.
	NotSelecting map[netip.Addr][]string
	// Problems are things the plan had to work around, each naming the
	// object concerned. config.Parse already reports everything that is
	// wrong with one object; these come from combining several on one
	// node.
	Problems []string
}

// ServiceLabels gives, per service IP, the labels of the Services using it,
// for BGPAdvertisements' serviceSelectors.
type ServiceLabels map[netip.Addr][]labels.Set

// PlanFor computes the Plan of a node with the given labels that announces
// ips (the service IPs it is eligible for: its reconciler has applied
// externalTrafficPolicy and endpoint readiness already), used by the
// Services whose labels services gives.
//
//   - A peer applies when its nodeSelector matches. Of two selected peers
//     with one address (they differ in source address or node selector)
//     the first by name wins: one server has one session per address.
//   - An IP is advertised by every BGPAdvertisement that selects the node
//     and covers a pool containing the IP, as the prefix of the
//     advertisement's aggregationLength (aggregationLengthV6) holding it,
//     to the advertisement's peers that are selected here and whose session
//     carries the IP's family (its own family, or both with
//     dualStackAddressFamily).
//   - An advertisement with serviceSelectors announces an IP only when one
//     of them selects one of the Services using it (Plan.NotSelecting).
//   - Each peer gets a prefix with the attributes of the advertisements
//     that send it that prefix, and of those only: the union of their
//     communities and, for an iBGP peer, the highest of their localPrefs.
//     Peers that get the same attributes share one Path; a prefix has one
//     Path per distinct attribute set.
//   - localPref is sent to iBGP peers only (config reports an
//     advertisement that sets it for eBGP peers as LocalPrefOnEBGP).
func PlanFor(cfg *config.Config, node labels.Set, ips []netip.Addr, services ServiceLabels) Plan {
	var plan Plan
	selected := map[string]*config.BGPPeer{}
	byAddr := map[netip.Addr]string{}
	for _, bp := range cfg.BGPPeers {
		if !bp.NodeSelector.Matches(node) {
			continue
		}
		if other, dup := byAddr[bp.Address]; dup {
			plan.Problems = append(plan.Problems, fmt.Sprintf("BGPPeer %s: not used on this node: BGPPeer %s already peers with %s here", bp.Name, other, bp.Address))
			continue
		}
		byAddr[bp.Address] = bp.Name
		selected[bp.Name] = bp
		plan.Peers = append(plan.Peers, peerFrom(bp))
		if plan.ASN == 0 {
			plan.ASN = bp.MyASN
		}
	}

	// Per prefix, per peer: the attributes of the advertisements that send
	// the prefix to that peer, and those only.
	type peerAttrs struct {
		communities []string
		localPref   *uint32
	}
	byPrefix := map[netip.Prefix]map[string]*peerAttrs{}
	for _, ip := range sortedAddrs(ips) {
		advertised := false
		for _, ad := range cfg.BGPAdvertisements {
			if !ad.NodeSelector.Matches(node) || !coversIP(cfg, ad, ip) {
				continue
			}
			if !selectsAny(ad, services[ip]) {
				if plan.NotSelecting == nil {
					plan.NotSelecting = map[netip.Addr][]string{}
				}
				plan.NotSelecting[ip] = append(plan.NotSelecting[ip], ad.Name)
				continue
			}
			length := ad.AggregationLength
			if ip.Is6() {
				length = ad.AggregationLengthV6
			}
			prefix := netip.PrefixFrom(ip, length).Masked()
			for _, name := range ad.Peers {
				bp := selected[name]
				if bp == nil || (bp.Address.Is4() != ip.Is4() && !bp.DualStackAddressFamily) {
					continue
				}
				advertised = true
				to := byPrefix[prefix]
				if to == nil {
					to = map[string]*peerAttrs{}
					byPrefix[prefix] = to
				}
				pa := to[name]
				if pa == nil {
					pa = &peerAttrs{}
					to[name] = pa
				}
				for _, c := range ad.Communities {
					pa.communities = append(pa.communities, c.String())
				}
				if ad.LocalPref != nil && bp.IBGP() && (pa.localPref == nil || *ad.LocalPref > *pa.localPref) {
					lp := *ad.LocalPref
					pa.localPref = &lp
				}
			}
		}
		if !advertised {
			plan.Unadvertised = append(plan.Unadvertised, ip)
		}
	}
	// One Path per prefix and attribute set, naming the peers that get it.
	for prefix, to := range byPrefix {
		groups := map[string]*Path{}
		for name, pa := range to {
			slices.Sort(pa.communities)
			pa.communities = slices.Compact(pa.communities)
			key := strings.Join(pa.communities, ",")
			if pa.localPref != nil {
				key += fmt.Sprintf(" lp=%d", *pa.localPref)
			}
			p := groups[key]
			if p == nil {
				p = &Path{Prefix: prefix, Communities: pa.communities, LocalPref: pa.localPref}
				groups[key] = p
			}
			p.Peers = append(p.Peers, name)
		}
		for _, p := range groups {
			slices.Sort(p.Peers)
			plan.Paths = append(plan.Paths, *p)
		}
	}
	slices.SortFunc(plan.Paths, func(a, b Path) int {
		return cmp.Or(comparePrefix(a.Prefix, b.Prefix), cmp.Compare(a.Peers[0], b.Peers[0]))
	})
	return plan
}

// coversIP reports whether the advertisement covers a pool holding ip.
func coversIP(cfg *config.Config, ad *config.BGPAdvertisement, ip netip.Addr) bool {
	for _, name := range ad.Pools {
		if pool := cfg.Pool(name); pool != nil && pool.Contains(ip) {
			return true
		}
	}
	return false
}

// selectsAny reports whether the advertisement announces one of these
// Services (config.BGPAdvertisement.SelectsService).
func selectsAny(ad *config.BGPAdvertisement, services []labels.Set) bool {
	if len(ad.ServiceSelectors) == 0 {
		return true
	}
	for _, l := range services {
		if ad.SelectsService(l) {
			return true
		}
	}
	return false
}

func peerFrom(bp *config.BGPPeer) Peer {
	return Peer{
		Name:            bp.Name,
		Address:         bp.Address,
		Port:            bp.Port,
		MyASN:           bp.MyASN,
		PeerASN:         bp.PeerASN,
		SourceAddress:   bp.SourceAddress,
		HoldTime:        bp.HoldTime,
		KeepaliveTime:   bp.KeepaliveTime,
		EBGPMultiHop:    bp.EBGPMultiHop,
		Password:        bp.Password,
		GracefulRestart: bp.RestartTime,

		DualStackAddressFamily: bp.DualStackAddressFamily,
		ConnectTime:            bp.ConnectTime,
		AnyPeerASN:             bp.AnyPeerASN(),
		BindInterface:          bp.VRF,
		Passive:                bp.Passive,
	}
}

func sortedAddrs(ips []netip.Addr) []netip.Addr {
	out := slices.Clone(ips)
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}
