package allocator

import (
	"maps"
	"net/netip"
	"slices"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/pylonlb/pylon/config"
)

// model is a brute-force reference Allocator for tiny pools: it enumerates
// every address and keeps a map of address to holders. The fuzz test checks
// that the Allocator agrees with it after every operation.
type model struct {
	pools  []*config.Pool
	usable map[string]bool
	addrs  map[string][]netip.Addr     // every address of a pool, ascending
	owner  map[netip.Addr]*config.Pool // the pool each address is attributed to
	// holders of each held address, oldest first, with the Service as it
	// was last accepted.
	holders map[netip.Addr][]Service
	// unsafe are the addresses SetUnsafe named, enumerated.
	unsafe map[netip.Addr]bool
}

func newModel() *model { return &model{holders: map[netip.Addr][]Service{}} }

// setUnsafe enumerates the blocks (tiny ones only).
func (m *model) setUnsafe(blocks []config.Unsafe) {
	m.unsafe = map[netip.Addr]bool{}
	for _, b := range blocks {
		for a := b.Prefix.Masked().Addr(); b.Prefix.Contains(a); a = a.Next() {
			m.unsafe[a] = true
		}
	}
}

// isUnsafe: never handed out, a SetUnsafe block or a fixed special range.
func (m *model) isUnsafe(ip netip.Addr) bool {
	_, special := config.Special(ip)
	return m.unsafe[ip] || special
}

func (m *model) setPools(pools []*config.Pool) {
	m.pools, m.usable, m.addrs = nil, map[string]bool{}, map[string][]netip.Addr{}
	taken := map[netip.Addr]bool{} // addresses of usable pools so far
	for _, p := range pools {
		if _, dup := m.addrs[p.Name]; dup {
			continue
		}
		var all []netip.Addr
		for _, r := range p.Ranges {
			for a := r.First; ; a = a.Next() {
				all = append(all, a)
				if a == r.Last {
					break
				}
			}
		}
		slices.SortFunc(all, netip.Addr.Compare)
		usable := p.Usable() && !slices.ContainsFunc(all, func(a netip.Addr) bool { return taken[a] })
		if usable {
			for _, a := range all {
				taken[a] = true
			}
		}
		m.pools, m.usable[p.Name], m.addrs[p.Name] = append(m.pools, p), usable, all
	}
	m.owner = map[netip.Addr]*config.Pool{}
	for _, usable := range []bool{true, false} {
		for _, p := range m.pools {
			if m.usable[p.Name] != usable {
				continue
			}
			for _, a := range m.addrs[p.Name] {
				if m.owner[a] == nil {
					m.owner[a] = p
				}
			}
		}
	}
}

// attr is the pool an address is attributed to: the usable pool that
// contains it, else the first pool that does.
func (m *model) attr(ip netip.Addr) *config.Pool { return m.owner[ip] }

func name(p *config.Pool) string {
	if p == nil {
		return ""
	}
	return p.Name
}

func mayShare(a, b Service) bool {
	if a.SharingKey == "" || a.SharingKey != b.SharingKey {
		return false
	}
	for _, p := range a.Ports {
		for _, q := range b.Ports {
			if p == q {
				return false
			}
		}
	}
	if a.Local || b.Local {
		return a.Local && b.Local && maps.Equal(a.Selector, b.Selector)
	}
	return true
}

// fits: svc may hold ip next to its other holders. join: svc joins ip now,
// so a sharing key is private to its namespace unless ip's pool allows
// sharing across namespaces.
func (m *model) fits(svc Service, ip netip.Addr, join bool) bool {
	for _, h := range m.holders[ip] {
		if h.Key == svc.Key {
			continue
		}
		if !mayShare(svc, h) {
			return false
		}
		if join && svc.Namespace != h.Namespace && (m.attr(ip) == nil || !m.attr(ip).AllowSharingAcrossNamespaces) {
			return false
		}
	}
	return true
}

func (m *model) heldBy(key string, ip netip.Addr) int {
	return slices.IndexFunc(m.holders[ip], func(h Service) bool { return h.Key == key })
}

func (m *model) serves(p *config.Pool, svc Service) bool {
	if len(p.Namespaces) > 0 || p.NamespaceSelector != nil {
		ok := slices.Contains(p.Namespaces, svc.Namespace)
		if p.NamespaceSelector != nil && p.NamespaceSelector.Matches(labels.Set(svc.NamespaceLabels)) {
			ok = true
		}
		if !ok {
			return false
		}
	}
	return p.ServiceSelector == nil || p.ServiceSelector.Matches(labels.Set(svc.Labels))
}

// reconfirm: svc holds ip at index i; check and record its new data.
func (m *model) reconfirm(svc Service, ip netip.Addr, i int) error {
	if !m.fits(svc, ip, false) {
		return ErrInUse
	}
	m.holders[ip][i] = svc
	return nil
}

func (m *model) assign(svc Service, ip netip.Addr) (string, error) {
	if !ip.IsValid() || ip.Zone() != "" {
		return "", ErrInvalidIP
	}
	p := m.attr(ip)
	if p == nil {
		return "", ErrNotInPool
	}
	if i := m.heldBy(svc.Key, ip); i >= 0 {
		return p.Name, m.reconfirm(svc, ip, i)
	}
	switch {
	case !m.usable[p.Name]:
		return "", ErrPoolUnusable
	case !m.serves(p, svc):
		return "", ErrNotAllowed
	case p.AvoidBuggyIPs && buggy(ip):
		return "", ErrBuggyIP
	case m.isUnsafe(ip):
		return "", ErrUnsafe
	case !m.fits(svc, ip, true):
		return "", ErrInUse
	}
	m.holders[ip] = append(m.holders[ip], svc)
	return p.Name, nil
}

