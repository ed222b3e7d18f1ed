package config

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// l2Advertisements parses every L2Advertisement.
func (p *parser) l2Advertisements(in []v1alpha1.L2Advertisement) {
	for i := range in {
		a := &in[i]
		spec := field.NewPath("spec")
		var errs field.ErrorList
		out := &L2Advertisement{Name: a.Name}
		var err *field.Error
		if out.NodeSelector, err = parseNodeSelector(a.Spec.NodeSelector, spec.Child("nodeSelector")); err != nil {
			errs = append(errs, err)
		}
		for j, ifname := range a.Spec.Interfaces {
			if msg := interfaceNameError(string(ifname)); msg != "" {
				errs = append(errs, field.Invalid(spec.Child("interfaces").Index(j), string(ifname), msg))
			}
			out.Interfaces = append(out.Interfaces, string(ifname))
		}
		var selErrs field.ErrorList
		out.ServiceSelectors, selErrs = parseServiceSelectors(a.Spec.ServiceSelectors, spec.Child("serviceSelectors"))
		errs = append(errs, selErrs...)
		pools, poolErrs := p.resolvePools(a.Spec.IPPools, a.Spec.IPPoolSelector)
		errs = append(errs, poolErrs...)
		if len(errs) > 0 {
			p.problem(KindL2Advertisement, a.Name, ReasonInvalidSpec, true, errs)
			continue
		}
		out.Pools = p.knownPools(KindL2Advertisement, a.Name, pools)
		p.cfg.L2Advertisements = append(p.cfg.L2Advertisements, out)
	}
	slices.SortFunc(p.cfg.L2Advertisements, func(a, b *L2Advertisement) int { return cmp.Compare(a.Name, b.Name) })
}

// bgpAdvertisements parses every BGPAdvertisement; peers must be parsed first.
func (p *parser) bgpAdvertisements(in []v1alpha1.BGPAdvertisement) {
	for i := range in {
		a := &in[i]
		out, errs := p.parseBGPAdvertisement(a)
		if len(errs) > 0 {
			p.problem(KindBGPAdvertisement, a.Name, ReasonInvalidSpec, true, errs)
			continue
		}
		if errs, pools := p.aggregationErrors(out); len(errs) > 0 {
			var blames []blame
			for _, pool := range pools {
				blames = append(blames, blame{key: objKey{KindIPPool, pool}, path: field.NewPath("spec", "addresses")})
			}
			p.problemBlaming(KindBGPAdvertisement, a.Name, ReasonAggregation, true, errs, blames)
			continue
		}
		out.Pools = p.knownPools(KindBGPAdvertisement, a.Name, out.Pools)
		out.Peers = p.knownPeers(a)
		p.localPrefCheck(out)
		p.cfg.BGPAdvertisements = append(p.cfg.BGPAdvertisements, out)
	}
	slices.SortFunc(p.cfg.BGPAdvertisements, func(a, b *BGPAdvertisement) int { return cmp.Compare(a.Name, b.Name) })
}

func (p *parser) parseBGPAdvertisement(a *v1alpha1.BGPAdvertisement) (*BGPAdvertisement, field.ErrorList) {
	spec := field.NewPath("spec")
	s := a.Spec
	var errs field.ErrorList
	out := &BGPAdvertisement{Name: a.Name, AggregationLength: 32, AggregationLengthV6: 128}
	if s.AggregationLength != nil {
		out.AggregationLength = int(*s.AggregationLength)
		if out.AggregationLength < 0 || out.AggregationLength > 32 {
			errs = append(errs, field.Invalid(spec.Child("aggregationLength"), out.AggregationLength, "must be an IPv4 prefix length from 0 to 32"))
		}
	}
	if s.AggregationLengthV6 != nil {
		out.AggregationLengthV6 = int(*s.AggregationLengthV6)
		if out.AggregationLengthV6 < 0 || out.AggregationLengthV6 > 128 {
			errs = append(errs, field.Invalid(spec.Child("aggregationLengthV6"), out.AggregationLengthV6, "must be an IPv6 prefix length from 0 to 128"))
		}
	}
	if s.LocalPref != nil {
		if *s.LocalPref < 0 || *s.LocalPref > 4294967295 {
			errs = append(errs, field.Invalid(spec.Child("localPref"), *s.LocalPref, "must be from 0 to 4294967295"))
		} else {
			lp := uint32(*s.LocalPref)
			out.LocalPref = &lp
		}
	}
	for i, c := range s.Communities {
		parsed, err := ParseCommunity(string(c))
		if err != nil {
			errs = append(errs, field.Invalid(spec.Child("communities").Index(i), string(c), err.Error()))
			continue
		}
		out.Communities = append(out.Communities, parsed)
	}
	var err *field.Error
	if out.NodeSelector, err = parseNodeSelector(s.NodeSelector, spec.Child("nodeSelector")); err != nil {
		errs = append(errs, err)
	}
	var selErrs field.ErrorList
	out.ServiceSelectors, selErrs = parseServiceSelectors(s.ServiceSelectors, spec.Child("serviceSelectors"))
	errs = append(errs, selErrs...)
	pools, poolErrs := p.resolvePools(s.IPPools, s.IPPoolSelector)
	out.Pools = pools
	return out, append(errs, poolErrs...)
}

