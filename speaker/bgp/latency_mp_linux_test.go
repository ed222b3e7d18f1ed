package bgp

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// measureDualStackLatency is TestLatencyFRR's (and TestLatencyBIRD's) part for both families over one
// session: an IPv4 session with dualStackAddressFamily, each sample one IPv4
// and one IPv6 path added in one SetPaths, timed until both are in the
// router's kernel table (w watches it), and back out. It closes s first:
// the router takes one session from the node's address.
func measureDualStackLatency(t *testing.T, lab *labInfo, s *Speaker, w *routeWatch) {
	ctx := context.Background()
	r := lab.router(t)
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	r.activate(t, nodeEBGP, "ipv6")
	ds := newSpeaker(t, nodeEBGP)
	p := ebgpPeer()
	p.DualStackAddressFamily = true
	if err := ds.SetPeers(ctx, []Peer{p}); err != nil {
		t.Fatal(err)
	}
	established(t, r, ds, "router", nodeEBGP)
	const n = 20
	var paths []Path
	var add, del []time.Duration
	for i := range n {
		both := []netip.Prefix{
			netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(180 + i)}), 32),
			netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0x51, 15: byte(180 + i)}), 128),
		}
		paths = append(paths, Path{Prefix: both[0]}, Path{Prefix: both[1]})
		start := time.Now()
		if err := ds.SetPaths(ctx, paths); err != nil {
			t.Fatal(err)
		}
		add = append(add, w.wait(t, true, both, 5*time.Second).Sub(start))
	}
	for len(paths) > 0 {
		both := []netip.Prefix{paths[len(paths)-2].Prefix, paths[len(paths)-1].Prefix}
		paths = paths[:len(paths)-2]
		start := time.Now()
		if err := ds.SetPaths(ctx, paths); err != nil {
			t.Fatal(err)
		}
		del = append(del, w.wait(t, false, both, 5*time.Second).Sub(start))
	}
	t.Logf("FIGURE %s dual-stack session: SetPaths(+1 IPv4 +1 IPv6 path) -> both routes in router kernel over one IPv4 session, %d samples: %s", r.kind, n, summary(add))
	t.Logf("FIGURE %s dual-stack session: SetPaths(-1 IPv4 -1 IPv6 path) -> both gone from router kernel, %d samples: %s", r.kind, n, summary(del))
}
