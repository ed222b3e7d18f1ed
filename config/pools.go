package config

import (
	"cmp"
	"slices"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// pools parses every IPPool, then marks the newer of each overlapping pair.
func (p *parser) pools(in []v1alpha1.IPPool) {
	var parsed []*Pool
	for i := range in {
		pool, errs := parsePool(&in[i])
		if len(errs) > 0 {
			p.problem(KindIPPool, in[i].Name, ReasonInvalidSpec, true, errs)
			continue
		}
		parsed = append(parsed, pool)
	}
	p.markOverlaps(parsed)

	slices.SortFunc(parsed, func(a, b *Pool) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), cmp.Compare(a.Name, b.Name))
	})
	p.cfg.Pools = parsed
	for _, pool := range parsed {
		p.cfg.poolsByName[pool.Name] = pool
	}
}

func parsePool(in *v1alpha1.IPPool) (*Pool, field.ErrorList) {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	pool := &Pool{
		Name:          in.Name,
		AutoAssign:    in.Spec.AutoAssign == nil || *in.Spec.AutoAssign,
		AvoidBuggyIPs: in.Spec.AvoidBuggyIPs,
		Priority:      NoPriority,
		Labels:        labels.Set(in.Labels),
		Created:       in.CreationTimestamp.Time,
	}

	addrPath := spec.Child("addresses")
	if len(in.Spec.Addresses) == 0 {
		errs = append(errs, field.Required(addrPath, "a pool needs at least one CIDR or range"))
	}
	at := map[Range]int{} // range -> index in spec.addresses, for overlap messages
	for i, s := range in.Spec.Addresses {
		r, err := parseAddressRange(string(s))
		if err != nil {
			errs = append(errs, field.Invalid(addrPath.Index(i), string(s), err.Error()))
			continue
		}
		for _, prev := range pool.Ranges {
			if prev.Overlaps(r) {
				errs = append(errs, field.Invalid(addrPath.Index(i), string(s),
					"overlaps "+addrPath.Index(at[prev]).String()+" ("+prev.String()+")"))
			}
		}
		at[r] = i
		pool.Ranges = append(pool.Ranges, r)
	}
	slices.SortFunc(pool.Ranges, compareRanges)

	if a := in.Spec.Allocation; a != nil {
		allocPath := spec.Child("allocation")
		if a.Priority != nil {
			if *a.Priority < 0 {
				errs = append(errs, field.Invalid(allocPath.Child("priority"), *a.Priority, "must be 0 or more"))
			}
			pool.Priority = int64(*a.Priority)
		}
		for i, ns := range a.Namespaces {
			for _, msg := range validation.IsDNS1123Label(ns) {
				errs = append(errs, field.Invalid(allocPath.Child("namespaces").Index(i), ns, msg))
			}
		}
		pool.Namespaces = slices.Sorted(slices.Values(a.Namespaces))
		pool.AllowSharingAcrossNamespaces = a.AllowSharingAcrossNamespaces
		var err *field.Error
		if pool.NamespaceSelector, err = parseSelector(a.NamespaceSelector, allocPath.Child("namespaceSelector")); err != nil {
			errs = append(errs, err)
		}
		if pool.ServiceSelector, err = parseSelector(a.ServiceSelector, allocPath.Child("serviceSelector")); err != nil {
			errs = append(errs, err)
		}
	}
	return pool, errs
}

// markOverlaps sets Overlaps on every pool that shares an address with an
// older one (by creation time, then name) and reports it. Pools hold few
// ranges, so comparing every pair is cheap and keeps the reasoning plain.
func (p *parser) markOverlaps(pools []*Pool) {
	byAge := slices.Clone(pools)
	slices.SortFunc(byAge, func(a, b *Pool) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.Name, b.Name))
	})
	for i, newer := range byAge {
		var errs field.ErrorList
		for _, older := range byAge[:i] {
			if r, o, ok := firstOverlap(newer, older); ok {
				newer.Overlaps = append(newer.Overlaps, older.Name)
				errs = append(errs, field.Invalid(field.NewPath("spec", "addresses"), r.String(),
					"overlaps "+o.String()+" of older IPPool "+older.Name+"; no new address is given out from this pool until the overlap is removed"))
			}
		}
		p.problem(KindIPPool, newer.Name, ReasonOverlapping, false, errs)
	}
}

func firstOverlap(a, b *Pool) (Range, Range, bool) {
	for _, ra := range a.Ranges {
		for _, rb := range b.Ranges {
			if ra.Overlaps(rb) {
				return ra, rb, true
			}
		}
	}
	return Range{}, Range{}, false
}

// compareRanges orders IPv4 before IPv6, then by first address.
func compareRanges(a, b Range) int {
	return cmp.Or(cmp.Compare(a.First.BitLen(), b.First.BitLen()), a.First.Compare(b.First))
}
