package config

import (
	"math/big"
	"net/netip"
	"strings"
	"testing"
)

// FuzzParseAddressRange checks, for any input, that ParseAddressRange either
// refuses it or returns a well-formed range that round-trips through String,
// and that it agrees with an independent reading of the same text.
// The seed corpus is in testdata/fuzz/FuzzParseAddressRange.
func FuzzParseAddressRange(f *testing.F) {
	for _, s := range []string{
		"198.51.100.0/24", "203.0.113.10-203.0.113.20", "2001:db8::/64",
		"2001:db8::1-2001:db8::ff", "198.51.100.5/24", "a-b", "::ffff:1.2.3.4/128",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseAddressRange(s)
		if err != nil {
			return
		}
		if !r.First.IsValid() || !r.Last.IsValid() || r.First.Is4() != r.Last.Is4() {
			t.Fatalf("%q: ends %v, %v are not one family", s, r.First, r.Last)
		}
		if r.Last.Less(r.First) {
			t.Fatalf("%q: first %v after last %v", s, r.First, r.Last)
		}
		if r.First.Zone() != "" || r.First.Is4In6() || r.Last.Is4In6() {
			t.Fatalf("%q: zone or mapped address accepted", s)
		}
		if strings.TrimSpace(s) != s {
			t.Fatalf("%q: surrounding space accepted", s)
		}
		again, err := ParseAddressRange(r.String())
		if err != nil || again != r {
			t.Fatalf("%q: String() = %q re-parses to %v, %v", s, r.String(), again, err)
		}
		// Independent reading: a CIDR's size is 2^(bits-len); a range's size
		// is last-first+1 and its text is exactly two addresses.
		if first, last, ok := strings.Cut(s, "-"); ok {
			if netip.MustParseAddr(first) != r.First || netip.MustParseAddr(last) != r.Last {
				t.Fatalf("%q: parsed ends %v-%v differ from the text", s, r.First, r.Last)
			}
			return
		}
		p := netip.MustParsePrefix(s)
		want := new(big.Int).Lsh(big.NewInt(1), uint(p.Addr().BitLen()-p.Bits()))
		if r.Size().Cmp(want) != 0 || !r.Contains(p.Addr()) || p.Addr() != r.First {
			t.Fatalf("%q: size %v, want %v", s, r.Size(), want)
		}
		if r.Last.Next().IsValid() && p.Contains(r.Last.Next()) {
			t.Fatalf("%q: last %v is not the end of the block", s, r.Last)
		}
	})
}