func (m *model) restore(svc Service, ip netip.Addr) (string, error) {
	if !ip.IsValid() || ip.Zone() != "" {
		return "", ErrInvalidIP
	}
	if i := m.heldBy(svc.Key, ip); i >= 0 {
		if err := m.reconfirm(svc, ip, i); err != nil {
			return "", err
		}
	} else {
		if !m.fits(svc, ip, false) {
			return "", ErrInUse
		}
		m.holders[ip] = append(m.holders[ip], svc)
	}
	if p := m.attr(ip); p != nil {
		return p.Name, nil
	}
	return "", ErrNotInPool
}

func (m *model) allocate(svc Service, f Family, pool string) (netip.Addr, string, error) {
	if f != IPv4 && f != IPv6 {
		return netip.Addr{}, "", ErrInvalidFamily
	}
	for _, ip := range m.ips(svc.Key) {
		if FamilyOf(ip) == f {
			if err := m.reconfirm(svc, ip, m.heldBy(svc.Key, ip)); err != nil {
				return netip.Addr{}, "", err
			}
			return ip, name(m.attr(ip)), nil
		}
	}
	hasFamily := func(p *config.Pool) bool {
		return slices.ContainsFunc(m.addrs[p.Name], func(a netip.Addr) bool { return FamilyOf(a) == f })
	}
	var eligible []*config.Pool
	if pool != "" {
		i := slices.IndexFunc(m.pools, func(p *config.Pool) bool { return p.Name == pool })
		switch {
		case i < 0:
			return netip.Addr{}, "", ErrPoolNotFound
		case !m.usable[pool]:
			return netip.Addr{}, "", ErrPoolUnusable
		case !m.serves(m.pools[i], svc):
			return netip.Addr{}, "", ErrNotAllowed
		case !hasFamily(m.pools[i]):
			return netip.Addr{}, "", ErrNoPool
		}
		eligible = m.pools[i : i+1]
	} else {
		for _, p := range m.pools {
			if m.usable[p.Name] && p.AutoAssign && m.serves(p, svc) && hasFamily(p) {
				eligible = append(eligible, p)
			}
		}
		if len(eligible) == 0 {
			return netip.Addr{}, "", ErrNoPool
		}
	}
	if svc.SharingKey != "" {
		for _, ip := range slices.SortedFunc(maps.Keys(m.holders), netip.Addr.Compare) {
			if FamilyOf(ip) == f && slices.Contains(eligible, m.attr(ip)) && m.fits(svc, ip, true) && !m.isUnsafe(ip) {
				m.holders[ip] = append(m.holders[ip], svc)
				return ip, m.attr(ip).Name, nil
			}
		}
	}
	for _, p := range eligible {
		for _, ip := range m.addrs[p.Name] {
			if FamilyOf(ip) == f && m.holders[ip] == nil && !(p.AvoidBuggyIPs && buggy(ip)) && !m.isUnsafe(ip) {
				m.holders[ip] = []Service{svc}
				return ip, p.Name, nil
			}
		}
	}
	return netip.Addr{}, "", ErrPoolExhausted
}

// sharedAcross: the i-th holder of ip shares it with an older holder of
// another namespace under the same key, which ip's pool does not allow.
func (m *model) sharedAcross(ip netip.Addr, i int) bool {
	hs := m.holders[ip]
	if p := m.attr(ip); p != nil && p.AllowSharingAcrossNamespaces {
		return false
	}
	for _, o := range hs[:i] {
		if o.SharingKey != "" && o.SharingKey == hs[i].SharingKey && o.Namespace != hs[i].Namespace {
			return true
		}
	}
	return false
}

// recheck: svc holds ip; check it as it is now and record it.
func (m *model) recheck(svc Service, ip netip.Addr) error {
	if i := m.heldBy(svc.Key, ip); i >= 0 {
		return m.reconfirm(svc, ip, i)
	}
	return nil
}

func (m *model) releaseIP(key string, ip netip.Addr) {
	if i := m.heldBy(key, ip); i >= 0 {
		m.holders[ip] = slices.Delete(m.holders[ip], i, i+1)
		if len(m.holders[ip]) == 0 {
			delete(m.holders, ip)
		}
	}
}

func (m *model) release(key string) {
	for _, ip := range m.ips(key) {
		m.releaseIP(key, ip)
	}
}

func (m *model) ips(key string) []netip.Addr {
	var out []netip.Addr
	for ip := range m.holders {
		if m.heldBy(key, ip) >= 0 {
			out = append(out, ip)
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// counts returns total, allocated and available for one family.
func (m *model) counts(pool string, f Family) (total, allocated, available int64) {
	p := m.attrPool(pool)
	if p == nil {
		return 0, 0, 0
	}
	var heldCounted, unsafe int64
	for _, ip := range m.addrs[pool] {
		if FamilyOf(ip) != f {
			continue
		}
		skip := p.AvoidBuggyIPs && buggy(ip)
		if !skip {
			total++
			if m.isUnsafe(ip) {
				unsafe++
			}
		}
		if m.holders[ip] != nil && m.attr(ip) == p {
			allocated++
			if !skip && !m.isUnsafe(ip) {
				heldCounted++
			}
		}
	}
	if m.usable[pool] {
		available = total - unsafe - heldCounted
	}
	return total, allocated, available
}

func (m *model) attrPool(name string) *config.Pool {
	for _, p := range m.pools {
		if p.Name == name {
			return p
		}
	}
	return nil
}
