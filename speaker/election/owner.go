package election

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"slices"
)

// Score is the rendezvous weight of node for ip: the first 8 bytes, read
// big-endian, of SHA-256(node || "/" || address bytes). See the package
// documentation: it is part of the contract between speakers.
func Score(node string, ip netip.Addr) uint64 {
	var buf [64 + 1 + 16]byte
	b := append(buf[:0], node...)
	b = append(b, '/')
	b = append(b, ip.Unmap().AsSlice()...)
	sum := sha256.Sum256(b)
	return binary.BigEndian.Uint64(sum[:8])
}

// Owner returns the node among nodes that owns ip: the one with the highest
// Score, ties going to the name that sorts first. It returns false when
// nodes is empty or ip is invalid. Duplicate names are harmless and order
// does not matter.
func Owner(ip netip.Addr, nodes []string) (string, bool) {
	if !ip.IsValid() || len(nodes) == 0 {
		return "", false
	}
	best, bestScore := nodes[0], Score(nodes[0], ip)
	for _, n := range nodes[1:] {
		if s := Score(n, ip); beats(n, s, best, bestScore) {
			best, bestScore = n, s
		}
	}
	return best, true
}

// Ranked returns the distinct nodes in order of preference for ip: the owner
// first, then the node that would own ip if the owner left, and so on. It
// returns nil when ip is invalid.
func Ranked(ip netip.Addr, nodes []string) []string {
	if !ip.IsValid() {
		return nil
	}
	type scored struct {
		name  string
		score uint64
	}
	s := make([]scored, 0, len(nodes))
	for _, n := range nodes {
		s = append(s, scored{n, Score(n, ip)})
	}
	slices.SortFunc(s, func(a, b scored) int {
		if beats(a.name, a.score, b.name, b.score) {
			return -1
		}
		if beats(b.name, b.score, a.name, a.score) {
			return 1
		}
		return 0
	})
	out := make([]string, 0, len(s))
	for i, e := range s {
		if i > 0 && e.name == s[i-1].name {
			continue
		}
		out = append(out, e.name)
	}
	return out
}

// beats reports whether node a with score as is preferred over node b with
// score bs: the higher score wins, and on equal scores the name that sorts
// first.
func beats(a string, as uint64, b string, bs uint64) bool {
	if as != bs {
		return as > bs
	}
	return a < b
}
