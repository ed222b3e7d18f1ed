package speaker

import (
	"context"
	"net/netip"
	"slices"
	"sync"

	"github.com/pylonlb/pylon/speaker/bgp"
)

// FakeBGP stands in for GoBGP (speaker/bgp's Speaker) in tests: it keeps
// the peers it is given and reports each one's session Established or
// Active as the test sets it. The real speaker is exercised by test/e2e
// TestBGPStatus. It is exported (from a test file) for the envtest tests
// of package speaker_test.
type FakeBGP struct {
	ID      netip.Addr
	mu      sync.Mutex
	up      bool
	closed  bool
	peers   []bgp.Peer
	changes chan struct{}
	// resets are the addresses ResetPeer was called with.
	resets []netip.Addr
}

// NewFakeBGP returns a fake speaker with router ID id whose sessions are
// up or not.
func NewFakeBGP(id netip.Addr, up bool) *FakeBGP {
	return &FakeBGP{ID: id, up: up, changes: make(chan struct{}, 1)}
}

func (f *FakeBGP) SetPeers(_ context.Context, peers []bgp.Peer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.peers = peers
	return nil
}

func (f *FakeBGP) SetPaths(context.Context, []bgp.Path) error { return nil }

func (f *FakeBGP) Sessions(context.Context) ([]bgp.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	state := bgp.StateActive
	if f.up {
		state = bgp.StateEstablished
	}
	var out []bgp.Session
	for _, p := range f.peers {
		out = append(out, bgp.Session{Peer: p.Name, Address: p.Address, State: state})
	}
	return out, nil
}

func (f *FakeBGP) Peer(string) (bgp.Peer, bool) { return bgp.Peer{}, false }

func (f *FakeBGP) Changes() <-chan struct{} { return f.changes }

func (f *FakeBGP) Close(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	close(f.changes)
	return nil
}

func (f *FakeBGP) ResetPeer(_ context.Context, addr netip.Addr, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resets = append(f.resets, addr)
	return nil
}

// Resets returns the addresses ResetPeer was called with.
func (f *FakeBGP) Resets() []netip.Addr {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.resets)
}

// Closed reports whether Close was called.
func (f *FakeBGP) Closed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

// HasPeers reports whether the reconciler gave it peers.
func (f *FakeBGP) HasPeers() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.peers) > 0
}

// SetUp brings every session up or down, as a session change does (the
// reconciler is woken).
func (f *FakeBGP) SetUp(up bool) {
	f.mu.Lock()
	f.up = up
	f.mu.Unlock()
	select {
	case f.changes <- struct{}{}:
	default:
	}
}
