package allocator

import (
	"cmp"
	"math/big"
	"net/netip"
	"slices"
	"strings"

	"github.com/pylonlb/pylon/config"
)

// unsafeSet is every address the Allocator never hands out: config's fixed
// SpecialRanges and the blocks the controller gives with SetUnsafe (Node
// addresses, pod and Service CIDRs). Lookups binary-search merged
// intervals, so their cost grows with the log of the number of blocks and
// never with the size of a block or a pool.
type unsafeSet struct {
	// list is every block with its reason, sorted by prefix then reason.
	list []config.Unsafe
	// iv are the blocks as sorted, disjoint, merged intervals, per family
	// index.
	iv [2][]interval
}

type interval struct{ lo, hi u128 }

func newUnsafeSet(extra []config.Unsafe) unsafeSet {
	var u unsafeSet
	for _, e := range slices.Concat(config.SpecialRanges(), extra) {
		if !e.Prefix.IsValid() {
			continue
		}
		if a := e.Prefix.Addr(); a.Is4In6() {
			e.Prefix = netip.PrefixFrom(a.Unmap(), max(0, e.Prefix.Bits()-96))
		}
		e.Prefix = e.Prefix.Masked()
		u.list = append(u.list, e)
	}
	slices.SortFunc(u.list, func(a, b config.Unsafe) int {
		return cmp.Or(a.Prefix.Addr().Compare(b.Prefix.Addr()), cmp.Compare(a.Prefix.Bits(), b.Prefix.Bits()), cmp.Compare(a.Why, b.Why))
	})
	u.list = slices.Compact(u.list)
	for _, e := range u.list {
		r := config.RangeOf(e.Prefix)
		i := FamilyOf(r.First).index()
		in := interval{fromAddr(r.First), fromAddr(r.Last)}
		// The list is sorted by first address: merge with the last one.
		if n := len(u.iv[i]); n > 0 && (!u.iv[i][n-1].hi.less(in.lo) || u.iv[i][n-1].hi.next() == in.lo) {
			if u.iv[i][n-1].hi.less(in.hi) {
				u.iv[i][n-1].hi = in.hi
			}
			continue
		}
		u.iv[i] = append(u.iv[i], in)
	}
	return u
}

func (u *unsafeSet) equal(o *unsafeSet) bool { return slices.Equal(u.list, o.list) }

// block returns the merged interval that holds x, of the family is4 names.
func (u *unsafeSet) block(x u128, is4 bool) (interval, bool) {
	ivs := u.iv[IPv6.index()]
	if is4 {
		ivs = u.iv[IPv4.index()]
	}
	// The first interval that ends at or after x.
	i, _ := slices.BinarySearchFunc(ivs, x, func(in interval, x u128) int {
		if in.hi.less(x) {
			return -1
		}
		return 1
	})
	if i < len(ivs) && !x.less(ivs[i].lo) {
		return ivs[i], true
	}
	return interval{}, false
}

// holds reports whether ip is unsafe.
func (u *unsafeSet) holds(ip netip.Addr) bool {
	_, ok := u.block(fromAddr(ip), ip.Is4())
	return ok
}

// why returns the blocks that hold ip, nil when it is safe.
func (u *unsafeSet) why(ip netip.Addr) []config.Unsafe {
	if !u.holds(ip) {
		return nil
	}
	var out []config.Unsafe
	for _, e := range u.list {
		if e.Prefix.Contains(ip) {
			out = append(out, e)
		}
	}
	return out
}

// count returns how many addresses of [first, last] are unsafe, leaving out
// IPv4 addresses ending in .0 or .255 when avoidBuggy (Total already leaves
// them out).
func (u *unsafeSet) count(first, last u128, is4, avoidBuggy bool) *big.Int {
	n := new(big.Int)
	ivs := u.iv[IPv6.index()]
	if is4 {
		ivs = u.iv[IPv4.index()]
	}
	for _, in := range ivs {
		lo, hi := in.lo, in.hi
		if lo.less(first) {
			lo = first
		}
		if last.less(hi) {
			hi = last
		}
		if hi.less(lo) {
			continue
		}
		size := new(big.Int).Sub(hi.big(), lo.big())
		size.Add(size, big.NewInt(1))
		if avoidBuggy && is4 {
			size.Sub(size, new(big.Int).SetUint64(buggyIn(lo.lo, hi.lo)))
		}
		n.Add(n, size)
	}
	return n
}

// SetUnsafe sets the blocks that, besides config.SpecialRanges, are never
// handed out: a Node's addresses, pod CIDRs, Service CIDRs. Only new hand-outs
// are refused (Allocate skips them; Assign returns ErrUnsafe): a Service that
// already holds such an address keeps it, and the caller warns about it (see
// Unsafe).
//
// A call with the same blocks as before does nothing. A change restarts the
// lowest-free search of every range from its first address, so the next
// allocations in each range step once over the addresses held in it; it
// costs O(held addresses × ranges), like SetPools.
func (a *Allocator) SetUnsafe(extra []config.Unsafe) {
	u := newUnsafeSet(extra)
	if u.equal(&a.unsafe) {
		return
	}
	a.unsafe = u
	for _, p := range a.pools {
		for _, r := range p.ranges {
			r.reset()
		}
	}
	a.recount()
}

// Unsafe returns the blocks that make ip unsafe, with their reasons; nil
// when ip may be handed out.
func (a *Allocator) Unsafe(ip netip.Addr) []config.Unsafe { return a.unsafe.why(ip) }

// UnsafeIn returns the unsafe blocks that share an address with the named
// pool's ranges, sorted.
func (a *Allocator) UnsafeIn(pool string) []config.Unsafe {
	p := a.byName[pool]
	if p == nil {
		return nil
	}
	var out []config.Unsafe
	for _, e := range a.unsafe.list {
		er := config.RangeOf(e.Prefix)
		if slices.ContainsFunc(p.cfg.Ranges, er.Overlaps) {
			out = append(out, e)
		}
	}
	return out
}

// unsafeWhy writes "198.18.0.11/32: InternalIP of Node n1; …".
func unsafeWhy(us []config.Unsafe) string {
	parts := make([]string, len(us))
	for i, u := range us {
		parts[i] = u.String()
	}
	return strings.Join(parts, "; ")
}

// HeldUnsafe returns the held addresses that are unsafe, sorted: Services
// that had them before they became unsafe keep them. It costs O(held
// addresses).
func (a *Allocator) HeldUnsafe() []netip.Addr {
	var out []netip.Addr
	for ip := range a.ips {
		if a.unsafe.holds(ip) {
			out = append(out, ip)
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}
