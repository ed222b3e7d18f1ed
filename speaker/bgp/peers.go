package bgp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	api "github.com/osrg/gobgp/v3/api"
)

// Peer is one BGP session as the speaker opens it. It is derived from a
// config.BGPPeer (see Plan), with the password already read from its Secret.
type Peer struct {
	// Name identifies the peer (the BGPPeer's name); Paths name peers by
	// it. Unique.
	Name string
	// Address is the router's address; unique among peers (GoBGP keys
	// sessions by it). IPv4 peers carry IPv4 paths, IPv6 peers IPv6 paths.
	Address netip.Addr
	// Port is the router's TCP port; 0 means 179.
	Port uint16
	// MyASN is this end's AS number, PeerASN the router's. Equal: iBGP.
	MyASN, PeerASN uint32
	// SourceAddress, when valid, is the local address the session is
	// opened from. It must be of Address's family.
	SourceAddress netip.Addr
	// HoldTime and KeepaliveTime as proposed in OPEN; zero HoldTime means
	// 90 s (the router may negotiate it down), zero KeepaliveTime a third
	// of the hold time.
	HoldTime, KeepaliveTime time.Duration
	// EBGPMultiHop lets an eBGP session cross routers (TTL 255 instead
	// of 1).
	EBGPMultiHop bool
	// Password, when set, turns on TCP-MD5 (RFC 2385) for the session.
	Password string
	// GracefulRestart, when positive, is the restart time announced to
	// the router (RFC 4724): how long it keeps this speaker's routes after
	// the session drops without a hard reset. See Close.
	GracefulRestart time.Duration

	// DualStackAddressFamily negotiates IPv4 and IPv6 unicast on the
	// session and sends paths of both families over it. The other family's
	// next hop is the node's address of that family on the interface the
	// session leaves from (Options.NextHop); without one, that family is
	// not sent and Session.LastError says why. See nexthop.go.
	DualStackAddressFamily bool
	// ConnectTime, when positive, is the wait between connection attempts
	// for this peer in place of Options.ConnectRetry, in whole seconds
	// (GoBGP waits between it and twice it).
	ConnectTime time.Duration
	// AnyPeerASN: PeerASN is 0 and the router's ASN is whatever its OPEN
	// carries (dynamicASN external). GoBGP v3 skips the ASN check for a
	// peer AS of 0 and types the session from the ASN received.
	AnyPeerASN bool
	// BindInterface, when set, binds the session's socket to this device
	// (a VRF: SO_BINDTODEVICE); a missing device fails each connection
	// attempt, reported in the session's LastError.
	BindInterface string
	// Passive: the speaker never dials; the router connects to the
	// speaker's listener (Options.ListenPort), which must be open.
	Passive bool
}

// IBGP reports whether the session is internal.
func (p Peer) IBGP() bool { return p.MyASN == p.PeerASN }

// String names the peer without its password.
func (p Peer) String() string {
	peerAS := fmt.Sprintf("AS%d", p.PeerASN)
	if p.AnyPeerASN {
		peerAS = "any AS"
	}
	return fmt.Sprintf("%s (AS%d -> %s at %s)", p.Name, p.MyASN, peerAS, netip.AddrPortFrom(p.Address, p.port()))
}

func (p Peer) port() uint16 { return cmp.Or(p.Port, 179) }

// validate checks one peer on its own.
func (p Peer) validate() error {
	var problems []string
	if p.Name == "" {
		problems = append(problems, "name is empty")
	}
	if !p.Address.IsValid() || p.Address.Zone() != "" || p.Address.Is4In6() || p.Address.IsUnspecified() {
		problems = append(problems, fmt.Sprintf("address %v is not a usable IPv4 or IPv6 address", p.Address))
	}
	if p.MyASN == 0 || (p.PeerASN == 0) != p.AnyPeerASN {
		problems = append(problems, "myASN must be set, and peerASN unless (and only unless) any peer ASN is accepted")
	}
	if p.ConnectTime < 0 || p.ConnectTime > 65535*time.Second {
		problems = append(problems, fmt.Sprintf("connect time %v must be at most 65535s", p.ConnectTime))
	}
	if p.SourceAddress.IsValid() && p.SourceAddress.Is4() != p.Address.Is4() {
		problems = append(problems, fmt.Sprintf("source address %v is not of the family of %v", p.SourceAddress, p.Address))
	}
	if p.HoldTime < 0 || (p.HoldTime > 0 && p.HoldTime < 3*time.Second) || p.HoldTime > 65535*time.Second {
		problems = append(problems, fmt.Sprintf("hold time %v must be 0 or between 3s and 65535s", p.HoldTime))
	}
	if p.KeepaliveTime < 0 || (p.KeepaliveTime > 0 && p.KeepaliveTime >= p.ProposedHoldTime()) {
		problems = append(problems, fmt.Sprintf("keepalive time %v must be less than the hold time", p.KeepaliveTime))
	}
	if p.EBGPMultiHop && p.IBGP() {
		problems = append(problems, "ebgpMultiHop is for eBGP peers only")
	}
	if len(p.Password) > 80 {
		problems = append(problems, "a TCP-MD5 password is at most 80 bytes")
	}
	if p.GracefulRestart < 0 || p.GracefulRestart > 4095*time.Second {
		problems = append(problems, fmt.Sprintf("graceful restart time %v must be at most 4095s", p.GracefulRestart))
	}
	if len(problems) > 0 {
		return fmt.Errorf("peer %q: %w: %s", p.Name, ErrInvalidPeer, strings.Join(problems, "; "))
	}
	return nil
}

