package allocator

import (
	"net/netip"
	"slices"
)

// rangeState finds the lowest free address of one range of a usable pool
// in time that does not depend on the range's size.
//
// Every address below the high-water mark next has been reached by the mark
// at some point; the free ones among them (released since, never handed
// out again) sit in the min-heap free. Addresses at or above the mark are
// free unless held (by Assign or Restore, ahead of the mark): the mark skips
// those when it reaches them, so each is passed once. The lowest free
// address is therefore the heap's top when the heap is not empty (every
// entry is below the mark) and otherwise the first address from the mark on
// that is not held.
//
// The heap uses lazy deletion: an address taken by Assign or Restore while
// in the heap stays there and is skipped when popped, and one released
// twice may appear twice. When such stale entries outnumber the live ones
// the heap is compacted, so its length stays within 2*nfree+slack.
//
// Unsafe addresses (the Allocator's unsafeSet) are never handed out: the
// mark jumps over an unsafe block in one step, whatever its size, and an
// unsafe address is never put in the heap. Held unsafe addresses (kept by
// a Service that had them first) are counted in nheld only. When the unsafe
// set changes, the Allocator restarts every range's mark from its first
// address (reset), so no address is left behind the mark unaccounted for.
//
// Whether an address is held is read from the Allocator's map, the one
// source of truth; the range only counts.
type rangeState struct {
	first, last u128
	is4         bool
	// avoidBuggy: the mark never stops at, and the heap never holds, an
	// IPv4 address ending in .0 or .255.
	avoidBuggy bool
	// next is the mark; done means it has passed last.
	next u128
	done bool
	// free is a min-heap of addresses below the mark, holding at least one
	// entry for each free one.
	free []u128
	// nfree is the exact number of free, handoutable addresses below the
	// mark; nheld the number of held addresses in the range, nahead those
	// of them at or above the mark that are not unsafe. When the heap
	// holds exactly nfree entries it holds no stale one, and when nahead
	// is zero the mark has no held address to skip: both spare a map
	// lookup.
	nfree, nheld, nahead int
	// slack is how many stale entries the heap may hold beyond nfree before
	// it is compacted; it keeps small heaps from being compacted over and
	// over.
	slack int
	// unsafe is the Allocator's set of addresses never handed out.
	unsafe *unsafeSet
}

// defaultSlack is the slack of every range; tests lower it to compact often.
const defaultSlack = 64

// rangeKey identifies a range's state across SetPools calls.
type rangeKey struct {
	first, last netip.Addr
	avoidBuggy  bool
}

func newRangeState(first, last netip.Addr, avoidBuggy bool) *rangeState {
	r := &rangeState{first: fromAddr(first), last: fromAddr(last), is4: first.Is4(), avoidBuggy: avoidBuggy}
	r.reset()
	return r
}

// reset forgets everything below the mark; valid only when nothing in the
// range is held.
func (r *rangeState) reset() {
	r.next, r.done, r.free, r.nfree, r.nahead = r.first, false, nil, 0, 0
}

func (r *rangeState) key() rangeKey {
	return rangeKey{r.first.addr(r.is4), r.last.addr(r.is4), r.avoidBuggy}
}

// contains reports whether ip lies in the range.
func (r *rangeState) contains(ip netip.Addr) bool {
	if ip.Is4() != r.is4 || ip.Zone() != "" {
		return false
	}
	x := fromAddr(ip)
	return !x.less(r.first) && !r.last.less(x)
}

// belowMark reports whether x (in the range) has been reached by the mark.
func (r *rangeState) belowMark(x u128) bool { return r.done || x.less(r.next) }

// avoided reports whether x is never handed out from this range.
func (r *rangeState) avoided(x u128) bool {
	return r.avoidBuggy && r.is4 && (x.lo&0xff == 0 || x.lo&0xff == 0xff)
}

// take returns the lowest free address of the range and counts it as held;
// the caller records the hold. ok is false when the range is full.
func (r *rangeState) take(held map[netip.Addr]*ipState) (a netip.Addr, ok bool) {
	for len(r.free) > 0 {
		clean := len(r.free) == r.nfree
		x := r.pop()
		if a := x.addr(r.is4); clean || held[a] == nil {
			// Duplicates of x sit at the top now; drop them here, since
			// the hold is not yet in held for maybeCompact to see.
			for len(r.free) > 0 && r.free[0] == x {
				r.pop()
			}
			r.nfree--
			r.nheld++
			r.maybeCompact(held)
			return a, true
		}
	}
	for !r.done {
		x := r.next
		if in, ok := r.unsafe.block(x, r.is4); ok {
			// Jump over the whole unsafe block.
			if !in.hi.less(r.last) {
				r.done = true
			} else {
				r.next = in.hi.next()
			}
			continue
		}
		if x == r.last {
			r.done = true
		} else {
			r.next = x.next()
		}
		a := x.addr(r.is4)
		if r.nahead > 0 && held[a] != nil {
			r.nahead--
			continue
		}
		if !r.avoided(x) {
			r.nheld++
			return a, true
		}
	}
	return netip.Addr{}, false
}

// hold counts a, which was free, as held by Assign or Restore.
func (r *rangeState) hold(a netip.Addr, held map[netip.Addr]*ipState) {
	r.nheld++
	x := fromAddr(a)
	switch {
	case r.unsafe.holds(a):
		// Never in the heap, never counted ahead: the mark jumps over it.
	case !r.belowMark(x):
		r.nahead++
	case !r.avoided(x):
		r.nfree-- // its heap entry turns stale
		r.maybeCompact(held)
	}
}

// release counts a, which was held and no longer is, as free.
func (r *rangeState) release(a netip.Addr, held map[netip.Addr]*ipState) {
	r.nheld--
	if r.nheld == 0 {
		r.reset()
		return
	}
	x := fromAddr(a)
	switch {
	case r.unsafe.holds(a):
		// Never handed out again: not in the heap.
	case !r.belowMark(x):
		r.nahead--
	case !r.avoided(x):
		r.push(x)
		r.nfree++
		r.maybeCompact(held)
	}
}

// maybeCompact drops stale and duplicate heap entries once they outnumber
// the live ones. A sorted slice is a valid min-heap.
func (r *rangeState) maybeCompact(held map[netip.Addr]*ipState) {
	if len(r.free) <= 2*r.nfree+r.slack {
		return
	}
	r.free = slices.DeleteFunc(r.free, func(x u128) bool { return held[x.addr(r.is4)] != nil })
	slices.SortFunc(r.free, func(x, y u128) int {
		switch {
		case x.less(y):
			return -1
		case y.less(x):
			return 1
		}
		return 0
	})
	r.free = slices.Compact(r.free)
	if cap(r.free) > 4*len(r.free)+r.slack {
		r.free = slices.Clone(r.free) // give the memory back
	}
}

func (r *rangeState) push(x u128) {
	h := append(r.free, x)
	for i := len(h) - 1; i > 0; {
		parent := (i - 1) / 2
		if !h[i].less(h[parent]) {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
	r.free = h
}

func (r *rangeState) pop() u128 {
	h := r.free
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		least, left, right := i, 2*i+1, 2*i+2
		if left < n && h[left].less(h[least]) {
			least = left
		}
		if right < n && h[right].less(h[least]) {
			least = right
		}
		if least == i {
			break
		}
		h[i], h[least] = h[least], h[i]
		i = least
	}
	r.free = h
	return top
}
