package allocator

import (
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/pylonlb/pylon/config"
)

// poolOpt changes a pool built by pool.
type poolOpt func(*config.Pool)

var (
	avoidBuggy = poolOpt(func(p *config.Pool) { p.AvoidBuggyIPs = true })
	noAuto     = poolOpt(func(p *config.Pool) { p.AutoAssign = false })
	acrossNS   = poolOpt(func(p *config.Pool) { p.AllowSharingAcrossNamespaces = true })
)

func overlaps(older ...string) poolOpt { return func(p *config.Pool) { p.Overlaps = older } }
func namespaces(ns ...string) poolOpt  { return func(p *config.Pool) { p.Namespaces = ns } }
func nsSelector(s string) poolOpt {
	return func(p *config.Pool) { p.NamespaceSelector = mustSelector(s) }
}
func svcSelector(s string) poolOpt {
	return func(p *config.Pool) { p.ServiceSelector = mustSelector(s) }
}

func mustSelector(s string) labels.Selector {
	sel, err := labels.Parse(s)
	if err != nil {
		panic(err)
	}
	return sel
}

// pool builds a pool from address ranges (strings) and options.
func pool(name string, args ...any) *config.Pool {
	p := &config.Pool{Name: name, AutoAssign: true, Priority: config.NoPriority}
	for _, arg := range args {
		switch arg := arg.(type) {
		case string:
			r, err := config.ParseAddressRange(arg)
			if err != nil {
				panic(err)
			}
			p.Ranges = append(p.Ranges, r)
		case poolOpt:
			arg(p)
		default:
			panic(fmt.Sprintf("pool %s: bad argument %v", name, arg))
		}
	}
	slices.SortFunc(p.Ranges, func(a, b config.Range) int { return a.First.Compare(b.First) })
	return p
}

// svcOpt changes a Service built by svc.
type svcOpt func(*Service)

func sharing(key string) svcOpt { return func(s *Service) { s.SharingKey = key } }
func local(selector string) svcOpt {
	return func(s *Service) { s.Local, s.Selector = true, mustSet(selector) }
}
func svcLabels(set string) svcOpt { return func(s *Service) { s.Labels = mustSet(set) } }
func nsLabels(set string) svcOpt  { return func(s *Service) { s.NamespaceLabels = mustSet(set) } }
func ports(ps ...string) svcOpt {
	return func(s *Service) {
		for _, p := range ps {
			proto, num, _ := strings.Cut(p, "/")
			var n int32
			fmt.Sscan(num, &n)
			s.Ports = append(s.Ports, Port{Protocol: proto, Port: n})
		}
	}
}

func mustSet(s string) map[string]string {
	set, err := labels.ConvertSelectorToLabelsMap(s)
	if err != nil {
		panic(err)
	}
	return set
}

// svc builds a Service "namespace/name" with TCP/80 unless ports says else.
func svc(key string, opts ...svcOpt) Service {
	ns, _, _ := strings.Cut(key, "/")
	s := Service{Key: key, Namespace: ns}
	for _, o := range opts {
		o(&s)
	}
	if s.Ports == nil {
		s.Ports = []Port{{"TCP", 80}}
	}
	return s
}

var sentinels = []error{
	ErrInvalidIP, ErrInvalidFamily, ErrNotInPool, ErrPoolNotFound, ErrPoolUnusable,
	ErrNotAllowed, ErrBuggyIP, ErrUnsafe, ErrInUse, ErrNoPool, ErrPoolExhausted,
}

// sentinel returns the sentinel err wraps, nil for nil; it panics on an
// error that wraps none.
func sentinel(err error) error {
	if err == nil {
		return nil
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return s
		}
	}
	panic(fmt.Sprintf("error wraps no sentinel: %v", err))
}