// ProposedHoldTime is the hold time p proposes in OPEN: HoldTime, or 90 s
// when zero.
func (p Peer) ProposedHoldTime() time.Duration { return cmp.Or(p.HoldTime, 90*time.Second) }

// validatePeers checks a whole peer list, in name order: each peer, and
// unique names and addresses. It returns the peers that pass (of two with
// one name or address, the first by name) and an error naming each that
// does not.
func validatePeers(peers []Peer) ([]Peer, error) {
	sorted := slices.Clone(peers)
	slices.SortStableFunc(sorted, func(a, b Peer) int { return cmp.Compare(a.Name, b.Name) })
	var errs []error
	var valid []Peer
	names := map[string]bool{}
	addrs := map[netip.Addr]string{}
	for _, p := range sorted {
		if err := p.validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if names[p.Name] {
			errs = append(errs, fmt.Errorf("peer %q: %w: name given twice", p.Name, ErrInvalidPeer))
			continue
		}
		if other, dup := addrs[p.Address]; dup {
			errs = append(errs, fmt.Errorf("peer %q: %w: address %s is also peer %q's; one speaker has one session per router address", p.Name, ErrInvalidPeer, p.Address, other))
			continue
		}
		names[p.Name] = true
		addrs[p.Address] = p.Name
		valid = append(valid, p)
	}
	return valid, errors.Join(errs...)
}

// NeedsReset reports whether changing a peer from old to next restarts its
// session. GoBGP v3 takes timer and eBGP multi-hop changes in place (the
// timers apply from the session's next OPEN, the connect time from its
// next connection attempt); everything else (address, port, ASNs, source
// address, password, graceful restart) re-creates the peer.
func NeedsReset(old, next Peer) bool {
	old.HoldTime, old.KeepaliveTime, old.EBGPMultiHop = next.HoldTime, next.KeepaliveTime, next.EBGPMultiHop
	old.ConnectTime = next.ConnectTime
	return old != next
}

// peerState is a peer the server has.
type peerState struct {
	cfg Peer
	// nextHop is what the next-hop policy of a dual-stack peer says.
	nextHop nextHopState
}

// SetPeers makes the speaker's peers exactly the valid ones of these: it
// adds new peers, removes peers no longer listed and re-creates peers whose
// settings changed (their sessions restart). An unchanged peer is not
// touched and keeps its session. One bad peer never blocks the others: an
// invalid peer is left out and named in the returned error (ErrInvalidPeer),
// and so is a peer the server refuses; the rest are applied.
func (s *Speaker) SetPeers(ctx context.Context, peers []Peer) error {
	peers, invalid := validatePeers(peers)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	want := map[string]Peer{}
	for _, p := range peers {
		want[p.Name] = p
	}
	errs := []error{invalid}
	// Deletions first: a peer that moved to an address another peer
	// leaves must find it free. A change GoBGP takes in place is updated,
	// and the session stays.
	for _, cur := range s.sortedPeers() {
		p, ok := want[cur.cfg.Name]
		switch {
		case ok && p == cur.cfg:
		case ok && !NeedsReset(cur.cfg, p):
			errs = append(errs, s.updatePeer(ctx, cur, p))
		default:
			errs = append(errs, s.deletePeer(ctx, cur))
		}
	}
	for _, p := range peers { // in name order
		if _, ok := s.peers[p.Name]; ok {
			continue
		}
		errs = append(errs, s.addPeer(ctx, p))
	}
	errs = append(errs, s.refreshNextHops(ctx))
	return errors.Join(errs...)
}

