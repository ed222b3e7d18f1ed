package allocator

import (
	"fmt"
	"net/netip"
	"slices"

	"k8s.io/apimachinery/pkg/labels"
)

// Assign gives svc the address ip, which it asked for by name. ip must be
// in a pool (ErrNotInPool) that gives out new addresses (ErrPoolUnusable)
// and serves svc (ErrNotAllowed); it must not be an IPv4 .0 or .255 when
// the pool avoids those (ErrBuggyIP), nor be held by a Service svc may not
// share with (ErrInUse: a held address is never taken away). A pool with
// autoAssign off is used this way. Assign returns the pool's name.
//
// When svc already holds ip, Assign only checks that svc, as it is now
// (ports, sharing key, selector), may still share ip with its other
// holders, and records it so; pool rules are not applied again, so a pool
// edit never moves an address. On ErrInUse the hold is left as it was: the
// caller decides whether to release it.
//
// Assign does not release other addresses svc holds.
func (a *Allocator) Assign(svc Service, ip netip.Addr) (string, error) {
	if err := checkIP(ip); err != nil {
		return "", fmt.Errorf("assign %v to %s: %w", ip, svc.Key, err)
	}
	st := a.ips[ip]
	p, rng := a.locate(ip)
	if p == nil {
		return "", fmt.Errorf("assign %s to %s: %w", ip, svc.Key, ErrNotInPool)
	}
	s := a.svcs[svc.Key]
	if i := st.holdOf(s); i >= 0 {
		if err := a.reconfirm(svc, ip, st, i); err != nil {
			return "", fmt.Errorf("assign %s to %s: %w", ip, svc.Key, err)
		}
		return p.cfg.Name, nil
	}
	var err error
	switch {
	case !p.usable:
		err = ErrPoolUnusable
	case !allowed(p, svc):
		err = ErrNotAllowed
	case p.cfg.AvoidBuggyIPs && buggy(ip):
		err = ErrBuggyIP
	case a.unsafe.holds(ip):
		err = fmt.Errorf("%s: %w", unsafeWhy(a.unsafe.why(ip)), ErrUnsafe)
	default:
		err = canJoin(svc, ip, st, true)
	}
	if err != nil {
		return "", fmt.Errorf("assign %s of pool %q to %s: %w", ip, p.cfg.Name, svc.Key, err)
	}
	a.add(svc, s, ip, st, p, rng, false)
	return p.cfg.Name, nil
}

// Recheck checks that svc, as it is now (sharing key, ports, traffic policy,
// pod selector), may still share ip, which it holds, with the address's
// other holders, whose data is as it was last accepted, and records svc's
// current data on its hold. So when a co-holder changes so that it clashes,
// the one that changed is refused and the others keep the address. On
// ErrInUse (the message names the other Service and the clash) the hold is
// left as it was: the caller releases it. Pool rules, the namespace rule of
// sharing keys included, are not applied again: they are checked when a
// Service joins an address. Recheck does nothing when svc does not hold ip.
func (a *Allocator) Recheck(svc Service, ip netip.Addr) error {
	s := a.svcs[svc.Key]
	i, ok := s.find(ip)
	if !ok {
		return nil
	}
	st := s.refs[i].st
	if err := a.reconfirm(svc, ip, st, st.holdOf(s)); err != nil {
		return fmt.Errorf("recheck %s for %s: %w", ip, svc.Key, err)
	}
	return nil
}

// SharedAcrossNamespaces explains why the Service's hold on ip would not be
// allowed if it joined now: an older holder of ip is of another namespace
// with the same sharing key, and ip's pool does not allow sharing across
// namespaces (the sharing predates that rule, or the pool turned it off).
// It returns "" when that is not so, and for the oldest holder.
func (a *Allocator) SharedAcrossNamespaces(key string, ip netip.Addr) string {
	st := a.ips[ip]
	i := st.holdOf(a.svcs[key])
	if i < 0 {
		return ""
	}
	for _, h := range st.holds[:i] {
		if why := crossTenant(st.holds[i].sharing(), h.sharing(), st.pool); why != "" {
			return fmt.Sprintf("%s is shared with %s, but %s", ip, h.svc.key, why)
		}
	}
	return ""
}

// Restore records that svc holds ip, as its status says, when the controller
// rebuilds its state on start. Pool rules (namespaces, selectors,
// autoAssign, Overlapping, .0/.255) are not applied: an address a Service
// already has is kept. Restore refuses only when another holder of ip may
// not share it with svc (ErrInUse). When no pool contains ip, Restore
// records the hold all the same and returns ErrNotInPool, so the address is
// not given to anyone else. It returns the name of the pool ip is
// attributed to.
func (a *Allocator) Restore(svc Service, ip netip.Addr) (string, error) {
	if err := checkIP(ip); err != nil {
		return "", fmt.Errorf("restore %v to %s: %w", ip, svc.Key, err)
	}
	st := a.ips[ip]
	s := a.svcs[svc.Key]
	if i := st.holdOf(s); i >= 0 {
		if err := a.reconfirm(svc, ip, st, i); err != nil {
			return "", fmt.Errorf("restore %s to %s: %w", ip, svc.Key, err)
		}
	} else {
		if err := canJoin(svc, ip, st, false); err != nil {
			return "", fmt.Errorf("restore %s to %s: %w", ip, svc.Key, err)
		}
		var p *poolState
		var rng *rangeState
		if st == nil {
			p, rng = a.locate(ip)
		}
		st = a.add(svc, s, ip, st, p, rng, false)
	}
	if st.pool == nil {
		return "", fmt.Errorf("restore %s to %s: kept, but %w", ip, svc.Key, ErrNotInPool)
	}
	return st.pool.cfg.Name, nil
}

