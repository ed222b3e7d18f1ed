package allocator

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"testing"

	"github.com/pylonlb/pylon/config"
)

// fuzzPools builds the fuzz test's pool set: a choice among six small pools
// (mask), the order they are tried in (rotate) and a few variations (flags).
// The pools are tiny so that collisions, exhaustion and sharing happen often:
//
//	a  10.0.0.0/30 (flag 1: /29; flag 2: avoidBuggyIPs; flag 8: sharing
//	   across namespaces allowed)
//	b  10.0.1.253-10.0.2.2 and 2001:db8:1::/127, avoidBuggyIPs, sharing
//	   across namespaces allowed
//	c  2001:db8::/126
//	d  10.0.0.2/31 and 10.0.0.8/31, Overlapping a (flag 4: not marked)
//	e  10.0.3.0/31, autoAssign off
//	f  10.0.4.0/31 and 2001:db8:2::/127, for namespace ns1 or env=prod
//	   namespaces, and Services labelled app=web
func fuzzPools(mask, rotate, flags byte) []*config.Pool {
	all := fuzzPoolSets[flags&15]
	var out []*config.Pool
	for i, p := range all {
		if mask&(1<<i) != 0 {
			out = append(out, p)
		}
	}
	if len(out) > 0 {
		k := int(rotate) % len(out)
		out = append(out[k:], out[:k]...)
	}
	return out
}

// fuzzPoolSets are the six pools for each of the sixteen flag values, built
// once: pools are never changed, so the Allocator and the model share them.
var fuzzPoolSets = func() (sets [16][]*config.Pool) {
	for flags := range byte(16) {
		sets[flags] = buildFuzzPools(flags)
	}
	return sets
}()

func buildFuzzPools(flags byte) []*config.Pool {
	aOpts := []any{"10.0.0.0/30"}
	if flags&1 != 0 {
		aOpts[0] = "10.0.0.0/29"
	}
	if flags&2 != 0 {
		aOpts = append(aOpts, avoidBuggy)
	}
	if flags&8 != 0 {
		aOpts = append(aOpts, acrossNS)
	}
	dOpts := []any{"10.0.0.2/31", "10.0.0.8/31"}
	if flags&4 == 0 {
		dOpts = append(dOpts, overlaps("a"))
	}
	return []*config.Pool{
		pool("a", aOpts...),
		pool("b", "10.0.1.253-10.0.2.2", "2001:db8:1::/127", avoidBuggy, acrossNS),
		pool("c", "2001:db8::/126"),
		pool("d", dOpts...),
		pool("e", "10.0.3.0/31", noAuto),
		pool("f", "10.0.4.0/31", "2001:db8:2::/127", namespaces("ns1"), nsSelector("env=prod"), svcSelector("app=web")),
	}
}

