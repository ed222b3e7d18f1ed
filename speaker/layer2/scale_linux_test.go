package layer2

import (
	"net/netip"
	"testing"
	"time"

	"context"
	"github.com/pylonlb/pylon/test/netlab"
	"github.com/pylonlb/pylon/test/poll"
)

// manyAddrs returns n IPv6 VIPs from 2001:db8:51::/64 (from ::1000 up, so
// they never collide with the other tests' addresses) and every usable
// address of 198.51.100.0/24.
func manyAddrs(n int) map[netip.Addr][]string {
	out := map[netip.Addr][]string{}
	ip := netip.MustParseAddr("2001:db8:51::1000")
	for range n {
		out[ip] = []string{"eth0"}
		ip = ip.Next()
	}
	for i := 1; i < 255; i++ {
		out[netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})] = []string{"eth0"}
	}
	return out
}

// TestManyAddresses: 5,000 IPv6 addresses on one interface (more
// solicited-node groups than one socket may join) and 254 IPv4 ones are all
// announced and answered.
func TestManyAddresses(t *testing.T) {
	lb := newLab(t, "n1", "c1")
	n1, c1 := lb.hosts["n1"], lb.hosts["c1"]
	a := lb.announcer(Options{GratuitousInterval: 20 * time.Millisecond, ProbeInterval: -1})
	owned := manyAddrs(5000)
	start := time.Now()
	if err := netlab.InNetns(n1.ns, func() error { return a.SetOwned(owned) }); err != nil {
		t.Fatal(err)
	}
	t.Logf("SetOwned with %d new addresses: %v", len(owned), time.Since(start))
	if got := a.Announced(); len(got) != len(owned) {
		t.Fatalf("%d addresses announced, want %d", len(got), len(owned))
	}
	for _, ip := range []string{"2001:db8:51::1000", "2001:db8:51::2387", "198.51.100.254"} {
		if mac := lb.resolve(c1, netip.MustParseAddr(ip), 2*time.Second); mac != n1.mac.String() {
			t.Errorf("client resolved %s to %q, want n1's %s", ip, mac, n1.mac)
		}
	}
	// Waits until the counts are right or 5 s have passed; the check below
	// says which.
	_, _ = poll.Until(context.Background(), 20*time.Millisecond, 5*time.Second, "every gratuitous packet sent", func(context.Context) (bool, string, error) {
		s := a.Stats()
		return s.NDP.Gratuitous == 5000*DefaultGratuitousCount && s.ARP.Gratuitous == 254*2*DefaultGratuitousCount, "", nil
	})
	if s := a.Stats(); s.NDP.Gratuitous != 5000*DefaultGratuitousCount || s.ARP.Gratuitous != 254*2*DefaultGratuitousCount {
		t.Errorf("gratuitous sent: NDP %d, ARP %d; want %d and %d", s.NDP.Gratuitous, s.ARP.Gratuitous, 5000*DefaultGratuitousCount, 254*2*DefaultGratuitousCount)
	}
}

// BenchmarkResync measures SetOwned with 5,254 addresses that are all
// announced already: what every speaker resync costs.
func BenchmarkResync(b *testing.B) {
	lb := newLab(b, "n1")
	n1 := lb.hosts["n1"]
	a := lb.announcer(Options{GratuitousCount: -1, ProbeInterval: -1})
	owned := manyAddrs(5000)
	if err := netlab.InNetns(n1.ns, func() error { return a.SetOwned(owned) }); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	err := netlab.InNetns(n1.ns, func() error {
		for b.Loop() {
			if err := a.SetOwned(owned); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
