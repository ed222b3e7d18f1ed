package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/config"
	"github.com/pylonlb/pylon/test/netlab"
	"github.com/pylonlb/pylon/test/poll"
	"k8s.io/utils/ptr"
)

// Scenarios for both address families over one session and for per-peer
// attributes (two routers).

// bgpdConfig runs configuration commands in FRR's bgpd (router bgp 64513).
func (r router) bgpdConfig(lines ...string) error {
	return r.frr().Configure(context.Background(), append([]string{"router bgp 64513"}, lines...)...)
}

// configure changes the running FRR's configuration under "router bgp
// 64513" (bgpdConfig); undo runs in t.Cleanup.
func (r router) configure(t *testing.T, do, undo []string) {
	t.Helper()
	if err := r.bgpdConfig(do...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.bgpdConfig(undo...); err != nil {
			t.Error(err)
		}
	})
}

// activate activates address family afi ("ipv4", "ipv6") for the
// router's neighbour local until the test ends: FRR's `neighbor activate`,
// a channel more on BIRD's protocol.
func (r router) activate(t *testing.T, local, afi string) {
	t.Helper()
	if r.kind == routerBIRD {
		r.birdConfigure(t, func(c *birdConfig) {
			c.neighbour(local, func(n *birdNeighbour) { n.Families = append(n.Families, afi) })
		})
		return
	}
	r.configure(t, []string{"address-family " + afi + " unicast", "neighbor " + local + " activate"},
		[]string{"address-family " + afi + " unicast", "no neighbor " + local + " activate"})
}

// kernelRoute waits until the router namespace's kernel routes prefix via
// the given next hop, from BGP (proto: "bgp" for FRR, "bird" for BIRD).
func kernelRoute(t *testing.T, ns, proto, prefix, via string) time.Duration {
	t.Helper()
	family := "-4"
	if strings.Contains(prefix, ":") {
		family = "-6"
	}
	return poll.Eventually(t, 20*time.Millisecond, 5*time.Second, "kernel route "+prefix+" via "+via+" in "+ns, func() error {
		out, err := exec.Command("ip", "-n", ns, family, "route", "show", prefix).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		if s := string(out); !strings.Contains(s, "via "+via+" ") || !strings.Contains(s, "proto "+proto) {
			return fmt.Errorf("route: %q", strings.TrimSpace(s))
		}
		return nil
	})
}

// scenarioDualStackOverIPv4: one IPv4 session with dualStackAddressFamily
// carries an IPv6 prefix; FRR has it from the IPv4 neighbour with the node's
// global IPv6 address on eth0 as next hop (the default finder's choice), and
// routes it there; the IPv4 prefix keeps the session's address. Without an
// IPv6 address on eth0 the IPv6 prefix is not sent.
func scenarioDualStackOverIPv4(t *testing.T, r router) {
	p := ebgpPeer()
	p.DualStackAddressFamily = true
	s := dualStack(t, r, p, nodeEBGP, "ipv6", "198.51.100.70", "2001:db8:51::70", nodeV6)
	ctx := context.Background()

	// The node loses its IPv6 address: the IPv6 route goes, the IPv4 one
	// comes back at once (the peer is re-created), and the session's
	// lastError names the interface; with the address back, so is the
	// route.
	ip(t, "", "addr del "+nodeV6+"/64 dev eth0")
	restored := false
	t.Cleanup(func() {
		if !restored {
			_ = exec.Command("ip", "addr", "add", nodeV6+"/64", "dev", "eth0", "nodad").Run()
		}
	})
	if err := s.SetPeers(ctx, []Peer{p}); err != nil {
		t.Fatal(err)
	}
	noPath(t, r, 3*time.Second, "2001:db8:51::70/128", nodeEBGP)
	established(t, r, s, p.Name, nodeEBGP)
	hasPath(t, r, "198.51.100.70/32", nodeEBGP, nextHop(nodeEBGP))
	if e := session(t, s, p.Name).LastError; !strings.Contains(e, "IPv6 paths not sent over this session: no global IPv6 address on interface eth0") {
		t.Errorf("lastError %q, want why IPv6 paths are not sent", e)
	}
	time.Sleep(300 * time.Millisecond)
	if ps, _ := r.paths("2001:db8:51::70/128", nodeEBGP); len(ps) > 0 {
		t.Errorf("FRR has the IPv6 path again without a next hop for it: %+v", ps)
	}
	ip(t, "", "addr add "+nodeV6+"/64 dev eth0 nodad")
	restored = true
	if err := s.SetPeers(ctx, []Peer{p}); err != nil {
		t.Fatal(err)
	}
	hasPath(t, r, "2001:db8:51::70/128", nodeEBGP, nextHop(nodeV6))
	if e := session(t, s, p.Name).LastError; strings.Contains(e, "not sent") {
		t.Errorf("lastError %q after the address came back", e)
	}

	if err := s.SetPaths(ctx, nil); err != nil {
		t.Fatal(err)
	}
	noPath(t, r, time.Second, "2001:db8:51::70/128", nodeEBGP)
}

// scenarioDualStackOverIPv6: the reverse: an IPv4 prefix over the IPv6
// session, with the node's IPv4 address on eth0 (its first, 198.18.2.1) as
// next hop.
func scenarioDualStackOverIPv6(t *testing.T, r router) {
	p := Peer{Name: "router6", Address: netip.MustParseAddr(routerV6), MyASN: nodeASN, PeerASN: routerASN,
		SourceAddress: netip.MustParseAddr(nodeV6), HoldTime: 9 * time.Second, DualStackAddressFamily: true}
	dualStack(t, r, p, nodeV6, "ipv4", "198.51.100.71", "2001:db8:51::71", nodeEBGP)
}

