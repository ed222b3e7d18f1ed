package speaker

import (
	"net/netip"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/pylonlb/pylon/config"
	"github.com/pylonlb/pylon/speaker/election"
	"github.com/pylonlb/pylon/speaker/layer2"
)

// Inputs is everything the layer-2 plan depends on, read from the API
// server's cache, memberlist and the node's links.
type Inputs struct {
	// Node is this node's name.
	Node string
	// Nodes are all nodes, with Alive set from memberlist.
	Nodes []election.Node
	// Services are the LoadBalancer Services this speaker serves that have
	// addresses.
	Services []Service
	Config   *config.Config
	// Links and NodeIPs are this node's interfaces and addresses, for the
	// choice of interface.
	Links   []layer2.Link
	NodeIPs []netip.Addr
	// Yield are addresses this node must not answer for although it owns
	// them (the split-brain policy: see Reconciler).
	Yield map[netip.Addr]bool
	// NoInterface are the addresses each node published as owned with no
	// usable interface (its SpeakerStatus status.noInterface): the node is
	// left out of their election (see PlanL2).
	NoInterface map[string]map[netip.Addr]bool
	// ClusterNodeIPs are every Node's InternalIP and ExternalIP addresses,
	// with the Node's name: never announced for a Service (see
	// unannounceable).
	ClusterNodeIPs map[netip.Addr]string
}

// Service is a LoadBalancer Service as the speaker sees it.
type Service struct {
	// Key is namespace/name.
	Key string
	IPs []netip.Addr
	// Local: externalTrafficPolicy Local.
	Local bool
	// EndpointNodes are the nodes with a ready endpoint.
	EndpointNodes map[string]bool
	// Labels are the Service's labels, for advertisements'
	// serviceSelectors.
	Labels labels.Set
}

// L2 is one address this node answers for.
type L2 struct {
	Interfaces []string
	// Services are the keys of the Services using the address, sorted.
	Services []string
}

// Plan is what this node should announce, and why not where it does not.
type Plan struct {
	L2 map[netip.Addr]L2
	// Owners maps each address with an eligible node to its owner, for
	// status and events.
	Owners map[netip.Addr]string
	// NoInterface lists the addresses this node would own, were it not
	// left out for them, but has no usable interface to answer on; the
	// speaker publishes them (see Inputs.NoInterface).
	NoInterface []netip.Addr
}

// PlanL2 computes which addresses this node answers ARP and NDP for. It is
// pure: every speaker computing it over the same inputs agrees on one owner
// per address.
//
// A node that published an address in its NoInterface list (it would own
// it but has no usable interface for it) is left out of that address's
// election by every speaker, itself included, so the next node in rank
// answers; it keeps checking whether it could answer (the election without
// its own entry) and drops the address from its list once it can, and the
// address comes back to it when the list is read.
//
// An address that must never be announced (a special range, a Node's
// address: see unannounceable) is skipped. Otherwise an address is
// considered when its pool (the usable pool that contains
// it, else the first) is covered by an L2Advertisement. Services sharing an
// address are taken together: the first by key decides the traffic policy
// (the allocator lets only Services with the same policy and pod selector
// share an address under Local).
func PlanL2(in Inputs) Plan {
	p := Plan{L2: map[netip.Addr]L2{}, Owners: make(map[netip.Addr]string, len(in.Services))}
	if in.Config == nil {
		return p
	}
	byIP := make(map[netip.Addr][]Service, len(in.Services))
	for _, s := range in.Services {
		for _, ip := range s.IPs {
			byIP[ip] = append(byIP[ip], s)
		}
	}
	var mine labels.Set
	for _, n := range in.Nodes {
		if n.Name == in.Node {
			mine = n.Labels
		}
	}
	memo := l2Memo{ads: map[string][]*config.L2Advertisement{}, eligible: map[string][]string{}}
	for ip, svcs := range byIP {
		e := electL2(in, ip, svcs, &memo)
		if e.skip != "" {
			continue
		}
		eligible := memo.eligibleFor(in, e)
		if slices.ContainsFunc(eligible, func(n string) bool { return n != in.Node && in.NoInterface[n][ip] }) {
			// A copy: the memo's slice serves the other addresses.
			eligible = slices.DeleteFunc(slices.Clone(eligible),
				func(n string) bool { return n != in.Node && in.NoInterface[n][ip] })
		}
		// owner is who would own ip if this node were not left out.
		owner, ok := election.Owner(ip, eligible)
		if !ok {
			continue
		}
		var ifaces []string
		if owner == in.Node {
			ifaces = layer2.InterfacesFor(ip, in.Links, election.Selecting(mine, e.ads), in.NodeIPs)
			if len(ifaces) == 0 {
				p.NoInterface = append(p.NoInterface, ip)
			}
			if in.NoInterface[in.Node][ip] {
				// Still published: the others leave this node out, and
				// so does it, until its list says otherwise.
				others := slices.DeleteFunc(slices.Clone(eligible), func(n string) bool { return n == in.Node })
				if owner, ok = election.Owner(ip, others); !ok {
					continue
				}
			}
		}
		p.Owners[ip] = owner
		if owner != in.Node || in.Yield[ip] || len(ifaces) == 0 {
			continue
		}
		keys := make([]string, len(svcs))
		for i, s := range svcs {
			keys[i] = s.Key
		}
		p.L2[ip] = L2{Interfaces: ifaces, Services: slices.Compact(keys)}
	}
	slices.SortFunc(p.NoInterface, netip.Addr.Compare)
	return p
}

