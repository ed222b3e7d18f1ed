package e2e

import (
	"fmt"
	"net/netip"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/pylonlb/pylon/test/gen"
	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// TestRouteReflector runs the nodes behind an iBGP route reflector
// (lab.Options.RouteReflector): r1 FRR reflecting, the nodes its clients
// over one iBGP BGPPeer each (both families over it), r2 BIRD an iBGP
// non-client of r1 that does not peer with the nodes. TestRouteReflectorBIRD
// swaps the kinds: BIRD reflects, FRR is upstream.
func TestRouteReflector(t *testing.T) { routeReflector(t, lab.RouterFRR, lab.RouterBIRD) }

// TestRouteReflectorBIRD: TestRouteReflector with BIRD reflecting.
func TestRouteReflectorBIRD(t *testing.T) { routeReflector(t, lab.RouterBIRD, lab.RouterFRR) }

func routeReflector(t *testing.T, reflector, upstream string) {
	l := lab.Start(t, lab.Options{Router: reflector, SecondRouter: upstream, RouteReflector: true})
	p := startPylon(t, l)
	rr, up := l.Router, l.Router2
	create(t, l.Client, gen.BGPPeer("reflector", lab.RouterASN, lab.RouterASN, rr.IPv4.String(), dualStack))
	create(t, l.Client, gen.BGPAdvertisement("lab", gen.BGPPools("lab")))
	waitSessions(t, l, 1)
	_, ips := service(t, l, "web", true)
	all := []string{"n1", "n2", "n3"}

	t.Run("the reflector routes over every node", func(t *testing.T) {
		for _, ip := range ips {
			waitRouterNextHops(t, l, rr, ip, 20*time.Second, all...)
		}
	})

	t.Run("the upstream learns one path a prefix with a node's own next hop", func(t *testing.T) {
		for _, ip := range ips {
			node := upstreamNextHop(t, l, ip, all)
			paths, err := up.Paths(t.Context(), netip.PrefixFrom(ip, ip.BitLen()))
			if err != nil {
				t.Fatal(err)
			}
			// A reflector sends its best path, one a prefix: no add-path,
			// no ECMP upstream.
			if len(paths) != 1 {
				t.Fatalf("%s has %d paths for %s, want the reflector's best alone: %+v", up.Name, len(paths), ip, paths)
			}
			if best := reflectorBest(t, l, ip); best != node {
				t.Fatalf("%s routes %s via %s, the reflector's best path is %s's", up.Name, ip, node, best)
			}
			pa := paths[0]
			if pa.Peer != rr.IPv4 || pa.PeerType != "internal" || len(pa.ASPath) != 0 {
				t.Fatalf("%s's path for %s: %+v, want from %s over iBGP with an empty AS path", up.Name, ip, pa, rr.IPv4)
			}
			// The reflector's marks (RFC 4456): the originator is the
			// node (its router ID is its IPv4 address), the cluster the
			// reflector's (its router ID).
			if origin := nodeAddrs(l, v4Of(ips), node)[0]; pa.OriginatorID != origin || !slices.Equal(pa.ClusterList, []netip.Addr{rr.IPv4}) {
				t.Fatalf("%s's path for %s: originator %v, cluster list %v, want %v and [%v]", up.Name, ip, pa.OriginatorID, pa.ClusterList, origin, rr.IPv4)
			}
			t.Logf("%s routes %s via %s (%s), learned from %s, originator %s, cluster list %v", up.Name, ip, nodeAddrs(l, ip, node)[0], node, pa.Peer, pa.OriginatorID, pa.ClusterList)
		}
		// The remote client through the upstream: its routes really lead to
		// the nodes.
		for _, ip := range ips {
			got, err := getThrough(t.Context(), l, up, ip, 2*time.Second)
			if err != nil || !slices.Contains(all, got) {
				t.Fatalf("remote client GET %s through %s: %q, %v", ip, up.Name, got, err)
			}
		}
	})

	t.Run("the reflector sends each node's routes to the other nodes", func(t *testing.T) {
		// Its best path of each prefix, to every client but the one it
		// came from; that one may get it back too (FRR sends to the whole
		// update group, the nodes' peer group), and drops it: its own
		// router ID is the path's ORIGINATOR_ID.
		for i, fam := range []string{"ipv4", "ipv6"} {
			best := reflectorBest(t, l, ips[i])
			var sent map[string]int
			poll.Eventually(t, 50*time.Millisecond, 10*time.Second, fmt.Sprintf("%s to send the %s prefix to every node but %s", rr.Name, fam, best), func() (bool, string) {
				sessions, err := rr.Sessions(t.Context())
				if err != nil {
					return false, err.Error()
				}
				sent = map[string]int{}
				for _, n := range l.Nodes {
					for _, s := range sessions {
						if s.Peer == n.IPv4 {
							sent[n.Name] = s.PrefixesSent[fam]
						}
					}
				}
				for _, n := range all {
					if sent[n] != 1 && (n != best || sent[n] != 0) {
						return false, fmt.Sprintf("sent %v", sent)
					}
				}
				return true, ""
			})
			t.Logf("%s (%s) sends the %s prefix, best from %s, to the nodes: %v", rr.Name, rr.Kind(), fam, best, sent)
		}
	})

	t.Run("a speaker's SIGTERM withdraws through the reflector", func(t *testing.T) {
		v4 := ips[0]
		node := upstreamNextHop(t, l, v4, all)
		began := time.Now()
		if err := p.speakers[node].Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		defer restart(t, p, node)
		rest := slices.DeleteFunc(slices.Clone(all), func(n string) bool { return n == node })
		moved := upstreamNextHop(t, l, v4, rest)
		took := time.Since(began)
		waitRouterNextHops(t, l, rr, v4, 5*time.Second, rest...)
		t.Logf("%s's speaker stopped: %s moved from %s to %s upstream in %v", node, v4, node, moved, took.Round(time.Millisecond))
	})
}

// reflectorBest is the node whose path for ip the reflector (l.Router)
// chose as best (the sessions are the nodes' IPv4 ones).
func reflectorBest(t testing.TB, l *lab.Lab, ip netip.Addr) string {
	t.Helper()
	paths, err := l.Router.Paths(t.Context(), netip.PrefixFrom(ip, ip.BitLen()))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		for _, n := range l.Nodes {
			if p.Best && p.Peer == n.IPv4 {
				return n.Name
			}
		}
	}
	t.Fatalf("%s has no best path for %s from a node: %+v", l.Router.Name, ip, paths)
	return ""
}

// v4Of is the IPv4 address among ips.
func v4Of(ips []netip.Addr) netip.Addr {
	for _, ip := range ips {
		if ip.Is4() {
			return ip
		}
	}
	return netip.Addr{}
}

// upstreamNextHop waits until r2's kernel routes ip over exactly one node,
// one of nodes, and returns its name.
func upstreamNextHop(t testing.TB, l *lab.Lab, ip netip.Addr, nodes []string) string {
	t.Helper()
	var name string
	poll.Eventually(t, 50*time.Millisecond, 20*time.Second, fmt.Sprintf("%s to route %s via one of %v", l.Router2.Name, ip, nodes), func() (bool, string) {
		routes, err := l.Router2.KernelRoutes(t.Context())
		if err != nil {
			return false, err.Error()
		}
		got := routes[netip.PrefixFrom(ip, ip.BitLen())]
		if len(got) != 1 {
			return false, fmt.Sprint(got)
		}
		for _, n := range l.Nodes {
			if slices.Contains(nodes, n.Name) && (got[0] == n.IPv4 || got[0] == n.IPv6) {
				name = n.Name
				return true, ""
			}
		}
		return false, fmt.Sprint(got)
	})
	return name
}
