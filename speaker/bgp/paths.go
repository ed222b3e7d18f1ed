package bgp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/apiutil"
	"github.com/osrg/gobgp/v3/pkg/packet/bgp"

	"github.com/pylonlb/pylon/config"
)

// Path is one prefix the speaker announces, with this node as next hop, and
// the attributes it carries to the peers it names. Several Paths may share a
// prefix when they name disjoint, non-empty sets of peers: each peer then gets
// exactly the attributes of the Path that names it (per-peer export policies,
// policy.go), never another's.
type Path struct {
	// Prefix is a service IP as a /32 or /128, or an aggregate holding
	// service IPs. It goes to peers whose session carries its family (its
	// own, or both with Peer.DualStackAddressFamily).
	Prefix netip.Prefix
	// Communities: standard ("65000:100", or no-export, no-advertise,
	// no-export-subconfed, no-peer) and large ("large:64512:1:2").
	Communities []string
	// LocalPref, when set, is sent to iBGP peers; eBGP peers never get
	// LOCAL_PREF (RFC 4271 5.1.5), so it is left off for them.
	LocalPref *uint32
	// Peers names the peers the path goes to; empty means every peer.
	Peers []string
}

// attrSet is a path's attributes in comparable form.
type attrSet struct {
	standard  []uint32
	large     []*bgp.LargeCommunity
	localPref *uint32
}

func (a attrSet) equal(b attrSet) bool {
	return slices.Equal(a.standard, b.standard) &&
		slices.EqualFunc(a.large, b.large, func(x, y *bgp.LargeCommunity) bool { return *x == *y }) &&
		((a.localPref == nil) == (b.localPref == nil)) && (a.localPref == nil || *a.localPref == *b.localPref)
}

// empty reports whether the set changes nothing on a path.
func (a attrSet) empty() bool {
	return len(a.standard) == 0 && len(a.large) == 0 && a.localPref == nil
}

// key is a canonical text of the set, for naming its export policy.
func (a attrSet) key() string {
	var b strings.Builder
	for _, c := range a.standard {
		fmt.Fprintf(&b, "s%d,", c)
	}
	for _, c := range a.large {
		fmt.Fprintf(&b, "l%d:%d:%d,", c.ASN, c.LocalData1, c.LocalData2)
	}
	if a.localPref != nil {
		fmt.Fprintf(&b, "p%d", *a.localPref)
	}
	return b.String()
}

// group is one Path of a prefix: attributes and the peers that get them.
type group struct {
	attrs attrSet
	peers []string // sorted, unique; nil = every peer
}

// pathState is one prefix the server holds: a single GoBGP path without
// communities or local-pref, and per peer the attributes its export policy
// adds.
type pathState struct {
	prefix netip.Prefix
	groups []group // by first peer; a group for every peer is the only one
}

// peers returns the union of the groups' peers, sorted; nil = every peer.
func (ps *pathState) peers() []string {
	var out []string
	for _, g := range ps.groups {
		if g.peers == nil {
			return nil
		}
		out = append(out, g.peers...)
	}
	slices.Sort(out)
	return out
}

// group returns the group the named peer gets, if any.
func (ps *pathState) group(peer string) (group, bool) {
	for _, g := range ps.groups {
		if g.peers == nil {
			return g, true
		}
		if _, ok := slices.BinarySearch(g.peers, peer); ok {
			return g, true
		}
	}
	return group{}, false
}

// goesTo reports whether the path goes to the named peer.
func (ps *pathState) goesTo(peer string) bool {
	_, ok := ps.group(peer)
	return ok
}

// zeroLocalPref reports whether some group asks for LOCAL_PREF 0, which
// GoBGP's export policies cannot set (a zero value means "no action"): the
// path itself then carries it (apiPath), and groups without a localPref
// get GoBGP's default of 100 from their policy instead (attrsFor).
func (ps *pathState) zeroLocalPref() bool {
	return slices.ContainsFunc(ps.groups, func(g group) bool { return g.attrs.localPref != nil && *g.attrs.localPref == 0 })
}