// fuzzIPs are the addresses Assign, Restore and ReleaseIP pick from: every
// address of every pool variant, and a few in no pool.
var fuzzIPs = func() []netip.Addr {
	seen := map[netip.Addr]bool{}
	var out []netip.Addr
	for _, p := range append(fuzzPools(0xff, 0, 0), fuzzPools(0xff, 0, 7)...) {
		for _, r := range p.Ranges {
			for a := r.First; ; a = a.Next() {
				if !seen[a] {
					seen[a] = true
					out = append(out, a)
				}
				if a == r.Last {
					break
				}
			}
		}
	}
	for _, s := range []string{"192.0.2.1", "10.0.2.3", "2001:db8:ff::1", "::ffff:10.0.0.1"} {
		out = append(out, netip.MustParseAddr(s))
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}()

// fuzzKeys is how many Services the fuzz test uses: enough to fill every
// pool.
const fuzzKeys = 24

// fuzzService returns one of fuzzKeys Services; attrs picks its sharing key,
// ports, traffic policy, pod selector and labels, so one key can change
// between calls.
func fuzzService(k, attrs byte) Service { return fuzzServices[k%fuzzKeys][attrs&0x7f] }

// fuzzServices are built once; neither the Allocator nor the model changes
// a Service's maps or slices.
var fuzzServices = func() (out [fuzzKeys][128]Service) {
	for k := range byte(fuzzKeys) {
		for attrs := range byte(128) {
			out[k][attrs] = buildFuzzService(k, attrs)
		}
	}
	return out
}()

func buildFuzzService(k, attrs byte) Service {
	i := int(k)
	ns := []string{"ns1", "ns2", "ns3"}[i%3]
	s := Service{
		Key:             fmt.Sprintf("%s/s%d", ns, i),
		Namespace:       ns,
		NamespaceLabels: map[string]map[string]string{"ns1": {"env": "dev"}, "ns2": {"env": "prod"}, "ns3": nil}[ns],
		SharingKey:      []string{"", "k1", "k2", "k1"}[attrs&3],
		Ports: [][]Port{
			{{"TCP", 80}}, {{"TCP", 443}}, {{"UDP", 80}}, {{"TCP", 80}, {"UDP", 53}},
		}[attrs>>2&3],
		Local:    attrs>>4&1 == 1,
		Selector: []map[string]string{{"app": "web"}, {"app": "db"}}[attrs>>5&1],
	}
	if attrs>>6&1 == 1 {
		s.Labels = map[string]string{"app": "web"}
	}
	return s
}

var fuzzPoolNames = []string{"", "", "", "a", "b", "c", "d", "e", "f", "nope"}

// FuzzAllocator runs a random sequence of operations, four bytes each, on
// the Allocator and on the brute-force model, and checks after every step
// that they answer the same (address, pool, error), hold the same addresses
// for the same Services, count the same, and that the Allocator is
// internally consistent. The seed corpus is in testdata/fuzz/FuzzAllocator.
func FuzzAllocator(f *testing.F) {
	var fill []byte // a held address ahead of the mark, then fill pool a
	fill = append(fill, opAssign(0, 0, "10.0.0.2")...)
	for k := range byte(6) {
		fill = append(fill, opAlloc(k+1, 0, IPv4, "")...)
	}
	f.Add(fill)
	f.Add(slices.Concat( // sharing, each clause
		opAlloc(0, 1, IPv4, ""), opAlloc(1, 1|1<<2, IPv4, ""), opAlloc(2, 1, IPv4, ""),
		opAlloc(3, 2|1<<2, IPv4, ""), opAlloc(4, 1|2<<2|1<<4, IPv4, ""), opAlloc(5, 1|1<<2|1<<4|1<<5, IPv4, ""),
		opRelease(0), opAlloc(6, 1|3<<2, IPv4, ""), opAssign(7, 1|1<<2, "10.0.0.1"),
		opAssign(1, 1|3<<2, "10.0.0.0"), opAlloc(1, 2, IPv4, "")))
	f.Add(slices.Concat( // pools come and go; restore into an Overlapping pool
		opAlloc(0, 0, IPv4, ""), opRestore(1, 0, "10.0.0.9"), opSetPools(0x3e, 0, 0),
		opAssign(2, 0, "10.0.0.0"), opRestore(2, 0, "10.0.0.0"), opSetPools(0xff, 0, 4),
		opAlloc(3, 0, IPv4, "d"), opSetPools(0xff, 3, 3), opAlloc(4, 0, IPv6, ""), opAlloc(5, 0, IPv4, "e")))
	f.Add(slices.Concat( // the same addresses taken and freed by name
		opAlloc(0, 0, IPv4, ""), opAlloc(1, 0, IPv4, ""), opAlloc(2, 0, IPv4, ""), opRelease(1),
		opAssign(3, 0, "10.0.0.1"), opRelease(3), opAssign(3, 0, "10.0.0.1"), opReleaseIP(3),
		opAlloc(4, 0, IPv4, ""), opAlloc(5, 0, IPv4, "")))
	f.Add(slices.Concat( // buggy addresses, selectors, IPv6
		opAlloc(0, 0, IPv4, "b"), opAssign(1, 0, "10.0.1.255"), opRestore(1, 0, "10.0.2.0"),
		opAlloc(0, 1<<6, IPv4, "f"), opAlloc(1, 1<<6, IPv6, ""), opAlloc(2, 1<<6, IPv6, "f"),
		opSetPools(0xff, 0, 2), opAlloc(3, 0, IPv4, ""), opRelease(1), opAlloc(6, 0, IPv4, "b")))
	f.Add(slices.Concat( // unsafe addresses come and go under held ones
		opAlloc(0, 0, IPv4, ""), opAlloc(1, 1, IPv4, ""), opSetUnsafe(0x03), opAlloc(2, 1, IPv4, ""),
		opAssign(3, 0, "10.0.0.1"), opRelease(1), opAlloc(4, 0, IPv4, ""), opRestore(5, 0, "10.0.0.2"),
		opSetUnsafe(0x40), opRelease(5), opAlloc(6, 0, IPv4, ""), opSetUnsafe(0xff), opAlloc(7, 0, IPv6, ""),
		opAlloc(8, 0, IPv4, "b"), opSetUnsafe(0), opAlloc(9, 0, IPv4, "")))
	f.Add(slices.Concat( // a co-holder changes and clashes; keys across namespaces
		opAlloc(0, 1, IPv4, ""), opAlloc(3, 1|2<<2, IPv4, ""), opRecheck(3, 1), opRecheck(3, 1|3<<2),
		opAlloc(1, 1|1<<2, IPv4, ""), opAlloc(1, 1|1<<2, IPv4, "b"), opAlloc(4, 1|2<<2, IPv4, "b"),
		opSetPools(0xff, 0, 8), opAlloc(2, 1|1<<2, IPv4, "a"), opAssign(5, 1|2<<2, "10.0.0.0"),
		opSetPools(0xff, 0, 0), opRecheck(5, 1|2<<2), opRestore(8, 1|1<<2, "10.0.0.0"), opRecheck(2, 2)))
	f.Add([]byte("allocate, assign, restore, release: all of it, over and over again"))
	f.Fuzz(runOps)
}

// runOps decodes ops into operations and runs them on the Allocator and the
// model, comparing after each.
func runOps(t *testing.T, ops []byte) {
	{
		a, m := New(), newModel()
		// Heap slack 0 compacts as often as possible; more lets stale heap
		// entries live. An input whose length is not a multiple of four
		// picks it with its first byte.
		a.slack = 0
		if len(ops)%4 != 0 {
			a.slack, ops = int(ops[0]%4), ops[1:]
		}
		// recent are addresses released lately: Assign and Restore pick
		// from them when the op byte's top bit is set, so taking back a
		// freed address by name (below the mark) happens often.
		var recent []netip.Addr
		pools := fuzzPools(0xff, 0, 0)
		a.SetPools(pools)
		m.setPools(pools)
		for n := 0; len(ops) >= 4 && n < 150; n++ {
			op, b1, b2, b3 := ops[0], ops[1], ops[2], ops[3]
			ops = ops[4:]
			var got, want string
			var desc func() string
			switch op % 8 {
			case 0, 1:
				svc, fam, pool := fuzzService(b1, b2), []Family{IPv4, IPv6}[b3&1], fuzzPoolNames[int(b3>>1)%len(fuzzPoolNames)]
				desc = func() string { return fmt.Sprintf("Allocate(%s %+v, %s, %q)", svc.Key, svc, fam, pool) }
				got, want = outcome(a.Allocate(svc, fam, pool)), outcome(m.allocate(svc, fam, pool))
			case 2, 3:
				svc, ip := fuzzService(b1, b2), fuzzIPs[int(b3)%len(fuzzIPs)]
				if op&0x80 != 0 && len(recent) > 0 {
					ip = recent[int(b3)%len(recent)]
				}
				if op%8 == 2 {
					desc = func() string { return fmt.Sprintf("Assign(%s %+v, %s)", svc.Key, svc, ip) }
					p1, err1 := a.Assign(svc, ip)
					p2, err2 := m.assign(svc, ip)
					got, want = outcome(ip, p1, err1), outcome(ip, p2, err2)
				} else {
					desc = func() string { return fmt.Sprintf("Restore(%s %+v, %s)", svc.Key, svc, ip) }
					p1, err1 := a.Restore(svc, ip)
					p2, err2 := m.restore(svc, ip)
					got, want = outcome(ip, p1, err1), outcome(ip, p2, err2)
				}
			case 4:
				key := fuzzService(b1, 0).Key
				desc = func() string { return "Release(" + key + ")" }
				recent = remember(recent, m.ips(key)...)
				a.Release(key)
				m.release(key)
			case 5:
				key := fuzzService(b1, 0).Key
				ip := fuzzIPs[int(b2)%len(fuzzIPs)]
				if held := m.ips(key); len(held) > 0 && b3&1 == 0 {
					ip = held[int(b2)%len(held)]
				}
				desc = func() string { return fmt.Sprintf("ReleaseIP(%s, %s)", key, ip) }
				recent = remember(recent, ip)
				a.ReleaseIP(key, ip)
				m.releaseIP(key, ip)
			case 7:
				// What the controller does on every pass over a Service:
				// recheck each address it holds, release on a clash.
				svc := fuzzService(b1, b2)
				ip := fuzzIPs[int(b3)%len(fuzzIPs)]
				if held := m.ips(svc.Key); len(held) > 0 && b3&1 == 0 {
					ip = held[int(b3>>1)%len(held)]
				}
				desc = func() string { return fmt.Sprintf("Recheck(%s %+v, %s)", svc.Key, svc, ip) }
				err1, err2 := a.Recheck(svc, ip), m.recheck(svc, ip)
				got, want = outcome(ip, "", err1), outcome(ip, "", err2)
				if err1 != nil {
					recent = remember(recent, ip)
					a.ReleaseIP(svc.Key, ip)
					m.releaseIP(svc.Key, ip)
				}
			case 6:
				if b3&0x80 != 0 {
					blocks := fuzzUnsafe(b1)
					desc = func() string { return fmt.Sprintf("SetUnsafe(%v)", blocks) }
					a.SetUnsafe(blocks)
					m.setUnsafe(blocks)
					break
				}
				pools := fuzzPools(b1, b2, b3)
				desc = func() string { return fmt.Sprintf("SetPools(%x, %d, %x)", b1, b2, b3) }
				a.SetPools(pools)
				m.setPools(pools)
			}
			if got != want {
				t.Fatalf("step %d %s: allocator %s, model %s", n, desc(), got, want)
			}
			if err := compare(a, m); err != nil {
				t.Fatalf("step %d %s: %v", n, desc(), err)
			}
		}
	}
}

// remember adds ips to the recent ones, keeping the last eight.
func remember(recent []netip.Addr, ips ...netip.Addr) []netip.Addr {
	recent = append(recent, ips...)
	return recent[max(0, len(recent)-8):]
}

// Encoders of the fuzz test's four-byte operations, for seeds.

func opAlloc(k, attrs byte, f Family, pool string) []byte {
	b3 := byte(slices.Index(fuzzPoolNames, pool)) << 1
	if f == IPv6 {
		b3 |= 1
	}
	return []byte{0, k, attrs, b3}
}

func opAssign(k, attrs byte, ip string) []byte  { return []byte{2, k, attrs, fuzzIP(ip)} }
func opRestore(k, attrs byte, ip string) []byte { return []byte{3, k, attrs, fuzzIP(ip)} }
func opRelease(k byte) []byte                   { return []byte{4, k, 0, 0} }

// opRecheck rechecks the Service's first address with attrs.
func opRecheck(k, attrs byte) []byte { return []byte{7, k, attrs, 0} }

// opReleaseIP releases the first address the Service holds.
func opReleaseIP(k byte) []byte                  { return []byte{5, k, 0, 0} }
func opSetPools(mask, rotate, flags byte) []byte { return []byte{6, mask, rotate, flags} }
func opSetUnsafe(mask byte) []byte               { return []byte{6, mask, 0, 0x80} }

// fuzzUnsafeBlocks are the blocks SetUnsafe picks from: single addresses
// and small blocks in and across the fuzz pools.
var fuzzUnsafeBlocks = []string{
	"10.0.0.1/32", "10.0.0.2/31", "10.0.1.255/32", "10.0.2.0/31", "2001:db8::2/127", "10.0.4.0/32", "10.0.0.8/30", "2001:db8:1::/128",
}

// fuzzUnsafe returns the blocks mask picks.
func fuzzUnsafe(mask byte) []config.Unsafe {
	var out []config.Unsafe
	for i, b := range fuzzUnsafeBlocks {
		if mask&(1<<i) != 0 {
			out = append(out, config.Unsafe{Prefix: netip.MustParsePrefix(b), Why: "fuzz"})
		}
	}
	return out
}

func fuzzIP(s string) byte {
	i := slices.Index(fuzzIPs, netip.MustParseAddr(s))
	if i < 0 {
		panic(s + " is not a fuzz address")
	}
	return byte(i)
}

// outcome writes a result for comparison: address, pool and sentinel.
func outcome(ip netip.Addr, pool string, err error) string {
	if err != nil {
		return fmt.Sprintf("error %v", sentinel(err))
	}
	return fmt.Sprintf("%v in %q", ip, pool)
}

// compare checks the Allocator against the model and its own consistency.
func compare(a *Allocator, m *model) error {
	if err := a.check(); err != nil {
		return fmt.Errorf("inconsistent: %w", err)
	}
	for ip, hs := range m.holders {
		for i, h := range hs {
			for _, o := range hs[i+1:] {
				if !mayShare(h, o) {
					return fmt.Errorf("model: %s held by %s and %s", ip, h.Key, o.Key)
				}
			}
		}
	}
	for k := range byte(fuzzKeys) {
		key := fuzzService(k, 0).Key
		if got, want := a.IPs(key), m.ips(key); !slices.Equal(got, want) {
			return fmt.Errorf("IPs(%s) = %v, model %v", key, got, want)
		}
	}
	held := slices.Collect(maps.Keys(m.holders))
	for ip := range a.ips {
		held = append(held, ip)
	}
	for _, ip := range held {
		var want []string
		for _, h := range m.holders[ip] {
			want = append(want, h.Key)
		}
		if got := a.Holders(ip); !slices.Equal(got, want) {
			return fmt.Errorf("Holders(%s) = %v, model %v", ip, got, want)
		}
		for i, h := range m.holders[ip] {
			got := a.SharedAcrossNamespaces(h.Key, ip) != ""
			if want := m.sharedAcross(ip, i); got != want {
				return fmt.Errorf("SharedAcrossNamespaces(%s, %s) = %v, model %v", h.Key, ip, got, want)
			}
		}
		wantPool := ""
		if want != nil {
			wantPool = name(m.attr(ip))
		}
		if got := a.Pool(ip); got != wantPool {
			return fmt.Errorf("Pool(%s) = %q, model %q", ip, got, wantPool)
		}
	}
	for _, pool := range fuzzPoolNames[2:] {
		v4, v6 := a.Counts(pool)
		for _, c := range []struct {
			f   Family
			got Counts
		}{{IPv4, v4}, {IPv6, v6}} {
			total, allocated, available := m.counts(pool, c.f)
			if c.got.Total.Int64() != total || c.got.Allocated != allocated || c.got.Available.Int64() != available {
				return fmt.Errorf("Counts(%q) %s = %v/%d/%v, model %d/%d/%d", pool, c.f,
					c.got.Total, c.got.Allocated, c.got.Available, total, allocated, available)
			}
		}
	}
	return nil
}

// TestFuzzServicesCoverPools guards the fuzz set-up: some fuzz Services must
// be served by pool f and some not, or the selector paths go untested.
func TestFuzzServicesCoverPools(t *testing.T) {
	m := newModel()
	m.setPools(fuzzPools(0xff, 0, 0))
	f := m.attrPool("f")
	var served, refused int
	for k := range byte(fuzzKeys) {
		for attrs := range byte(128) {
			if m.serves(f, fuzzService(k, attrs)) {
				served++
			} else {
				refused++
			}
		}
	}
	if served == 0 || refused == 0 {
		t.Fatalf("pool f serves %d and refuses %d fuzz services", served, refused)
	}
	if !errors.Is(fmt.Errorf("x: %w", ErrInUse), sentinel(fmt.Errorf("y: %w", ErrInUse))) {
		t.Fatal("sentinel lookup broken")
	}
}
