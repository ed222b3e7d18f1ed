package bgp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	api "github.com/osrg/gobgp/v3/api"
)

// Both address families over one session (Peer.DualStackAddressFamily).
//
// GoBGP replaces a locally originated path's unspecified next hop by the
// session's local address: right for the session's own family, wrong for the
// other one (an IPv6 path over an IPv4 session would go out with the
// IPv4-mapped ::ffff:198.18.2.1, an IPv4 path over an IPv6 session with an
// IPv6 next hop, RFC 8950 style, which the router did not ask for). So each
// dual-stack peer gets one more export policy, assigned globally after
// GoBGP's own next-hop handling has run:
//
//	if neighbor is <peer address> and family is <the other one>: set next hop <node's address>
//
// or, when the node has no address of that family on the interface the
// session leaves from, reject: those paths are not sent, and the session's
// LastError says why. The address is looked up again on every SetPeers; a
// new or moved address is applied with a soft reset out (the router gets
// the paths again with the new next hop). A lost one re-creates the peer:
// GoBGP sends no withdrawal for a path a changed policy now rejects, and a
// plain session reset would keep the session down for GoBGP's idle hold time
// (30 s), while a new peer dials at once.

// NextHopFinder returns the node's address of the family other than
// p.Address's on the interface p's session leaves from.
type NextHopFinder func(p Peer) (netip.Addr, error)

// families returns the address families the peer's session negotiates, its
// own first.
func (p Peer) families() []*api.Family {
	v4 := &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}
	v6 := &api.Family{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST}
	own, other := v4, v6
	if p.Address.Is6() {
		own, other = v6, v4
	}
	if p.DualStackAddressFamily {
		return []*api.Family{own, other}
	}
	return []*api.Family{own}
}

// carries reports whether the peer's session carries paths of a's family.
func (p Peer) carries(a netip.Addr) bool {
	return p.DualStackAddressFamily || a.Is4() == p.Address.Is4()
}

// otherFamily names the family a dual-stack peer's session does not run on.
func (p Peer) otherFamily() string {
	if p.Address.Is4() {
		return "IPv6"
	}
	return "IPv4"
}

// InterfaceNextHop is the default NextHopFinder: the session's local address
// (SourceAddress, else the kernel's choice of source towards the router,
// found by connecting a UDP socket, which sends nothing), the interface that
// holds it, and the first global unicast address of the other family on that
// interface.
func InterfaceNextHop(p Peer) (netip.Addr, error) {
	local := p.SourceAddress
	if !local.IsValid() {
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.Address, p.port())))
		if err != nil {
			return netip.Addr{}, fmt.Errorf("no local address towards %s: %w", p.Address, err)
		}
		local = c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
		_ = c.Close()
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("list interfaces: %w", err)
	}
	for _, ifc := range ifaces {
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		holds := false
		var other netip.Addr
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			holds = holds || ip == local
			if !other.IsValid() && ip.Is4() != p.Address.Is4() && ip.IsGlobalUnicast() {
				other = ip
			}
		}
		if !holds {
			continue
		}
		if !other.IsValid() {
			return netip.Addr{}, fmt.Errorf("no global %s address on interface %s (which holds %s, the session's local address)", p.otherFamily(), ifc.Name, local)
		}
		return other, nil
	}
	return netip.Addr{}, fmt.Errorf("the session's local address %s is on no interface", local)
}

// nextHopState is what a dual-stack peer's next-hop policy says.
type nextHopState struct {
	addr    netip.Addr // valid: set next hop; invalid: reject
	problem string     // why addr is invalid
}

// resolveNextHop asks the finder for a dual-stack peer's other-family next
// hop and checks what it says.
func (s *Speaker) resolveNextHop(p Peer) nextHopState {
	a, err := s.nextHop(p)
	switch {
	case err != nil:
	case !a.IsValid() || a.Is4() == p.Address.Is4() || a.Zone() != "" || a.Is4In6():
		err = fmt.Errorf("%v is not an %s address", a, p.otherFamily())
	default:
		return nextHopState{addr: a}
	}
	return nextHopState{problem: fmt.Sprintf("%s paths not sent over this session: %v", p.otherFamily(), err)}
}

func nextHopPolicyName(addr netip.Addr) string {
	_, _, policy := filterNames(addr)
	return policy + "-nexthop"
}

// addNextHopPolicy installs a dual-stack peer's next-hop policy.
func (s *Speaker) addNextHopPolicy(ctx context.Context, p Peer, nh nextHopState) error {
	s.changed()
	neighbors, _, _ := filterNames(p.Address)
	name := nextHopPolicyName(p.Address)
	other := p.families()[1]
	actions := &api.Actions{RouteAction: api.RouteAction_REJECT}
	if nh.addr.IsValid() {
		actions = &api.Actions{Nexthop: &api.NexthopAction{Address: nh.addr.String()}}
	}
	if err := s.srv.AddPolicy(ctx, &api.AddPolicyRequest{Policy: &api.Policy{Name: name, Statements: []*api.Statement{{
		Name: name,
		Conditions: &api.Conditions{
			NeighborSet: &api.MatchSet{Type: api.MatchSet_ANY, Name: neighbors},
			AfiSafiIn:   []*api.Family{other},
		},
		Actions: actions,
	}}}}); err != nil {
		return fmt.Errorf("install next-hop policy: %w", err)
	}
	if err := s.assign(ctx, api.PolicyDirection_EXPORT, name); err != nil {
		return errors.Join(fmt.Errorf("assign next-hop policy: %w", err), s.removePolicy(ctx, name))
	}
	s.sessions.setProblem(p.Address, nh.problem)
	return nil
}

// removePolicy unassigns and deletes one policy with its statements; what
// does not exist is ignored.
func (s *Speaker) removePolicy(ctx context.Context, name string) error {
	s.changed()
	_ = s.srv.DeletePolicyAssignment(ctx, &api.DeletePolicyAssignmentRequest{Assignment: &api.PolicyAssignment{
		Name: globalTable, Direction: api.PolicyDirection_EXPORT, Policies: []*api.Policy{{Name: name}},
	}})
	if err := s.srv.DeletePolicy(ctx, &api.DeletePolicyRequest{Policy: &api.Policy{Name: name}, All: true}); err != nil && !isNotFound(err) {
		return fmt.Errorf("remove policy %s: %w", name, err)
	}
	return nil
}

// refreshNextHops looks the next hop of every dual-stack peer up again and
// applies a change: a new or moved address with a soft reset out (the
// router gets the paths again with it), a lost one by re-creating the peer
// (the router drops the paths it got with the old one; see above).
func (s *Speaker) refreshNextHops(ctx context.Context) error {
	var errs []error
	for _, ps := range s.sortedPeers() {
		p := ps.cfg
		if !p.DualStackAddressFamily {
			continue
		}
		nh := s.resolveNextHop(p)
		if nh == ps.nextHop {
			continue
		}
		if ps.nextHop.addr.IsValid() && !nh.addr.IsValid() {
			errs = append(errs, s.deletePeer(ctx, ps), s.addPeer(ctx, p))
			continue
		}
		if err := s.removePolicy(ctx, nextHopPolicyName(p.Address)); err != nil {
			errs = append(errs, fmt.Errorf("peer %q: %w", p.Name, err))
			continue
		}
		if err := s.addNextHopPolicy(ctx, p, nh); err != nil {
			errs = append(errs, fmt.Errorf("peer %q: %w", p.Name, err))
			continue
		}
		ps.nextHop = nh
		errs = append(errs, s.resend(ctx, p))
	}
	return errors.Join(errs...)
}
