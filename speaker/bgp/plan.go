package bgp

import (
	"fmt"
	"net/netip"
	"slices"

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
	// Paths are the prefixes to announce, sorted (IPv4 first).
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
//     to the advertisement's peers that are selected here and of the IP's
//     family.
//   - An advertisement with serviceSelectors announces an IP only when one
//     of them selects one of the Services using it (Plan.NotSelecting).
//   - When several advertisements announce one prefix, the path carries the
//     union of their communities and peers, and the highest localPref.
//   - localPref is sent to iBGP peers only: a path going to eBGP peers only
//     carries none (config reports such an advertisement as
//     LocalPrefOnEBGP).
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

	paths := map[netip.Prefix]*Path{}
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
			var to []string
			ibgp := false
			for _, name := range ad.Peers {
				if bp := selected[name]; bp != nil && bp.Address.Is4() == ip.Is4() {
					to = append(to, name)
					ibgp = ibgp || bp.IBGP()
				}
			}
			if len(to) == 0 {
				continue
			}
			advertised = true
			length := ad.AggregationLength
			if ip.Is6() {
				length = ad.AggregationLengthV6
			}
			prefix := netip.PrefixFrom(ip, length).Masked()
			p := paths[prefix]
			if p == nil {
				p = &Path{Prefix: prefix}
				paths[prefix] = p
			}
			p.Peers = append(p.Peers, to...)
			for _, c := range ad.Communities {
				p.Communities = append(p.Communities, c.String())
			}
			if ad.LocalPref != nil && ibgp && (p.LocalPref == nil || *ad.LocalPref > *p.LocalPref) {
				lp := *ad.LocalPref
				p.LocalPref = &lp
			}
		}
		if !advertised {
			plan.Unadvertised = append(plan.Unadvertised, ip)
		}
	}
	for _, p := range paths {
		slices.Sort(p.Peers)
		p.Peers = slices.Compact(p.Peers)
		slices.Sort(p.Communities)
		p.Communities = slices.Compact(p.Communities)
		plan.Paths = append(plan.Paths, *p)
	}
	slices.SortFunc(plan.Paths, func(a, b Path) int { return comparePrefix(a.Prefix, b.Prefix) })
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
		ConnectTime:     bp.ConnectTime,
		AnyPeerASN:      bp.AnyPeerASN(),
		BindInterface:   bp.VRF,
		Passive:         bp.Passive,
	}
}

func sortedAddrs(ips []netip.Addr) []netip.Addr {
	out := slices.Clone(ips)
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out)
}
