// Package demo is `make demo`: pylon's whole system on one machine, in the
// network lab of test/lab, step by step, with a progress line and a timing
// per step and a summary table at the end.
//
// Run checks the machine (root, the lab's tools, the test API server
// binaries), reads the configuration in docs/examples (the files directly
// in it; more/ holds variations it does not apply) and checks that it fits
// the lab, builds the controller, the speaker and the nodes' HTTP backend,
// brings the lab up (an API server with pylon's CRDs, three nodes, an FRR
// router, a local and a remote client), starts the controller and a
// speaker per node, applies the examples and waits for BGP sessions from
// every node, then shows:
//
//   - two Services getting addresses: web-l2 from the pool the
//     L2Advertisement announces, web-bgp from the pool the
//     BGPAdvertisement announces (and `kubectl get ippools`);
//   - the local client reaching web-l2 over layer 2, with the node that
//     answered ARP and the one that served; the remote client reaching
//     web-bgp through the router, with the router's next hops;
//   - the owner of web-l2 failing as a crashed machine does (its speaker
//     SIGKILLed and its frames dropped by the bridge): the longest gap the
//     local client saw, the node that answers now, and how long the router
//     took to drop the node's BGP routes;
//   - the node coming back (link healed, speaker started again).
//
// Each step has a timeout; one that does not happen in time fails the demo
// with a message that says what was last seen and which logs to read (the
// lab keeps its directory then). With Options.Keep the lab stays up after
// the summary until the context ends, and Run prints how to use it.
//
// cmd/pylonlab's `demo` runs it for people; test/e2e's TestDemo runs it
// without a terminal and checks the Summary, so the demo cannot rot. The
// package is for those two only: pylon's components must not import it.
package demo
