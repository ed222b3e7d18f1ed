package speaker

import (
	"net/netip"
	"slices"
	"testing"
	"time"
)

// TestNoInterfaceGrace: an address is published once it has had no
// interface for publishAfter, not before; one that gets an interface back
// starts over; one published already stays published.
func TestNoInterfaceGrace(t *testing.T) {
	var g noInterfaceGrace
	t0 := time.Unix(1e9, 0)
	a, b := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.2")
	check := func(at time.Duration, missing []netip.Addr, published map[netip.Addr]bool, want []netip.Addr, wantDue time.Duration) {
		t.Helper()
		got, due := g.publish(t0.Add(at), missing, published)
		if !slices.Equal(got, want) || due != wantDue {
			t.Errorf("at %v: publish %v, next due in %v; want %v, %v", at, got, due, want, wantDue)
		}
	}
	check(0, []netip.Addr{a}, nil, nil, publishAfter)
	check(400*time.Millisecond, []netip.Addr{a, b}, nil, nil, 600*time.Millisecond)
	check(publishAfter, []netip.Addr{a, b}, nil, []netip.Addr{a}, 400*time.Millisecond)
	// b gets its interface back, then loses it again: it starts over.
	check(publishAfter+100*time.Millisecond, []netip.Addr{a}, nil, []netip.Addr{a}, 0)
	check(publishAfter+200*time.Millisecond, []netip.Addr{a, b}, nil, []netip.Addr{a}, publishAfter)
	// A speaker that restarted: what it published stays published.
	g = noInterfaceGrace{}
	check(0, []netip.Addr{a, b}, map[netip.Addr]bool{b: true}, []netip.Addr{b}, publishAfter)
}
