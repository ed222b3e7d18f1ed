package bgp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/go-logr/logr"
	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/apiutil"
	bgppkt "github.com/osrg/gobgp/v3/pkg/packet/bgp"
	"github.com/osrg/gobgp/v3/pkg/server"
)

// Defaults for Options.
const (
	// DefaultConnectRetry is how long the speaker waits between attempts
	// to open a session. GoBGP's own default (120 s) would leave a peer
	// that was not up at the first attempt unreached for minutes.
	DefaultConnectRetry = 2 * time.Second
	// asTrans is the global AS number when Options.ASN is unset. It never
	// reaches the wire: every Peer carries its own MyASN.
	asTrans = 23456
)

// Options configure a Speaker.
type Options struct {
	// RouterID is the BGP identifier, an IPv4 address; usually the node's
	// address. Required.
	RouterID netip.Addr
	// ASN is the embedded server's global AS number. Every Peer carries
	// its own MyASN, which is what goes into OPEN messages and AS paths,
	// so ASN matters only as a default; 0 means 23456 (AS_TRANS).
	ASN uint32
	// ListenPort: -1 (the default, also for 0) makes the speaker active
	// only: it opens every session itself and never listens, so it needs
	// no privileged port. A positive port also accepts sessions from the
	// configured peers (and is what Passive peers need).
	ListenPort int32
	// ListenAddresses are the addresses listened on with a positive
	// ListenPort; empty: every address.
	ListenAddresses []netip.Addr
	// ConnectRetry is the wait between connection attempts; 0 means
	// DefaultConnectRetry. GoBGP's resolution is one second.
	ConnectRetry time.Duration
	// NextHop finds the next hop of the other family for peers with
	// DualStackAddressFamily; nil means InterfaceNextHop (the node's
	// address of that family on the interface the session leaves from).
	NextHop NextHopFinder
	// Logger receives GoBGP's messages (warnings and errors at level 0,
	// informational ones at V(1)). The zero Logger discards them.
	Logger logr.Logger
}

// Speaker is one embedded BGP speaker: the peers it talks to and the paths
// it announces to them. Its methods are safe for concurrent use.
type Speaker struct {
	log          logr.Logger
	connectRetry time.Duration
	// listenPort is GoBGP's listening port; -1: none (active only).
	listenPort int32

	srv *server.BgpServer
	// cancel stops the goroutines the Speaker started (the peer-event
	// watcher); done is closed when they have returned.
	cancel context.CancelFunc
	done   chan struct{}

	// mu guards everything below, and serialises SetPeers, SetPaths and
	// Close so that the server sees one change at a time.
	mu     sync.Mutex
	closed bool
	peers  map[string]*peerState // by Peer.Name
	paths  map[netip.Prefix]*pathState
	// filters is, per peer address, what was last written to the peer's
	// export filters (see policy.go).
	filters map[netip.Addr]*peerFilter
	// nextHop finds a dual-stack peer's other-family next hop.
	nextHop NextHopFinder

	// advertised is GoBGP's last count of the prefixes advertised to each
	// peer (sessions.go).
	advertised advertisedCounts
	// mutations counts the changes made to the server (changed); applied
	// is the last path list SetPaths applied in full, and the count after
	// it.
	mutations uint64
	applied   appliedPaths

	// sessions holds what the event watcher and the log adapter learn;
	// it has its own lock because GoBGP calls into it from its goroutines.
	sessions *sessionTracker
}

