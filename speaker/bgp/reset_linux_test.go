package bgp

import (
	"context"
	"errors"
	"fmt"
	"github.com/pylonlb/pylon/test/poll"
	"net/netip"
	"testing"
	"time"
)

// scenarioResetPeer: ResetPeer (what a BFD session going down calls) drops
// the session at once, the router withdraws the node's route, and the
// session comes back after the connect-retry interval (not GoBGP's 30 s
// default idle hold after a reset) with the route.
func scenarioResetPeer(t *testing.T, r router) {
	ctx := context.Background()
	s := newSpeaker(t, nodeEBGP)
	if err := s.SetPeers(ctx, []Peer{ebgpPeer()}); err != nil {
		t.Fatal(err)
	}
	established(t, r, s, "router", nodeEBGP)
	if err := s.SetPaths(ctx, []Path{{Prefix: pfx("198.51.100.20/32")}}); err != nil {
		t.Fatal(err)
	}
	hasPath(t, r, "198.51.100.20/32", nodeEBGP, nil)
	_, before, err := r.neighborState(nodeEBGP)
	if err != nil {
		t.Fatal(err)
	}

	if err := s.ResetPeer(ctx, netip.MustParseAddr(routerV4), "BFD session down"); err != nil {
		t.Fatal(err)
	}
	reset := time.Now()
	down := poll.Eventually(t, 20*time.Millisecond, time.Second, "session down after ResetPeer", func() error {
		if st, _, err := r.neighborState(nodeEBGP); err != nil || st == "Established" {
			return fmt.Errorf("%s: %s %v", r.kind, st, err)
		}
		if sess := session(t, s, "router"); sess.State == StateEstablished {
			return errors.New("speaker: still Established")
		}
		return nil
	})
	t.Logf("ResetPeer -> session down on both ends: %v", down)
	noPath(t, r, time.Second, "198.51.100.20/32", nodeEBGP)
	poll.Eventually(t, 20*time.Millisecond, 10*time.Second, "session back after the reset", func() error {
		st, after, err := r.neighborState(nodeEBGP)
		if err != nil || st != "Established" || !after.oneMore(before) {
			return fmt.Errorf("%s: %s, established %v (before: %v) %v", r.kind, st, after, before, err)
		}
		return nil
	})
	t.Logf("ResetPeer -> Established again: %v", time.Since(reset))
	hasPath(t, r, "198.51.100.20/32", nodeEBGP, nil)

	if err := s.ResetPeer(ctx, netip.MustParseAddr("198.18.2.99"), "x"); !errors.Is(err, ErrInvalidPeer) {
		t.Errorf("ResetPeer of an unknown address: %v, want ErrInvalidPeer", err)
	}
}
