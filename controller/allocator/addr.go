package allocator

import (
	"encoding/binary"
	"math/big"
	"net/netip"
)

// u128 is an address as a 128-bit number: IPv4 addresses fill the low 32
// bits. Range arithmetic uses it so the hot path needs no math/big.
type u128 struct{ hi, lo uint64 }

func fromAddr(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{lo: uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := a.As16()
	return u128{hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:])}
}

// addr turns x back into an address of the family is4 names.
func (x u128) addr(is4 bool) netip.Addr {
	if is4 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(x.lo))
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], x.hi)
	binary.BigEndian.PutUint64(b[8:], x.lo)
	return netip.AddrFrom16(b)
}

func (x u128) less(y u128) bool {
	return x.hi < y.hi || x.hi == y.hi && x.lo < y.lo
}

// next returns x+1, wrapping at the top.
func (x u128) next() u128 {
	if x.lo == ^uint64(0) {
		return u128{hi: x.hi + 1}
	}
	return u128{hi: x.hi, lo: x.lo + 1}
}

// buggy reports whether a is an IPv4 address ending in .0 or .255, which
// some old clients and routers mishandle.
func buggy(a netip.Addr) bool {
	if !a.Is4() {
		return false
	}
	last := a.As4()[3]
	return last == 0 || last == 0xff
}

// big returns x as a big.Int.
func (x u128) big() *big.Int {
	n := new(big.Int).SetUint64(x.hi)
	n.Lsh(n, 64)
	return n.Or(n, new(big.Int).SetUint64(x.lo))
}
