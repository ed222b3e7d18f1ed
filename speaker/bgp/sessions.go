package bgp

import (
	"cmp"
	"context"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	api "github.com/osrg/gobgp/v3/api"
)

// Session states, as RFC 4271 names them.
const (
	StateIdle        = "Idle"
	StateConnect     = "Connect"
	StateActive      = "Active"
	StateOpenSent    = "OpenSent"
	StateOpenConfirm = "OpenConfirm"
	StateEstablished = "Established"
)

// Session is the state of one peer's session.
type Session struct {
	// Peer is the Peer's name, Address its address.
	Peer    string
	Address netip.Addr
	// State is one of the State constants.
	State string
	// Since is when the session entered State (for Established, when it
	// came up).
	Since time.Time
	// LocalAddress is this end's address of an established session.
	LocalAddress netip.Addr
	// PeerASN is the router's ASN its OPEN carried, on an established
	// session (the one learnt for a Peer with AnyPeerASN); 0 otherwise.
	PeerASN uint32
	// PrefixesSent and PrefixesReceived count the prefixes advertised to
	// and accepted from the peer.
	PrefixesSent, PrefixesReceived uint64
	// UpdatesSent and UpdatesReceived count the BGP UPDATE messages
	// exchanged with the peer since it was configured.
	UpdatesSent, UpdatesReceived uint64
	// LastError is, first, a standing problem with what the session
	// carries (a dual-stack peer whose other family cannot be sent), then
	// the last reason the session failed to come up or went down: a connection error ("dial tcp ...: i/o timeout", which is also
	// what a wrong TCP-MD5 password looks like, since the router drops the
	// segments silently) or a BGP notification. It is kept after the
	// session comes up, as the last thing that went wrong.
	LastError string
}

// Sessions returns the state of every peer's session, sorted by peer name.
func (s *Speaker) Sessions(ctx context.Context) ([]Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	names := map[netip.Addr]string{}
	for _, p := range s.peers {
		names[p.cfg.Address] = p.cfg.Name
	}
	// GoBGP counts what it advertised by exporting the whole table for
	// every peer: only when the count may have changed.
	gen := s.sessions.generation()
	count := !s.advertised.valid || s.advertised.gen != gen
	counted := map[netip.Addr]uint64{}
	var out []Session
	err := s.srv.ListPeer(ctx, &api.ListPeerRequest{EnableAdvertised: count}, func(p *api.Peer) {
		addr, err := netip.ParseAddr(p.GetState().GetNeighborAddress())
		if err != nil {
			addr, _ = netip.ParseAddr(p.GetConf().GetNeighborAddress())
		}
		name, ok := names[addr]
		if !ok {
			return
		}
		sess := Session{Peer: name, Address: addr, State: stateName(p.GetState().GetSessionState())}
		for _, af := range p.GetAfiSafis() {
			counted[addr] += af.GetState().GetAdvertised()
			sess.PrefixesReceived += af.GetState().GetAccepted()
		}
		sess.PrefixesSent = s.advertised.byAddr[addr]
		if count {
			sess.PrefixesSent = counted[addr]
		}
		msgs := p.GetState().GetMessages()
		sess.UpdatesSent, sess.UpdatesReceived = msgs.GetSent().GetUpdate(), msgs.GetReceived().GetUpdate()
		sess.LocalAddress, _ = netip.ParseAddr(p.GetTransport().GetLocalAddress())
		if sess.State != StateEstablished {
			sess.LocalAddress = netip.Addr{}
		} else {
			sess.PeerASN = p.GetState().GetPeerAsn()
		}
		s.sessions.fill(&sess)
		if up := p.GetTimers().GetState().GetUptime(); sess.State == StateEstablished && up != nil && up.AsTime().After(sess.Since) {
			sess.Since = up.AsTime()
		}
		out = append(out, sess)
	})
	slices.SortFunc(out, func(a, b Session) int { return cmp.Compare(a.Peer, b.Peer) })
	if count && err == nil {
		s.advertised = advertisedCounts{valid: true, gen: gen, byAddr: counted, times: s.advertised.times + 1}
	}
	return out, err
}

// advertisedCounts is GoBGP's count of the prefixes advertised to each
// peer, by address, as last taken. Taking it (ListPeer with
// EnableAdvertised) runs GoBGP's export of the whole table once per peer:
// about 50 ms with 5,000 paths and two peers, ten times that with 50,000
// (BenchmarkSessions), and the speaker reads the sessions on every pass.
// So it is taken again only when it may have changed: when the speaker
// changed a path, a peer or an export policy (changed), or a session
// changed state (the tracker's generation).
type advertisedCounts struct {
	valid  bool
	gen    uint64
	byAddr map[netip.Addr]uint64
	// times counts how often it was taken (for tests).
	times int
}