// Allocate gives svc an address of the family. When pool is not "", only
// that pool is tried (ErrPoolNotFound, ErrPoolUnusable, ErrNotAllowed),
// whatever its autoAssign. Otherwise the eligible pools are tried in order:
// usable, autoAssign on, serving svc, with addresses of the family.
//
// A Service with a sharing key first joins the lowest address of the family,
// in an eligible pool, already held under that key by Services it may share
// with. Otherwise it gets the lowest free address of the first eligible pool
// that has one. ErrNoPool: no eligible pool has the family; ErrPoolExhausted:
// all of them are full.
//
// When svc already holds an address of the family, Allocate returns it (the
// lowest, if several) after checking, as Assign does, that svc may still
// share it. It returns the address and the name of its pool.
func (a *Allocator) Allocate(svc Service, family Family, pool string) (netip.Addr, string, error) {
	if family != IPv4 && family != IPv6 {
		return netip.Addr{}, "", fmt.Errorf("allocate for %s: %w %d", svc.Key, ErrInvalidFamily, int(family))
	}
	s := a.svcs[svc.Key]
	if s != nil {
		for _, r := range s.refs {
			if FamilyOf(r.ip) == family {
				if err := a.reconfirm(svc, r.ip, r.st, r.st.holdOf(s)); err != nil {
					return netip.Addr{}, "", fmt.Errorf("allocate %s for %s: %w", family, svc.Key, err)
				}
				return r.ip, r.st.poolName(), nil
			}
		}
	}
	var buf [8]*poolState
	eligible, err := a.eligible(buf[:0], svc, family, pool)
	if err != nil {
		return netip.Addr{}, "", fmt.Errorf("allocate %s for %s: %w", family, svc.Key, err)
	}
	if svc.SharingKey != "" {
		if ip, st, ok := a.joinable(svc, family, eligible); ok {
			a.add(svc, s, ip, st, st.pool, st.rng, false)
			return ip, st.pool.cfg.Name, nil
		}
	}
	for _, p := range eligible {
		for _, r := range p.ranges {
			if r.is4 != (family == IPv4) {
				continue
			}
			if ip, ok := r.take(a.ips); ok {
				a.add(svc, s, ip, nil, p, r, true)
				return ip, p.cfg.Name, nil
			}
		}
	}
	names := make([]string, len(eligible))
	for i, p := range eligible {
		names[i] = p.cfg.Name
	}
	return netip.Addr{}, "", fmt.Errorf("allocate %s for %s from pools %q: %w", family, svc.Key, names, ErrPoolExhausted)
}

// eligible appends to buf the pools Allocate may use.
func (a *Allocator) eligible(buf []*poolState, svc Service, family Family, pool string) ([]*poolState, error) {
	f := family.index()
	if pool != "" {
		p := a.byName[pool]
		var err error
		switch {
		case p == nil:
			err = ErrPoolNotFound
		case !p.usable:
			err = ErrPoolUnusable
		case !allowed(p, svc):
			err = ErrNotAllowed
		case !p.has[f]:
			err = fmt.Errorf("it has no %s addresses: %w", family, ErrNoPool)
		}
		if err != nil {
			return nil, fmt.Errorf("pool %q: %w", pool, err)
		}
		return append(buf, p), nil
	}
	for _, p := range a.pools {
		if p.usable && p.cfg.AutoAssign && p.has[f] && allowed(p, svc) {
			buf = append(buf, p)
		}
	}
	if len(buf) == 0 {
		return nil, ErrNoPool
	}
	return buf, nil
}

// joinable returns the lowest address of the family held under svc's
// sharing key, in one of the pools, that svc may share.
func (a *Allocator) joinable(svc Service, family Family, pools []*poolState) (netip.Addr, *ipState, bool) {
	var best netip.Addr
	var bestSt *ipState
	for ip := range a.shared[svc.SharingKey] {
		if FamilyOf(ip) != family || best.IsValid() && best.Less(ip) {
			continue
		}
		st := a.ips[ip]
		if slices.Contains(pools, st.pool) && canJoin(svc, ip, st, true) == nil && !a.unsafe.holds(ip) {
			best, bestSt = ip, st
		}
	}
	return best, bestSt, bestSt != nil
}

