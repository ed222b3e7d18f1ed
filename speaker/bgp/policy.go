package bgp

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	api "github.com/osrg/gobgp/v3/api"
)

// Per-peer export filters.
//
// GoBGP keeps one table of locally originated paths, one path per prefix, and
// sends each path to every peer whose session carries its family. What
// differs per peer is done by export policies, assigned globally, each
// starting with "if neighbor is <peer address>":
//
//	pylon-export-<peer>:           if prefix is in <peer's withheld set of the family>: reject
//	pylon-attrs-<peer>-<fam>-<id>: if prefix is in <its set>: add communities, set local-pref
//	pylon-export-<peer>-nexthop:   (dual-stack peers, nexthop.go) if family is the other one: set next hop
//
// and everything else is accepted. The withheld sets list, exactly (masklen
// range = the prefix length), the prefixes of a family that go to other
// peers only. Each attribute set a peer gets for some prefixes (the
// communities and local-pref of the Paths naming it) has its own policy and
// prefix set, so a peer gets exactly the attributes meant for it, never
// another peer's: the paths themselves carry none. There are as many of those
// policies as distinct attribute sets, not as prefixes: a new Service adds a
// prefix to a set. Every prefix set always holds one sentinel, 0.0.0.0/32 or
// ::/128 (never announced), so that it is never empty and its family is
// fixed. Sets are changed in place (added to, removed from): GoBGP's
// AddDefinedSet with Replace swaps in a new set object that policies already
// built never see.
//
// GoBGP decides whether a peer needs a withdrawal by running the *current*
// filter over the old path: so SetPaths withdraws a path before a filter
// change could hide it, and writes filters before it adds the paths they
// hold back. GoBGP does not run the policies again over paths already sent
// when a set changes: SetPaths has the peers whose attributes changed sent
// their paths again (resend).

const globalTable = "global"

func filterNames(addr netip.Addr) (neighbors, withheld, policy string) {
	id := peerID(addr)
	return "pylon-peer-" + id, "pylon-withheld-" + id, "pylon-export-" + id
}

func peerID(addr netip.Addr) string {
	return strings.NewReplacer(".", "-", ":", "-").Replace(addr.String())
}

func familyName(is4 bool) string {
	if is4 {
		return "4"
	}
	return "6"
}

// withheldSet names a peer's withheld set of one family.
func withheldSet(addr netip.Addr, is4 bool) string {
	_, withheld, _ := filterNames(addr)
	return withheld + "-" + familyName(is4)
}

// attrPolicyName names the policy (and its prefix set) that gives a peer an
// attribute set on prefixes of one family.
func attrPolicyName(addr netip.Addr, is4 bool, a attrSet) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(a.key()))
	return fmt.Sprintf("pylon-attrs-%s-%s-%016x", peerID(addr), familyName(is4), h.Sum64())
}

func hostPrefix(a netip.Addr) string { return netip.PrefixFrom(a, a.BitLen()).String() }

func sentinel(is4 bool) netip.Prefix {
	if is4 {
		return netip.PrefixFrom(netip.IPv4Unspecified(), 32)
	}
	return netip.PrefixFrom(netip.IPv6Unspecified(), 128)
}

// peerFamilies lists the families a peer's session carries, as is4 values,
// its own first.
func peerFamilies(p Peer) []bool {
	if p.DualStackAddressFamily {
		return []bool{p.Address.Is4(), !p.Address.Is4()}
	}
	return []bool{p.Address.Is4()}
}

// peerFilter is what the speaker last wrote to a peer's export filters.
type peerFilter struct {
	withheld map[bool][]netip.Prefix // by family (true: IPv4)
	attrs    map[string]*attrFilter  // by policy name
}

// attrFilter is one attribute set of a peer and the prefixes it is for.
type attrFilter struct {
	is4      bool
	attrs    attrSet
	prefixes []netip.Prefix // the sentinel, then sorted
}

// withheldFrom returns the sorted prefixes of a family that the current
// paths send to other peers only, after the sentinel.
func (s *Speaker) withheldFrom(p Peer, is4 bool) []netip.Prefix {
	out := []netip.Prefix{sentinel(is4)}
	for prefix, ps := range s.paths {
		if prefix.Addr().Is4() == is4 && !ps.goesTo(p.Name) {
			out = append(out, prefix)
		}
	}
	slices.SortFunc(out[1:], comparePrefix)
	return out
}

// attrFiltersFor returns the attribute sets the current paths give the peer,
// by policy name.
func (s *Speaker) attrFiltersFor(p Peer) map[string]*attrFilter {
	out := map[string]*attrFilter{}
	for prefix, ps := range s.paths {
		if !p.carries(prefix.Addr()) || !ps.goesTo(p.Name) {
			continue
		}
		a := ps.attrsFor(p.Name)
		if a.empty() {
			continue
		}
		is4 := prefix.Addr().Is4()
		name := attrPolicyName(p.Address, is4, a)
		f := out[name]
		if f == nil {
			f = &attrFilter{is4: is4, attrs: a, prefixes: []netip.Prefix{sentinel(is4)}}
			out[name] = f
		}
		f.prefixes = append(f.prefixes, prefix)
	}
	for _, f := range out {
		slices.SortFunc(f.prefixes[1:], comparePrefix)
	}
	return out
}

