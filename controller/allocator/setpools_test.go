package allocator

import (
	"testing"

	"github.com/pylonlb/pylon/config"
)

func TestSetPoolsAndRestore(t *testing.T) {
	s1, s2, s3 := svc("ns/s1"), svc("ns/s2"), svc("ns/s3")
	a := pool("a", "10.0.0.0/30")
	b := pool("b", "10.0.1.0/30")
	runScenarios(t, []scenario{{
		name:  "a removed pool's addresses stay held",
		pools: []*config.Pool{a, b},
		steps: []step{
			{"s1 in a", alloc(s1, IPv4, ""), "10.0.0.0 a"},
			{"a is deleted", setPools(b), "ok"},
			{"s1 keeps its address, in no pool", ips("ns/s1"), "10.0.0.0"},
			{"no pool holds it", poolOf("10.0.0.0"), "-"},
			{"nobody else may ask for it", assign(s2, "10.0.0.0"), "ErrNotInPool"},
			{"nor restore it", restore(s2, "10.0.0.0"), "ErrInUse"},
			{"s1 itself gets it back from Allocate", alloc(s1, IPv4, ""), "10.0.0.0"},
			{"a comes back", setPools(a, b), "ok"},
			{"the address is a's again", poolOf("10.0.0.0"), "a"},
			{"counted again", counts("a"), "v4 4/1/3 v6 0/0/0"},
			{"s2 does not get it", alloc(s2, IPv4, ""), "10.0.0.1 a"},
		},
	}, {
		name:  "pool edits that still cover an address keep it",
		pools: []*config.Pool{a},
		steps: []step{
			{"s1", alloc(s1, IPv4, ""), "10.0.0.0 a"},
			{"s2", alloc(s2, IPv4, ""), "10.0.0.1 a"},
			{"s1 leaves", release("ns/s1"), "ok"},
			{"a grows", setPools(pool("a", "10.0.0.0/29")), "ok"},
			{"s2 keeps its address", poolOf("10.0.0.1"), "a"},
			{"the lowest free is found again", alloc(s3, IPv4, ""), "10.0.0.0 a"},
			{"and the one after the held one", alloc(s1, IPv4, ""), "10.0.0.2 a"},
			{"a is renamed and moves to priority order after b", setPools(b, pool("c", "10.0.0.0/29")), "ok"},
			{"addresses follow the range", poolOf("10.0.0.1"), "c"},
			{"a new service goes to b first", alloc(svc("ns/s4"), IPv4, ""), "10.0.1.0 b"},
		},
	}, {
		name:  "SetPools names the held addresses whose standing changed",
		pools: []*config.Pool{a, b},
		steps: []step{
			{"s1 in a", alloc(s1, IPv4, ""), "10.0.0.0 a"},
			{"s2 in a", alloc(s2, IPv4, "a"), "10.0.0.1 a"},
			{"k1 in b", alloc(svc("ns/k1", sharing("k")), IPv4, "b"), "10.0.1.0 b"},
			{"the same pools again: nothing", repool(a, b), "-"},
			{"a shrinks past 10.0.0.1", repool(pool("a", "10.0.0.0/32"), b), "10.0.0.1"},
			{"a grows back", repool(a, b), "10.0.0.1"},
			{"a is renamed", repool(pool("c", "10.0.0.0/30"), b), "10.0.0.0 10.0.0.1"},
			{"b now lets namespaces share: k1 holds its address alone", repool(pool("c", "10.0.0.0/30"), pool("b", "10.0.1.0/30", acrossNS)), "-"},
			{"k2 of another namespace shares it", assign(svc("other/k2", sharing("k"), ports("TCP/443")), "10.0.1.0"), "10.0.1.0 b"},
			{"b no longer lets namespaces share", repool(pool("c", "10.0.0.0/30"), pool("b", "10.0.1.0/30")), "10.0.1.0"},
			{"the other pool's edit leaves b's address alone", repool(pool("c", "10.0.0.0/29"), pool("b", "10.0.1.0/30")), "-"},
			{"b is deleted", repool(pool("c", "10.0.0.0/29")), "10.0.1.0"},
		},
	}, {
		name:  "unchanged ranges keep their state across SetPools",
		pools: []*config.Pool{a},
		steps: []step{
			{"fill", fill("ns/f", 4, IPv4, ""), "10.0.0.3 a"},
			{"f-1 leaves", release("ns/f-1"), "ok"},
			{"same pool again", setPools(pool("a", "10.0.0.0/30")), "ok"},
			{"the freed address comes back", alloc(s1, IPv4, ""), "10.0.0.1 a"},
			{"avoidBuggyIPs turned on", setPools(pool("a", "10.0.0.0/30", avoidBuggy)), "ok"},
			{"the .0 held counts as allocated, not against available", counts("a"), "v4 3/4/0 v6 0/0/0"},
			{"f-0 leaves", release("ns/f-0"), "ok"},
			{"its .0 is not handed out", alloc(s2, IPv4, ""), "ErrPoolExhausted"},
		},
	}, {
		name:  "Restore on start",
		pools: []*config.Pool{a, pool("manual", "10.0.2.0/30", noAuto), pool("team", "10.0.3.0/30", namespaces("team"))},
		steps: []step{
			{"an address of a", restore(s1, "10.0.0.2"), "10.0.0.2 a"},
			{"twice is fine", restore(s1, "10.0.0.2"), "10.0.0.2 a"},
			{"a non-autoAssign pool", restore(s2, "10.0.2.0"), "10.0.2.0 manual"},
			{"a pool that does not take the Service", restore(s3, "10.0.3.0"), "10.0.3.0 team"},
			{"an address in no pool: reported, and held", restore(svc("ns/s4"), "192.0.2.1"), "ErrNotInPool"},
			{"held", ips("ns/s4"), "192.0.2.1"},
			{"another Service may not restore it", restore(svc("ns/s5"), "192.0.2.1"), "ErrInUse"},
			{"nor the one of s1", restore(svc("ns/s5"), "10.0.0.2"), "ErrInUse"},
			{"a pool that covers it appears", setPools(a, pool("doc", "192.0.2.0/24")), "ok"},
			{"attributed", poolOf("192.0.2.1"), "doc"},
			{"and allocation skips it", alloc(svc("ns/s6"), IPv4, "doc"), "192.0.2.0 doc"},
			{"and the next", alloc(svc("ns/s7"), IPv4, "doc"), "192.0.2.2 doc"},
			{"a's allocation skips the restored one", fill("ns/f", 3, IPv4, ""), "10.0.0.3 a"},
		},
	}})
}