// Release drops every address the Service holds.
func (a *Allocator) Release(key string) {
	s := a.svcs[key]
	if s == nil {
		return
	}
	for _, r := range s.refs {
		a.drop(s, r.ip, r.st)
	}
	delete(a.svcs, key)
}

// ReleaseIP drops one address of the Service; it does nothing when the
// Service does not hold it.
func (a *Allocator) ReleaseIP(key string, ip netip.Addr) {
	s := a.svcs[key]
	i, ok := s.find(ip)
	if !ok {
		return
	}
	a.drop(s, ip, s.refs[i].st)
	if len(s.refs) == 1 {
		delete(a.svcs, key)
		return
	}
	s.refs = slices.Delete(s.refs, i, i+1)
}

// add records that svc holds ip. s is svc's state, nil when it holds
// nothing yet. st is ip's state, nil when nobody holds ip yet; then p and
// rng are where ip lies, and taken says rng.take already counted it.
func (a *Allocator) add(svc Service, s *svcState, ip netip.Addr, st *ipState, p *poolState, rng *rangeState, taken bool) *ipState {
	if s == nil {
		s = &svcState{key: svc.Key}
		s.refs = s.one[:0]
		a.svcs[svc.Key] = s
	}
	if st == nil {
		st = &ipState{pool: p, rng: rng}
		st.holds = st.one[:0]
		a.ips[ip] = st
		if rng != nil && !taken {
			rng.hold(ip, a.ips)
		}
		a.count(p, ip, 1)
		a.index(ip, "", svc.SharingKey)
	}
	st.holds = append(st.holds, hold{svc: s, share: shareOf(svc)})
	i, _ := s.find(ip)
	s.refs = slices.Insert(s.refs, i, ipRef{ip, st})
	return st
}

// drop removes s's hold on ip, whose state is st, freeing ip when it was
// the last; the caller removes ip from s.refs.
func (a *Allocator) drop(s *svcState, ip netip.Addr, st *ipState) {
	i := st.holdOf(s)
	sharingKey := st.holds[i].sharing().key
	st.holds = slices.Delete(st.holds, i, i+1)
	if len(st.holds) > 0 {
		return
	}
	delete(a.ips, ip)
	a.index(ip, sharingKey, "")
	a.count(st.pool, ip, -1)
	if st.rng != nil {
		st.rng.release(ip, a.ips)
	}
}

// reconfirm checks that svc, as it is now, may still share ip with the
// other holders; i is its hold. It records svc's current sharing data.
func (a *Allocator) reconfirm(svc Service, ip netip.Addr, st *ipState, i int) error {
	if err := canJoin(svc, ip, st, false); err != nil {
		return err
	}
	a.index(ip, st.holds[i].sharing().key, svc.SharingKey)
	st.holds[i].share = shareOf(svc)
	return nil
}

// index moves ip from the sharing key from to the sharing key to ("" for
// none) in a.shared.
func (a *Allocator) index(ip netip.Addr, from, to string) {
	if from == to {
		return
	}
	if set := a.shared[from]; set != nil {
		delete(set, ip)
		if len(set) == 0 {
			delete(a.shared, from)
		}
	}
	if to != "" {
		set := a.shared[to]
		if set == nil {
			set = map[netip.Addr]struct{}{}
			a.shared[to] = set
		}
		set[ip] = struct{}{}
	}
}

// canJoin checks that svc may hold ip alongside its holders other than svc.
// join says svc is joining ip now (Assign, Allocate): then a sharing key is
// also private to its namespace unless ip's pool allows sharing across
// namespaces. Holds already in place (Restore, Recheck) are not held to that
// rule, so that sharing set up before it, or before the pool turned it off,
// is kept.
func canJoin(svc Service, ip netip.Addr, st *ipState, join bool) error {
	if st == nil {
		return nil
	}
	mine := share{key: svc.SharingKey, ns: svc.Namespace, ports: svc.Ports, local: svc.Local, selector: svc.Selector}
	for _, h := range st.holds {
		if h.svc.key == svc.Key {
			continue
		}
		why := conflict(mine, h.sharing())
		if why == "" && join {
			why = crossTenant(mine, h.sharing(), st.pool)
		}
		if why != "" {
			return fmt.Errorf("%s is held by %s and %s: %w", ip, h.svc.key, why, ErrInUse)
		}
	}
	return nil
}

// allowed reports whether the pool's namespaces and selectors admit svc.
func allowed(p *poolState, svc Service) bool {
	c := p.cfg
	if len(c.Namespaces) > 0 || c.NamespaceSelector != nil {
		in := slices.Contains(c.Namespaces, svc.Namespace) ||
			c.NamespaceSelector != nil && c.NamespaceSelector.Matches(labels.Set(svc.NamespaceLabels))
		if !in {
			return false
		}
	}
	return c.ServiceSelector == nil || c.ServiceSelector.Matches(labels.Set(svc.Labels))
}

func checkIP(ip netip.Addr) error {
	if !ip.IsValid() || ip.Zone() != "" {
		return ErrInvalidIP
	}
	return nil
}