func prefixSet(name string, prefixes []netip.Prefix) *api.DefinedSet {
	set := &api.DefinedSet{DefinedType: api.DefinedType_PREFIX, Name: name}
	for _, p := range prefixes {
		set.Prefixes = append(set.Prefixes, &api.Prefix{IpPrefix: p.String(), MaskLengthMin: uint32(p.Bits()), MaskLengthMax: uint32(p.Bits())})
	}
	return set
}

// addFilter installs a new peer's export filters, before the peer exists.
func (s *Speaker) addFilter(ctx context.Context, p Peer) error {
	s.changed()
	neighbors, _, policy := filterNames(p.Address)
	state := &peerFilter{withheld: map[bool][]netip.Prefix{}, attrs: map[string]*attrFilter{}}
	s.filters[p.Address] = state
	fail := func(err error) error {
		return errors.Join(fmt.Errorf("install export filter: %w", err), s.removeFilter(ctx, p.Address))
	}
	if err := s.srv.AddDefinedSet(ctx, &api.AddDefinedSetRequest{Replace: true, DefinedSet: &api.DefinedSet{
		DefinedType: api.DefinedType_NEIGHBOR, Name: neighbors, List: []string{hostPrefix(p.Address)},
	}}); err != nil {
		return fail(err)
	}
	var statements []*api.Statement
	for _, is4 := range peerFamilies(p) {
		list := s.withheldFrom(p, is4)
		set := withheldSet(p.Address, is4)
		if err := s.srv.AddDefinedSet(ctx, &api.AddDefinedSetRequest{Replace: true, DefinedSet: prefixSet(set, list)}); err != nil {
			return fail(err)
		}
		state.withheld[is4] = list
		statements = append(statements, &api.Statement{
			Name: set,
			Conditions: &api.Conditions{
				NeighborSet: &api.MatchSet{Type: api.MatchSet_ANY, Name: neighbors},
				PrefixSet:   &api.MatchSet{Type: api.MatchSet_ANY, Name: set},
			},
			Actions: &api.Actions{RouteAction: api.RouteAction_REJECT},
		})
	}
	if err := s.srv.AddPolicy(ctx, &api.AddPolicyRequest{Policy: &api.Policy{Name: policy, Statements: statements}}); err != nil {
		return fail(err)
	}
	if err := s.assign(ctx, api.PolicyDirection_EXPORT, policy); err != nil {
		return fail(err)
	}
	for name, f := range s.attrFiltersFor(p) {
		if err := s.addAttrFilter(ctx, p, name, f); err != nil {
			return fail(err)
		}
	}
	return nil
}

// assign adds policy to the global table's policies of direction dir,
// everything else accepted.
func (s *Speaker) assign(ctx context.Context, dir api.PolicyDirection, policy string) error {
	return s.srv.AddPolicyAssignment(ctx, &api.AddPolicyAssignmentRequest{Assignment: &api.PolicyAssignment{
		Name: globalTable, Direction: dir,
		Policies: []*api.Policy{{Name: policy}}, DefaultAction: api.RouteAction_ACCEPT,
	}})
}

// addAttrFilter installs the policy that gives a peer one attribute set.
func (s *Speaker) addAttrFilter(ctx context.Context, p Peer, name string, f *attrFilter) error {
	s.changed()
	neighbors, _, _ := filterNames(p.Address)
	if err := s.srv.AddDefinedSet(ctx, &api.AddDefinedSetRequest{Replace: true, DefinedSet: prefixSet(name, f.prefixes)}); err != nil {
		return err
	}
	s.filters[p.Address].attrs[name] = f
	actions := &api.Actions{}
	if len(f.attrs.standard) > 0 {
		c := &api.CommunityAction{Type: api.CommunityAction_ADD}
		for _, v := range f.attrs.standard {
			c.Communities = append(c.Communities, strconv.FormatUint(uint64(v), 10))
		}
		actions.Community = c
	}
	if len(f.attrs.large) > 0 {
		c := &api.CommunityAction{Type: api.CommunityAction_ADD}
		for _, v := range f.attrs.large {
			c.Communities = append(c.Communities, fmt.Sprintf("%d:%d:%d", v.ASN, v.LocalData1, v.LocalData2))
		}
		actions.LargeCommunity = c
	}
	if f.attrs.localPref != nil {
		actions.LocalPref = &api.LocalPrefAction{Value: *f.attrs.localPref}
	}
	if err := s.srv.AddPolicy(ctx, &api.AddPolicyRequest{Policy: &api.Policy{Name: name, Statements: []*api.Statement{{
		Name: name,
		Conditions: &api.Conditions{
			NeighborSet: &api.MatchSet{Type: api.MatchSet_ANY, Name: neighbors},
			PrefixSet:   &api.MatchSet{Type: api.MatchSet_ANY, Name: name},
		},
		Actions: actions,
	}}}}); err != nil {
		return err
	}
	return s.assign(ctx, api.PolicyDirection_EXPORT, name)
}