// New starts an embedded BGP server with no peers and no paths. Stop it with
// Close.
func New(ctx context.Context, opts Options) (*Speaker, error) {
	if !opts.RouterID.Is4() {
		return nil, fmt.Errorf("router ID %v: must be an IPv4 address", opts.RouterID)
	}
	asn := opts.ASN
	if asn == 0 {
		asn = asTrans
	}
	port := opts.ListenPort
	if port == 0 {
		port = -1
	}
	retry := opts.ConnectRetry
	if retry <= 0 {
		retry = DefaultConnectRetry
	}
	retry = max(retry.Round(time.Second), time.Second)

	s := &Speaker{
		log:          opts.Logger,
		listenPort:   port,
		connectRetry: retry,
		done:         make(chan struct{}),
		peers:        map[string]*peerState{},
		paths:        map[netip.Prefix]*pathState{},
		filters:      map[netip.Addr]*peerFilter{},
		nextHop:      opts.NextHop,
		sessions:     newSessionTracker(time.Now),
	}
	if s.nextHop == nil {
		s.nextHop = InterfaceNextHop
	}
	s.srv = server.NewBgpServer(server.LoggerOption(&gobgpLogger{log: opts.Logger, sessions: s.sessions}))
	// Serve runs GoBGP's event loop. GoBGP v3 gives it no way to return:
	// after Close it stays parked on its channels, idle (see doc.go).
	go s.srv.Serve()

	var listen []string
	for _, a := range opts.ListenAddresses {
		listen = append(listen, a.String())
	}
	err := s.srv.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{
		Asn:             asn,
		RouterId:        opts.RouterID.String(),
		ListenPort:      port,
		ListenAddresses: listen,
	}})
	if err != nil {
		return nil, fmt.Errorf("start BGP server: %w", err)
	}
	if err := s.rejectLearned(ctx); err != nil {
		_ = s.srv.StopBgp(context.Background(), &api.StopBgpRequest{})
		return nil, err
	}
	watchCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	if err := s.srv.WatchEvent(watchCtx, &api.WatchEventRequest{Peer: &api.WatchEventRequest_Peer{}}, s.sessions.peerEvent); err != nil {
		cancel()
		close(s.done)
		_ = s.srv.StopBgp(context.Background(), &api.StopBgpRequest{})
		return nil, fmt.Errorf("watch BGP peer events: %w", err)
	}
	go func() {
		<-watchCtx.Done()
		close(s.done)
	}()
	return s, nil
}

// Changes returns a channel that receives a value whenever a session changes
// state or reports a new error; call Sessions to read them. Notifications are
// coalesced: a slow reader gets one value for many changes, never a stale
// backlog. The channel is closed by Close.
func (s *Speaker) Changes() <-chan struct{} { return s.sessions.changes }

// Close withdraws every path and stops the server, which closes every
// session. When a peer has graceful restart configured, paths are not
// withdrawn from it: its session is closed in a way that lets the router keep
// the routes, marked stale, for the restart time (RFC 4724, with RFC 8538
// notification support where the router has it; see resetGraceful), so a
// restarting speaker does not cause a traffic gap. Peers without graceful
// restart are closed first and lose the routes at once. Close waits,
// within ctx and at most a second, for the withdrawals to be sent and the
// graceful sessions to be down.
func (s *Speaker) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.closed = true

	var errs []error
	graceful := false
	for _, p := range s.peers {
		graceful = graceful || p.cfg.GracefulRestart > 0
	}
	if graceful {
		// Close the sessions of peers without graceful restart first:
		// the router drops everything it learnt on them at once.
		for _, p := range s.sortedPeers() {
			if p.cfg.GracefulRestart == 0 {
				errs = append(errs, s.deletePeer(ctx, p))
			}
		}
		errs = append(errs, s.resetGraceful(ctx))
	} else {
		errs = append(errs, s.deleteAllPaths(ctx))
		s.waitWithdrawn(ctx)
	}
	if err := s.srv.StopBgp(ctx, &api.StopBgpRequest{}); err != nil {
		errs = append(errs, fmt.Errorf("stop BGP server: %w", err))
	}
	s.cancel()
	<-s.done
	s.sessions.close()
	return errors.Join(errs...)
}

