package allocator

import (
	"math/big"
	"net/netip"
	"slices"
	"strconv"

	"github.com/pylonlb/pylon/config"
)

// Family is an IP family.
type Family int

// The two IP families.
const (
	IPv4 Family = 4
	IPv6 Family = 6
)

// String writes "IPv4" or "IPv6".
func (f Family) String() string {
	switch f {
	case IPv4:
		return "IPv4"
	case IPv6:
		return "IPv6"
	}
	return "Family(" + strconv.Itoa(int(f)) + ")"
}

// FamilyOf returns the family of a.
func FamilyOf(a netip.Addr) Family {
	if a.Is4() {
		return IPv4
	}
	return IPv6
}

// index is the slot of a family in per-family arrays.
func (f Family) index() int {
	if f == IPv4 {
		return 0
	}
	return 1
}

// Allocator holds which Service holds which address. The zero value is not
// usable; call New. It is not safe for concurrent use: the controller
// serialises calls.
type Allocator struct {
	// pools in try order, and by name.
	pools  []*poolState
	byName map[string]*poolState
	// ips holds every held address; it is the one record of what is held.
	ips map[netip.Addr]*ipState
	// svcs holds each Service that holds an address.
	svcs map[string]*svcState
	// shared lists, per sharing key, the addresses held under it.
	shared map[string]map[netip.Addr]struct{}
	// slack is given to every range (see rangeState.slack).
	slack int
	// unsafe are the addresses never handed out (SetUnsafe).
	unsafe unsafeSet
}

// poolState is a pool as the Allocator sees it.
type poolState struct {
	cfg *config.Pool
	// usable: new addresses may be given out. False when config marks the
	// pool Overlapping, and also, defensively, when it overlaps a usable
	// pool earlier in the list: usable pools never share an address.
	usable bool
	// ranges are the pool's ranges, only for a usable pool.
	ranges []*rangeState
	has    [2]bool     // has a range of the family
	total  [2]*big.Int // addresses that may be handed out, per family
	// allocated counts held addresses attributed to the pool; uncounted
	// those of them that Available does not count as taken: .0/.255
	// restored into a pool that avoids them (Total leaves them out), and
	// unsafe addresses (nunsafe leaves them out).
	allocated, uncounted [2]int64
	// nunsafe is the number of the pool's addresses, among those Total
	// counts, that are unsafe (SetUnsafe).
	nunsafe [2]*big.Int
}

// ipState is one held address.
type ipState struct {
	// pool is the pool the address is attributed to (nil: none contains
	// it); rng its range when that pool is usable.
	pool *poolState
	rng  *rangeState
	// holds are the Services holding it, oldest first; all pairwise
	// compatible. It starts in one, which saves an allocation for the
	// usual address with a single holder.
	holds []hold
	one   [1]hold
}

// hold is one Service's claim on an address.
type hold struct {
	svc *svcState
	// share is the Service's sharing data as last accepted; nil when it
	// shares with nobody.
	share *share
}

// sharing returns the hold's sharing data, the zero share for none.
func (h hold) sharing() share {
	if h.share == nil {
		return share{}
	}
	return *h.share
}

// svcState is a Service that holds addresses.
type svcState struct {
	key string
	// refs are its addresses, sorted (IPv4 first); they start in one.
	refs []ipRef
	one  [1]ipRef
}

// ipRef is one address of a Service, with its state.
type ipRef struct {
	ip netip.Addr
	st *ipState
}

// holdOf returns the index of s's hold on the address, -1 for none.
func (st *ipState) holdOf(s *svcState) int {
	if st == nil || s == nil {
		return -1
	}
	for i, h := range st.holds {
		if h.svc == s {
			return i
		}
	}
	return -1
}

// find returns the index of ip in s.refs, and whether it is there.
func (s *svcState) find(ip netip.Addr) (int, bool) {
	if s == nil {
		return 0, false
	}
	return slices.BinarySearchFunc(s.refs, ip, func(r ipRef, ip netip.Addr) int { return r.ip.Compare(ip) })
}

func (st *ipState) poolName() string {
	if st.pool == nil {
		return ""
	}
	return st.pool.cfg.Name
}

// acrossNamespaces reports whether the address's pool lets Services of
// different namespaces share it.
func (st *ipState) acrossNamespaces() bool {
	return st.pool != nil && st.pool.cfg.AllowSharingAcrossNamespaces
}

// New returns an Allocator with no pools.
func New() *Allocator {
	return &Allocator{
		byName: map[string]*poolState{},
		ips:    map[netip.Addr]*ipState{},
		svcs:   map[string]*svcState{},
		shared: map[string]map[netip.Addr]struct{}{},
		slack:  defaultSlack,
		unsafe: newUnsafeSet(nil),
	}
}

