package config

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/pylonlb/pylon/test/gen"
)

func TestParseAddressRange(t *testing.T) {
	tests := []struct {
		in          string
		first, last string
		cidr        bool
		err         error
	}{
		{in: "198.51.100.0/24", first: "198.51.100.0", last: "198.51.100.255", cidr: true},
		{in: "198.51.100.7/32", first: "198.51.100.7", last: "198.51.100.7", cidr: true},
		{in: "203.0.113.64/27", first: "203.0.113.64", last: "203.0.113.95", cidr: true},
		{in: "0.0.0.0/0", first: "0.0.0.0", last: "255.255.255.255", cidr: true},
		{in: "2001:db8::/64", first: "2001:db8::", last: "2001:db8::ffff:ffff:ffff:ffff", cidr: true},
		{in: "2001:db8:1::/53", first: "2001:db8:1::", last: "2001:db8:1:7ff:ffff:ffff:ffff:ffff", cidr: true},
		{in: "2001:db8::1/128", first: "2001:db8::1", last: "2001:db8::1", cidr: true},
		{in: "198.51.100.10-198.51.100.20", first: "198.51.100.10", last: "198.51.100.20"},
		{in: "198.51.100.10-198.51.100.10", first: "198.51.100.10", last: "198.51.100.10"},
		{in: "2001:db8::1-2001:db8::ffff", first: "2001:db8::1", last: "2001:db8::ffff"},
		{in: "foo", err: ErrNotAddressRange},
		{in: "", err: ErrNotAddressRange},
		{in: "198.51.100.7", err: ErrNotAddressRange},
		{in: "198.51.100.0/33", err: ErrNotAddressRange},
		{in: " 198.51.100.0/24", err: ErrNotAddressRange},
		{in: "198.51.100.5/24", err: ErrHostBits},
		{in: "2001:db8::1/64", err: ErrHostBits},
		{in: "::ffff:198.51.100.0/120", err: ErrMappedAddress},
		{in: "::ffff:198.51.100.1-::ffff:198.51.100.2", err: ErrMappedAddress},
		{in: "198.51.100.1-2001:db8::1", err: ErrMixedFamilies},
		{in: "198.51.100.20-198.51.100.10", err: ErrReversedRange},
		{in: "2001:db8::10-2001:db8::1", err: ErrReversedRange},
		{in: "2001:db8::1:0-2001:db8::ffff", err: ErrReversedRange},
		{in: "198.51.100.1-198.51.100.2-198.51.100.3", err: ErrNotAddressRange},
		{in: "198.51.100.1 - 198.51.100.2", err: ErrNotAddressRange},
		{in: "198.51.100.1-", err: ErrNotAddressRange},
		{in: "fe80::1%eth0-fe80::2%eth0", err: ErrNotAddressRange},
		{in: "198.51.100.0/24-198.51.100.9", err: ErrNotAddressRange},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseAddressRange(tt.in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("ParseAddressRange(%q) = %v, %v; want error %v", tt.in, r, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAddressRange(%q): %v", tt.in, err)
			}
			if r.First != netip.MustParseAddr(tt.first) || r.Last != netip.MustParseAddr(tt.last) {
				t.Errorf("ParseAddressRange(%q) = %s..%s, want %s..%s", tt.in, r.First, r.Last, tt.first, tt.last)
			}
			if r.Prefix.IsValid() != tt.cidr {
				t.Errorf("ParseAddressRange(%q).Prefix = %v, want CIDR %v", tt.in, r.Prefix, tt.cidr)
			}
			if r.String() != tt.in {
				t.Errorf("String() = %q, want %q", r.String(), tt.in)
			}
		})
	}
}

func TestHostBitsMessageNamesTheBlock(t *testing.T) {
	_, err := ParseAddressRange("198.51.100.5/24")
	if err == nil || !strings.Contains(err.Error(), "198.51.100.0/24") {
		t.Fatalf("error %v does not name the masked block 198.51.100.0/24", err)
	}
}

func TestRangeSizeAndRelations(t *testing.T) {
	r := func(s string) Range {
		t.Helper()
		out, err := ParseAddressRange(s)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := r("2001:db8::/64").Size().String(); got != "18446744073709551616" {
		t.Errorf("size of a /64 = %s", got)
	}
	if got := r("198.51.100.10-198.51.100.20").Size().Int64(); got != 11 {
		t.Errorf("size of .10-.20 = %d, want 11", got)
	}
	a, b := r("198.51.100.0/25"), r("198.51.100.100-198.51.100.200")
	if !a.Overlaps(b) || !b.Overlaps(a) {
		t.Errorf("%s and %s overlap", a, b)
	}
	if c := r("198.51.100.128/25"); a.Overlaps(c) {
		t.Errorf("%s and %s do not overlap", a, c)
	}
	if v6 := r("2001:db8::/32"); a.Overlaps(v6) || v6.Contains(netip.MustParseAddr("198.51.100.1")) {
		t.Errorf("families must never overlap")
	}
	if !r("198.51.100.0/24").ContainsRange(b) || b.ContainsRange(a) {
		t.Errorf("ContainsRange is wrong")
	}
}

// TestIngressIPs: the status's addresses in order, a hostname left out.
func TestIngressIPs(t *testing.T) {
	svc := gen.Service("shop", "web", gen.WithIngress("198.51.100.7", "lb.example.com", "2001:db8::7"))
	got := IngressIPs(svc)
	want := []netip.Addr{netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("2001:db8::7")}
	if !slices.Equal(got, want) {
		t.Errorf("IngressIPs = %v, want %v", got, want)
	}
}
