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
	r := specialRanges()
	return r[:]
}

// specialRanges is the table, as an array built without parsing: Special
// runs for every address of every speaker pass (50,000 a pass at scale),
// where parsing nine prefixes each time was a sixth of the pass.
func specialRanges() [9]Unsafe {
	v4 := func(b0, b1 byte, bits int) netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{b0, b1}), bits)
	}
	v6 := func(a netip.Addr, bits int) netip.Prefix { return netip.PrefixFrom(a, bits) }
	return [...]Unsafe{
		{v4(0, 0, 8), `"this network" (0.0.0.0/8)`},
		{v4(127, 0, 8), "loopback"},
		{v4(169, 254, 16), "link-local"},
		{v4(224, 0, 4), "multicast"},
		{v4(240, 0, 4), "reserved (240.0.0.0/4) and limited broadcast (255.255.255.255)"},
		{v6(netip.IPv6Unspecified(), 128), "the unspecified address"},
		{v6(netip.IPv6Loopback(), 128), "loopback"},
		{v6(netip.AddrFrom16([16]byte{0xfe, 0x80}), 10), "link-local"},
		{v6(netip.AddrFrom16([16]byte{0xff}), 8), "multicast"},
	}
}

// Special returns the fixed special block that holds a, and whether one
// does.
func Special(a netip.Addr) (Unsafe, bool) {
	a = a.Unmap()
	if !maybeSpecial(a) {
		return Unsafe{}, false
	}
	for _, u := range specialRanges() {
		if u.Prefix.Contains(a) {
			return u, true
		}
	}
	return Unsafe{}, false
}

// maybeSpecial is false for an address in none of the special ranges, true
// for every address in one of them (and possibly for some others): a
// test walks the table's first and last addresses. It spares the common
// address the walk through the table.
func maybeSpecial(a netip.Addr) bool {
	if a.Is4() {
		if b := a.As4()[0]; b == 0 || b >= 224 {
			return true
		}
	}
	return a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsMulticast() || a.IsUnspecified()
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
