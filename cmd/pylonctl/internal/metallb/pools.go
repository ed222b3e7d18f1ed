package metallb

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/config"
)

// maxPriority is the highest (last tried) IPPool priority pylon's API takes.
const maxPriority = 1000000

// maxAddresses is how many blocks one IPPool may list.
const maxAddresses = 64

func typeMeta(kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion().String(), Kind: kind}
}

// convertPools makes an IPPool of each IPAddressPool, of the same name.
func (c *converter) convertPools() {
	for _, s := range c.byKind[KindIPAddressPool] {
		var spec poolSpec
		if !c.spec(s, &spec) {
			continue
		}
		pool := v1alpha1.IPPool{TypeMeta: typeMeta("IPPool"), ObjectMeta: meta(s, s.ref.Name)}
		for i, a := range spec.Addresses {
			if r, ok := c.addressRange(s, fmt.Sprintf("spec.addresses[%d]", i), a); ok {
				pool.Spec.Addresses = append(pool.Spec.Addresses, v1alpha1.AddressRange(r))
			}
		}
		if n := len(pool.Spec.Addresses); n > maxAddresses {
			s.out.note("spec.addresses", Unmapped, "%d blocks; an IPPool holds at most %d: blocks from %s on are left out (split the pool in two)", n, maxAddresses, pool.Spec.Addresses[maxAddresses])
			pool.Spec.Addresses = pool.Spec.Addresses[:maxAddresses]
		}
		if len(pool.Spec.Addresses) == 0 {
			s.out.note("spec.addresses", Unmapped, "no address pylon accepts; the pool is not converted")
			continue
		}
		s.track.use("spec.autoAssign")
		pool.Spec.AutoAssign = spec.AutoAssign
		s.track.use("spec.avoidBuggyIPs")
		pool.Spec.AvoidBuggyIPs = spec.AvoidBuggyIPs

		alloc := &v1alpha1.IPPoolAllocation{AllowSharingAcrossNamespaces: true}
		s.out.note("", Info, "allocation.allowSharingAcrossNamespaces: true keeps MetalLB's rule that Services of any namespace with the same allow-shared-ip key may share an address (pylon's default keeps a key within its namespace)")
		c.allocation(s, spec.Allocation, alloc)
		pool.Spec.Allocation = alloc
		if c.claim(s, "IPPool", pool.Name) {
			c.res.Resources.Pools = append(c.res.Resources.Pools, pool)
		}
	}
}

// addressRange converts one entry of spec.addresses: a CIDR or a range
// first-last (MetalLB allows spaces around the dash). MetalLB takes a CIDR
// with host bits set as the block it names; pylon asks for that block.
func (c *converter) addressRange(s *source, path, a string) (string, bool) {
	s.track.use(path)
	text := a
	if first, last, ok := strings.Cut(a, "-"); ok {
		text = strings.TrimSpace(first) + "-" + strings.TrimSpace(last)
	}
	_, err := config.ParseAddressRange(text)
	if errors.Is(err, config.ErrHostBits) {
		if p, perr := netip.ParsePrefix(text); perr == nil {
			s.out.note(path, Changed, "%q has host bits set: MetalLB takes the block it names, and pylon is given that block, %s (the same addresses)", a, p.Masked())
			return p.Masked().String(), true
		}
	}
	if err != nil {
		s.out.note(path, Unmapped, "%q is not an address block pylon accepts (%v); left out", a, err)
		return "", false
	}
	return text, true
}

// allocation converts spec.serviceAllocation into IPPool.spec.allocation.
func (c *converter) allocation(s *source, in *serviceAllocation, out *v1alpha1.IPPoolAllocation) {
	const base = "spec.serviceAllocation"
	if in == nil {
		return
	}
	// MetalLB first tries the pools that have a serviceAllocation matching
	// the Service, by priority (unset last), and only then the pools
	// without one; pylon tries all eligible pools by priority, unset last.
	s.track.use(base + ".priority")
	switch {
	case in.Priority > maxPriority:
		out.Priority = ptr.To[int32](maxPriority)
		s.out.note(base+".priority", Changed, "%d is above pylon's highest priority: set to %d (the order among pools above it is lost)", in.Priority, maxPriority)
	case in.Priority > 0:
		out.Priority = ptr.To(int32(in.Priority))
	default:
		out.Priority = ptr.To[int32](maxPriority)
		s.out.note(base+".priority", Info, "unset: allocation.priority is %d, pylon's last, so that the pool is still tried after the pools with a priority and before pools without a serviceAllocation, as MetalLB does", maxPriority)
	}

	s.track.use(base + ".namespaces")
	out.Namespaces = slices.Clone(in.Namespaces)
	c.namespaceSelectors(s, in, out)

	path := base + ".serviceSelectors"
	s.track.use(path)
	if sel, ok := anyOf(in.ServiceSelectors); ok {
		out.ServiceSelector = sel
	} else {
		out.ServiceSelector = selector(in.ServiceSelectors[0])
		for i := 1; i < len(in.ServiceSelectors); i++ {
			s.track.unmapped(fmt.Sprintf("%s[%d]", path, i), "pylon takes one Service selector and these cannot be merged into one: only the first is kept, so Services that only this one matches no longer get addresses from this pool")
		}
	}
}

// namespaceSelectors converts MetalLB's list of namespace selectors: merged
// when one selector can say it; else, when the Namespaces are known, as the
// list of namespaces they select now (which is how MetalLB itself applies
// them); else the first one only.
func (c *converter) namespaceSelectors(s *source, in *serviceAllocation, out *v1alpha1.IPPoolAllocation) {
	path := "spec.serviceAllocation.namespaceSelectors"
	s.track.use(path)
	sels := in.NamespaceSelectors
	if len(sels) == 0 {
		return
	}
	if sel, ok := anyOf(sels); ok {
		if sel == nil {
			sel = &v1alpha1.LabelSelector{} // an empty selector: every namespace
		}
		out.NamespaceSelector = sel
		return
	}
	if c.nsKnown {
		var names []string
		for _, ns := range c.namespaces {
			for _, sl := range sels {
				if m, err := metav1.LabelSelectorAsSelector(&sl); err == nil && m.Matches(labels.Set(ns.Labels)) {
					names = append(names, ns.Name)
					break
				}
			}
		}
		out.Namespaces = append(out.Namespaces, names...)
		slices.Sort(out.Namespaces)
		out.Namespaces = slices.Compact(out.Namespaces)
		s.out.note(path, Changed, "pylon takes one namespace selector and these cannot be merged into one: the namespaces they select now (%s) are listed in allocation.namespaces instead, as MetalLB itself resolves them; a namespace created or relabelled later is not picked up", strings.Join(names, ", "))
		return
	}
	out.NamespaceSelector = selector(sels[0])
	for i := 1; i < len(sels); i++ {
		s.track.unmapped(fmt.Sprintf("%s[%d]", path, i), "pylon takes one namespace selector and these cannot be merged into one: only the first is kept, so Services in namespaces that only this one selects no longer get addresses from this pool (give the Namespaces to convert, or read from the cluster, to list them by name)")
	}
}
