// Package bfd is Bidirectional Forwarding Detection (RFC 5880) for the
// speaker: single-hop sessions over IPv4 and IPv6 (RFC 5881) and multihop
// sessions (RFC 5883), in asynchronous mode, behind one small interface:
// Sessions.Set takes the complete wanted set of sessions, Status reports
// them, Options.OnChange is called on every state change, Close ends them
// all with AdminDown.
//
// What is implemented (RFC 5880 section numbers):
//
//   - the Control packet (§4.1) and every reception check of §6.8.6
//     (version, length, multiplier, Multipoint bit, discriminators, the
//     Authentication bit, which is refused because no authentication is
//     configured);
//   - the state machine of §6.2/§6.8.6 (AdminDown, Down, Init, Up) with the
//     3-way handshake, Diagnostic codes, discriminators (§6.3, §6.8.1);
//   - timer negotiation (§6.8.2), the Detection Time (§6.8.4: the remote
//     multiplier times the larger of our Required Min RX and the remote's
//     Desired Min TX), the Poll/Final sequence when our timers change
//     (§6.5, §6.8.3) so that a timer change never flaps the session, the
//     slow Desired Min TX of at least one second while not Up (§6.8.3),
//     the transmit jitter of §6.8.7 (75–100 % of the interval, at most
//     90 % when the multiplier is 1), the Passive role (§6.1: nothing is
//     sent before a packet of the remote has been received), remote Demand
//     mode honoured on reception (§6.6: periodic packets stop);
//   - AdminDown (§6.8.16) sent to the remote when a session is removed or
//     the Sessions closed, so the router learns that we went away on purpose.
//
// Not implemented: the Echo function (RFC 5880 §6.4; Required Min Echo RX
// is always sent as 0, which tells the remote not to send echoes), Demand
// mode on our side, and authentication (§6.7: packets with the A bit are
// dropped).
//
// Transport (RFC 5881/5883): single-hop Control packets go to UDP port
// 3784, multihop to 4784, from a source port chosen per session in
// 49152–65535, with TTL / Hop Limit 255. A single-hop session accepts only
// packets received with TTL / Hop Limit 255 (GTSM, RFC 5881 §5); multihop
// sessions check no TTL (RFC 5883 §5 leaves the minimum to configuration and
// there is none here) but, like single-hop ones, accept packets only from the
// configured remote address to the configured local address, on the
// multihop port.
//
// Goroutines: one per session (its timers) and one per listening socket;
// Close ends all of them. Clocks are injected (Options.Clock).
//
// The package imports the standard library, golang.org/x/net (TTL and
// Hop Limit control messages), golang.org/x/sys/unix (binding a socket to
// an interface), logr and k8s.io/utils/clock. It must not import a
// Kubernetes client, GoBGP or Prometheus: the speaker wires sessions to BGP
// peers, status and metrics, and calls this package with plain values.
package bfd