// l2Election is how PlanL2 elects the owner of one address: the pool it
// belongs to, the L2Advertisements covering that pool and the election's
// view of the Services using it. skip says why the address is not
// announced over layer 2 at all; "" when it is.
type l2Election struct {
	skip string
	pool *config.Pool
	ads  []*config.L2Advertisement
	svc  election.Service
	// notSelecting name the L2Advertisements covering the pool whose
	// serviceSelectors select none of the Services using the address.
	notSelecting []string
	// allAds is set when ads are all the L2Advertisements covering the
	// pool.
	allAds bool
}

// l2Memo keeps, through one pass, what every address of a pool shares:
// the L2Advertisements covering the pool, and the eligible nodes of its
// Cluster-policy addresses when all of them select the Services. With
// 50,000 addresses these were computed 50,000 times a pass. A nil memo
// keeps nothing.
type l2Memo struct {
	ads      map[string][]*config.L2Advertisement
	eligible map[string][]string
}

// adsFor is election.AdvertisementsFor(cfg.L2Advertisements, pool).
func (m *l2Memo) adsFor(cfg *config.Config, pool string) []*config.L2Advertisement {
	if m == nil {
		return election.AdvertisementsFor(cfg.L2Advertisements, pool)
	}
	ads, ok := m.ads[pool]
	if !ok {
		ads = election.AdvertisementsFor(cfg.L2Advertisements, pool)
		m.ads[pool] = ads
	}
	return ads
}

// eligibleFor is election.Eligible(in.Nodes, e.svc). The slice returned
// may be shared: callers copy it before changing it.
func (m *l2Memo) eligibleFor(in Inputs, e l2Election) []string {
	if m == nil || e.svc.Local || !e.allAds {
		return election.Eligible(in.Nodes, e.svc)
	}
	nodes, ok := m.eligible[e.pool.Name]
	if !ok {
		nodes = election.Eligible(in.Nodes, e.svc)
		m.eligible[e.pool.Name] = nodes
	}
	return nodes
}

// selectsAny reports whether ad's serviceSelectors select one of svcs.
func selectsAny(ad *config.L2Advertisement, svcs []Service) bool {
	return slices.ContainsFunc(svcs, func(s Service) bool { return ad.SelectsService(s.Labels) })
}

// electL2 prepares the election of ip, used by svcs (sorted here by key:
// the first decides the traffic policy).
// memo, when not nil, keeps what is the same for every address of a pool
// through one pass.
func electL2(in Inputs, ip netip.Addr, svcs []Service, memo *l2Memo) l2Election {
	if why := unannounceable(in, ip); why != "" {
		return l2Election{skip: "it must never be announced: " + why}
	}
	slices.SortFunc(svcs, func(a, b Service) int { return strings.Compare(a.Key, b.Key) })
	pool := PoolOf(in.Config, ip)
	if pool == nil {
		return l2Election{skip: "no IPPool holds it"}
	}
	ads := memo.adsFor(in.Config, pool.Name)
	if len(ads) == 0 {
		return l2Election{skip: "no L2Advertisement covers its IPPool", pool: pool}
	}
	if !slices.ContainsFunc(ads, func(ad *config.L2Advertisement) bool { return !selectsAny(ad, svcs) }) {
		// Every advertisement selects a Service: the pool's own list,
		// which the memo's eligible nodes are kept for.
		return l2Election{pool: pool, ads: ads, allAds: true, svc: election.Service{
			Advertisements: ads, Local: svcs[0].Local, EndpointNodes: svcs[0].EndpointNodes,
		}}
	}
	var notSelecting []string
	ads = slices.DeleteFunc(slices.Clone(ads), func(ad *config.L2Advertisement) bool {
		for _, s := range svcs {
			if ad.SelectsService(s.Labels) {
				return false
			}
		}
		notSelecting = append(notSelecting, ad.Name)
		return true
	})
	if len(ads) == 0 {
		return l2Election{pool: pool, notSelecting: notSelecting,
			skip: "no L2Advertisement covering its IPPool selects its Services: the serviceSelectors of " + strings.Join(notSelecting, ", ") + " select none of them"}
	}
	return l2Election{pool: pool, ads: ads, notSelecting: notSelecting, svc: election.Service{
		Advertisements: ads, Local: svcs[0].Local, EndpointNodes: svcs[0].EndpointNodes,
	}}
}

// PoolOf returns the pool an address belongs to: the usable pool that
// contains it, else the first that does, else nil. Its advertisements
// decide how the address is announced.
func PoolOf(cfg *config.Config, ip netip.Addr) *config.Pool {
	var first *config.Pool
	for _, p := range cfg.Pools {
		if !p.Contains(ip) {
			continue
		}
		if p.Usable() {
			return p
		}
		if first == nil {
			first = p
		}
	}
	return first
}
