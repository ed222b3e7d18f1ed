package layer2

import (
	"context"
	"errors"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pylonlb/pylon/test/netlab"
	"github.com/pylonlb/pylon/test/poll"
)

// TestLinkFlapKeepsAnswering: after the interface goes down and up, the
// responder answers again without being told anything.
func TestLinkFlapKeepsAnswering(t *testing.T) {
	lb := newLab(t, "n1", "c1")
	n1, c1 := lb.hosts["n1"], lb.hosts["c1"]
	a := lb.announcer(quiet)
	lb.own(n1, a, vip4, vip6)
	lb.ip("-n", n1.ns, "link", "set", "eth0", "down")
	time.Sleep(100 * time.Millisecond)
	lb.ip("-n", n1.ns, "link", "set", "eth0", "up")
	for _, ip := range []netip.Addr{vip4, vip6} {
		if mac := lb.resolve(c1, ip, 3*time.Second); mac != n1.mac.String() {
			t.Errorf("after a link flap the client resolved %s to %q, want n1's %s", ip, mac, n1.mac)
		}
	}
	if got := a.Announced(); len(got) != 2 {
		t.Errorf("Announced after a flap = %v, want both addresses", got)
	}
}

// TestInterfaceMadeAgain: when the interface is deleted, SetOwned says so,
// naming it; when it is back (a new index), the next SetOwned reopens it and
// announces afresh.
func TestInterfaceMadeAgain(t *testing.T) {
	lb := newLab(t, "n1", "c1")
	n1, c1 := lb.hosts["n1"], lb.hosts["c1"]
	a := lb.announcer(Options{GratuitousCount: 1, ProbeInterval: -1})
	lb.own(n1, a, vip4, vip6)

	lb.ip("-n", n1.ns, "link", "del", "eth0")
	owned := map[netip.Addr][]string{vip4: {"eth0"}, vip6: {"eth0"}}
	err := netlab.InNetns(n1.ns, func() error { return a.SetOwned(owned) })
	var ie *InterfaceError
	if !errors.As(err, &ie) || ie.Interface != "eth0" {
		t.Fatalf("SetOwned with eth0 gone = %v, want an InterfaceError naming eth0", err)
	}
	if got := a.Announced(); len(got) != 0 {
		t.Fatalf("Announced with eth0 gone = %v, want nothing", got)
	}

	lb.plug(n1)
	lb.own(n1, a, vip4, vip6)
	for _, ip := range []netip.Addr{vip4, vip6} {
		if mac := lb.resolve(c1, ip, 2*time.Second); mac != n1.mac.String() {
			t.Errorf("after eth0 came back the client resolved %s to %q, want n1's %s", ip, mac, n1.mac)
		}
	}
	if s := a.Stats(); s.ARP.Gratuitous != 4 || s.NDP.Gratuitous != 2 {
		t.Errorf("gratuitous sent: ARP %d, NDP %d; want 4 and 2 (one round at first, one after reopening)", s.ARP.Gratuitous, s.NDP.Gratuitous)
	}
}

// TestOpenFailuresNameTheInterface: an interface without an IPv4 address
// cannot carry ARP; the error says which interface and which protocol, and
// the other family on it still works.
func TestOpenFailuresNameTheInterface(t *testing.T) {
	lb := newLab(t, "n1")
	n1 := lb.hosts["n1"]
	lb.ip("-n", n1.ns, "link", "add", "x0", "type", "veth", "peer", "name", "x1")
	lb.ip("-n", n1.ns, "link", "set", "x0", "up")
	lb.ip("-n", n1.ns, "link", "set", "x1", "up")
	lb.waitLinkLocal(n1, "x0")
	a := lb.announcer(quiet)
	err := netlab.InNetns(n1.ns, func() error { return a.SetOwned(map[netip.Addr][]string{vip4: {"x0"}, vip6: {"x0"}}) })
	var ie *InterfaceError
	if !errors.As(err, &ie) || ie.Interface != "x0" || !strings.Contains(err.Error(), "ARP") {
		t.Fatalf("SetOwned = %v, want an InterfaceError naming x0 and ARP", err)
	}
	if got := a.Announced(); !slices.Equal(got[vip6], []string{"x0"}) || got[vip4] != nil {
		t.Fatalf("Announced = %v, want %s on x0 only (SetOwned: %v)", got, vip6, err)
	}
}

