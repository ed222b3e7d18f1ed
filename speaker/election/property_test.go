package election

import (
	"net/netip"
	"testing"
)

// owners maps each address to its owner among nodes.
func owners(ips []netip.Addr, nodes []string) map[netip.Addr]string {
	out := make(map[netip.Addr]string, len(ips))
	for _, ip := range ips {
		out[ip], _ = Owner(ip, nodes)
	}
	return out
}

// testAddrs returns n IPv4 and n IPv6 addresses from reserved ranges.
func testAddrs(n int) []netip.Addr {
	out := make([]netip.Addr, 0, 2*n)
	for i := range n {
		out = append(out, nthAddr(netip.MustParseAddr("198.18.0.0"), i), nthAddr(netip.MustParseAddr("2001:db8::"), i*7919))
	}
	return out
}

// TestRemovingANodeMovesOnlyItsAddresses: with one node gone, an address
// moves if and only if the gone node owned it, and then to the node ranked
// second.
func TestRemovingANodeMovesOnlyItsAddresses(t *testing.T) {
	ips := testAddrs(2000)
	for size := 2; size <= 9; size++ {
		nodes := nodeNames(size)
		before := owners(ips, nodes)
		for _, gone := range nodes {
			after := owners(ips, without(nodes, gone))
			moved := 0
			for _, ip := range ips {
				switch {
				case before[ip] == gone:
					moved++
					if want := Ranked(ip, nodes)[1]; after[ip] != want {
						t.Fatalf("%d nodes, %s gone: %s went to %s, want %s (ranked second)", size, gone, ip, after[ip], want)
					}
				case after[ip] != before[ip]:
					t.Fatalf("%d nodes, %s gone: %s moved from %s to %s though %s did not own it", size, gone, ip, before[ip], after[ip], gone)
				}
			}
			if moved == 0 {
				t.Fatalf("%d nodes, %s gone: it owned none of %d addresses", size, gone, len(ips))
			}
		}
	}
}

// TestAddingANodeMovesAddressesOnlyToIt: a newcomer takes some addresses;
// every other address stays where it was.
func TestAddingANodeMovesAddressesOnlyToIt(t *testing.T) {
	ips := testAddrs(2000)
	for size := 1; size <= 8; size++ {
		nodes := nodeNames(size)
		before := owners(ips, nodes)
		newcomer := "node-new"
		after := owners(ips, append(append([]string(nil), nodes...), newcomer))
		taken := 0
		for _, ip := range ips {
			if after[ip] == before[ip] {
				continue
			}
			if after[ip] != newcomer {
				t.Fatalf("%d nodes + %s: %s moved from %s to %s", size, newcomer, ip, before[ip], after[ip])
			}
			taken++
		}
		// Expect about len(ips)/(size+1); a quarter of that shows it works.
		if want := len(ips) / (size + 1) / 4; taken < want {
			t.Fatalf("%d nodes + %s: newcomer took %d addresses, want at least %d", size, newcomer, taken, want)
		}
	}
}

// TestBalance: 10,000 addresses over 5 nodes land within 10% of even, per
// family. 10% is five standard deviations of a fair split.
func TestBalance(t *testing.T) {
	const n, size = 10000, 5
	nodes := nodeNames(size)
	for _, base := range []string{"198.18.0.0", "2001:db8:1::"} {
		count := map[string]int{}
		for i := range n {
			o, _ := Owner(nthAddr(netip.MustParseAddr(base), i), nodes)
			count[o]++
		}
		even := n / size
		for _, node := range nodes {
			if c := count[node]; c < even*9/10 || c > even*11/10 {
				t.Errorf("from %s: %s owns %d of %d addresses, want %d ± 10%% (all: %v)", base, node, c, n, even, count)
			}
		}
	}
}
