// Package bgp is the speaker's BGP side: an embedded GoBGP v3 server behind
// a small interface, "these are my peers" (SetPeers) and "these are the paths
// I want announced" (SetPaths), with the state of each session for
// SpeakerStatus and metrics (Sessions, Changes).
//
// It owns:
//
//   - the GoBGP server's lifecycle: New starts it active-only (it never
//     listens unless Options.ListenPort asks it to), Close withdraws and
//     stops it;
//   - turning Peers and Paths into GoBGP peers, paths and per-peer export
//     policies (withheld prefixes, attributes, next hops), and applying
//     only differences: an unchanged peer keeps its
//     session, an unchanged path is not sent again;
//   - session state: GoBGP's peer events, and the connection errors and
//     down reasons GoBGP only logs, picked out of its log stream;
//   - ResetPeer, tearing one session down at once (the speaker calls it
//     when the BFD session beside it goes down; GoBGP has no BFD);
//   - PlanFor, the pure function from the validated configuration
//     (package config), the node's labels and the service IPs the node
//     announces to the Peers and Paths of that node.
//
// GoBGP's types never leave the package. Next hop is always the node:
// paths are added with an unspecified next hop, which GoBGP replaces with the
// session's local address, for eBGP and iBGP alike. IPv4 paths go over IPv4
// sessions and IPv6 paths over IPv6 sessions; a peer with
// DualStackAddressFamily carries both, the other family's with the node's
// address of that family on the session's interface as next hop, set by an
// export policy (nexthop.go). Communities and local-pref are per peer: each
// peer's export policies add exactly the attributes of the Paths naming it
// (policy.go). docs/speaker-bgp.md describes the semantics and what the
// router needs.
//
// Goroutines: GoBGP starts its own per peer; Close ends all of them and the
// package's event watcher, except GoBGP's main event loop (BgpServer.Serve),
// which in GoBGP v3 has no way to return and stays parked on its channels,
// idle, one per Speaker ever created. A process makes one Speaker per
// router-ID change, so this is bounded in practice; TestCloseStopsGoroutines
// pins it at exactly one.
//
// The package imports config, GoBGP, logr and Kubernetes' apimachinery
// labels. It must not import controller-runtime, a Kubernetes client, or
// Prometheus: the speaker's reconciler owns the API, SpeakerStatus and the
// metrics, and calls this package with plain values.
package bgp
