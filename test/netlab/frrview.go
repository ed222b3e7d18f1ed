package netlab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// RouterView is what the router knows: its BGP sessions and, per prefix,
// the paths it has received (FRR's `show bgp ... json`, BIRD's `show
// protocols all` and `show route all`).
type RouterView struct {
	Sessions []Session
	Routes   map[netip.Prefix][]Path
}

// Session is one BGP neighbour of the router.
type Session struct {
	// Peer is the neighbour's address.
	Peer netip.Addr
	// Hostname is what the peer announced with the hostname capability,
	// if it did (BIRD: "Hostname:" among the neighbour's capabilities).
	Hostname string
	RemoteAS uint32
	// State is the BGP state: "Established", "Active", "Connect",
	// "OpenSent", … (BIRD's "BGP state", which has "Passive" besides for
	// a passive neighbour waiting for the peer, and "Idle").
	State string
	// Dynamic is true for neighbours accepted by FRR's `bgp listen
	// range`; always false for BIRD.
	Dynamic bool
	// PrefixesReceived counts accepted prefixes per address family
	// ("ipv4", "ipv6"; BIRD: the channel's imported routes).
	PrefixesReceived map[string]int
	// PrefixesSent counts the prefixes the router sends the peer, per
	// address family (FRR's pfxSnt; BIRD: the channel's exported routes).
	PrefixesSent map[string]int
	// Since is when BIRD's protocol last changed state, as BIRD prints it
	// (with `timeformat protocol iso long ms`, to the millisecond): a
	// session that went down and up again has a new one. FRR: empty (its
	// neighbour JSON counts establishments instead).
	Since string
}

// Established reports State == "Established".
func (s Session) Established() bool { return s.State == "Established" }

// Path is one received path for a prefix.
type Path struct {
	Prefix netip.Prefix
	// Peer is the neighbour the path came from.
	Peer netip.Addr
	// NextHops are the path's next hops as announced (a global IPv6 next
	// hop and its link-local twin both appear).
	NextHops []netip.Addr
	ASPath   []uint32
	// Best is the router's best path; Multipath is set on every path that
	// takes part in ECMP (best included) when there are several: BIRD's
	// table does not say, its kernel protocol's export does (a merged
	// route, one next hop per path). Valid: FRR's valid; BIRD's route
	// kind is unicast (not unreachable).
	Best, Multipath, Valid bool
	// LocalPref is nil when the path carries none (FRR, eBGP). BIRD sets
	// its default 100 on eBGP paths and shows it.
	LocalPref *uint32
	MED       uint32
	// Communities ("64512:100") and LargeCommunities ("64512:1:2") as
	// FRR prints them, well-known ones by name ("no-export").
	Communities      []string
	LargeCommunities []string
	// PeerType is the kind of the session the path came over: "external"
	// or "internal" (BIRD: the protocol's "Session:").
	PeerType string
	// OriginatorID and ClusterList are what a route reflector adds (RFC
	// 4456): the router ID of the iBGP speaker the path came from, and
	// the cluster IDs of the reflectors it passed, the last one first.
	// Unset on a path no reflector passed on.
	OriginatorID netip.Addr
	ClusterList  []netip.Addr
}

// View reads the router's sessions and routes of both families. It costs
// about 0.1 s a vtysh call, three calls; for timing use KernelRoutes.
func (f *FRR) View(ctx context.Context) (RouterView, error) {
	v := RouterView{Routes: map[netip.Prefix][]Path{}}
	var err error
	if v.Sessions, err = f.Sessions(ctx); err != nil {
		return RouterView{}, err
	}
	for _, fam := range []string{"ipv4", "ipv6"} {
		out, err := f.Vtysh(ctx, "show bgp "+fam+" unicast json detail")
		if err != nil {
			return RouterView{}, err
		}
		routes, err := parseRoutes(out)
		if err != nil {
			return RouterView{}, fmt.Errorf("%s routes: %w", fam, err)
		}
		for p, paths := range routes {
			v.Routes[p] = paths
		}
	}
	return v, nil
}

// Sessions reads the router's sessions alone: one vtysh call.
func (f *FRR) Sessions(ctx context.Context) ([]Session, error) {
	sum, err := f.Vtysh(ctx, "show bgp summary json")
	if err != nil {
		return nil, err
	}
	return parseSummary(sum)
}

// Session returns the session with peer, if any.
func (v RouterView) Session(peer netip.Addr) (Session, bool) {
	for _, s := range v.Sessions {
		if s.Peer == peer {
			return s, true
		}
	}
	return Session{}, false
}