// attrsFor returns what the named peer's export policy adds to the path.
func (ps *pathState) attrsFor(peer string) attrSet {
	g, ok := ps.group(peer)
	if !ok {
		return attrSet{}
	}
	a := g.attrs
	if ps.zeroLocalPref() {
		switch {
		case a.localPref == nil:
			a.localPref = new(uint32(100))
		case *a.localPref == 0:
			a.localPref = nil // on the path itself
		}
	}
	return a
}

// sameGroups reports whether two states give every peer the same attributes.
func (ps *pathState) sameGroups(o *pathState) bool {
	return slices.EqualFunc(ps.groups, o.groups, func(a, b group) bool {
		return slices.Equal(a.peers, b.peers) && (a.peers == nil) == (b.peers == nil) && a.attrs.equal(b.attrs)
	})
}

// parsePath checks a path and brings it to its comparable form.
func parsePath(p Path) (group, error) {
	var out group
	if !p.Prefix.IsValid() || p.Prefix.Addr().Zone() != "" || p.Prefix.Addr().Is4In6() {
		return out, fmt.Errorf("%w: prefix %v is not an IPv4 or IPv6 prefix", ErrInvalidPath, p.Prefix)
	}
	if p.Prefix != p.Prefix.Masked() {
		return out, fmt.Errorf("%w: prefix %v has host bits set (want %v)", ErrInvalidPath, p.Prefix, p.Prefix.Masked())
	}
	for _, c := range p.Communities {
		parsed, err := config.ParseCommunity(c)
		if err != nil {
			return out, fmt.Errorf("%w: prefix %v: community %q: %w", ErrInvalidPath, p.Prefix, c, err)
		}
		if parsed.Kind == config.Large {
			v := parsed.LargeValue
			out.attrs.large = append(out.attrs.large, &bgp.LargeCommunity{ASN: v[0], LocalData1: v[1], LocalData2: v[2]})
		} else {
			out.attrs.standard = append(out.attrs.standard, parsed.Value)
		}
	}
	slices.Sort(out.attrs.standard)
	out.attrs.standard = slices.Compact(out.attrs.standard)
	slices.SortFunc(out.attrs.large, func(x, y *bgp.LargeCommunity) int {
		return cmp.Or(cmp.Compare(x.ASN, y.ASN), cmp.Compare(x.LocalData1, y.LocalData1), cmp.Compare(x.LocalData2, y.LocalData2))
	})
	out.attrs.large = slices.CompactFunc(out.attrs.large, func(x, y *bgp.LargeCommunity) bool { return *x == *y })
	if p.LocalPref != nil {
		lp := *p.LocalPref
		out.attrs.localPref = &lp
	}
	if len(p.Peers) > 0 {
		out.peers = slices.Clone(p.Peers)
		slices.Sort(out.peers)
		out.peers = slices.Compact(out.peers)
	}
	return out, nil
}

// wantPaths parses a path list into one state per prefix, refusing a prefix
// given twice for one peer.
func wantPaths(paths []Path) (map[netip.Prefix]*pathState, error) {
	want := make(map[netip.Prefix]*pathState, len(paths))
	for _, p := range paths {
		g, err := parsePath(p)
		if err != nil {
			return nil, err
		}
		w := want[p.Prefix]
		if w == nil {
			want[p.Prefix] = &pathState{prefix: p.Prefix, groups: []group{g}}
			continue
		}
		if g.peers == nil || w.peers() == nil {
			return nil, fmt.Errorf("%w: prefix %v given twice (a Path for every peer must be the prefix's only one)", ErrInvalidPath, p.Prefix)
		}
		for _, peer := range g.peers {
			if w.goesTo(peer) {
				return nil, fmt.Errorf("%w: prefix %v given twice for peer %q", ErrInvalidPath, p.Prefix, peer)
			}
		}
		w.groups = append(w.groups, g)
	}
	for _, w := range want {
		slices.SortFunc(w.groups, func(a, b group) int { return cmp.Compare(a.peers[0], b.peers[0]) })
	}
	return want, nil
}

