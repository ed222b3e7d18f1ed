package config

import (
	"net/netip"
	"testing"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// TestAggregationNeverDefaultRoute: an advertisement never announces a
// default route, nor an aggregate that holds a special address; host routes
// of a pool that covers special ranges are fine (the controller never hands
// those addresses out).
func TestAggregationNeverDefaultRoute(t *testing.T) {
	pools := []v1alpha1.IPPool{
		pool("all4", 0, "0.0.0.0/0"),
		pool("all6", 1, "::/0"),
		pool("loop", 2, "127.0.0.0/8"),
		pool("mcast", 3, "224.0.0.0/24", "ff02::/64"),
		pool("doc", 4, "192.0.2.0/24", "2001:db8::/64"),
	}
	tests := []struct {
		name      string
		pool      string
		v4, v6    int32
		ok        bool
		fragments []string
	}{
		{"0.0.0.0/0 at /0 is a default route", "all4", 0, 128, false, []string{"spec.aggregationLength", "default route"}},
		{"::/0 at /0 is a default route", "all6", 32, 0, false, []string{"spec.aggregationLengthV6", "default route"}},
		{"0.0.0.0/0 at /1 covers 0.0.0.0/8 and loopback", "all4", 1, 128, false, []string{"0.0.0.0/8", "127.0.0.0/8: loopback"}},
		{"127.0.0.0/8 at /8", "loop", 8, 128, false, []string{"127.0.0.0/8: loopback"}},
		{"multicast at /24 and /64", "mcast", 24, 64, false, []string{"224.0.0.0/4: multicast", "ff00::/8: multicast"}},
		{"0.0.0.0/0 as host routes", "all4", 32, 128, true, nil},
		{"documentation ranges aggregated", "doc", 24, 64, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			adv := v1alpha1.BGPAdvertisement{ObjectMeta: meta("agg", 0), Spec: v1alpha1.BGPAdvertisementSpec{
				IPPools: objectNames(tt.pool), AggregationLength: &tt.v4, AggregationLengthV6: &tt.v6,
			}}
			c := Parse(Resources{Pools: pools, BGPAdvertisements: []v1alpha1.BGPAdvertisement{adv}})
			if tt.ok {
				if len(c.BGPAdvertisements) != 1 || len(c.ProblemsFor(KindBGPAdvertisement, "agg")) != 0 {
					t.Fatalf("advertisement refused: %+v", c.ProblemsFor(KindBGPAdvertisement, "agg"))
				}
				return
			}
			wantProblem(t, c, KindBGPAdvertisement, "agg", ReasonAggregation, true, tt.fragments...)
			if len(c.BGPAdvertisements) != 0 {
				t.Errorf("an advertisement announcing unsafe addresses must be left out")
			}
		})
	}
}

func TestSpecial(t *testing.T) {
	for in, want := range map[string]string{
		"0.0.0.0": "0.0.0.0/8", "127.0.0.1": "127.0.0.0/8", "169.254.1.1": "169.254.0.0/16", "239.1.1.1": "224.0.0.0/4",
		"255.255.255.255": "240.0.0.0/4", "::": "::/128", "::1": "::1/128", "fe80::1": "fe80::/10", "ff02::1": "ff00::/8",
		"::ffff:127.0.0.1": "127.0.0.0/8",
	} {
		if u, ok := Special(netip.MustParseAddr(in)); !ok || u.Prefix.String() != want {
			t.Errorf("Special(%s) = %v, %v; want %s", in, u, ok, want)
		}
	}
	for _, in := range []string{"1.0.0.0", "126.255.255.255", "198.51.100.1", "223.255.255.255", "::2", "fec0::1", "2001:db8::1"} {
		if u, ok := Special(netip.MustParseAddr(in)); ok {
			t.Errorf("Special(%s) = %v; want none", in, u)
		}
	}
}

// TestSpecialWholeRanges: the first and the last address of every special
// range are special, and found in that range (maybeSpecial lets none
// through unchecked).
func TestSpecialWholeRanges(t *testing.T) {
	for _, u := range SpecialRanges() {
		for _, a := range []netip.Addr{u.Prefix.Addr(), RangeOf(u.Prefix).Last} {
			if got, ok := Special(a); !ok || got.Prefix != u.Prefix {
				t.Errorf("Special(%s) = %v, %v; want %s", a, got, ok, u)
			}
		}
	}
}
