package layer2

import (
	"net/netip"
	"testing"
	"time"
)

// quiet answers but sends nothing unasked: no gratuitous rounds, no probes.
var quiet = Options{GratuitousCount: -1, ProbeInterval: -1}

// family is one address family's pair of test VIPs.
type family struct {
	name         string
	vip, unowned netip.Addr
	counters     func(Stats) Counters
}

var families = []family{
	{"IPv4 ARP", vip4, other4, func(s Stats) Counters { return s.ARP }},
	{"IPv6 NDP", vip6, other6, func(s Stats) Counters { return s.NDP }},
}

// TestAnswersOwnedAddressesOnly: a client's kernel resolves an owned VIP to
// the owner's MAC, gets no answer for an unowned one, and none for the VIP
// once it is released.
func TestAnswersOwnedAddressesOnly(t *testing.T) {
	lb := newLab(t, "n1", "c1")
	n1, c1 := lb.hosts["n1"], lb.hosts["c1"]
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			lb.t = t
			a := lb.announcer(quiet)
			lb.own(n1, a, f.vip)
			if got := a.Announced(); len(got[f.vip]) != 1 || got[f.vip][0] != "eth0" {
				t.Fatalf("Announced = %v, want %s on eth0", got, f.vip)
			}

			if mac := lb.resolve(c1, f.vip, 2*time.Second); mac != n1.mac.String() {
				t.Fatalf("client resolved owned %s to %q, want n1's %s", f.vip, mac, n1.mac)
			}
			if mac := lb.resolve(c1, f.unowned, time.Second); mac != "" {
				t.Fatalf("client resolved unowned %s to %s, want no answer", f.unowned, mac)
			}
			c := f.counters(a.Stats())
			if c.Requests < 1 || c.Replies < 1 || c.Gratuitous != 0 || c.Probes != 0 || c.Conflicts != 0 {
				t.Errorf("counters = %+v, want requests and replies only", c)
			}

			lb.own(n1, a)
			if mac := lb.resolve(c1, f.vip, time.Second); mac != "" {
				t.Fatalf("client resolved released %s to %s, want no answer", f.vip, mac)
			}
			if got := a.Announced(); len(got) != 0 {
				t.Errorf("Announced after release = %v, want nothing", got)
			}
		})
	}
}

// TestGratuitousMovesClients: when n2 takes a VIP from n1, a client that
// cached n1's MAC switches to n2's only because n2 announces itself
// (with announcements off it keeps n1's), quickly; a resync with the same
// addresses sends nothing more, and Reannounce sends a fresh burst.
func TestGratuitousMovesClients(t *testing.T) {
	lb := newLab(t, "n1", "n2", "c1")
	n1, n2, c1 := lb.hosts["n1"], lb.hosts["n2"], lb.hosts["c1"]
	const rounds = 2
	loud := Options{GratuitousCount: rounds, GratuitousInterval: 50 * time.Millisecond, ProbeInterval: -1}
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) {
			lb.t = t
			a1 := lb.announcer(quiet)
			lb.own(n1, a1, f.vip)
			if mac := lb.resolve(c1, f.vip, 2*time.Second); mac != n1.mac.String() {
				t.Fatalf("client resolved %s to %q, want n1's %s", f.vip, mac, n1.mac)
			}

			// Without announcements the client keeps the old MAC: this is
			// what makes the next step a test of the announcements.
			lb.own(n1, a1)
			silent := lb.announcer(quiet)
			lb.own(n2, silent, f.vip)
			time.Sleep(300 * time.Millisecond)
			if mac := lb.neigh(c1, f.vip).LLAddr; mac != n1.mac.String() {
				t.Fatalf("without announcements the client's entry is %q, want n1's %s still", mac, n1.mac)
			}
			lb.own(n2, silent)

			a2 := lb.announcer(loud)
			lb.own(n2, a2, f.vip)
			mac, took := lb.waitNeigh(c1, f.vip, 2*time.Second, func(mac string) bool { return mac == n2.mac.String() })
			if mac != n2.mac.String() {
				t.Fatalf("after n2's announcements the client's entry is %q, want n2's %s", mac, n2.mac)
			}
			t.Logf("client moved to n2 in %v", took)

			perRound := uint64(1)
			if f.vip.Is4() {
				perRound = 2 // a request and a reply
			}
			want := rounds * perRound
			time.Sleep(3 * loud.GratuitousInterval)
			if got := f.counters(a2.Stats()).Gratuitous; got != want {
				t.Fatalf("gratuitous sent = %d, want %d", got, want)
			}
			lb.own(n2, a2, f.vip) // resync
			time.Sleep(3 * loud.GratuitousInterval)
			if got := f.counters(a2.Stats()).Gratuitous; got != want {
				t.Fatalf("gratuitous sent after a resync = %d, want still %d", got, want)
			}
			if !a2.Reannounce(f.vip) || a2.Reannounce(f.unowned) {
				t.Fatalf("Reannounce: want true for %s and false for %s", f.vip, f.unowned)
			}
			time.Sleep(3 * loud.GratuitousInterval)
			if got := f.counters(a2.Stats()).Gratuitous; got != 2*want {
				t.Fatalf("gratuitous sent after Reannounce = %d, want %d", got, 2*want)
			}
		})
	}
}
