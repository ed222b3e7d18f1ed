package config

import "net/netip"

// Unsafe is a block of addresses that must never be handed out to a Service
// or announced, and why.
type Unsafe struct {
	Prefix netip.Prefix
	// Why is a short reason, such as "loopback" or "InternalIP of Node n1".
	Why string
}

// String writes "127.0.0.0/8: loopback".
func (u Unsafe) String() string { return u.Prefix.String() + ": " + u.Why }

// SpecialRanges returns the fixed blocks that are never a Service's
// address, whatever the pools say: "this network" (0.0.0.0/8), loopback,
// link-local, multicast, the reserved 240.0.0.0/4 with the limited broadcast
// address 255.255.255.255, and in IPv6 the unspecified address ::, loopback
// ::1, link-local fe80::/10 and multicast ff00::/8. The controller's
// allocator never hands them out, the speakers never announce them, and no
// BGPAdvertisement may aggregate a range that holds one. This list is the
// one place they are written; docs/configuration.md repeats it.
//
// A fresh slice is returned on every call: callers may keep or change it.
func SpecialRanges() []Unsafe {
	return []Unsafe{
		{netip.MustParsePrefix("0.0.0.0/8"), `"this network" (0.0.0.0/8)`},
		{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
		{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
		{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
		{netip.MustParsePrefix("240.0.0.0/4"), "reserved (240.0.0.0/4) and limited broadcast (255.255.255.255)"},
		{netip.MustParsePrefix("::/128"), "the unspecified address"},
		{netip.MustParsePrefix("::1/128"), "loopback"},
		{netip.MustParsePrefix("fe80::/10"), "link-local"},
		{netip.MustParsePrefix("ff00::/8"), "multicast"},
	}
}

// Special returns the fixed special block that holds a, and whether one
// does.
func Special(a netip.Addr) (Unsafe, bool) {
	a = a.Unmap()
	for _, u := range SpecialRanges() {
		if u.Prefix.Contains(a) {
			return u, true
		}
	}
	return Unsafe{}, false
}

// SpecialIn returns the fixed special blocks that share an address with r.
func SpecialIn(r Range) []Unsafe {
	var out []Unsafe
	for _, u := range SpecialRanges() {
		if r.Overlaps(RangeOf(u.Prefix)) {
			out = append(out, u)
		}
	}
	return out
}

// RangeOf returns the range of addresses a prefix holds.
func RangeOf(p netip.Prefix) Range {
	p = p.Masked()
	return Range{First: p.Addr(), Last: lastOf(p), Prefix: p}
}