// NextHops are the distinct next hops of prefix's paths that take part in
// forwarding (best or multipath), sorted.
func (v RouterView) NextHops(prefix netip.Prefix) []netip.Addr {
	seen := map[netip.Addr]bool{}
	var out []netip.Addr
	for _, p := range v.Routes[prefix] {
		if !p.Best && !p.Multipath {
			continue
		}
		for _, nh := range p.NextHops {
			if !nh.IsLinkLocalUnicast() && !seen[nh] {
				seen[nh] = true
				out = append(out, nh)
			}
		}
	}
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return out
}

// summaryJSON is `show bgp summary json`: one section per address family.
type summaryJSON map[string]struct {
	Peers map[string]struct {
		Hostname    string `json:"hostname"`
		RemoteAS    uint32 `json:"remoteAs"`
		State       string `json:"state"`
		DynamicPeer bool   `json:"dynamicPeer"`
		PfxRcd      int    `json:"pfxRcd"`
		PfxSnt      int    `json:"pfxSnt"`
	} `json:"peers"`
}

func parseSummary(data []byte) ([]Session, error) {
	var sum summaryJSON
	if err := json.Unmarshal(data, &sum); err != nil {
		return nil, fmt.Errorf("parse bgp summary: %w", err)
	}
	byPeer := map[netip.Addr]*Session{}
	for afi, sec := range sum {
		fam := strings.TrimSuffix(afi, "Unicast") // ipv4Unicast -> ipv4
		for addr, p := range sec.Peers {
			a, err := netip.ParseAddr(addr)
			if err != nil {
				return nil, fmt.Errorf("bgp summary peer %q: %w", addr, err)
			}
			s := byPeer[a]
			if s == nil {
				s = &Session{Peer: a, Hostname: p.Hostname, RemoteAS: p.RemoteAS, State: p.State, Dynamic: p.DynamicPeer, PrefixesReceived: map[string]int{}, PrefixesSent: map[string]int{}}
				byPeer[a] = s
			}
			s.PrefixesReceived[fam] = p.PfxRcd
			s.PrefixesSent[fam] = p.PfxSnt
		}
	}
	out := make([]Session, 0, len(byPeer))
	for _, s := range byPeer {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b Session) int { return a.Peer.Compare(b.Peer) })
	return out, nil
}

// pathJSON is one path of `show bgp <afi> unicast json detail`.
type pathJSON struct {
	ASPath *struct {
		Segments []struct {
			List []uint32 `json:"list"`
		} `json:"segments"`
	} `json:"aspath"`
	Metric    uint32          `json:"metric"`
	LocPrf    *uint32         `json:"locPrf"`
	Valid     bool            `json:"valid"`
	Multipath bool            `json:"multipath"`
	Bestpath  json.RawMessage `json:"bestpath"`
	Community *struct {
		String string   `json:"string"`
		List   []string `json:"list"`
	} `json:"community"`
	LargeCommunity *struct {
		List []string `json:"list"`
	} `json:"largeCommunity"`
	NextHops []struct {
		IP string `json:"ip"`
	} `json:"nexthops"`
	Peer *struct {
		PeerID string `json:"peerId"`
		Type   string `json:"type"`
	} `json:"peer"`
	OriginatorID string `json:"originatorId"`
	ClusterList  *struct {
		List []string `json:"list"`
	} `json:"clusterList"`
}

// parseRoutes reads `show bgp <afi> unicast json detail`. FRR 8 lists, per
// prefix, a header object and then the paths; newer FRR nests the paths in
// an object under "paths". Both are read.
func parseRoutes(data []byte) (map[netip.Prefix][]Path, error) {
	var table struct {
		Routes map[string]json.RawMessage `json:"routes"`
	}
	if err := json.Unmarshal(data, &table); err != nil {
		return nil, fmt.Errorf("parse bgp routes: %w", err)
	}
	out := map[netip.Prefix][]Path{}
	for key, raw := range table.Routes {
		prefix, err := netip.ParsePrefix(key)
		if err != nil {
			return nil, fmt.Errorf("route %q: %w", key, err)
		}
		var items []pathJSON
		if err := json.Unmarshal(raw, &items); err != nil {
			var nested struct {
				Paths []pathJSON `json:"paths"`
			}
			if err2 := json.Unmarshal(raw, &nested); err2 != nil {
				return nil, fmt.Errorf("route %s: %w", key, err)
			}
			items = nested.Paths
		}
		for _, it := range items {
			if it.Peer == nil { // the per-prefix header
				continue
			}
			p, err := it.path(prefix)
			if err != nil {
				return nil, fmt.Errorf("route %s: %w", key, err)
			}
			out[prefix] = append(out[prefix], p)
		}
	}
	return out, nil
}

