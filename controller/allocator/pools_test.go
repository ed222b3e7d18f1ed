package allocator

import (
	"testing"

	"github.com/pylonlb/pylon/config"
)

func TestPoolRules(t *testing.T) {
	s1, s2 := svc("ns/s1"), svc("ns/s2")
	runScenarios(t, []scenario{{
		name:  "avoidBuggyIPs on a /23 skips .0 and .255 at the boundary",
		pools: []*config.Pool{pool("a", "10.0.0.0/23", avoidBuggy)},
		steps: []step{
			{"the first address handed out is .1", alloc(s1, IPv4, ""), "10.0.0.1 a"},
			{"counts leave out four addresses", counts("a"), "v4 508/1/507 v6 0/0/0"},
			{"asking for .255 by name: refused", assign(s2, "10.0.0.255"), "ErrBuggyIP"},
			{"asking for the next .0: refused", assign(s2, "10.0.1.0"), "ErrBuggyIP"},
			{"fill up to the boundary", fill("ns/f", 253, IPv4, ""), "10.0.0.254 a"},
			{"past it, .255 and .0 are skipped", alloc(s2, IPv4, ""), "10.0.1.1 a"},
			{"Restore keeps a .255 a Service already has", restore(svc("ns/old"), "10.0.1.255"), "10.0.1.255 a"},
			{"it is allocated but takes nothing from what is available", counts("a"), "v4 508/256/253 v6 0/0/0"},
			{"a .0 released by its holder is not handed out again", func(a *Allocator) string {
				a.Restore(svc("ns/zero"), addr("10.0.0.0"))
				a.Release("ns/zero")
				return result(a.Allocate(svc("ns/next"), IPv4, ""))
			}, "10.0.1.2 a"},
		},
	}, {
		name: "IPv6 /64 and /48 are never walked",
		pools: []*config.Pool{
			pool("v6-64", "2001:db8:0:1::/64"),
			pool("v6-48", "2001:db8:1::/48", noAuto),
		},
		steps: []step{
			{"the lowest of the /64", alloc(s1, IPv6, ""), "2001:db8:0:1:: v6-64"},
			{"the top of the /64 by name", assign(s2, "2001:db8:0:1:ffff:ffff:ffff:ffff"), "2001:db8:0:1:ffff:ffff:ffff:ffff v6-64"},
			{"next is still low", alloc(svc("ns/s3"), IPv6, ""), "2001:db8:0:1::1 v6-64"},
			{"/64 total is 2^64", counts("v6-64"), "v4 0/0/0 v6 18446744073709551616/3/18446744073709551613"},
			{"the /48 by name", alloc(svc("ns/s4"), IPv6, "v6-48"), "2001:db8:1:: v6-48"},
			{"the top of the /48", assign(svc("ns/s5"), "2001:db8:1:ffff:ffff:ffff:ffff:ffff"), "2001:db8:1:ffff:ffff:ffff:ffff:ffff v6-48"},
			{"/48 total is 2^80", counts("v6-48"), "v4 0/0/0 v6 1208925819614629174706176/2/1208925819614629174706174"},
		},
	}, {
		name:  "the last address of the address space is special: skipped in one step, no wrap",
		pools: []*config.Pool{pool("top", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127"), pool("top4", "255.255.255.254/31"), pool("low", "fec0::/127")},
		steps: []step{
			{"ff00::/8 is multicast: none", alloc(s1, IPv6, "top"), "ErrPoolExhausted"},
			{"by name: refused", assign(s1, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "ErrUnsafe"},
			{"IPv4 240/4 and 255.255.255.255: none", alloc(s1, IPv4, ""), "ErrPoolExhausted"},
			{"no wrap to ::, the next pool", alloc(s1, IPv6, ""), "fec0:: low"},
			{"counted unsafe", counts("top4"), "v4 2/0/0 v6 0/0/0"},
		},
	}, {
		name:  "autoAssign false: only by name",
		pools: []*config.Pool{pool("manual", "10.0.0.0/31", noAuto)},
		steps: []step{
			{"not used without a name", alloc(s1, IPv4, ""), "ErrNoPool"},
			{"used by name", alloc(s1, IPv4, "manual"), "10.0.0.0 manual"},
			{"used by address", assign(s2, "10.0.0.1"), "10.0.0.1 manual"},
		},
	}, {
		name: "namespaces, namespace selector, service selector",
		pools: []*config.Pool{
			pool("team", "10.0.1.0/30", namespaces("team-a"), nsSelector("env=prod")),
			pool("web", "10.0.2.0/30", svcSelector("app=web")),
			pool("any", "10.0.3.0/30"),
		},
		steps: []step{
			{"a listed namespace", alloc(svc("team-a/s"), IPv4, ""), "10.0.1.0 team"},
			{"a namespace whose labels match", alloc(svc("other/s", nsLabels("env=prod")), IPv4, ""), "10.0.1.1 team"},
			{"neither: the next pool that takes it", alloc(svc("other/t", nsLabels("env=dev")), IPv4, ""), "10.0.3.0 any"},
			{"by name: refused", alloc(svc("other/u"), IPv4, "team"), "ErrNotAllowed"},
			{"by address: refused", assign(svc("other/u"), "10.0.1.2"), "ErrNotAllowed"},
			{"service selector matches", alloc(svc("other/w", svcLabels("app=web")), IPv4, ""), "10.0.2.0 web"},
			{"service selector does not", assign(svc("other/x", svcLabels("app=db")), "10.0.2.1"), "ErrNotAllowed"},
			{"Restore keeps what a Service already has", restore(svc("other/y"), "10.0.1.3"), "10.0.1.3 team"},
			{"and Assign of a held address does not ask again", assign(svc("other/y"), "10.0.1.3"), "10.0.1.3 team"},
			{"only pools that take the Service: ErrNoPool when none", func(a *Allocator) string {
				a.SetPools([]*config.Pool{pool("team", "10.0.1.0/30", namespaces("team-a"))})
				return result(a.Allocate(svc("other/z"), IPv4, ""))
			}, "ErrNoPool"},
		},
	}, {
		name: "an Overlapping pool gives out nothing new but keeps what is held",
		pools: []*config.Pool{
			pool("old", "10.0.0.0/30"),
			pool("new", "10.0.0.2/31", "10.0.0.8/30", overlaps("old")),
		},
		steps: []step{
			{"by name: refused", alloc(s1, IPv4, "new"), "ErrPoolUnusable"},
			{"its own address by name: refused", assign(s1, "10.0.0.9"), "ErrPoolUnusable"},
			{"a shared address belongs to the older pool", assign(s1, "10.0.0.2"), "10.0.0.2 old"},
			{"Restore keeps an address of it", restore(s2, "10.0.0.9"), "10.0.0.9 new"},
			{"the holder may confirm it", assign(s2, "10.0.0.9"), "10.0.0.9 new"},
			{"and Allocate returns it", alloc(s2, IPv4, ""), "10.0.0.9 new"},
			{"nobody else gets it", assign(svc("ns/s3"), "10.0.0.9"), "ErrPoolUnusable"},
			{"nothing available in it", counts("new"), "v4 6/1/0 v6 0/0/0"},
			{"the older pool counts the shared one", counts("old"), "v4 4/1/3 v6 0/0/0"},
			{"Allocate never lands in it", fill("ns/f", 4, IPv4, ""), "ErrPoolExhausted"},
			{"the overlap is removed: the pool gives out again", setPools(pool("new", "10.0.0.8/30")), "ok"},
			{"the old pool's addresses are kept, in no pool", poolOf("10.0.0.2"), "-"},
			{"lowest free of the new pool", alloc(svc("ns/s4"), IPv4, ""), "10.0.0.8 new"},
			{"skipping the held one", alloc(svc("ns/s5"), IPv4, ""), "10.0.0.10 new"},
		},
	}, {
		name: "two usable pools that overlap: the later one is treated as Overlapping",
		pools: []*config.Pool{
			pool("one", "10.0.0.0/31"),
			pool("two", "10.0.0.0/30"),
		},
		steps: []step{
			{"one", fill("ns/f", 2, IPv4, ""), "10.0.0.1 one"},
			{"two gives out nothing", alloc(s1, IPv4, ""), "ErrPoolExhausted"},
			{"by name", alloc(s1, IPv4, "two"), "ErrPoolUnusable"},
		},
	}})
}
