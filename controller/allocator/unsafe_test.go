package allocator

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/pylonlb/pylon/config"
)

// unsafeIn writes the unsafe blocks of a pool as "prefix: why, …".
func unsafeIn(pool string) func(*Allocator) string {
	return func(a *Allocator) string {
		var out []string
		for _, u := range a.UnsafeIn(pool) {
			out = append(out, u.String())
		}
		return strings.Join(out, ", ")
	}
}

// unsafeCounts writes a pool's unsafe and available figures per family.
func unsafeCounts(pool string) func(*Allocator) string {
	return func(a *Allocator) string {
		v4, v6 := a.Counts(pool)
		return fmt.Sprintf("v4 unsafe %v available %v v6 unsafe %v available %v", v4.Unsafe, v4.Available, v6.Unsafe, v6.Available)
	}
}

func TestUnsafeAddresses(t *testing.T) {
	s1, s2, s3 := svc("ns/s1"), svc("ns/s2"), svc("ns/s3")
	nodes := []string{"198.51.100.1/32=InternalIP of Node n1", "198.51.100.3/32=ExternalIP of Node n2", "198.51.100.4/30=podCIDR of Node n1"}
	runScenarios(t, []scenario{{
		name:  "lowest free skips Node addresses and pod CIDRs; by name refused",
		pools: []*config.Pool{pool("a", "198.51.100.0/28")},
		steps: []step{
			{"Nodes and pods", setUnsafe(nodes...), "ok"},
			{"the first", alloc(s1, IPv4, ""), "198.51.100.0 a"},
			{"past n1's InternalIP", alloc(s2, IPv4, ""), "198.51.100.2 a"},
			{"past n2's ExternalIP and n1's pod CIDR in one step", alloc(s3, IPv4, ""), "198.51.100.8 a"},
			{"n1's address by name", assign(svc("ns/s4"), "198.51.100.1"), "ErrUnsafe"},
			{"a pod address by name", assign(svc("ns/s4"), "198.51.100.6"), "ErrUnsafe"},
			{"the blocks in the pool", unsafeIn("a"), "198.51.100.1/32: InternalIP of Node n1, 198.51.100.3/32: ExternalIP of Node n2, 198.51.100.4/30: podCIDR of Node n1"},
			{"available leaves them out", unsafeCounts("a"), "v4 unsafe 6 available 7 v6 unsafe 0 available 0"},
		},
	}, {
		name:  "a Node added later: the holder keeps its address; once released it is never handed out",
		pools: []*config.Pool{pool("a", "198.51.100.0/29")},
		steps: []step{
			{"s1 gets .0", alloc(s1, IPv4, ""), "198.51.100.0 a"},
			{"s2 gets .1", alloc(s2, IPv4, ""), "198.51.100.1 a"},
			{"Node n1 appears with .1", setUnsafe(nodes[0]), "ok"},
			{"s2 keeps it", alloc(s2, IPv4, ""), "198.51.100.1 a"},
			{"and asking by name again is fine", assign(s2, "198.51.100.1"), "198.51.100.1 a"},
			{"held and unsafe: neither available nor counted twice", unsafeCounts("a"), "v4 unsafe 1 available 6 v6 unsafe 0 available 0"},
			{"s2 lets go", release("ns/s2"), "ok"},
			{"s3 does not get .1", alloc(s3, IPv4, ""), "198.51.100.2 a"},
			{"a restarted controller restores a held unsafe address", restore(svc("ns/old"), "198.51.100.1"), "198.51.100.1 a"},
			{"released again", release("ns/old"), "ok"},
			{"Node n1 is gone", setUnsafe(), "ok"},
			{".1 is the lowest free again", alloc(svc("ns/s4"), IPv4, ""), "198.51.100.1 a"},
			{"then .3", alloc(svc("ns/s5"), IPv4, ""), "198.51.100.3 a"},
		},
	}, {
		name:  "a shared address that turned unsafe is not joined",
		pools: []*config.Pool{pool("a", "198.51.100.0/29")},
		steps: []step{
			{"web gets .0", alloc(svc("ns/web", sharing("k")), IPv4, ""), "198.51.100.0 a"},
			{"Node n0 appears with .0", setUnsafe("198.51.100.0/32=InternalIP of Node n0"), "ok"},
			{"dns with the same key gets its own", alloc(svc("ns/dns", sharing("k"), ports("UDP/53")), IPv4, ""), "198.51.100.1 a"},
			{"and may not ask for .0 by name", assign(svc("ns/dns2", sharing("k"), ports("UDP/54")), "198.51.100.0"), "ErrUnsafe"},
		},
	}, {
		name: "huge pools and blocks: one step each, counted with math/big",
		pools: []*config.Pool{
			pool("v6", "2001:db8::/64"),
			pool("all4", "0.0.0.0/0", noAuto),
		},
		steps: []step{
			{"the lower half of the /64 is a Service CIDR", setUnsafe("2001:db8::/65=ServiceCIDR kubernetes"), "ok"},
			{"the first address of the upper half", alloc(s1, IPv6, ""), "2001:db8:0:0:8000:: v6"},
			{"counts", unsafeCounts("v6"), "v4 unsafe 0 available 0 v6 unsafe 9223372036854775808 available 9223372036854775807"},
			{"0.0.0.0/0 starts past 0.0.0.0/8", alloc(s1, IPv4, "all4"), "1.0.0.0 all4"},
			{"fixed ranges are counted", unsafeCounts("all4"), "v4 unsafe 570490880 available 3724476415 v6 unsafe 0 available 0"},
			{"loopback by name", assign(s2, "127.0.0.1"), "ErrUnsafe"},
			{"multicast by name", assign(s2, "224.0.0.5"), "ErrUnsafe"},
			{"broadcast by name", assign(s2, "255.255.255.255"), "ErrUnsafe"},
			{"link-local by name", assign(s2, "169.254.169.254"), "ErrUnsafe"},
		},
	}})
}

func TestUnsafeReasons(t *testing.T) {
	a := New()
	a.SetUnsafe([]config.Unsafe{
		{Prefix: netip.MustParsePrefix("198.51.100.1/32"), Why: "InternalIP of Node n1"},
		{Prefix: netip.MustParsePrefix("198.51.100.0/24"), Why: "podCIDR of Node n1"},
		{Prefix: netip.MustParsePrefix("::ffff:198.51.100.7/128"), Why: "mapped"},
	})
	for ip, want := range map[string]string{
		"198.51.100.1":    "198.51.100.0/24: podCIDR of Node n1; 198.51.100.1/32: InternalIP of Node n1",
		"198.51.100.7":    "198.51.100.0/24: podCIDR of Node n1; 198.51.100.7/32: mapped",
		"127.0.0.1":       "127.0.0.0/8: loopback",
		"fe80::1":         "fe80::/10: link-local",
		"198.51.101.1":    "",
		"2001:db8::1":     "",
		"255.255.255.255": "240.0.0.0/4: reserved (240.0.0.0/4) and limited broadcast (255.255.255.255)",
	} {
		if got := unsafeWhy(a.Unsafe(netip.MustParseAddr(ip))); got != want {
			t.Errorf("Unsafe(%s) = %q, want %q", ip, got, want)
		}
	}
	a.SetPools([]*config.Pool{pool("a", "198.51.100.0/24")})
	_, err := a.Assign(svc("ns/s"), netip.MustParseAddr("198.51.100.1"))
	if err == nil || !strings.Contains(err.Error(), "InternalIP of Node n1") {
		t.Errorf("Assign error %v does not say why", err)
	}
}
