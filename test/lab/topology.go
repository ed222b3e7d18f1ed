package lab

import (
	"fmt"
	"net"
	"net/netip"
)

// Addresses of the lab. Everything is in reserved ranges: 198.18.0.0/15
// (benchmarking) for links, 198.51.100.0/24, 203.0.113.0/24 and
// 2001:db8::/32 (documentation) for pools. Nothing is ever sent elsewhere.
var (
	// SegmentV4 and SegmentV6 are the layer-2 segment the nodes, the
	// router, the local client and the host share.
	SegmentV4 = netip.MustParsePrefix("198.18.0.0/24")
	SegmentV6 = netip.MustParsePrefix("2001:db8:18::/64")
	// RemoteV4 and RemoteV6 are the link between the router and the
	// remote client. Not 198.19.x: 198.19.192.0/18 is the test API
	// server's Service cluster IP range.
	RemoteV4 = netip.MustParsePrefix("198.18.1.0/24")
	RemoteV6 = netip.MustParsePrefix("2001:db8:18:1::/64")
	// Remote2V4 and Remote2V6 are the link between the second router (r2,
	// Options.SecondRouter) and the remote client's second interface: r2
	// is .1 (::1), the client .2 (::2). The client routes what it sends
	// from its .2 addresses through r2 (a rule per family, table
	// Remote2Table) and everything else through r1; the nodes route
	// Remote2V4/V6 through r2, so the answers go back the same way.
	Remote2V4 = netip.MustParsePrefix("198.18.2.0/24")
	Remote2V6 = netip.MustParsePrefix("2001:db8:18:2::/64")
	// PoolV4, PoolV4Alt and PoolV6 are where tests put their IPPools. The
	// local client has on-link routes to them, so it ARPs for their
	// addresses on the segment (layer-2 mode); the router learns them by
	// BGP.
	PoolV4    = netip.MustParsePrefix("198.51.100.0/24")
	PoolV4Alt = netip.MustParsePrefix("203.0.113.0/24")
	PoolV6    = netip.MustParsePrefix("2001:db8:51::/64")
)

// Fixed numbers of the lab.
const (
	// RouterASN is the router's autonomous system number.
	RouterASN = 64513
	// BackendPort is where each node's backend listens (all addresses,
	// both families), the port of the endpoints SetEndpoints writes.
	BackendPort = 18080
	// MaxNodes bounds Options.Nodes: node addresses are .11 to .60.
	MaxNodes = 50
	// Remote2Table is the remote client's routing table for what it sends
	// from its addresses on Remote2V4/V6: a default route via r2.
	Remote2Table = 2
)

// Names of the interfaces every lab host has.
const (
	// HostIf is each lab host's interface on its link (the segment, or the
	// remote link for the remote client).
	HostIf = "eth0"
	// routerRemoteIf is a router's interface towards the remote client,
	// and the remote client's towards the second router.
	routerRemoteIf = "eth1"
)

// Host is one network namespace of the lab with one link.
type Host struct {
	// Name is the short name: "n1", "r1", "c1", "c2". For nodes it is the
	// Kubernetes Node name and what the node's backend answers.
	Name string
	// Netns is the network namespace (ip netns name).
	Netns string
	// IPv4 and IPv6 are the addresses on HostIf.
	IPv4, IPv6 netip.Addr
	// MAC is HostIf's hardware address (fixed, derived from IPv4).
	MAC net.HardwareAddr
}

// Node is a node namespace: a Kubernetes Node of the lab's cluster.
type Node struct {
	Host
	// Index counts from 1.
	Index int
	// Kubeconfig is a kubeconfig file for this node's processes (a cluster
	// admin user named lab-node-<name>).
	Kubeconfig string
	// KubeletKubeconfig is the kubelet's kubeconfig with a node stack
	// (user system:node:<name>, group system:nodes); empty without one.
	KubeletKubeconfig string
	// port is the node's port on the bridge, in the switch namespace.
	port string
}