func (it pathJSON) path(prefix netip.Prefix) (Path, error) {
	peer, err := netip.ParseAddr(it.Peer.PeerID)
	if err != nil {
		return Path{}, fmt.Errorf("peer %q: %w", it.Peer.PeerID, err)
	}
	p := Path{Prefix: prefix, Peer: peer, Valid: it.Valid, Multipath: it.Multipath, LocalPref: it.LocPrf, MED: it.Metric, PeerType: it.Peer.Type}
	// "bestpath" is an object ({"overall":true, …}) in the detail output.
	var best struct {
		Overall bool `json:"overall"`
	}
	if len(it.Bestpath) > 0 && json.Unmarshal(it.Bestpath, &best) == nil {
		p.Best = best.Overall
	}
	if it.ASPath != nil {
		for _, seg := range it.ASPath.Segments {
			p.ASPath = append(p.ASPath, seg.List...)
		}
	}
	if it.Community != nil {
		// The list has well-known communities in another spelling
		// ("noExport"); the string has them by name.
		p.Communities = strings.Fields(it.Community.String)
	}
	if it.LargeCommunity != nil {
		p.LargeCommunities = it.LargeCommunity.List
	}
	for _, nh := range it.NextHops {
		a, err := netip.ParseAddr(nh.IP)
		if err != nil {
			return Path{}, fmt.Errorf("next hop %q: %w", nh.IP, err)
		}
		p.NextHops = append(p.NextHops, a)
	}
	if it.OriginatorID != "" {
		if p.OriginatorID, err = netip.ParseAddr(it.OriginatorID); err != nil {
			return Path{}, fmt.Errorf("originator ID: %w", err)
		}
	}
	if it.ClusterList != nil {
		for _, id := range it.ClusterList.List {
			a, err := netip.ParseAddr(id)
			if err != nil {
				return Path{}, fmt.Errorf("cluster list: %w", err)
			}
			p.ClusterList = append(p.ClusterList, a)
		}
	}
	return p, nil
}

// KernelRoutes reads the router's kernel routes installed by BGP (proto
// bgp): prefix to gateways (several for ECMP). It is a plain `ip -j
// route` per family, milliseconds, where View is a tenth of a second.
func (f *FRR) KernelRoutes(ctx context.Context) (map[netip.Prefix][]netip.Addr, error) {
	return ReadKernelRoutes(ctx, f.Netns, "bgp")
}

// ReadKernelRoutes reads the kernel routes of namespace netns that routing
// protocol proto installed ("bgp" for FRR's zebra, "bird" for BIRD):
// prefix to gateways, several for ECMP, sorted. It is `ip -j route show
// proto <proto>` per family.
func ReadKernelRoutes(ctx context.Context, netns, proto string) (map[netip.Prefix][]netip.Addr, error) {
	out := map[netip.Prefix][]netip.Addr{}
	for _, fam := range []string{"-4", "-6"} {
		data, err := Run(ctx, "", "ip", "-n", netns, "-j", fam, "route", "show", "proto", proto)
		if err != nil {
			return nil, err
		}
		routes, err := parseKernelRoutes(data)
		if err != nil {
			return nil, err
		}
		for p, gws := range routes {
			out[p] = gws
		}
	}
	return out, nil
}

type kernelRouteJSON struct {
	Dst      string `json:"dst"`
	Gateway  string `json:"gateway"`
	NextHops []struct {
		Gateway string `json:"gateway"`
	} `json:"nexthops"`
}

func parseKernelRoutes(data []byte) (map[netip.Prefix][]netip.Addr, error) {
	var routes []kernelRouteJSON
	if err := json.Unmarshal(data, &routes); err != nil {
		return nil, fmt.Errorf("parse ip route: %w", err)
	}
	out := map[netip.Prefix][]netip.Addr{}
	for _, r := range routes {
		prefix, err := parseDst(r.Dst)
		if err != nil {
			return nil, err
		}
		gws := []string{r.Gateway}
		if len(r.NextHops) > 0 {
			gws = gws[:0]
			for _, nh := range r.NextHops {
				gws = append(gws, nh.Gateway)
			}
		}
		for _, g := range gws {
			if g == "" {
				continue
			}
			a, err := netip.ParseAddr(g)
			if err != nil {
				return nil, fmt.Errorf("route %s gateway %q: %w", r.Dst, g, err)
			}
			out[prefix] = append(out[prefix], a)
		}
		slices.SortFunc(out[prefix], func(a, b netip.Addr) int { return a.Compare(b) })
	}
	return out, nil
}

// parseDst reads ip's "dst": a prefix, or a bare address for a host route.
func parseDst(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("route dst %q: %w", s, err)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