// changed marks the advertised counts as stale and counts a change of the
// server (SetPaths' fast path looks at the count); s.mu must be held.
func (s *Speaker) changed() {
	s.advertised.valid = false
	s.mutations++
}

func stateName(st api.PeerState_SessionState) string {
	switch st {
	case api.PeerState_IDLE:
		return StateIdle
	case api.PeerState_CONNECT:
		return StateConnect
	case api.PeerState_ACTIVE:
		return StateActive
	case api.PeerState_OPENSENT:
		return StateOpenSent
	case api.PeerState_OPENCONFIRM:
		return StateOpenConfirm
	case api.PeerState_ESTABLISHED:
		return StateEstablished
	}
	return StateIdle
}

// sessionTracker records what GoBGP reports about sessions between calls:
// state changes (from WatchEvent) and errors (from the log adapter), both of
// which arrive on GoBGP's goroutines.
type sessionTracker struct {
	now     func() time.Time
	changes chan struct{}

	mu     sync.Mutex
	closed bool
	byAddr map[netip.Addr]*tracked
	// gen counts the peers added and removed and the state changes.
	gen uint64
}

// generation counts the peers added and removed and the sessions' state
// changes so far.
func (t *sessionTracker) generation() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.gen
}

type tracked struct {
	state     string
	since     time.Time
	lastError string
	// problem is a standing problem of the peer's configuration on this
	// node (a dual-stack peer without a next hop of the other family); it
	// leads LastError while it lasts.
	problem string
}

func newSessionTracker(now func() time.Time) *sessionTracker {
	return &sessionTracker{now: now, changes: make(chan struct{}, 1), byAddr: map[netip.Addr]*tracked{}}
}

// notify wakes a reader of Changes without blocking; t.mu must be held.
func (t *sessionTracker) notify() {
	if t.closed {
		return
	}
	select {
	case t.changes <- struct{}{}:
	default:
	}
}

func (t *sessionTracker) added(name string, addr netip.Addr) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byAddr[addr] = &tracked{state: StateIdle, since: t.now()}
	t.gen++
	t.notify()
}

func (t *sessionTracker) removed(addr netip.Addr) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.byAddr, addr)
	t.gen++
	t.notify()
}

// peerEvent is the WatchEvent callback.
func (t *sessionTracker) peerEvent(ev *api.WatchEventResponse) {
	pe := ev.GetPeer()
	if pe == nil || pe.GetType() != api.WatchEventResponse_PeerEvent_STATE {
		return
	}
	addr, err := netip.ParseAddr(pe.GetPeer().GetState().GetNeighborAddress())
	if err != nil {
		return
	}
	state := stateName(pe.GetPeer().GetState().GetSessionState())
	t.mu.Lock()
	defer t.mu.Unlock()
	tr, ok := t.byAddr[addr.Unmap()]
	if !ok || tr.state == state {
		return
	}
	tr.state, tr.since = state, t.now()
	t.gen++
	t.notify()
}

// peerError records why a session failed; addr is as GoBGP logs it.
func (t *sessionTracker) peerError(addr, msg string) {
	a, err := netip.ParseAddr(strings.TrimSpace(addr))
	if err != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	tr, ok := t.byAddr[a.Unmap()]
	if !ok || tr.lastError == msg {
		return
	}
	tr.lastError = msg
	t.notify()
}

// setProblem records (or, with "", clears) a standing problem of a peer.
func (t *sessionTracker) setProblem(addr netip.Addr, msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tr, ok := t.byAddr[addr]
	if !ok || tr.problem == msg {
		return
	}
	tr.problem = msg
	t.notify()
}

// fill adds what the tracker knows to a session read from the server.
func (t *sessionTracker) fill(s *Session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tr, ok := t.byAddr[s.Address]
	if !ok {
		return
	}
	s.LastError = tr.lastError
	if tr.problem != "" {
		s.LastError = tr.problem
		if tr.lastError != "" {
			s.LastError += "; last session error: " + tr.lastError
		}
	}
	s.Since = tr.since
	if tr.state != s.State {
		// The server is ahead of the event stream; the event follows.
		s.Since = t.now()
	}
}

func (t *sessionTracker) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.closed {
		t.closed = true
		close(t.changes)
	}
}