// sentNBit reports whether the router's graceful restart capability, among
// its capabilities (GoBGP's remote capabilities of an established
// session), has the N bit (RFC 8538: it takes a Cease other than Hard
// Reset as a graceful restart).
func sentNBit(p *api.Peer) bool {
	caps, err := apiutil.UnmarshalCapabilities(p.GetState().GetRemoteCap())
	if err != nil {
		return false
	}
	for _, c := range caps {
		if gr, ok := c.(*bgppkt.CapGracefulRestart); ok {
			return gr.Flags&0x04 != 0
		}
	}
	return false
}

// waitWithdrawn waits until no established session has a prefix advertised,
// or ctx ends, or one second passes: long enough for a withdrawal to be
// written to a healthy socket, short enough not to hold up a shutdown behind
// a dead one.
func (s *Speaker) waitWithdrawn(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	for {
		pending := false
		_ = s.srv.ListPeer(ctx, &api.ListPeerRequest{EnableAdvertised: true}, func(p *api.Peer) {
			if p.GetState().GetSessionState() != api.PeerState_ESTABLISHED {
				return
			}
			for _, af := range p.GetAfiSafis() {
				pending = pending || af.GetState().GetAdvertised() > 0
			}
		})
		if !pending {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// resetGraceful closes the sessions of peers with graceful restart so that
// the routers keep the routes. StopBgp alone would not: it sends Cease
// "Peer De-configured", which RFC 8538 (section 5.1) makes a hard reset that
// flushes the routes. With a router that sent the N bit (RFC 8538: FRR),
// ResetPeer sends Cease "Administrative Reset", which starts the router's
// graceful-restart helper. A router without it (BIRD 2) takes any
// NOTIFICATION as the end of the session and flushes the routes (RFC 4724
// section 4.2): its session is ended by shutting the TCP connection down
// without one (closeSilently), the event RFC 4724 has the helper keep the
// routes for. Once the sessions are down (GoBGP then waits its idle hold
// time before it dials again), StopBgp has no connection left to send its
// Cease on.
func (s *Speaker) resetGraceful(ctx context.Context) error {
	var errs []error
	nBit := map[string]bool{}
	_ = s.srv.ListPeer(ctx, &api.ListPeerRequest{}, func(p *api.Peer) {
		nBit[p.GetState().GetNeighborAddress()] = sentNBit(p)
	})
	reset := map[string]bool{}
	for _, p := range s.sortedPeers() {
		if p.cfg.GracefulRestart == 0 {
			continue
		}
		addr := p.cfg.Address.String()
		if !nBit[addr] {
			// The router's port on a session the speaker dialed, the
			// speaker's own on one the router dialed.
			ports := []uint16{p.cfg.port()}
			if s.listenPort > 0 {
				ports = append(ports, uint16(s.listenPort))
			}
			if _, err := closeSilently(p.cfg.Address, ports...); err != nil {
				errs = append(errs, fmt.Errorf("peer %q: close for graceful restart: %w", p.cfg.Name, err))
				continue
			}
			reset[addr] = true
			continue
		}
		if err := s.srv.ResetPeer(ctx, &api.ResetPeerRequest{Address: addr, Communication: "pylon speaker restarting"}); err != nil {
			errs = append(errs, fmt.Errorf("peer %q: reset for graceful restart: %w", p.cfg.Name, err))
			continue
		}
		reset[addr] = true
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	for len(reset) > 0 {
		up := false
		_ = s.srv.ListPeer(ctx, &api.ListPeerRequest{}, func(p *api.Peer) {
			up = up || (reset[p.GetState().GetNeighborAddress()] && p.GetState().GetSessionState() == api.PeerState_ESTABLISHED)
		})
		if !up {
			break
		}
		select {
		case <-ctx.Done():
			return errors.Join(append(errs, fmt.Errorf("graceful restart: sessions still up: %w", ctx.Err()))...)
		case <-time.After(5 * time.Millisecond):
		}
	}
	return errors.Join(errs...)
}
