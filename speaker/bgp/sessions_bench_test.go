package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/pylonlb/pylon/test/poll"
)

// BenchmarkSessions measures Sessions, which the speaker calls on every
// pass, with 5,000 and 50,000 IPv4 /32 paths (in 198.18.0.0/15, never leaving
// loopback) announced to two routers
// (GoBGP servers on loopback, as in the wire tests) over Established
// sessions: the cost of GoBGP counting what it advertised to each peer.
func BenchmarkSessions(b *testing.B) {
	const asn = 64512
	for _, n := range []int{5000, 50000} {
		b.Run(fmt.Sprintf("paths=%d", n), func(b *testing.B) {
			ctx := context.Background()
			r1 := newWireRouter(b, "127.0.0.2", "127.0.0.1", 64513, asn)
			r2 := newWireRouter(b, "127.0.0.3", "127.0.0.1", 64513, asn)
			s := startSpeaker(b)
			if err := s.SetPeers(ctx, []Peer{wirePeer("r1", "127.0.0.2", r1.port, "127.0.0.1", asn, 64513),
				wirePeer("r2", "127.0.0.3", r2.port, "127.0.0.1", asn, 64513)}); err != nil {
				b.Fatal(err)
			}
			paths := make([]Path, n)
			for i := range paths {
				a := netip.AddrFrom4([4]byte{198, 18 + byte(i>>16), byte(i >> 8), byte(i)})
				paths[i] = Path{Prefix: netip.PrefixFrom(a, 32)}
			}
			if err := s.SetPaths(ctx, paths); err != nil {
				b.Fatal(err)
			}
			poll.Eventually(b, 100*time.Millisecond, 2*time.Minute, "both sessions up with every path sent", func() error {
				ss, err := s.Sessions(ctx)
				if err != nil {
					return err
				}
				for _, x := range ss {
					if x.State != StateEstablished || x.PrefixesSent != uint64(n) {
						return fmt.Errorf("%s %s, %d sent", x.Peer, x.State, x.PrefixesSent)
					}
				}
				return nil
			})
			for b.Loop() {
				if _, err := s.Sessions(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
