package allocator

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"

	"github.com/pylonlb/pylon/config"
)

// churn is a pool filled with n Services, and spare keys for newcomers.
type churn struct {
	a      *Allocator
	family Family
	keys   []string // keys[i] holds an address
	spare  []string // keys that hold nothing
	rng    uint64
}

func newChurn(tb testing.TB, cidr string, family Family, n int) *churn {
	c := &churn{a: New(), family: family, rng: 0x9e3779b97f4a7c15}
	c.a.SetPools([]*config.Pool{pool("bench", cidr)})
	for i := range 2 * n {
		key := fmt.Sprintf("ns/s%d", i)
		if i >= n {
			c.spare = append(c.spare, key)
			continue
		}
		if _, _, err := c.a.Allocate(Service{Key: key, Namespace: "ns"}, family, ""); err != nil {
			tb.Fatal(err)
		}
		c.keys = append(c.keys, key)
	}
	return c
}

// step releases a pseudo-random Service and allocates for a new one.
func (c *churn) step(tb testing.TB) {
	c.rng ^= c.rng << 13
	c.rng ^= c.rng >> 7
	c.rng ^= c.rng << 17
	j := int(c.rng % uint64(len(c.keys)))
	k := int(c.rng>>32) % len(c.spare)
	old := c.keys[j]
	c.a.Release(old)
	c.keys[j], c.spare[k] = c.spare[k], old
	if _, _, err := c.a.Allocate(Service{Key: c.keys[j], Namespace: "ns"}, c.family, ""); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkAllocateRelease measures one release and one allocation with
// many addresses held. A /16 holds 65,536 addresses, so v4-16 runs at
// 65,000 held (nearly full) and v4-12 at 100,000.
func BenchmarkAllocateRelease(b *testing.B) {
	for _, bc := range []struct {
		name, cidr string
		family     Family
		held       int
	}{
		{"v4-16", "10.0.0.0/16", IPv4, 65000},
		{"v4-12", "10.0.0.0/12", IPv4, 100000},
		{"v6-64", "2001:db8::/64", IPv6, 100000},
		{"v6-48", "2001:db8::/48", IPv6, 100000},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := newChurn(b, bc.cidr, bc.family, bc.held)
			b.ReportAllocs()
			for b.Loop() {
				c.step(b)
			}
		})
	}
}

// BenchmarkMapFloor does the six map operations one release and one
// allocation cannot avoid (find, forget and re-add a Service and its
// address, at 100,000 held) and nothing else, with the same access pattern.
// On a shared machine it tells how much of BenchmarkAllocateRelease's
// figure is the machine's memory latency rather than the allocator.
func BenchmarkMapFloor(b *testing.B) {
	const n = 100000
	type entry struct{ ip netip.Addr }
	svcs := make(map[string]*entry, n)
	ips := make(map[netip.Addr]*entry, n)
	keys, spare := make([]string, n), make([]string, n)
	for i := range n {
		keys[i], spare[i] = fmt.Sprintf("ns/s%d", i), fmt.Sprintf("ns/s%d", n+i)
		e := &entry{netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})}
		svcs[keys[i]], ips[e.ip] = e, e
	}
	rng := uint64(0x9e3779b97f4a7c15)
	b.ReportAllocs()
	for b.Loop() {
		rng ^= rng << 13
		rng ^= rng >> 7
		rng ^= rng << 17
		j, k := int(rng%n), int(rng>>32)%n
		old := keys[j]
		e := svcs[old]
		delete(ips, e.ip)
		delete(svcs, old)
		keys[j], spare[k] = spare[k], old
		if svcs[keys[j]] != nil {
			b.Fatal("key in use")
		}
		e = &entry{e.ip}
		ips[e.ip], svcs[keys[j]] = e, e
	}
}

// TestMemoryIndependentOfPoolSize holds 10,000 addresses in a /16 and in a
// /64 and checks that the /64 costs no more than twice the /16's memory.
func TestMemoryIndependentOfPoolSize(t *testing.T) {
	if testing.Short() {
		t.Skip("measures heap growth")
	}
	measure := func(cidr string, family Family) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		c := newChurn(t, cidr, family, 10000)
		for range 10000 {
			c.step(t)
		}
		c.spare = nil
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(c)
		return after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc)
	}
	v4 := measure("10.0.0.0/16", IPv4)
	v6 := measure("2001:db8::/64", IPv6)
	t.Logf("10,000 held: /16 %d bytes, /64 %d bytes", v4, v6)
	if v4 == 0 || v6 > 2*v4 {
		t.Fatalf("/64 uses %d bytes, /16 %d: memory depends on pool size", v6, v4)
	}
}

// TestHeapStaysBounded takes and frees the same addresses by name over and
// over, which leaves stale and duplicate heap entries, and checks that
// compaction keeps the heap within bounds.
func TestHeapStaysBounded(t *testing.T) {
	c := newChurn(t, "10.0.0.0/16", IPv4, 2000)
	for i := 0; i < 2000; i += 2 {
		c.a.Release(c.keys[i])
	}
	for i := range 20000 {
		ip := addr(fmt.Sprintf("10.0.%d.%d", i%1000/256, i%1000%256))
		s := Service{Key: "ns/x", Namespace: "ns"}
		if _, err := c.a.Assign(s, ip); err == nil {
			c.a.Release(s.Key)
		}
		if i%1000 == 0 {
			if err := c.a.check(); err != nil {
				t.Fatal(err)
			}
		}
	}
	r := c.a.pools[0].ranges[0]
	if len(r.free) > 2*r.nfree+r.slack {
		t.Fatalf("heap of %d for %d free", len(r.free), r.nfree)
	}
	for _, key := range c.keys {
		c.a.Release(key)
	}
	if r.nheld != 0 || r.free != nil {
		t.Fatalf("range not reset once empty: %d held, heap %d", r.nheld, len(r.free))
	}
}
