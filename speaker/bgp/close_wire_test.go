package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	api "github.com/osrg/gobgp/v3/api"

	"github.com/pylonlb/pylon/test/poll"
)

// TestCloseWithdrawsFirst: Close without graceful restart withdraws every
// path while the session is still up, so that the router moves the traffic
// before the session ends, and does so for many paths at once (one
// withdrawal of every path: by UUID, GoBGP's lookup made it quadratic, 6 s
// for 5,000 paths). The router, a GoBGP server over loopback, counts the
// withdrawals before it sees the session go down.
func TestCloseWithdrawsFirst(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short mode: opens a BGP session over loopback")
	}
	t.Parallel()
	ctx := context.Background()
	const asn, n0 = 64512, 5000
	r := newWireRouter(t, "127.0.0.4", "127.0.0.1", 64513, asn)
	s := startSpeaker(t)
	if err := s.SetPeers(ctx, []Peer{wirePeer("r", "127.0.0.4", r.port, "127.0.0.1", asn, 64513)}); err != nil {
		t.Fatal(err)
	}
	var paths []Path
	for i := range n0 {
		paths = append(paths, Path{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, 100 + byte(i/250), byte(i % 250)}), 32)})
	}
	if err := s.SetPaths(ctx, paths); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 50*time.Millisecond, 30*time.Second, fmt.Sprintf("the router to hold %d paths", n0), func() (bool, string) {
		got := len(r.table(t))
		return got == n0, fmt.Sprint(got)
	})

	withdrawn := func() (n uint64, up bool) {
		_ = r.srv.ListPeer(ctx, &api.ListPeerRequest{}, func(p *api.Peer) {
			n += p.GetState().GetMessages().GetReceived().GetWithdrawPrefix()
			up = up || p.GetState().GetSessionState() == api.PeerState_ESTABLISHED
		})
		return n, up
	}
	began := time.Now()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	took := time.Since(began)
	poll.Eventually(t, 20*time.Millisecond, 10*time.Second, "the router to see the session go down", func() (bool, string) {
		n, up := withdrawn()
		return !up, fmt.Sprintf("%d withdrawn, session up", n)
	})
	// The router counts the prefixes withdrawn by the UPDATEs it read on
	// the session: a session that ended with the paths still in place
	// drops them in the router without any. GoBGP counts a path withdrawn
	// once its UPDATE is queued, so the session may end before the last
	// of thousands are on the wire (docs/speaker-bgp.md): some, not all.
	n, _ := withdrawn()
	if n == 0 {
		t.Errorf("the router read no withdrawal on the session: Close stopped without withdrawing")
	}
	if took > 2*time.Second {
		t.Errorf("Close took %v for %d paths", took, n0)
	}
	t.Logf("Close of %d paths: %v; the router read %d withdrawals before the session ended", n0, took, n)
}
