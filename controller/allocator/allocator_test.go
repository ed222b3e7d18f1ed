package allocator

import (
	"net/netip"
	"testing"

	"github.com/pylonlb/pylon/config"
)

func TestBasics(t *testing.T) {
	s1, s2, s3 := svc("ns/s1"), svc("ns/s2"), svc("ns/s3")
	runScenarios(t, []scenario{{
		name:  "lowest free first, never stolen",
		pools: []*config.Pool{pool("a", "10.0.0.0/30")},
		steps: []step{
			{"s1 gets the lowest address", alloc(s1, IPv4, ""), "10.0.0.0 a"},
			{"s1 asks again: same address", alloc(s1, IPv4, ""), "10.0.0.0 a"},
			{"s2 gets the next one", alloc(s2, IPv4, ""), "10.0.0.1 a"},
			{"s2 asks for s1's IP: refused", assign(s2, "10.0.0.0"), "ErrInUse"},
			{"s3 asks for a free one by name", assign(s3, "10.0.0.3"), "10.0.0.3 a"},
			{"s3 asks again: idempotent", assign(s3, "10.0.0.3"), "10.0.0.3 a"},
			{"s3 holds it", ips("ns/s3"), "10.0.0.3"},
			{"s1 released", release("ns/s1"), "ok"},
			{"s1 holds nothing", ips("ns/s1"), ""},
			{"the released address is not attributed", poolOf("10.0.0.0"), "-"},
			{"s2 asks again: keeps its own", alloc(s2, IPv4, ""), "10.0.0.1 a"},
			{"s4 gets the lowest free: s1's old address", alloc(svc("ns/s4"), IPv4, ""), "10.0.0.0 a"},
			{"s5 gets the one the mark skipped to", alloc(svc("ns/s5"), IPv4, ""), "10.0.0.2 a"},
			{"s6: the pool is exhausted", alloc(svc("ns/s6"), IPv4, ""), "ErrPoolExhausted"},
			{"s6: no pool has IPv6", alloc(svc("ns/s6"), IPv6, ""), "ErrNoPool"},
			{"releasing an address s2 does not hold does nothing", releaseIP("ns/s2", "10.0.0.3"), "ok"},
			{"s3's address is still held", poolOf("10.0.0.3"), "a"},
			{"s3 lets go of its address", releaseIP("ns/s3", "10.0.0.3"), "ok"},
			{"s6 gets it", alloc(svc("ns/s6"), IPv4, ""), "10.0.0.3 a"},
			{"counts", counts("a"), "v4 4/4/0 v6 0/0/0"},
		},
	}, {
		name:  "an address freed below the mark and taken back by name is skipped",
		pools: []*config.Pool{pool("a", "10.0.0.0/29")},
		steps: []step{
			{"fill four", fill("ns/f", 4, IPv4, ""), "10.0.0.3 a"},
			{"f-0 leaves", release("ns/f-0"), "ok"},
			{"f-2 leaves", release("ns/f-2"), "ok"},
			{"s1 takes f-0's address by name", assign(s1, "10.0.0.0"), "10.0.0.0 a"},
			{"s2 gets f-2's", alloc(s2, IPv4, ""), "10.0.0.2 a"},
			{"s3 gets the next never used", alloc(s3, IPv4, ""), "10.0.0.4 a"},
		},
	}, {
		name:  "bad input",
		pools: []*config.Pool{pool("a", "10.0.0.0/30")},
		steps: []step{
			{"the zero address", assign(s1, ""), "ErrInvalidIP"},
			{"restore of the zero address", restore(s1, ""), "ErrInvalidIP"},
			{"an address with a zone", func(a *Allocator) string {
				_, err := a.Assign(s1, addr("fe80::1%eth0"))
				return result(netip.Addr{}, "", err)
			}, "ErrInvalidIP"},
			{"a family that does not exist", alloc(s1, Family(5), ""), "ErrInvalidFamily"},
			{"a pool that does not exist", alloc(s1, IPv4, "nope"), "ErrPoolNotFound"},
			{"a named pool without the family", alloc(s1, IPv6, "a"), "ErrNoPool"},
			{"an address in no pool", assign(s1, "192.0.2.1"), "ErrNotInPool"},
			{"nothing was held", ips("ns/s1"), ""},
			{"counts of an unknown pool are zero", counts("nope"), "v4 0/0/0 v6 0/0/0"},
		},
	}, {
		name:  "dual stack",
		pools: []*config.Pool{pool("a", "2001:db8::/126", "10.0.0.0/30")},
		steps: []step{
			{"s1 asks for IPv6", alloc(s1, IPv6, ""), "2001:db8:: a"},
			{"s1 asks for IPv4", alloc(s1, IPv4, ""), "10.0.0.0 a"},
			{"IPv4 listed first", ips("ns/s1"), "10.0.0.0 2001:db8::"},
			{"s1 lets go of its IPv6", releaseIP("ns/s1", "2001:db8::"), "ok"},
			{"IPv4 kept", ips("ns/s1"), "10.0.0.0"},
			{"s1 released", release("ns/s1"), "ok"},
			{"counts", counts("a"), "v4 4/0/4 v6 4/0/4"},
		},
	}, {
		name:  "ranges are used in order, one after the other",
		pools: []*config.Pool{pool("a", "10.0.0.20-10.0.0.21", "10.0.0.10-10.0.0.12")},
		steps: []step{
			{"first of the first range", alloc(svc("ns/1"), IPv4, ""), "10.0.0.10 a"},
			{"s2 takes the second range's first by name", assign(s2, "10.0.0.20"), "10.0.0.20 a"},
			{"fill the rest", fill("ns/f", 3, IPv4, ""), "10.0.0.21 a"},
			{"exhausted", alloc(s3, IPv4, ""), "ErrPoolExhausted"},
			{"an address between the ranges is in no pool", assign(s3, "10.0.0.15"), "ErrNotInPool"},
			{"counts", counts("a"), "v4 5/5/0 v6 0/0/0"},
		},
	}, {
		name:  "pools are tried in the order given",
		pools: []*config.Pool{pool("first", "10.0.1.0/31"), pool("second", "10.0.0.0/30")},
		steps: []step{
			{"from the first pool, though its addresses are higher", alloc(s1, IPv4, ""), "10.0.1.0 first"},
			{"fill it", alloc(s2, IPv4, ""), "10.0.1.1 first"},
			{"then from the second", alloc(s3, IPv4, ""), "10.0.0.0 second"},
			{"by name from the second", alloc(svc("ns/s4"), IPv4, "second"), "10.0.0.1 second"},
			{"by name from the full first", alloc(svc("ns/s5"), IPv4, "first"), "ErrPoolExhausted"},
			{"s1 leaves: the first pool has room again", release("ns/s1"), "ok"},
			{"back to the first", alloc(svc("ns/s5"), IPv4, ""), "10.0.1.0 first"},
		},
	}})
}