// check verifies the Allocator's internal consistency: the index, the
// pools' tallies, the ranges' counters and heaps (exhaustively for small
// ranges), and that every address's holders may share it.
func (a *Allocator) check() error {
	for ip, st := range a.ips {
		if len(st.holds) == 0 {
			return fmt.Errorf("%s: in the map with no holder", ip)
		}
		if p, r := a.locate(ip); p != st.pool || r != st.rng {
			return fmt.Errorf("%s: attributed to %v/%p, locate says %v/%p", ip, st.poolName(), st.rng, p, r)
		}
		for i, h := range st.holds {
			if a.svcs[h.svc.key] != h.svc {
				return fmt.Errorf("%s: held by %s, which is not in the Service map", ip, h.svc.key)
			}
			if j, ok := h.svc.find(ip); !ok || h.svc.refs[j].st != st {
				return fmt.Errorf("%s: held by %s, which does not list it", ip, h.svc.key)
			}
			if h.share != nil && h.share.key == "" {
				return fmt.Errorf("%s: %s has sharing data without a key", ip, h.svc.key)
			}
			for _, o := range st.holds[i+1:] {
				if h.svc == o.svc {
					return fmt.Errorf("%s: %s holds it twice", ip, h.svc.key)
				}
				if why := conflict(h.sharing(), o.sharing()); why != "" {
					return fmt.Errorf("%s: held by %s and %s, who may not share: %s", ip, h.svc.key, o.svc.key, why)
				}
			}
		}
		key := st.holds[0].sharing().key
		for k, set := range a.shared {
			if _, in := set[ip]; in != (k == key) {
				return fmt.Errorf("%s: sharing index says %v under key %q; its key is %q", ip, in, k, key)
			}
		}
	}
	for key, s := range a.svcs {
		if s.key != key || len(s.refs) == 0 {
			return fmt.Errorf("%s: state for %q with %d addresses", key, s.key, len(s.refs))
		}
		for i, r := range s.refs {
			if i > 0 && s.refs[i-1].ip.Compare(r.ip) >= 0 {
				return fmt.Errorf("%s: addresses unsorted at %d", key, i)
			}
			if a.ips[r.ip] != r.st || r.st.holdOf(s) < 0 {
				return fmt.Errorf("%s lists %s, which it does not hold", key, r.ip)
			}
		}
	}
	for k, set := range a.shared {
		for ip := range set {
			if a.ips[ip] == nil {
				return fmt.Errorf("sharing key %q lists %s, which is not held", k, ip)
			}
		}
	}
	for _, p := range a.pools {
		var alloc, unc [2]int64
		for ip, st := range a.ips {
			if st.pool == p {
				alloc[FamilyOf(ip).index()]++
				if p.cfg.AvoidBuggyIPs && buggy(ip) || a.unsafe.holds(ip) {
					unc[FamilyOf(ip).index()]++
				}
			}
		}
		if alloc != p.allocated || unc != p.uncounted {
			return fmt.Errorf("pool %s: tallies %v/%v, recount %v/%v", p.cfg.Name, p.allocated, p.uncounted, alloc, unc)
		}
		for _, r := range p.ranges {
			if err := r.check(a.ips); err != nil {
				return fmt.Errorf("pool %s: range %v: %w", p.cfg.Name, r.key(), err)
			}
		}
	}
	return nil
}

// check verifies a range's counters, and for a small range every address.
func (r *rangeState) check(ips map[netip.Addr]*ipState) error {
	nheld := 0
	for ip := range ips {
		if r.contains(ip) {
			nheld++
		}
	}
	nahead := 0
	for ip := range ips {
		if r.contains(ip) && !r.belowMark(fromAddr(ip)) && !r.unsafe.holds(ip) {
			nahead++
		}
	}
	if nheld != r.nheld || nahead != r.nahead {
		return fmt.Errorf("nheld %d, nahead %d; recount %d, %d", r.nheld, r.nahead, nheld, nahead)
	}
	if len(r.free) > 2*r.nfree+r.slack {
		return fmt.Errorf("heap of %d for %d free addresses", len(r.free), r.nfree)
	}
	inHeap := map[u128]bool{}
	for i, x := range r.free {
		if !r.belowMark(x) {
			return fmt.Errorf("heap entry %v not below the mark", x.addr(r.is4))
		}
		if r.unsafe.holds(x.addr(r.is4)) && ips[x.addr(r.is4)] == nil {
			return fmt.Errorf("unsafe heap entry %v", x.addr(r.is4))
		}
		if i > 0 && r.free[i].less(r.free[(i-1)/2]) {
			return fmt.Errorf("heap order broken at %d", i)
		}
		inHeap[x] = true
	}
	size := new(big.Int).Sub(new(big.Int).SetUint64(r.last.lo), new(big.Int).SetUint64(r.first.lo))
	if r.last.hi != r.first.hi || size.Cmp(big.NewInt(1<<12)) > 0 {
		return nil // too big to walk
	}
	nfree := 0
	for x := r.first; r.belowMark(x); x = x.next() {
		if ips[x.addr(r.is4)] == nil && !r.avoided(x) && !r.unsafe.holds(x.addr(r.is4)) {
			nfree++
			if !inHeap[x] {
				return fmt.Errorf("%v is free below the mark but not in the heap", x.addr(r.is4))
			}
		}
		if x == r.last {
			break
		}
	}
	if nfree != r.nfree {
		return fmt.Errorf("nfree %d, recount %d", r.nfree, nfree)
	}
	return nil
}