// SetPools replaces the pool set; pools are tried in the order given, which
// config.Config.Pools already is. A pool whose name repeats an earlier one is
// ignored. Held addresses are kept: each is attributed to the usable pool
// that contains it, else to the first pool that contains it, else to no
// pool, where it stays held so nobody else gets it if a pool covering it
// comes back.
//
// SetPools returns the held addresses whose standing changed, sorted: those
// attributed to another pool than before (or to none, or to one again), and
// shared ones whose pool changed its rule on sharing across namespaces.
// Their holders may need telling (SharedAcrossNamespaces, IPOutsidePools,
// the pool a Service's address is in).
//
// SetPools costs O(held addresses × ranges); ranges present before and after
// keep their state.
func (a *Allocator) SetPools(pools []*config.Pool) (changed []netip.Addr) {
	old := map[rangeKey]*rangeState{}
	for _, p := range a.pools {
		for _, r := range p.ranges {
			old[r.key()] = r
		}
	}
	a.pools = make([]*poolState, 0, len(pools))
	a.byName = make(map[string]*poolState, len(pools))
	var usable []config.Range
	for _, cfg := range pools {
		if _, dup := a.byName[cfg.Name]; dup {
			continue
		}
		p := &poolState{cfg: cfg, usable: cfg.Usable() && !overlapsAny(cfg.Ranges, usable), total: totals(cfg)}
		for _, r := range cfg.Ranges {
			p.has[FamilyOf(r.First).index()] = true
			if !p.usable {
				continue
			}
			k := rangeKey{r.First, r.Last, cfg.AvoidBuggyIPs}
			rs := old[k]
			if rs == nil {
				rs = newRangeState(r.First, r.Last, cfg.AvoidBuggyIPs)
			}
			delete(old, k)
			rs.slack, rs.unsafe = a.slack, &a.unsafe
			p.ranges = append(p.ranges, rs)
		}
		if p.usable {
			usable = append(usable, cfg.Ranges...)
		}
		a.pools = append(a.pools, p)
		a.byName[cfg.Name] = p
	}
	return a.recount()
}

// recount attributes every held address to its pool and range again and
// recomputes the pools' tallies and the ranges' counters, after the pools
// or the unsafe set changed. It returns the held addresses whose standing
// changed (see SetPools), sorted.
func (a *Allocator) recount() (changed []netip.Addr) {
	for _, p := range a.pools {
		p.allocated, p.uncounted = [2]int64{}, [2]int64{}
		p.nunsafe = [2]*big.Int{new(big.Int), new(big.Int)}
		for _, r := range p.cfg.Ranges {
			i := FamilyOf(r.First).index()
			p.nunsafe[i].Add(p.nunsafe[i], a.unsafe.count(fromAddr(r.First), fromAddr(r.Last), r.Is4(), p.cfg.AvoidBuggyIPs))
		}
		for _, r := range p.ranges {
			r.nheld, r.nahead = 0, 0
		}
	}
	for ip, st := range a.ips {
		was, wasAcross := st.poolName(), st.acrossNamespaces()
		st.pool, st.rng = a.locate(ip)
		if st.poolName() != was || len(st.holds) > 1 && st.acrossNamespaces() != wasAcross {
			changed = append(changed, ip)
		}
		a.count(st.pool, ip, 1)
		if st.rng != nil {
			st.rng.nheld++
			if !st.rng.belowMark(fromAddr(ip)) && !a.unsafe.holds(ip) {
				st.rng.nahead++
			}
		}
	}
	for _, p := range a.pools {
		for _, r := range p.ranges {
			if r.nheld == 0 {
				r.reset()
			}
		}
	}
	slices.SortFunc(changed, netip.Addr.Compare)
	return changed
}

func overlapsAny(rs, others []config.Range) bool {
	for _, r := range rs {
		for _, o := range others {
			if r.Overlaps(o) {
				return true
			}
		}
	}
	return false
}

// locate returns the pool an address is attributed to: the usable pool
// containing it, else the first pool containing it; and, for a usable
// pool, the range.
func (a *Allocator) locate(ip netip.Addr) (*poolState, *rangeState) {
	for _, p := range a.pools {
		for _, r := range p.ranges {
			if r.contains(ip) {
				return p, r
			}
		}
	}
	for _, p := range a.pools {
		if p.cfg.Contains(ip) {
			return p, nil
		}
	}
	return nil, nil
}

// count adds d to p's tally of held addresses; p may be nil.
func (a *Allocator) count(p *poolState, ip netip.Addr, d int64) {
	if p == nil {
		return
	}
	i := FamilyOf(ip).index()
	p.allocated[i] += d
	if p.cfg.AvoidBuggyIPs && buggy(ip) || a.unsafe.holds(ip) {
		p.uncounted[i] += d
	}
}

// IPs returns the addresses the Service holds, sorted, IPv4 first.
func (a *Allocator) IPs(key string) []netip.Addr {
	s := a.svcs[key]
	if s == nil {
		return nil
	}
	out := make([]netip.Addr, len(s.refs))
	for i, r := range s.refs {
		out[i] = r.ip
	}
	return out
}

// Pool returns the name of the pool a held address is attributed to, or ""
// when the address is not held or no pool contains it.
func (a *Allocator) Pool(ip netip.Addr) string {
	if st := a.ips[ip]; st != nil {
		return st.poolName()
	}
	return ""
}

// Holders returns the keys of the Services holding ip, oldest hold first.
func (a *Allocator) Holders(ip netip.Addr) []string {
	var keys []string
	if st := a.ips[ip]; st != nil {
		for _, h := range st.holds {
			keys = append(keys, h.svc.key)
		}
	}
	return keys
}
