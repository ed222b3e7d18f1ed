// Package layer2 makes the addresses this node owns reachable on the local
// segment: it answers ARP (IPv4) and NDP (IPv6) for them, announces them when
// it takes them over, and watches for another machine claiming them.
//
// An Announcer is told the whole desired state at once, SetOwned(address ->
// interfaces), and applies the difference: per interface it opens an ARP
// socket (mdlayher/arp over a packet socket) and an ICMPv6 socket (messages
// from mdlayher/ndp) that joins the solicited-node multicast group of each
// owned IPv6 address. It answers requests for owned addresses only, with the
// receiving interface's MAC. An address newly owned on an interface gets a
// short burst of gratuitous ARP (a request and a reply, broadcast, sender and
// target both the address) or unsolicited neighbour advertisements (to all
// nodes, override flag set); a resync with the same state sends nothing.
//
// Conflicts: another MAC announcing an owned address, sending a request from
// it, or answering the Announcer's own periodic probes (an ARP probe from
// 0.0.0.0, a neighbour solicitation) is reported through Options.OnConflict
// and counted. What to do about it is the speaker's policy, not this
// package's.
//
// Choose and InterfacesFor pick the interfaces for an address from a snapshot
// of the node's links (ReadLinks reads one over rtnetlink): the
// L2Advertisement's interfaces when it names some, else those whose subnet
// covers the address, else the one holding the node's InternalIP; never a
// bridge or bond port, a loopback or a NOARP link.
//
// WatchLinks signals, coalesced, whenever a link or an address of the node
// changes (rtnetlink notifications), so that the speaker reads the links
// again and SetOwned reopens an interface that was made again.
//
// Lifetimes: New takes a context whose end stops the Announcer; Close stops
// every goroutine and closes every socket. Failures name the interface
// (InterfaceError). Sockets are made in the network namespace of the thread
// that calls SetOwned; the speaker runs in the host's.
//
// The package imports config, the mdlayher, x/net and x/sys packages it
// needs and k8s.io/utils/clock, and logs through logr. It must not import a Kubernetes client,
// controller-runtime, memberlist or Prometheus: the speaker reads Stats and
// turns them into metrics.
package layer2
