// Package election chooses, for each layer-2 address, the one node that
// answers ARP or NDP for it.
//
// Every speaker runs the same pure functions on the same inputs and reaches
// the same answer without talking to the others or to the API server:
//
//   - Eligible filters the cluster's nodes down to those that may own an
//     address: selected by an L2Advertisement covering the address's pool, not
//     labelled node.kubernetes.io/exclude-from-external-load-balancers, without
//     the NetworkUnavailable condition, alive in memberlist and, for
//     externalTrafficPolicy Local, holding a ready endpoint. Check gives the
//     reason a single node is left out.
//   - Owner picks the eligible node with the highest rendezvous weight
//     Score(node, ip); Ranked lists them all in order of preference.
//
// # Wire contract
//
// Score is part of the contract between speakers, which may run different
// pylon versions during an upgrade: two speakers that disagree elect two
// owners. It is defined as the first 8 bytes, read big-endian, of
//
//	SHA-256(node name bytes || "/" || address bytes)
//
// where the address bytes are the 4 bytes of an IPv4 address (IPv4-mapped IPv6
// addresses are unmapped first) or the 16 bytes of an IPv6 address, with any
// zone dropped. Equal weights, which SHA-256 makes vanishingly rare, go to
// the node whose name sorts first. Changing any of this is a breaking change
// that needs a migration plan, and TestScoreVectors pins it.
//
// Rendezvous hashing moves the fewest addresses on membership changes: when a
// node leaves, only the addresses it owned move, and when a node joins, only
// the addresses it now wins move, all of them to it.
//
// The package imports config and Kubernetes' apimachinery labels only. It must
// not import a Kubernetes client, controller-runtime, memberlist or
// Prometheus, and keeps no clock, goroutines or globals: the speaker gathers
// the inputs and acts on the answers.
package election
