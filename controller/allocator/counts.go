package allocator

import (
	"math/big"

	"github.com/pylonlb/pylon/config"
)

// Counts are one pool's figures for one family, for its status.
type Counts struct {
	// Total is the number of addresses the pool may hand out: its size,
	// less IPv4 addresses ending in .0 or .255 when it avoids them.
	Total *big.Int
	// Allocated is the number of held addresses attributed to the pool; an
	// address shared by several Services counts once.
	Allocated int64
	// Unsafe is the number of addresses Total counts that are never handed
	// out because they are unsafe (see SetUnsafe and config.SpecialRanges).
	Unsafe *big.Int
	// Available is the number of addresses that could still be handed out:
	// Total less the unsafe and the held ones; zero for a pool that gives
	// out no new address (Overlapping).
	Available *big.Int
}

// Counts returns the figures of the named pool for IPv4 and IPv6; all zero
// when there is no such pool.
func (a *Allocator) Counts(pool string) (v4, v6 Counts) {
	p := a.byName[pool]
	if p == nil {
		zero := func() Counts { return Counts{Total: new(big.Int), Unsafe: new(big.Int), Available: new(big.Int)} }
		return zero(), zero()
	}
	return p.counts(0), p.counts(1)
}

func (p *poolState) counts(i int) Counts {
	c := Counts{Total: new(big.Int).Set(p.total[i]), Allocated: p.allocated[i], Unsafe: new(big.Int).Set(p.nunsafe[i]), Available: new(big.Int)}
	if p.usable {
		c.Available.Sub(c.Total, c.Unsafe)
		c.Available.Sub(c.Available, big.NewInt(p.allocated[i]-p.uncounted[i]))
		if c.Available.Sign() < 0 {
			c.Available.SetInt64(0)
		}
	}
	return c
}

// totals returns the number of addresses the pool may hand out, per family.
func totals(p *config.Pool) [2]*big.Int {
	t := [2]*big.Int{new(big.Int), new(big.Int)}
	for _, r := range p.Ranges {
		n := r.Size()
		if p.AvoidBuggyIPs && r.Is4() {
			n.Sub(n, new(big.Int).SetUint64(buggyIn(fromAddr(r.First).lo, fromAddr(r.Last).lo)))
		}
		i := FamilyOf(r.First).index()
		t[i].Add(t[i], n)
	}
	return t
}

// buggyIn counts the IPv4 addresses in [first, last] ending in .0 or .255,
// without enumerating them.
func buggyIn(first, last uint64) uint64 {
	// multiples of 256 in [lo, hi]
	multiples := func(lo, hi uint64) uint64 {
		n := hi/256 - lo/256
		if lo%256 == 0 {
			n++
		}
		return n
	}
	// x ends in .255 exactly when x+1 is a multiple of 256.
	return multiples(first, last) + multiples(first+1, last+1)
}
