package config

import (
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Range is a contiguous, inclusive block of addresses of one family. When it
// was written as a CIDR, Prefix holds it; otherwise Prefix is the zero value.
type Range struct {
	First, Last netip.Addr
	Prefix      netip.Prefix
}

// Errors returned (wrapped) by ParseAddressRange.
var (
	ErrNotAddressRange = errors.New("not a CIDR or an address range")
	ErrHostBits        = errors.New("CIDR has host bits set")
	ErrMixedFamilies   = errors.New("range ends are of different IP families")
	ErrReversedRange   = errors.New("range starts after it ends")
	ErrMappedAddress   = errors.New("IPv4-mapped IPv6 addresses are not allowed")
)

// ParseAddressRange parses one entry of IPPool.spec.addresses: a CIDR with no
// host bits set ("198.51.100.0/24", "2001:db8::/64") or an inclusive range
// "first-last" of one family. No spaces, zones or IPv4-mapped IPv6 addresses
// are accepted.
func ParseAddressRange(s string) (Range, error) {
	r, err := parseAddressRange(s)
	if err != nil {
		return Range{}, fmt.Errorf("%q: %w", s, err)
	}
	return r, nil
}

// parseAddressRange is ParseAddressRange with errors that do not repeat the
// input, for field errors that already show it.
func parseAddressRange(s string) (Range, error) {
	if first, last, isRange := strings.Cut(s, "-"); isRange {
		return parseFirstLast(first, last)
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return Range{}, fmt.Errorf("%w: write a CIDR such as 198.51.100.0/24 or a range such as 198.51.100.10-198.51.100.20", ErrNotAddressRange)
	}
	if p.Addr().Is4In6() {
		return Range{}, ErrMappedAddress
	}
	if p != p.Masked() {
		return Range{}, fmt.Errorf("%w: the block it names is %s", ErrHostBits, p.Masked())
	}
	return Range{First: p.Addr(), Last: lastOf(p), Prefix: p}, nil
}

func parseFirstLast(first, last string) (Range, error) {
	a, errA := netip.ParseAddr(first)
	b, errB := netip.ParseAddr(last)
	if errA != nil || errB != nil || a.Zone() != "" || b.Zone() != "" {
		return Range{}, fmt.Errorf("%w: a range is two IP addresses joined by '-', such as 198.51.100.10-198.51.100.20", ErrNotAddressRange)
	}
	if a.Is4In6() || b.Is4In6() {
		return Range{}, ErrMappedAddress
	}
	if a.Is4() != b.Is4() {
		return Range{}, ErrMixedFamilies
	}
	if b.Less(a) {
		return Range{}, ErrReversedRange
	}
	return Range{First: a, Last: b}, nil
}

// lastOf returns the highest address of p, which must be masked.
func lastOf(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	bits := p.Bits()
	for i := range b {
		switch {
		case bits >= 8:
			bits -= 8
		case bits > 0:
			b[i] |= 0xff >> bits
			bits = 0
		default:
			b[i] = 0xff
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// Is4 reports whether the range holds IPv4 addresses.
func (r Range) Is4() bool { return r.First.Is4() }

// Contains reports whether a lies in the range.
func (r Range) Contains(a netip.Addr) bool {
	return a.BitLen() == r.First.BitLen() && r.First.Compare(a) <= 0 && a.Compare(r.Last) <= 0
}

// Overlaps reports whether the two ranges share an address.
func (r Range) Overlaps(o Range) bool {
	return r.Is4() == o.Is4() && r.First.Compare(o.Last) <= 0 && o.First.Compare(r.Last) <= 0
}

// ContainsRange reports whether every address of o lies in r.
func (r Range) ContainsRange(o Range) bool {
	return r.Contains(o.First) && r.Contains(o.Last)
}

// Size is the number of addresses in the range.
func (r Range) Size() *big.Int {
	n := new(big.Int).Sub(new(big.Int).SetBytes(r.Last.AsSlice()), new(big.Int).SetBytes(r.First.AsSlice()))
	return n.Add(n, big.NewInt(1))
}

// String writes the range the way ParseAddressRange reads it.
func (r Range) String() string {
	if r.Prefix.IsValid() {
		return r.Prefix.String()
	}
	return r.First.String() + "-" + r.Last.String()
}

// IngressIPs reads the addresses in a Service's status.loadBalancer.ingress,
// in order, leaving out what is no IP address (a hostname).
func IngressIPs(svc *corev1.Service) []netip.Addr {
	var out []netip.Addr
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if ip, err := netip.ParseAddr(in.IP); err == nil {
			out = append(out, ip)
		}
	}
	return out
}