// SetPaths makes the announced paths exactly these. New paths are added,
// paths no longer listed withdrawn, and the peers for which some path's
// communities or local-pref changed get their paths again (an implicit
// replace for the router, see resend).
// A path whose set of peers changed is withdrawn and announced again, so each
// router ends up with exactly the paths meant for it. Unchanged paths are not
// touched. An invalid list is refused as a whole before anything changes.
//
// A list equal to the last one applied in full, with nothing changed in
// the server since, returns at once: a pass with nothing to do hands the
// same 50,000 paths over every time. (SetPaths keeps a copy of the list it
// applied: a caller may change its own afterwards.)
func (s *Speaker) SetPaths(ctx context.Context, paths []Path) error {
	s.mu.Lock()
	if !s.closed && s.applied.ok && s.applied.mutations == s.mutations && samePaths(paths, s.applied.paths) {
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	want, err := wantPaths(paths)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.applied = appliedPaths{}
	err = s.setPaths(ctx, want)
	if err == nil {
		s.applied = appliedPaths{ok: true, paths: clonePaths(paths), mutations: s.mutations}
	}
	return err
}

// appliedPaths is the path list SetPaths last applied in full (a copy),
// and the server's count of changes right after.
type appliedPaths struct {
	ok        bool
	paths     []Path
	mutations uint64
}

func samePaths(a, b []Path) bool {
	return slices.EqualFunc(a, b, func(x, y Path) bool {
		return x.Prefix == y.Prefix && slices.Equal(x.Communities, y.Communities) && slices.Equal(x.Peers, y.Peers) &&
			(x.LocalPref == nil) == (y.LocalPref == nil) && (x.LocalPref == nil || *x.LocalPref == *y.LocalPref)
	})
}

func clonePaths(paths []Path) []Path {
	out := slices.Clone(paths)
	for i, p := range out {
		out[i].Communities, out[i].Peers = slices.Clone(p.Communities), slices.Clone(p.Peers)
		if p.LocalPref != nil {
			out[i].LocalPref = new(*p.LocalPref)
		}
	}
	return out
}

// setPaths is SetPaths' work on a valid list; s.mu is held.
func (s *Speaker) setPaths(ctx context.Context, want map[netip.Prefix]*pathState) error {

	var errs []error
	var add []*pathState
	resend := map[string]bool{}
	for _, prefix := range s.sortedPrefixes() {
		cur := s.paths[prefix]
		w, ok := want[prefix]
		switch {
		case !ok || !slices.Equal(w.peers(), cur.peers()) || (w.peers() == nil) != (cur.peers() == nil):
			// Withdraw before the export filters change: GoBGP checks
			// the old path against the current filter to decide whether
			// a peer needs the withdrawal.
			errs = append(errs, s.deletePath(ctx, cur))
		case !w.sameGroups(cur):
			// The path in GoBGP's table may be the same (attributes are
			// per peer): the peers whose attributes changed get their
			// paths again once the policies say the new ones.
			for name, ps := range s.peers {
				if ps.cfg.carries(prefix.Addr()) && !cur.attrsFor(name).equal(w.attrsFor(name)) {
					resend[name] = true
				}
			}
			add = append(add, w)
		default:
			s.paths[prefix] = w
		}
	}
	for prefix, w := range want {
		if _, ok := s.paths[prefix]; !ok {
			add = append(add, w)
		}
	}
	// Filters are written before the paths they hold back are added.
	for _, w := range add {
		s.paths[w.prefix] = w
	}
	errs = append(errs, s.syncFilters(ctx))
	slices.SortFunc(add, func(a, b *pathState) int { return comparePrefix(a.prefix, b.prefix) })
	for _, w := range add {
		if err := s.addPath(ctx, w); err != nil {
			delete(s.paths, w.prefix)
			errs = append(errs, err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(resend)) {
		errs = append(errs, s.resend(ctx, s.peers[name].cfg))
	}
	return errors.Join(errs...)
}

// resend has GoBGP send the peer every path again through the current
// export policies (a soft reset out): an implicit replace on the router, no
// withdrawal. GoBGP does not run its policies again when a set changes, and
// does not send a path again that is the same in its table, so this is how a
// peer learns new attributes of paths it has.
func (s *Speaker) resend(ctx context.Context, p Peer) error {
	s.changed()
	err := s.srv.ResetPeer(ctx, &api.ResetPeerRequest{Address: p.Address.String(), Soft: true, Direction: api.ResetPeerRequest_OUT})
	if err != nil {
		return fmt.Errorf("peer %q: send paths again: %w", p.Name, err)
	}
	return nil
}

// addPath announces (or re-announces) one path.
func (s *Speaker) addPath(ctx context.Context, ps *pathState) error {
	s.changed()
	p, err := apiPath(ps)
	if err != nil {
		return fmt.Errorf("prefix %v: %w", ps.prefix, err)
	}
	if _, err := s.srv.AddPath(ctx, &api.AddPathRequest{Path: p}); err != nil {
		return fmt.Errorf("announce %v: %w", ps.prefix, err)
	}
	return nil
}

// deletePath withdraws one path. It names the path by its prefix, not by
// the UUID AddPath returned: GoBGP finds a UUID by reading its whole table,
// so withdrawing every path by UUID took time growing with the square of
// their number (6 s for 5,000 paths, and more than 20 minutes for 50,000).
func (s *Speaker) deletePath(ctx context.Context, ps *pathState) error {
	s.changed()
	delete(s.paths, ps.prefix)
	p, err := apiPath(ps)
	if err == nil {
		err = s.srv.DeletePath(ctx, &api.DeletePathRequest{TableType: api.TableType_GLOBAL, Family: p.Family, Path: p})
	}
	if err != nil {
		return fmt.Errorf("withdraw %v: %w", ps.prefix, err)
	}
	return nil
}

// deleteAllPaths withdraws every path at once (GoBGP: a DeletePath naming
// no path deletes every locally originated one, in one pass over its
// table).
func (s *Speaker) deleteAllPaths(ctx context.Context) error {
	s.changed()
	clear(s.paths)
	if err := s.srv.DeletePath(ctx, &api.DeletePathRequest{TableType: api.TableType_GLOBAL}); err != nil {
		return fmt.Errorf("withdraw every path: %w", err)
	}
	return nil
}

// apiPath builds GoBGP's form of a path. The next hop is left unspecified
// (0.0.0.0 or ::): for a locally originated path GoBGP then sends the
// session's own local address, to eBGP and iBGP peers alike, which is
// "next-hop self" per session (nexthop.go sets the other family's for
// dual-stack peers). Communities and local-pref are not on the path: each
// peer's export policy adds its own (policy.go), except LOCAL_PREF 0, which
// no policy can set.
func apiPath(ps *pathState) (*api.Path, error) {
	prefix := ps.prefix
	nlri := bgp.NewIPAddrPrefix(uint8(prefix.Bits()), prefix.Addr().String())
	attrs := []bgp.PathAttributeInterface{bgp.NewPathAttributeOrigin(bgp.BGP_ORIGIN_ATTR_TYPE_IGP)}
	var n bgp.AddrPrefixInterface = nlri
	if prefix.Addr().Is4() {
		attrs = append(attrs, bgp.NewPathAttributeNextHop("0.0.0.0"))
	} else {
		n = bgp.NewIPv6AddrPrefix(uint8(prefix.Bits()), prefix.Addr().String())
		attrs = append(attrs, bgp.NewPathAttributeMpReachNLRI("::", []bgp.AddrPrefixInterface{n}))
	}
	if ps.zeroLocalPref() {
		attrs = append(attrs, bgp.NewPathAttributeLocalPref(0))
	}
	return apiutil.NewPath(n, false, attrs, time.Now())
}

// sortedPrefixes returns the announced prefixes in order.
func (s *Speaker) sortedPrefixes() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(s.paths))
	for p := range s.paths {
		out = append(out, p)
	}
	slices.SortFunc(out, comparePrefix)
	return out
}

func comparePrefix(a, b netip.Prefix) int {
	return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
}
