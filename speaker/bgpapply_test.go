package speaker

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/pylonlb/pylon/speaker/bgp"
)

func TestBGPAnnouncedNeedsAnEstablishedSession(t *testing.T) {
	a, b := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.2")
	v6 := netip.MustParseAddr("2001:db8:51::1")
	offered := map[netip.Addr][]string{a: {"ns/a"}, b: {"ns/b"}, v6: {"ns/a"}}
	paths := []bgp.Path{
		{Prefix: netip.PrefixFrom(a, 32), Peers: []string{"down", "up"}},
		{Prefix: netip.PrefixFrom(b, 32), Peers: []string{"down"}},
		{Prefix: netip.MustParsePrefix("2001:db8:51::/64"), Peers: []string{"up-v6"}},
	}
	tests := []struct {
		name     string
		sessions []bgp.Session
		want     map[netip.Addr][]string
	}{
		{"no session at all", nil, map[netip.Addr][]string{}},
		{"sessions that never came up", []bgp.Session{
			{Peer: "down", State: bgp.StateActive}, {Peer: "up", State: bgp.StateConnect}, {Peer: "up-v6", State: bgp.StateOpenConfirm},
		}, map[netip.Addr][]string{}},
		{"one of two target sessions up", []bgp.Session{
			{Peer: "down", State: bgp.StateActive}, {Peer: "up", State: bgp.StateEstablished},
		}, map[netip.Addr][]string{a: {"ns/a"}}},
		{"an aggregate prefix counts for the addresses in it", []bgp.Session{
			{Peer: "up-v6", State: bgp.StateEstablished},
		}, map[netip.Addr][]string{v6: {"ns/a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := BGPAnnounced(offered, paths, tt.sessions); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("announced = %v, want %v", got, tt.want)
			}
		})
	}
	// An offered address without a path is not announced, whatever the
	// sessions.
	if got := BGPAnnounced(map[netip.Addr][]string{netip.MustParseAddr("203.0.113.9"): {"ns/c"}}, paths,
		[]bgp.Session{{Peer: "up", State: bgp.StateEstablished}}); len(got) != 0 {
		t.Fatalf("an address without a path counts as announced: %v", got)
	}
}

// BenchmarkBGPAnnounced: 50,000 offered addresses, a host path for each to
// two peers, one Established. It was quadratic (every address against every
// path): half of a pass with nothing to do at 5,000 addresses.
func BenchmarkBGPAnnounced(b *testing.B) {
	const n = 50000
	offered := make(map[netip.Addr][]string, n)
	paths := make([]bgp.Path, 0, n)
	for i := range n {
		ip := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0x51, 13: byte(i >> 16), 14: byte(i >> 8), 15: byte(i)})
		offered[ip] = []string{"ns/s"}
		paths = append(paths, bgp.Path{Prefix: netip.PrefixFrom(ip, 128), Peers: []string{"r1", "r2"}})
	}
	sessions := []bgp.Session{{Peer: "r1", State: bgp.StateEstablished}, {Peer: "r2", State: bgp.StateActive}}
	b.ReportAllocs()
	for b.Loop() {
		if got := BGPAnnounced(offered, paths, sessions); len(got) != n {
			b.Fatalf("%d announced, want %d", len(got), n)
		}
	}
}