// topology is the lab's hosts and addresses, derived from the prefix and
// the node count alone.
type topology struct {
	prefix                      string
	sw                          string // switch namespace
	hostLink                    string // the host's link into the bridge
	hostV4, hostV6              netip.Addr
	router                      Host // on the segment
	routerRemoteV4, routerRemV6 netip.Addr
	nodes                       []*Node
	local, remote               Host
	// router2 is the second router (Options.SecondRouter), nil without
	// one: 198.18.0.3 and 2001:db8:18::3 on the segment, and the .1 of
	// Remote2V4/V6 towards the remote client, whose .2 remote2V4/V6 are.
	router2              *Host
	remote2V4, remote2V6 netip.Addr
}

func newTopology(prefix string, nodes int) (*topology, error) {
	if nodes < 1 || nodes > MaxNodes {
		return nil, fmt.Errorf("%d nodes: want 1 to %d", nodes, MaxNodes)
	}
	t := &topology{
		prefix:         prefix,
		sw:             prefix + "-sw",
		hostLink:       prefix + "-h",
		hostV4:         segV4(1),
		hostV6:         segV6(1),
		router:         newHost(prefix, "r1", segV4(2), segV6(2)),
		routerRemoteV4: remV4(1),
		routerRemV6:    remV6(1),
		local:          newHost(prefix, "c1", segV4(100), segV6(100)),
		remote:         newHost(prefix, "c2", remV4(2), remV6(2)),
	}
	for i := 1; i <= nodes; i++ {
		name := fmt.Sprintf("n%d", i)
		t.nodes = append(t.nodes, &Node{Host: newHost(prefix, name, segV4(byte(10+i)), segV6(10+i)), Index: i, port: "p-" + name})
	}
	return t, nil
}

// withSecondRouter adds r2 (Options.SecondRouter).
func (t *topology) withSecondRouter() {
	r2 := newHost(t.prefix, "r2", segV4(3), segV6(3))
	t.router2 = &r2
	t.remote2V4, t.remote2V6 = rem2(2)
}

// rem2 is the address last (.1: r2, .2: the remote client) on
// Remote2V4 and Remote2V6.
func rem2(last byte) (netip.Addr, netip.Addr) {
	return netip.AddrFrom4([4]byte{198, 18, 2, last}), netip.MustParseAddr(fmt.Sprintf("2001:db8:18:2::%d", last))
}

// routers are r1 and, with a second router, r2.
func (t *topology) routers() []*Host {
	if t.router2 == nil {
		return []*Host{&t.router}
	}
	return []*Host{&t.router, t.router2}
}

// hosts is every namespace with a link: routers, nodes, clients.
func (t *topology) hosts() []*Host {
	hs := append(t.routers(), &t.local, &t.remote)
	for _, n := range t.nodes {
		hs = append(hs, &n.Host)
	}
	return hs
}

// namespaces is every namespace of the lab, the switch first.
func (t *topology) namespaces() []string {
	ns := []string{t.sw}
	for _, h := range t.hosts() {
		ns = append(ns, h.Netns)
	}
	return ns
}

func newHost(prefix, name string, v4, v6 netip.Addr) Host {
	return Host{Name: name, Netns: prefix + "-" + name, IPv4: v4, IPv6: v6, MAC: macFor(v4)}
}

// macFor derives a locally administered MAC from an IPv4 address:
// 198.18.0.11 -> 02:00:c6:12:00:0b.
func macFor(a netip.Addr) net.HardwareAddr {
	b := a.As4()
	return net.HardwareAddr{0x02, 0x00, b[0], b[1], b[2], b[3]}
}

func segV4(last byte) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, 0, last}) }
func remV4(last byte) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, 1, last}) }

// segV6 writes the last IPv4 octet's decimal digits as the IPv6 suffix, so
// node 198.18.0.11 is 2001:db8:18::11.
func segV6(last int) netip.Addr {
	return netip.MustParseAddr(fmt.Sprintf("2001:db8:18::%d", last))
}

func remV6(last int) netip.Addr {
	return netip.MustParseAddr(fmt.Sprintf("2001:db8:18:1::%d", last))
}
