package bgp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	api "github.com/osrg/gobgp/v3/api"
)

// Per-peer export filters.
//
// GoBGP keeps one table of locally originated paths and sends each path to
// every peer of its family. A Path that names its peers must be held back
// from the others, so each peer gets one export policy, assigned globally:
//
//	if neighbor is <peer address> and prefix is in <peer's withheld set>: reject
//
// and everything else is accepted. The withheld set lists, exactly (masklen
// range = the prefix length), the prefixes of the peer's family that go to
// other peers only. It always holds one sentinel, 0.0.0.0/32 or ::/128 (never
// announced), so that it is never empty and its family is fixed.
//
// GoBGP decides whether a peer needs a withdrawal by running the *current*
// filter over the old path: so SetPaths withdraws a path before a filter
// change could hide it, and writes filters before it adds the paths they
// hold back.

const globalTable = "global"

func filterNames(addr netip.Addr) (neighbors, withheld, policy string) {
	id := strings.NewReplacer(".", "-", ":", "-").Replace(addr.String())
	return "pylon-peer-" + id, "pylon-withheld-" + id, "pylon-export-" + id
}

func hostPrefix(a netip.Addr) string { return netip.PrefixFrom(a, a.BitLen()).String() }

// withheldFrom returns the sorted prefixes of the peer's family that the
// current paths send to other peers only, after the sentinel.
func (s *Speaker) withheldFrom(p Peer) []netip.Prefix {
	sentinel := netip.PrefixFrom(netip.IPv4Unspecified(), 32)
	if p.Address.Is6() {
		sentinel = netip.PrefixFrom(netip.IPv6Unspecified(), 128)
	}
	out := []netip.Prefix{sentinel}
	for prefix, ps := range s.paths {
		if prefix.Addr().Is4() == p.Address.Is4() && !ps.attrs.goesTo(p.Name) {
			out = append(out, prefix)
		}
	}
	slices.SortFunc(out[1:], comparePrefix)
	return out
}

func prefixSet(name string, prefixes []netip.Prefix) *api.DefinedSet {
	set := &api.DefinedSet{DefinedType: api.DefinedType_PREFIX, Name: name}
	for _, p := range prefixes {
		set.Prefixes = append(set.Prefixes, &api.Prefix{IpPrefix: p.String(), MaskLengthMin: uint32(p.Bits()), MaskLengthMax: uint32(p.Bits())})
	}
	return set
}

// addFilter installs a new peer's export policy, before the peer exists.
func (s *Speaker) addFilter(ctx context.Context, p Peer) error {
	neighbors, withheld, policy := filterNames(p.Address)
	list := s.withheldFrom(p)
	steps := []func() error{
		func() error {
			return s.srv.AddDefinedSet(ctx, &api.AddDefinedSetRequest{Replace: true, DefinedSet: &api.DefinedSet{
				DefinedType: api.DefinedType_NEIGHBOR, Name: neighbors, List: []string{hostPrefix(p.Address)},
			}})
		},
		func() error {
			return s.srv.AddDefinedSet(ctx, &api.AddDefinedSetRequest{Replace: true, DefinedSet: prefixSet(withheld, list)})
		},
		func() error {
			return s.srv.AddPolicy(ctx, &api.AddPolicyRequest{Policy: &api.Policy{Name: policy, Statements: []*api.Statement{{
				Name: policy + "-withheld",
				Conditions: &api.Conditions{
					NeighborSet: &api.MatchSet{Type: api.MatchSet_ANY, Name: neighbors},
					PrefixSet:   &api.MatchSet{Type: api.MatchSet_ANY, Name: withheld},
				},
				Actions: &api.Actions{RouteAction: api.RouteAction_REJECT},
			}}}})
		},
		func() error {
			return s.srv.AddPolicyAssignment(ctx, &api.AddPolicyAssignmentRequest{Assignment: &api.PolicyAssignment{
				Name: globalTable, Direction: api.PolicyDirection_EXPORT,
				Policies: []*api.Policy{{Name: policy}}, DefaultAction: api.RouteAction_ACCEPT,
			}})
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return errors.Join(fmt.Errorf("install export filter: %w", err), s.removeFilter(ctx, p.Address))
		}
	}
	s.withheld[p.Address] = list
	return nil
}

// removeFilter removes a peer's export policy once the peer is gone. It
// removes what exists and ignores what does not, so it also cleans up after
// a half-done addFilter.
func (s *Speaker) removeFilter(ctx context.Context, addr netip.Addr) error {
	neighbors, withheld, policy := filterNames(addr)
	delete(s.withheld, addr)
	var errs []error
	_ = s.srv.DeletePolicyAssignment(ctx, &api.DeletePolicyAssignmentRequest{Assignment: &api.PolicyAssignment{
		Name: globalTable, Direction: api.PolicyDirection_EXPORT, Policies: []*api.Policy{{Name: policy}},
	}})
	if err := s.srv.DeletePolicy(ctx, &api.DeletePolicyRequest{Policy: &api.Policy{Name: policy}, All: true}); err != nil && !isNotFound(err) {
		errs = append(errs, err)
	}
	for _, set := range []*api.DefinedSet{
		{DefinedType: api.DefinedType_NEIGHBOR, Name: neighbors},
		{DefinedType: api.DefinedType_PREFIX, Name: withheld},
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

// syncFilters brings the withheld sets in line with the current paths. Sets
// are changed in place (added to, removed from): GoBGP's AddDefinedSet with
// Replace swaps in a new set object that policies already built never see.
func (s *Speaker) syncFilters(ctx context.Context) error {
	var errs []error
	for _, ps := range s.sortedPeers() {
		p := ps.cfg
		want, have := s.withheldFrom(p), s.withheld[p.Address]
		if slices.Equal(want, have) {
			continue
		}
		_, withheld, _ := filterNames(p.Address)
		if add := missing(want, have); len(add) > 0 {
			if err := s.srv.AddDefinedSet(ctx, &api.AddDefinedSetRequest{DefinedSet: prefixSet(withheld, add)}); err != nil {
				errs = append(errs, fmt.Errorf("peer %q: update export filter: %w", p.Name, err))
				continue
			}
		}
		if drop := missing(have, want); len(drop) > 0 {
			if err := s.srv.DeleteDefinedSet(ctx, &api.DeleteDefinedSetRequest{DefinedSet: prefixSet(withheld, drop)}); err != nil {
				errs = append(errs, fmt.Errorf("peer %q: update export filter: %w", p.Name, err))
				s.withheld[p.Address] = union(have, want)
				continue
			}
		}
		s.withheld[p.Address] = want
	}
	return errors.Join(errs...)
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