// TestCloseStopsEverything: Close (or the end of New's context) stops every
// goroutine and socket: nothing answers any more, and SetOwned refuses.
func TestCloseStopsEverything(t *testing.T) {
	lb := newLab(t, "n1", "c1")
	n1, c1 := lb.hosts["n1"], lb.hosts["c1"]
	for _, how := range []string{"Close", "context"} {
		t.Run(how, func(t *testing.T) {
			lb.t = t
			before := runtime.NumGoroutine()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			a := New(ctx, Options{ProbeInterval: 20 * time.Millisecond})
			lb.own(n1, a, vip4, vip6)
			if mac := lb.resolve(c1, vip4, 2*time.Second); mac != n1.mac.String() {
				t.Fatalf("client resolved %s to %q before closing, want n1's %s", vip4, mac, n1.mac)
			}
			if how == "Close" {
				if err := a.Close(); err != nil {
					t.Fatal(err)
				}
				if err := a.Close(); err != nil {
					t.Fatalf("second Close = %v", err)
				}
			} else {
				cancel()
			}
			var now int
			_, err := poll.Until(context.Background(), 10*time.Millisecond, 2*time.Second, "goroutines to end", func(context.Context) (bool, string, error) {
				now = runtime.NumGoroutine()
				return now <= before, "", nil
			})
			if err != nil {
				buf := make([]byte, 1<<16)
				t.Fatalf("%d goroutines after closing, %d before:\n%s", now, before, buf[:runtime.Stack(buf, true)])
			}
			if err := netlab.InNetns(n1.ns, func() error { return a.SetOwned(nil) }); !errors.Is(err, ErrClosed) {
				t.Fatalf("SetOwned after closing = %v, want ErrClosed", err)
			}
			for _, ip := range []netip.Addr{vip4, vip6} {
				if mac := lb.resolve(c1, ip, time.Second); mac != "" {
					t.Errorf("client resolved %s to %s after closing, want no answer", ip, mac)
				}
			}
		})
	}
}

// TestReadLinks reads a namespace's links over rtnetlink and chooses among
// them.
func TestReadLinks(t *testing.T) {
	lb := newLab(t, "n1")
	n1 := lb.hosts["n1"]
	for _, args := range [][]string{
		{"link", "add", "br1", "type", "bridge"},
		{"link", "add", "v0", "type", "veth", "peer", "name", "v1"},
		{"link", "set", "v0", "master", "br1"},
		{"link", "add", "x0", "type", "veth", "peer", "name", "x1"},
		{"link", "set", "x0", "arp", "off"},
		{"addr", "add", "198.18.7.11/24", "dev", "x0"},
		{"link", "set", "br1", "up"}, {"link", "set", "v0", "up"}, {"link", "set", "v1", "up"},
		{"link", "set", "x0", "up"}, {"link", "set", "x1", "up"},
	} {
		lb.ip(append([]string{"-n", n1.ns}, args...)...)
	}
	var links []Link
	if err := netlab.InNetns(n1.ns, func() (err error) { links, err = ReadLinks(); return err }); err != nil {
		t.Fatal(err)
	}
	byName := map[string]Link{}
	for _, l := range links {
		byName[l.Name] = l
	}
	eth0 := byName["eth0"]
	if eth0.Kind != "veth" || !eth0.Up || eth0.NoARP || eth0.Master != "" || eth0.HardwareAddr.String() != n1.mac.String() ||
		!slices.Contains(eth0.Prefixes, netip.MustParsePrefix("198.18.0.11/24")) ||
		!slices.Contains(eth0.Prefixes, netip.MustParsePrefix("2001:db8:18::11/64")) {
		t.Errorf("eth0 = %+v", eth0)
	}
	if l := byName["lo"]; !l.Loopback {
		t.Errorf("lo = %+v, want loopback", l)
	}
	if l := byName["br1"]; l.Kind != "bridge" {
		t.Errorf("br1 = %+v, want kind bridge", l)
	}
	if l := byName["v0"]; l.Master != "br1" {
		t.Errorf("v0 = %+v, want master br1", l)
	}
	if l := byName["x0"]; !l.NoARP || byName["x1"].NoARP {
		t.Errorf("x0 = %+v, x1 = %+v: want x0 NOARP only", l, byName["x1"])
	}
	for _, tc := range []struct {
		ip    string
		names []string
		want  []string
	}{
		{"198.18.0.50", nil, []string{"eth0"}},
		{"198.18.7.50", nil, nil}, // only NOARP x0 covers it, and no InternalIP given
		{"198.18.0.50", []string{"v0", "x0", "lo", "v1"}, []string{"v1"}},
	} {
		if got := Choose(netip.MustParseAddr(tc.ip), links, tc.names, nil); !slices.Equal(got, tc.want) {
			t.Errorf("Choose(%s, %v) = %v, want %v", tc.ip, tc.names, got, tc.want)
		}
	}
}
