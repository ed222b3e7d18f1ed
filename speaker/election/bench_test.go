package election

import (
	"fmt"
	"net/netip"
	"testing"
)

// BenchmarkOwner measures one owner choice; the speaker makes one per
// announced address whenever membership or configuration changes.
func BenchmarkOwner(b *testing.B) {
	for _, size := range []int{5, 100} {
		nodes := nodeNames(size)
		ips := testAddrs(512)
		b.Run(fmt.Sprintf("nodes=%d", size), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, ok := Owner(ips[i%len(ips)], nodes); !ok {
					b.Fatal("no owner")
				}
				i++
			}
		})
	}
}

func BenchmarkScore(b *testing.B) {
	ip := netip.MustParseAddr("2001:db8::1")
	b.ReportAllocs()
	for b.Loop() {
		Score("worker-node-042.example.internal", ip)
	}
}