// dualStack activates the other family for the node's session in the
// router, opens
// the dual-stack session from local and announces an IPv4 and an IPv6 host
// route, the other family's with a community; FRR must have both from that
// one neighbour, the session's family with local as next hop and the other
// with otherHop, and the router's kernel must route both there.
func dualStack(t *testing.T, r router, p Peer, local, otherAFI, v4, v6, otherHop string) *Speaker {
	ctx := context.Background()
	r.activate(t, local, otherAFI)
	s := newSpeaker(t, nodeEBGP)
	if err := s.SetPeers(ctx, []Peer{p}); err != nil {
		t.Fatal(err)
	}
	established(t, r, s, p.Name, local)
	own, other := v4, v6
	if p.Address.Is6() {
		own, other = v6, v4
	}
	start := time.Now()
	if err := s.SetPaths(ctx, []Path{{Prefix: pfx(own + "/" + bits(own))}, {Prefix: pfx(other + "/" + bits(other)), Communities: []string{"65000:70"}}}); err != nil {
		t.Fatal(err)
	}
	hasPath(t, r, other+"/"+bits(other), local, func(fp netlab.Path) error {
		if std, _ := communities(fp); std != "65000:70" {
			return fmt.Errorf("community %q", std)
		}
		return nextHop(otherHop)(fp)
	})
	hasPath(t, r, own+"/"+bits(own), local, nextHop(local))
	kernelRoute(t, r.lab.Router, r.proto(), other, otherHop)
	kernelRoute(t, r.lab.Router, r.proto(), own, local)
	t.Logf("SetPaths -> both families' routes in the router's kernel over the one session to %s: %v", p.Address, time.Since(start).Round(time.Millisecond))
	if sess := session(t, s, p.Name); sess.PrefixesSent != 2 || sess.LastError != "" {
		t.Errorf("session %+v; want 2 prefixes sent and no error", sess)
	}
	return s
}

func bits(addr string) string { return strconv.Itoa(netip.MustParseAddr(addr).BitLen()) }

// scenarioPerPeerAttributes: two BGPAdvertisements of one pool for two
// routers (config.Parse, PlanFor): router A gets no-export, its community
// and local-pref 300; router B gets its own community and the default
// local-pref, and none of A's.
func scenarioPerPeerAttributes(t *testing.T, r router) {
	ctx := context.Background()
	if r.lab.Dir2 == "" {
		t.Fatal("the lab has no router B")
	}
	rb := router{kind: r.kind, t: t, dir: r.lab.Dir2, lab: r.lab, ns: r.lab.Router2}
	cfg := parse(t, config.Resources{
		Pools: []v1alpha1.IPPool{pool("web", "198.51.100.80/29")},
		BGPPeers: []v1alpha1.BGPPeer{
			bgpPeer("a", routerASN, routerASN, routerV4, func(s *v1alpha1.BGPPeerSpec) { s.SourceAddress = nodeIBGP }),
			bgpPeer("b", routerASN, routerASN, routerB, func(s *v1alpha1.BGPPeerSpec) { s.SourceAddress = nodeIBGP }),
		},
		BGPAdvertisements: []v1alpha1.BGPAdvertisement{
			bgpAd("to-a", func(s *v1alpha1.BGPAdvertisementSpec) {
				s.Communities = []v1alpha1.Community{"no-export", "65000:10"}
				s.LocalPref = ptr.To(int64(300))
				s.Peers = []v1alpha1.ObjectName{"a"}
			}),
			bgpAd("to-b", func(s *v1alpha1.BGPAdvertisementSpec) {
				s.Communities = []v1alpha1.Community{"65000:20"}
				s.Peers = []v1alpha1.ObjectName{"b"}
			}),
		},
	})
	plan := PlanFor(cfg, labels.Set{}, addrs("198.51.100.81", "198.51.100.82"), nil)
	s := newSpeaker(t, nodeIBGP)
	if err := s.SetPeers(ctx, plan.Peers); err != nil {
		t.Fatal(err)
	}
	established(t, r, s, "a", nodeIBGP)
	established(t, rb, s, "b", nodeIBGP)
	if err := s.SetPaths(ctx, plan.Paths); err != nil {
		t.Fatal(err)
	}
	attrs := func(std string, lp uint32) func(netlab.Path) error {
		return func(fp netlab.Path) error {
			got, large := communities(fp)
			if got != std || large != "" || fp.LocalPref == nil || *fp.LocalPref != lp {
				var l any = "none"
				if fp.LocalPref != nil {
					l = *fp.LocalPref
				}
				return fmt.Errorf("communities %q, large %q, local-pref %v; want exactly %q and %d", got, large, l, std, lp)
			}
			return nextHop(nodeIBGP)(fp)
		}
	}
	for _, prefix := range []string{"198.51.100.81/32", "198.51.100.82/32"} {
		hasPath(t, r, prefix, nodeIBGP, attrs("65000:10 no-export", 300))
		hasPath(t, rb, prefix, nodeIBGP, attrs("65000:20", 100))
	}

	// One Service goes: withdrawn from both; the other keeps its per-router
	// attributes.
	plan = PlanFor(cfg, labels.Set{}, addrs("198.51.100.82"), nil)
	if err := s.SetPaths(ctx, plan.Paths); err != nil {
		t.Fatal(err)
	}
	noPath(t, r, time.Second, "198.51.100.81/32", nodeIBGP)
	noPath(t, rb, time.Second, "198.51.100.81/32", nodeIBGP)
	hasPath(t, r, "198.51.100.82/32", nodeIBGP, attrs("65000:10 no-export", 300))
	hasPath(t, rb, "198.51.100.82/32", nodeIBGP, attrs("65000:20", 100))
}