// removeAttrFilter removes one attribute policy and its set.
func (s *Speaker) removeAttrFilter(ctx context.Context, addr netip.Addr, name string) error {
	s.changed()
	if st := s.filters[addr]; st != nil {
		delete(st.attrs, name)
	}
	err := s.removePolicy(ctx, name)
	if e := s.srv.DeleteDefinedSet(ctx, &api.DeleteDefinedSetRequest{DefinedSet: &api.DefinedSet{DefinedType: api.DefinedType_PREFIX, Name: name}, All: true}); e != nil && !isNotFound(e) {
		err = errors.Join(err, e)
	}
	return err
}

// removeFilter removes a peer's export filters once the peer is gone. It
// removes what exists and ignores what does not, so it also cleans up after
// a half-done addFilter.
func (s *Speaker) removeFilter(ctx context.Context, addr netip.Addr) error {
	s.changed()
	neighbors, _, policy := filterNames(addr)
	var errs []error
	if st := s.filters[addr]; st != nil {
		for _, name := range slices.Sorted(maps.Keys(st.attrs)) {
			errs = append(errs, s.removeAttrFilter(ctx, addr, name))
		}
	}
	delete(s.filters, addr)
	errs = append(errs, s.removePolicy(ctx, nextHopPolicyName(addr)), s.removePolicy(ctx, policy))
	for _, set := range []*api.DefinedSet{
		{DefinedType: api.DefinedType_NEIGHBOR, Name: neighbors},
		{DefinedType: api.DefinedType_PREFIX, Name: withheldSet(addr, true)},
		{DefinedType: api.DefinedType_PREFIX, Name: withheldSet(addr, false)},
	} {
		if err := s.srv.DeleteDefinedSet(ctx, &api.DeleteDefinedSetRequest{DefinedSet: set, All: true}); err != nil && !isNotFound(err) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove export filter of %s: %w", addr, err)
	}
	return nil
}

func isNotFound(err error) bool { return strings.Contains(err.Error(), "not found") }

// syncFilters brings every peer's withheld and attribute sets in line with
// the current paths, changing sets in place.
func (s *Speaker) syncFilters(ctx context.Context) error {
	var errs []error
	for _, ps := range s.sortedPeers() {
		p := ps.cfg
		st := s.filters[p.Address]
		if st == nil {
			continue
		}
		for _, is4 := range peerFamilies(p) {
			want, have := s.withheldFrom(p, is4), st.withheld[is4]
			got, err := s.syncSet(ctx, withheldSet(p.Address, is4), want, have)
			st.withheld[is4] = got
			if err != nil {
				errs = append(errs, fmt.Errorf("peer %q: update export filter: %w", p.Name, err))
			}
		}
		want := s.attrFiltersFor(p)
		for _, name := range slices.Sorted(maps.Keys(want)) {
			f, have := want[name], st.attrs[name]
			if have == nil {
				if err := s.addAttrFilter(ctx, p, name, f); err != nil {
					errs = append(errs, fmt.Errorf("peer %q: add attribute policy: %w", p.Name, err))
				}
				continue
			}
			got, err := s.syncSet(ctx, name, f.prefixes, have.prefixes)
			have.prefixes = got
			if err != nil {
				errs = append(errs, fmt.Errorf("peer %q: update attribute policy: %w", p.Name, err))
			}
		}
		for _, name := range slices.Sorted(maps.Keys(st.attrs)) {
			if want[name] == nil {
				if err := s.removeAttrFilter(ctx, p.Address, name); err != nil {
					errs = append(errs, fmt.Errorf("peer %q: remove attribute policy: %w", p.Name, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// syncSet changes a prefix set from have to want in place and returns what
// it then holds (as far as known: the union on a failed removal).
func (s *Speaker) syncSet(ctx context.Context, name string, want, have []netip.Prefix) ([]netip.Prefix, error) {
	if slices.Equal(want, have) {
		return have, nil
	}
	s.changed()
	if add := missing(want, have); len(add) > 0 {
		if err := s.srv.AddDefinedSet(ctx, &api.AddDefinedSetRequest{DefinedSet: prefixSet(name, add)}); err != nil {
			return have, err
		}
	}
	if drop := missing(have, want); len(drop) > 0 {
		if err := s.srv.DeleteDefinedSet(ctx, &api.DeleteDefinedSetRequest{DefinedSet: prefixSet(name, drop)}); err != nil {
			return union(have, want), err
		}
	}
	return want, nil
}

// missing returns the prefixes of a that are not in b; both sorted.
func missing(a, b []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range a {
		if _, ok := slices.BinarySearchFunc(b, p, comparePrefix); !ok {
			out = append(out, p)
		}
	}
	return out
}

// union returns the sorted union of a and b.
func union(a, b []netip.Prefix) []netip.Prefix {
	out := append(slices.Clone(a), b...)
	slices.SortFunc(out, comparePrefix)
	return slices.Compact(out)
}