// addPeer installs the peer's export filter, then the peer.
func (s *Speaker) addPeer(ctx context.Context, p Peer) error {
	s.changed()
	if err := s.addFilter(ctx, p); err != nil {
		return fmt.Errorf("peer %q: %w", p.Name, err)
	}
	s.sessions.added(p.Name, p.Address)
	ps := &peerState{cfg: p}
	if p.DualStackAddressFamily {
		ps.nextHop = s.resolveNextHop(p)
		if err := s.addNextHopPolicy(ctx, p, ps.nextHop); err != nil {
			s.sessions.removed(p.Address)
			return errors.Join(fmt.Errorf("peer %q: %w", p.Name, err), s.removeFilter(ctx, p.Address))
		}
	}
	if err := s.srv.AddPeer(ctx, &api.AddPeerRequest{Peer: s.apiPeer(p)}); err != nil {
		s.sessions.removed(p.Address)
		return errors.Join(fmt.Errorf("add peer %q: %w", p.Name, err), s.removeFilter(ctx, p.Address))
	}
	s.peers[p.Name] = ps
	return nil
}

// updatePeer changes a peer in place (NeedsReset is false): its session
// stays up.
func (s *Speaker) updatePeer(ctx context.Context, ps *peerState, p Peer) error {
	s.changed()
	if _, err := s.srv.UpdatePeer(ctx, &api.UpdatePeerRequest{Peer: s.apiPeer(p)}); err != nil {
		return fmt.Errorf("update peer %q: %w", p.Name, err)
	}
	ps.cfg = p
	return nil
}

// Peer returns the settings the speaker runs a peer with, if it has it.
func (s *Speaker) Peer(name string) (Peer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps, ok := s.peers[name]
	if !ok {
		return Peer{}, false
	}
	return ps.cfg, true
}

// deletePeer removes the peer (closing its session with a Cease
// notification) and its export filter.
func (s *Speaker) deletePeer(ctx context.Context, ps *peerState) error {
	s.changed()
	p := ps.cfg
	delete(s.peers, p.Name)
	s.sessions.removed(p.Address)
	err := s.srv.DeletePeer(ctx, &api.DeletePeerRequest{Address: p.Address.String()})
	if err != nil {
		err = fmt.Errorf("delete peer %q: %w", p.Name, err)
	}
	return errors.Join(err, s.removeFilter(ctx, p.Address))
}

// sortedPeers returns the current peers by name, so that changes happen in a
// predictable order.
func (s *Speaker) sortedPeers() []*peerState {
	out := make([]*peerState, 0, len(s.peers))
	for _, p := range s.peers {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *peerState) int { return cmp.Compare(a.cfg.Name, b.cfg.Name) })
	return out
}

// apiPeer translates a Peer into GoBGP's terms.
func (s *Speaker) apiPeer(p Peer) *api.Peer {
	hold := p.ProposedHoldTime()
	keepalive := cmp.Or(p.KeepaliveTime, hold/3)
	out := &api.Peer{
		Conf: &api.PeerConf{
			NeighborAddress: p.Address.String(),
			PeerAsn:         p.PeerASN,
			LocalAsn:        p.MyASN,
			AuthPassword:    p.Password,
			Description:     p.Name,
		},
		Timers: &api.Timers{Config: &api.TimersConfig{
			ConnectRetry:      uint64(cmp.Or(p.ConnectTime.Truncate(time.Second), s.connectRetry) / time.Second),
			HoldTime:          uint64(hold / time.Second),
			KeepaliveInterval: uint64(max(keepalive/time.Second, 1)),
			// After ResetPeer (BFD down): reconnect after the usual
			// retry interval, not GoBGP's default 30 s.
			IdleHoldTimeAfterReset: uint64(s.connectRetry / time.Second),
		}},
		Transport: &api.Transport{RemotePort: uint32(p.port())},
	}
	for _, family := range p.families() {
		out.AfiSafis = append(out.AfiSafis, &api.AfiSafi{Config: &api.AfiSafiConfig{Family: family, Enabled: true}})
	}
	if p.SourceAddress.IsValid() {
		out.Transport.LocalAddress = p.SourceAddress.String()
	}
	out.Transport.BindInterface = p.BindInterface
	out.Transport.PassiveMode = p.Passive
	if p.EBGPMultiHop {
		out.EbgpMultihop = &api.EbgpMultihop{Enabled: true, MultihopTtl: 255}
	}
	if p.GracefulRestart > 0 {
		out.GracefulRestart = &api.GracefulRestart{
			Enabled:             true,
			RestartTime:         uint32(p.GracefulRestart / time.Second),
			NotificationEnabled: true,
		}
		for _, af := range out.AfiSafis {
			af.MpGracefulRestart = &api.MpGracefulRestart{Config: &api.MpGracefulRestartConfig{Enabled: true}}
		}
	}
	return out
}
