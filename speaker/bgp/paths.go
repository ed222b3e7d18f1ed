package bgp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/apiutil"
	"github.com/osrg/gobgp/v3/pkg/packet/bgp"

	"github.com/pylonlb/pylon/config"
)

// Path is one prefix the speaker announces, with this node as next hop.
type Path struct {
	// Prefix is a service IP as a /32 or /128, or an aggregate holding
	// service IPs. It goes to peers of its own family only.
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

// pathState is a path the server holds.
type pathState struct {
	path  Path
	attrs attrs
	uuid  []byte
}

// attrs is a path's parsed, comparable form.
type attrs struct {
	standard  []uint32
	large     []*bgp.LargeCommunity
	localPref *uint32
	peers     []string // sorted, unique; nil = all
}

func (a attrs) equal(b attrs) bool {
	return slices.Equal(a.standard, b.standard) &&
		slices.EqualFunc(a.large, b.large, func(x, y *bgp.LargeCommunity) bool { return *x == *y }) &&
		((a.localPref == nil) == (b.localPref == nil)) && (a.localPref == nil || *a.localPref == *b.localPref) &&
		slices.Equal(a.peers, b.peers)
}

// goesTo reports whether the path goes to the named peer.
func (a attrs) goesTo(peer string) bool {
	if a.peers == nil {
		return true
	}
	_, ok := slices.BinarySearch(a.peers, peer)
	return ok
}

// parsePath checks a path and brings it to its comparable form.
func parsePath(p Path) (attrs, error) {
	var out attrs
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
			out.large = append(out.large, &bgp.LargeCommunity{ASN: v[0], LocalData1: v[1], LocalData2: v[2]})
		} else {
			out.standard = append(out.standard, parsed.Value)
		}
	}
	slices.Sort(out.standard)
	out.standard = slices.Compact(out.standard)
	slices.SortFunc(out.large, func(x, y *bgp.LargeCommunity) int {
		return cmp.Or(cmp.Compare(x.ASN, y.ASN), cmp.Compare(x.LocalData1, y.LocalData1), cmp.Compare(x.LocalData2, y.LocalData2))
	})
	out.large = slices.CompactFunc(out.large, func(x, y *bgp.LargeCommunity) bool { return *x == *y })
	if p.LocalPref != nil {
		lp := *p.LocalPref
		out.localPref = &lp
	}
	if len(p.Peers) > 0 {
		out.peers = slices.Clone(p.Peers)
		slices.Sort(out.peers)
		out.peers = slices.Compact(out.peers)
	}
	return out, nil
}

// SetPaths makes the announced paths exactly these. New paths are added,
// paths no longer listed withdrawn, and paths whose communities or
// local-pref changed announced again (an implicit replace for the router).
// A path whose set of peers changed is withdrawn and announced again, so each
// router ends up with exactly the paths meant for it. Unchanged paths are not
// touched. An invalid list is refused as a whole before anything changes.
func (s *Speaker) SetPaths(ctx context.Context, paths []Path) error {
	want := make(map[netip.Prefix]*pathState, len(paths))
	for _, p := range paths {
		a, err := parsePath(p)
		if err != nil {
			return err
		}
		if _, dup := want[p.Prefix]; dup {
			return fmt.Errorf("%w: prefix %v given twice", ErrInvalidPath, p.Prefix)
		}
		want[p.Prefix] = &pathState{path: p, attrs: a}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}

	var errs []error
	var add []*pathState
	for _, prefix := range s.sortedPrefixes() {
		cur := s.paths[prefix]
		w, ok := want[prefix]
		switch {
		case !ok || !slices.Equal(w.attrs.peers, cur.attrs.peers):
			// Withdraw before the export filters change: GoBGP checks
			// the old path against the current filter to decide whether
			// a peer needs the withdrawal.
			errs = append(errs, s.deletePath(ctx, cur))
		case !w.attrs.equal(cur.attrs):
			add = append(add, w)
		default:
			w.uuid = cur.uuid
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
		s.paths[w.path.Prefix] = w
	}
	errs = append(errs, s.syncFilters(ctx))
	slices.SortFunc(add, func(a, b *pathState) int { return comparePrefix(a.path.Prefix, b.path.Prefix) })
	for _, w := range add {
		if err := s.addPath(ctx, w); err != nil {
			delete(s.paths, w.path.Prefix)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// addPath announces (or re-announces) one path.
func (s *Speaker) addPath(ctx context.Context, ps *pathState) error {
	p, err := apiPath(ps)
	if err != nil {
		return fmt.Errorf("prefix %v: %w", ps.path.Prefix, err)
	}
	resp, err := s.srv.AddPath(ctx, &api.AddPathRequest{Path: p})
	if err != nil {
		return fmt.Errorf("announce %v: %w", ps.path.Prefix, err)
	}
	ps.uuid = resp.GetUuid()
	return nil
}

// deletePath withdraws one path.
func (s *Speaker) deletePath(ctx context.Context, ps *pathState) error {
	delete(s.paths, ps.path.Prefix)
	if err := s.srv.DeletePath(ctx, &api.DeletePathRequest{Uuid: ps.uuid}); err != nil {
		return fmt.Errorf("withdraw %v: %w", ps.path.Prefix, err)
	}
	return nil
}

// apiPath builds GoBGP's form of a path. The next hop is left unspecified
// (0.0.0.0 or ::): for a locally originated path GoBGP then sends the
// session's own local address, to eBGP and iBGP peers alike, which is
// "next-hop self" per session.
func apiPath(ps *pathState) (*api.Path, error) {
	prefix := ps.path.Prefix
	nlri := bgp.NewIPAddrPrefix(uint8(prefix.Bits()), prefix.Addr().String())
	attrs := []bgp.PathAttributeInterface{bgp.NewPathAttributeOrigin(bgp.BGP_ORIGIN_ATTR_TYPE_IGP)}
	var n bgp.AddrPrefixInterface = nlri
	if prefix.Addr().Is4() {
		attrs = append(attrs, bgp.NewPathAttributeNextHop("0.0.0.0"))
	} else {
		n = bgp.NewIPv6AddrPrefix(uint8(prefix.Bits()), prefix.Addr().String())
		attrs = append(attrs, bgp.NewPathAttributeMpReachNLRI("::", []bgp.AddrPrefixInterface{n}))
	}
	if len(ps.attrs.standard) > 0 {
		attrs = append(attrs, bgp.NewPathAttributeCommunities(ps.attrs.standard))
	}
	if len(ps.attrs.large) > 0 {
		attrs = append(attrs, bgp.NewPathAttributeLargeCommunities(ps.attrs.large))
	}
	if ps.attrs.localPref != nil {
		attrs = append(attrs, bgp.NewPathAttributeLocalPref(*ps.attrs.localPref))
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
