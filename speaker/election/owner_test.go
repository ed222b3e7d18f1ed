package election

import (
	"fmt"
	"net/netip"
	"testing"
)

// TestScoreVectors pins the wire contract. The expected values were computed
// outside Go: printf 'node-a/\xc6\x33\x64\x0a' | sha256sum | cut -c1-16.
func TestScoreVectors(t *testing.T) {
	for _, tc := range []struct {
		node, ip string
		want     uint64
	}{
		{"node-a", "198.51.100.10", 0x785ac771c9deca28},
		{"node-b", "198.51.100.10", 0x156abbfaaad5be9e},
		{"node-a", "::ffff:198.51.100.10", 0x785ac771c9deca28}, // unmapped first
		{"node-a", "2001:db8::1", 0xdcd5096d203401aa},
		{"node-a", "2001:db8::1%eth0", 0xdcd5096d203401aa}, // zone dropped
	} {
		if got := Score(tc.node, netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("Score(%q, %s) = %#x, want %#x", tc.node, tc.ip, got, tc.want)
		}
	}
}

func TestOwner(t *testing.T) {
	ip := netip.MustParseAddr("198.51.100.10")
	for _, tc := range []struct {
		name   string
		ip     netip.Addr
		nodes  []string
		want   string
		wantOK bool
	}{
		{"no nodes", ip, nil, "", false},
		{"invalid address", netip.Addr{}, []string{"node-a"}, "", false},
		{"one node", ip, []string{"node-b"}, "node-b", true},
		// Scores from TestScoreVectors: node-a's is higher.
		{"highest score wins", ip, []string{"node-b", "node-a"}, "node-a", true},
		{"order does not matter", ip, []string{"node-a", "node-b"}, "node-a", true},
		{"duplicates are harmless", ip, []string{"node-b", "node-b", "node-a", "node-a"}, "node-a", true},
		{"mapped address is the IPv4 address", netip.MustParseAddr("::ffff:198.51.100.10"), []string{"node-b", "node-a"}, "node-a", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Owner(tc.ip, tc.nodes)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("Owner = %q, %v; want %q, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestRanked(t *testing.T) {
	nodes := []string{"n1", "n2", "n3", "n4", "n5", "n3"}
	if got := Ranked(netip.Addr{}, nodes); got != nil {
		t.Errorf("Ranked(invalid) = %v, want nil", got)
	}
	for i := range 200 {
		ip := nthAddr(netip.MustParseAddr("198.18.0.0"), i)
		r := Ranked(ip, nodes)
		if len(r) != 5 {
			t.Fatalf("%s: Ranked = %v, want 5 distinct nodes", ip, r)
		}
		for j := 1; j < len(r); j++ {
			if Score(r[j-1], ip) < Score(r[j], ip) {
				t.Fatalf("%s: Ranked = %v, not in descending score order", ip, r)
			}
		}
		// Each node in the ranking is the owner once those before it leave.
		rest := append([]string(nil), nodes...)
		for _, want := range r {
			if got, _ := Owner(ip, rest); got != want {
				t.Fatalf("%s: Owner(%v) = %q, Ranked says %q", ip, rest, got, want)
			}
			rest = without(rest, want)
		}
	}
}

func TestBeats(t *testing.T) {
	for _, tc := range []struct {
		a    string
		as   uint64
		b    string
		bs   uint64
		want bool
	}{
		{"a", 2, "b", 1, true},
		{"b", 2, "a", 1, true},
		{"a", 1, "b", 2, false},
		{"a", 5, "b", 5, true},  // tie: first name wins
		{"b", 5, "a", 5, false}, // tie: first name wins
		{"a", 5, "a", 5, false}, // a node never beats itself
	} {
		if got := beats(tc.a, tc.as, tc.b, tc.bs); got != tc.want {
			t.Errorf("beats(%q, %d, %q, %d) = %v, want %v", tc.a, tc.as, tc.b, tc.bs, got, tc.want)
		}
	}
}

func nthAddr(base netip.Addr, n int) netip.Addr {
	b := base.As16()
	for i := 15; i >= 0 && n > 0; i-- {
		sum := int(b[i]) + n&0xff
		b[i] = byte(sum)
		n = n>>8 + sum>>8
	}
	a := netip.AddrFrom16(b)
	if base.Is4() {
		return a.Unmap()
	}
	return a
}

func without(nodes []string, drop string) []string {
	var out []string
	for _, n := range nodes {
		if n != drop {
			out = append(out, n)
		}
	}
	return out
}

func nodeNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("node-%d", i+1)
	}
	return out
}