// resolvePools returns the names of the pools named or selected, or of every
// pool when neither is given. Names are returned whether or not such a pool
// exists: knownPools sorts that out.
func (p *parser) resolvePools(names []v1alpha1.ObjectName, selector *v1alpha1.LabelSelector) ([]string, field.ErrorList) {
	spec := field.NewPath("spec")
	var errs field.ErrorList
	sel, err := parseSelector(selector, spec.Child("ipPoolSelector"))
	if err != nil {
		errs = append(errs, err)
	}
	var out []string
	for i, n := range names {
		for _, msg := range validation.IsDNS1123Subdomain(string(n)) {
			errs = append(errs, field.Invalid(spec.Child("ipPools").Index(i), string(n), msg))
		}
		out = append(out, string(n))
	}
	for _, pool := range p.cfg.Pools {
		if (len(names) == 0 && selector == nil) || (sel != nil && sel.Matches(pool.Labels)) {
			out = append(out, pool.Name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), errs
}

// knownPools drops names of pools that do not exist, reporting each.
func (p *parser) knownPools(kind Kind, name string, pools []string) []string {
	var errs field.ErrorList
	known := slices.DeleteFunc(pools, func(n string) bool {
		if p.cfg.Pool(n) == nil {
			errs = append(errs, field.NotFound(field.NewPath("spec", "ipPools"), n))
			return true
		}
		return false
	})
	p.problem(kind, name, ReasonPoolNotFound, false, errs)
	return known
}

// knownPeers resolves an advertisement's peers: the named ones that exist
// (reporting the others), or every valid peer when it names none.
func (p *parser) knownPeers(a *v1alpha1.BGPAdvertisement) []string {
	var out []string
	if len(a.Spec.Peers) == 0 {
		for _, peer := range p.cfg.BGPPeers {
			out = append(out, peer.Name)
		}
		return out
	}
	var errs field.ErrorList
	for i, n := range a.Spec.Peers {
		if p.peer(string(n)) == nil {
			errs = append(errs, field.NotFound(field.NewPath("spec", "peers").Index(i), string(n)))
			continue
		}
		out = append(out, string(n))
	}
	p.problem(KindBGPAdvertisement, a.Name, ReasonPeerNotFound, false, errs)
	slices.Sort(out)
	return slices.Compact(out)
}

func (p *parser) peer(name string) *BGPPeer { return p.cfg.Peer(name) }

// localPrefCheck reports a localPref that would go to eBGP peers: routers
// ignore LOCAL_PREF from outside their AS, so it is sent to iBGP peers only.
func (p *parser) localPrefCheck(a *BGPAdvertisement) {
	if a.LocalPref == nil {
		return
	}
	var ebgp []string
	for _, n := range a.Peers {
		if !p.peer(n).IBGP() {
			ebgp = append(ebgp, n)
		}
	}
	if len(ebgp) > 0 {
		p.problem(KindBGPAdvertisement, a.Name, ReasonLocalPrefOnEBGP, false, field.ErrorList{
			field.Invalid(field.NewPath("spec", "localPref"), *a.LocalPref,
				"is sent to iBGP peers only; not sent to eBGP peers "+strings.Join(ebgp, ", ")),
		})
	}
}

// aggregationErrors reports pools whose ranges an aggregate would spill out
// of, and names those pools: announcing a shorter prefix than the pool holds
// would draw traffic for addresses that are not the cluster's.
func (p *parser) aggregationErrors(a *BGPAdvertisement) (errs field.ErrorList, pools []string) {
	for _, name := range a.Pools {
		pool := p.cfg.Pool(name)
		if pool == nil {
			continue
		}
		for _, r := range pool.Ranges {
			length, path := a.AggregationLength, field.NewPath("spec", "aggregationLength")
			if !r.Is4() {
				length, path = a.AggregationLengthV6, field.NewPath("spec", "aggregationLengthV6")
			}
			if !aggregatesInside(r, length) {
				errs = append(errs, field.Invalid(path, length, fmt.Sprintf(
					"a /%d around an address of IPPool %s range %s would cover addresses outside that range", length, name, r)))
				if !slices.Contains(pools, name) {
					pools = append(pools, name)
				}
				continue
			}
			if msg := aggregationUnsafe(r, length); msg != "" {
				errs = append(errs, field.Invalid(path, length, fmt.Sprintf("aggregating IPPool %s range %s at /%d %s", name, r, length, msg)))
				if !slices.Contains(pools, name) {
					pools = append(pools, name)
				}
			}
		}
	}
	return errs, pools
}

// aggregationUnsafe explains why announcing r in /length blocks would
// announce what must never be announced, or returns "". A host route
// (length = the address size) is announced only for an address a Service
// holds, which the controller never hands out from a special range; a
// shorter block announces every address in it, so it must hold none of
// config.SpecialRanges, and /0 (a default route) is never announced.
func aggregationUnsafe(r Range, length int) string {
	if length >= r.First.BitLen() {
		return ""
	}
	if length == 0 {
		return "would announce a default route"
	}
	special := SpecialIn(r)
	if len(special) == 0 {
		return ""
	}
	why := make([]string, len(special))
	for i, u := range special {
		why[i] = u.String()
	}
	return "would announce addresses that must never be announced (" + strings.Join(why, "; ") + "): use a host-route length"
}

// aggregatesInside reports whether every /length block that holds an address
// of r lies inside r: r must start and end on /length boundaries.
func aggregatesInside(r Range, length int) bool {
	if length >= r.First.BitLen() {
		return true
	}
	first := netip.PrefixFrom(r.First, length).Masked()
	last := lastOf(netip.PrefixFrom(r.Last, length).Masked())
	return first.Addr() == r.First && last == r.Last
}

// wellKnownCommunity returns the value of an RFC 1997 or RFC 3765 name.
func wellKnownCommunity(s string) (uint32, bool) {
	switch s {
	case "no-export":
		return 0xFFFFFF01, true
	case "no-advertise":
		return 0xFFFFFF02, true
	case "no-export-subconfed":
		return 0xFFFFFF03, true
	case "no-peer":
		return 0xFFFFFF04, true
	}
	return 0, false
}

// ParseCommunity parses "65000:100", "large:64512:1:2" or a well-known name.
func ParseCommunity(s string) (Community, error) {
	if v, ok := wellKnownCommunity(s); ok {
		return Community{Kind: Standard, Value: v}, nil
	}
	parts := strings.Split(s, ":")
	num := func(p string, bits int) (uint64, bool) {
		if p == "" || strings.TrimLeft(p, "0123456789") != "" {
			return 0, false
		}
		v, err := strconv.ParseUint(p, 10, bits)
		return v, err == nil
	}
	switch {
	case len(parts) == 2:
		hi, ok1 := num(parts[0], 16)
		lo, ok2 := num(parts[1], 16)
		if ok1 && ok2 {
			return Community{Kind: Standard, Value: uint32(hi<<16 | lo)}, nil
		}
	case len(parts) == 4 && parts[0] == "large":
		var c Community
		c.Kind = Large
		ok := true
		for i := range 3 {
			v, good := num(parts[i+1], 32)
			ok = ok && good
			c.LargeValue[i] = uint32(v)
		}
		if ok {
			return c, nil
		}
	}
	return Community{}, fmt.Errorf("must be a standard community 0..65535:0..65535 such as 65000:100, a large community large:A:B:C with each part 0..4294967295, or one of no-export, no-advertise, no-export-subconfed, no-peer")
}

// interfaceNameError checks a Linux interface name; "" when valid.
func interfaceNameError(s string) string {
	valid := len(s) > 0 && len(s) <= 15 && s != "." && s != ".." &&
		strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@.-") == ""
	if !valid {
		return "must be a network interface name: 1 to 15 letters, digits, '_', '@', '.' or '-'"
	}
	return ""
}
