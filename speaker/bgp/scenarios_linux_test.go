package bgp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
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

// labScenarios run one after another against one FRR. Each starts its own
// Speaker and closes it at the end.
var labScenarios = []struct {
	name string
	run  func(t *testing.T, r router)
}{
	{"EBGPv4", scenarioEBGPv4},
	{"IBGPv4", scenarioIBGPv4},
	{"EBGPv6", scenarioEBGPv6},
	{"Aggregation", scenarioAggregation},
	{"MD5", scenarioMD5},
	{"PeerTargets", scenarioPeerTargets},
	{"DualStackOverIPv4", scenarioDualStackOverIPv4},
	{"DualStackOverIPv6", scenarioDualStackOverIPv6},
	{"PerPeerAttributes", scenarioPerPeerAttributes},
	{"NoTransit", scenarioNoTransit},
	{"GracefulRestart", scenarioGracefulRestart},
	{"GracefulRestartPassive", scenarioGracefulRestartPassive},
	// bgp-opts (scenarios_opts_linux_test.go)
	{"ServiceSelectors", scenarioServiceSelectors},
	{"ConnectTime", scenarioConnectTime},
	{"DynamicASN", scenarioDynamicASN},
	{"BindInterface", scenarioBindInterface},
	{"Passive", scenarioPassive},
	{"RouterHoldTimeZero", scenarioRouterHoldTimeZero},
	{"ResetPeer", scenarioResetPeer},
}

// TestFRR runs the speaker against a real FRR (see lab_linux_test.go).
func TestFRR(t *testing.T) { runScenarios(t, routerFRR) }

// runScenarios runs labScenarios against the router kind in a lab of
// their own (after the other router's, not beside it),
// each in the node namespace (inLab); those notWith names for the kind are
// not run, and the table says why.
func runScenarios(t *testing.T, kind string) {
	test := "Test" + kind
	if lab := childLab(t); lab != nil {
		inNodeNamespace(t)
		for _, sc := range labScenarios {
			t.Run(sc.name, func(t *testing.T) { sc.run(t, lab.router(t)) })
		}
		return
	}
	// One router's lab at a time: the package runs beside the cluster
	// labs of test/e2e, whose timing checks two labs of its own starve.
	lab := newLab(t, kind)
	addRouterB(t, lab)
	for _, sc := range labScenarios {
		if why, ok := notWith[kind][sc.name]; ok {
			t.Logf("%s/%s not run: %s", test, sc.name, why)
			continue
		}
		t.Run(sc.name, func(t *testing.T) { inLab(t, lab, test, sc.name) })
	}
}

func ebgpPeer() Peer {
	return Peer{Name: "router", Address: netip.MustParseAddr(routerV4), MyASN: nodeASN, PeerASN: routerASN,
		SourceAddress: netip.MustParseAddr(nodeEBGP), HoldTime: 9 * time.Second, KeepaliveTime: 3 * time.Second}
}

// scenarioEBGPv4: a /32 with communities arrives with the node as next hop;
// SetPaths without it withdraws it within a second; Close withdraws the rest.
func scenarioEBGPv4(t *testing.T, r router) {
	ctx := context.Background()
	s := newSpeaker(t, nodeEBGP)
	if err := s.SetPeers(ctx, []Peer{ebgpPeer()}); err != nil {
		t.Fatal(err)
	}
	up := established(t, r, s, "router", nodeEBGP)
	t.Logf("AddPeer -> Established: %v", up)

	vip := Path{Prefix: pfx("198.51.100.10/32"), Communities: []string{"65000:100", "large:64512:1:2"}}
	keep := Path{Prefix: pfx("198.51.100.11/32")}
	if err := s.SetPaths(ctx, []Path{vip, keep}); err != nil {
		t.Fatal(err)
	}
	d := hasPath(t, r, "198.51.100.10/32", nodeEBGP, func(p netlab.Path) error {
		if err := nextHop(nodeEBGP)(p); err != nil {
			return err
		}
		if std, large := communities(p); std != "65000:100" || large != "64512:1:2" {
			return fmt.Errorf("communities %q, large %q; want 65000:100 and 64512:1:2", std, large)
		}
		if !slices.Equal(p.ASPath, []uint32{64512}) || p.PeerType != "external" {
			return fmt.Errorf("AS path %v from a %s peer; want 64512, external", p.ASPath, p.PeerType)
		}
		return nil
	})
	t.Logf("AddPath -> route in FRR (vtysh polling, 20 ms steps): %v", d)
	hasPath(t, r, "198.51.100.11/32", nodeEBGP, nextHop(nodeEBGP))
	poll.Eventually(t, 20*time.Millisecond, 2*time.Second, "prefixes sent", func() error {
		if sess := session(t, s, "router"); sess.PrefixesSent != 2 || sess.LocalAddress != netip.MustParseAddr(nodeEBGP) || sess.UpdatesSent < 2 {
			return fmt.Errorf("session %+v; want 2 prefixes sent from %s in at least 2 UPDATEs", sess, nodeEBGP)
		}
		return nil
	})

	// Changed communities: announced again, in place.
	vip.Communities = []string{"65000:200"}
	if err := s.SetPaths(ctx, []Path{vip, keep}); err != nil {
		t.Fatal(err)
	}
	hasPath(t, r, "198.51.100.10/32", nodeEBGP, func(p netlab.Path) error {
		if std, large := communities(p); std != "65000:200" || large != "" {
			return fmt.Errorf("communities %q, large %q; want only 65000:200", std, large)
		}
		return nil
	})

	// Withdraw one path: gone within a second, the other stays.
	if err := s.SetPaths(ctx, []Path{keep}); err != nil {
		t.Fatal(err)
	}
	gone := noPath(t, r, time.Second, "198.51.100.10/32", nodeEBGP)
	t.Logf("DeletePath -> route gone from FRR: %v", gone)
	hasPath(t, r, "198.51.100.11/32", nodeEBGP, nil)

	// An unchanged peer list leaves the session alone.
	_, before, _ := r.neighborState(nodeEBGP)
	if err := s.SetPeers(ctx, []Peer{ebgpPeer()}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if st, after, _ := r.neighborState(nodeEBGP); st != "Established" || !after.same(before) {
		t.Errorf("SetPeers with the same peer reset the session: %s, established %v -> %v", st, before, after)
	}

	// New timers are taken in place (from the next OPEN on): the session
	// stays, and the speaker runs the peer with them.
	retimed := ebgpPeer()
	retimed.HoldTime, retimed.KeepaliveTime = 30*time.Second, 10*time.Second
	if NeedsReset(ebgpPeer(), retimed) {
		t.Fatal("a timer change must not need a reset")
	}
	if err := s.SetPeers(ctx, []Peer{retimed}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if st, after, _ := r.neighborState(nodeEBGP); st != "Established" || !after.same(before) {
		t.Errorf("a timer change reset the session: %s, established %v -> %v", st, before, after)
	}
	if got, ok := s.Peer("router"); !ok || got != retimed {
		t.Errorf("speaker runs %+v, want the new timers", got)
	}

	// Close withdraws everything.
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	gone = noPath(t, r, time.Second, "198.51.100.11/32", "")
	t.Logf("Close -> last route gone from FRR: %v", gone)
	if _, err := s.Sessions(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Sessions after Close: %v, want ErrClosed", err)
	}
	if _, open := <-s.Changes(); open {
		// drain a pending notification; the channel must then be closed
		if _, open := <-s.Changes(); open {
			t.Error("Changes() not closed by Close")
		}
	}
}

// scenarioIBGPv4: an iBGP session; local-pref arrives; next hop is the
// session's local address.
func scenarioIBGPv4(t *testing.T, r router) {
	ctx := context.Background()
	s := newSpeaker(t, nodeIBGP)
	p := Peer{Name: "rr", Address: netip.MustParseAddr(routerV4), MyASN: routerASN, PeerASN: routerASN,
		SourceAddress: netip.MustParseAddr(nodeIBGP), HoldTime: 9 * time.Second}
	if err := s.SetPeers(ctx, []Peer{p}); err != nil {
		t.Fatal(err)
	}
	established(t, r, s, "rr", nodeIBGP)
	lp := uint32(250)
	if err := s.SetPaths(ctx, []Path{{Prefix: pfx("198.51.100.20/32"), Communities: []string{"65000:300", "large:64513:7:8"}, LocalPref: &lp}}); err != nil {
		t.Fatal(err)
	}
	hasPath(t, r, "198.51.100.20/32", nodeIBGP, func(fp netlab.Path) error {
		if err := nextHop(nodeIBGP)(fp); err != nil {
			return err
		}
		if fp.LocalPref == nil || *fp.LocalPref != 250 || fp.PeerType != "internal" {
			return fmt.Errorf("local-pref %v from a %s peer; want 250 from internal", fp.LocalPref, fp.PeerType)
		}
		if std, large := communities(fp); std != "65000:300" || large != "64513:7:8" {
			return fmt.Errorf("communities %q, large %q", std, large)
		}
		return nil
	})
}

// scenarioEBGPv6: an IPv6 session carries a /128 with the node's global
// address as next hop.
func scenarioEBGPv6(t *testing.T, r router) {
	ctx := context.Background()
	s := newSpeaker(t, nodeEBGP)
	p := Peer{Name: "router6", Address: netip.MustParseAddr(routerV6), MyASN: nodeASN, PeerASN: routerASN,
		SourceAddress: netip.MustParseAddr(nodeV6), HoldTime: 9 * time.Second}
	if err := s.SetPeers(ctx, []Peer{p}); err != nil {
		t.Fatal(err)
	}
	established(t, r, s, "router6", nodeV6)
	if err := s.SetPaths(ctx, []Path{
		{Prefix: pfx("2001:db8:51::10/128"), Communities: []string{"65000:100", "large:64512:6:6"}},
		{Prefix: pfx("198.51.100.30/32")}, // IPv4: not for an IPv6 peer
	}); err != nil {
		t.Fatal(err)
	}
	hasPath(t, r, "2001:db8:51::10/128", nodeV6, func(fp netlab.Path) error {
		if err := nextHop(nodeV6)(fp); err != nil {
			return err
		}
		if std, large := communities(fp); std != "65000:100" || large != "64512:6:6" {
			return fmt.Errorf("communities %q, large %q", std, large)
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond)
	if ps, err := r.paths("198.51.100.30/32", ""); err != nil || len(ps) > 0 {
		t.Errorf("an IPv4 path reached FRR over the IPv6 session: %+v, %v", ps, err)
	}
	if err := s.SetPaths(ctx, nil); err != nil {
		t.Fatal(err)
	}
	noPath(t, r, time.Second, "2001:db8:51::10/128", nodeV6)
}

// scenarioAggregation: the whole chain from resources: config.Parse, PlanFor
// with aggregationLength, SetPeers/SetPaths; FRR gets the aggregate.
func scenarioAggregation(t *testing.T, r router) {
	ctx := context.Background()
	cfg := parse(t, config.Resources{
		Pools: []v1alpha1.IPPool{pool("agg", "203.0.113.0/26", "2001:db8:51:1::/64")},
		BGPPeers: []v1alpha1.BGPPeer{
			bgpPeer("router", nodeASN, routerASN, routerV4, func(s *v1alpha1.BGPPeerSpec) { s.SourceAddress = nodeEBGP }),
			bgpPeer("router6", nodeASN, routerASN, routerV6, func(s *v1alpha1.BGPPeerSpec) { s.SourceAddress = nodeV6 }),
		},
		BGPAdvertisements: []v1alpha1.BGPAdvertisement{bgpAd("agg", func(s *v1alpha1.BGPAdvertisementSpec) {
			s.AggregationLength = ptr.To(int32(28))
			s.AggregationLengthV6 = ptr.To(int32(120))
			s.Communities = []v1alpha1.Community{"65000:28"}
		})},
	})
	plan := PlanFor(cfg, labels.Set{}, addrs("203.0.113.5", "203.0.113.9", "203.0.113.33", "2001:db8:51:1::7"), nil)
	s := newSpeaker(t, nodeEBGP)
	if err := s.SetPeers(ctx, plan.Peers); err != nil {
		t.Fatal(err)
	}
	established(t, r, s, "router", nodeEBGP)
	established(t, r, s, "router6", nodeV6)
	if err := s.SetPaths(ctx, plan.Paths); err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct{ prefix, from string }{
		{"203.0.113.0/28", nodeEBGP}, {"203.0.113.32/28", nodeEBGP}, {"2001:db8:51:1::/120", nodeV6},
	} {
		hasPath(t, r, want.prefix, want.from, func(fp netlab.Path) error {
			if std, _ := communities(fp); std != "65000:28" {
				return fmt.Errorf("community %q", std)
			}
			return nextHop(want.from)(fp)
		})
	}
	view, err := r.view().View(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(view.Routes) < 3 {
		t.Fatalf("%s's routes %v lack the aggregates", r.kind, view.Routes)
	}
	for prefix := range view.Routes {
		if s := prefix.String(); strings.HasPrefix(s, "203.0.113.") && strings.HasSuffix(s, "/32") {
			t.Errorf("%s has the host route %s; want only aggregates", r.kind, prefix)
		}
	}
}

// scenarioMD5: the right password brings the session up; a wrong one never
// does, and Sessions says why.
func scenarioMD5(t *testing.T, r router) {
	ctx := context.Background()
	md5Peer := func(pw string) Peer {
		return Peer{Name: "secure", Address: netip.MustParseAddr(routerV4), MyASN: nodeASN, PeerASN: routerASN,
			SourceAddress: netip.MustParseAddr(nodeMD5), HoldTime: 9 * time.Second, Password: pw}
	}
	t.Run("right password", func(t *testing.T) {
		s := newSpeaker(t, nodeMD5)
		if err := s.SetPeers(ctx, []Peer{md5Peer(md5Password)}); err != nil {
			t.Fatal(err)
		}
		established(t, r, s, "secure", nodeMD5)
		if err := s.SetPaths(ctx, []Path{{Prefix: pfx("198.51.100.40/32")}}); err != nil {
			t.Fatal(err)
		}
		hasPath(t, r, "198.51.100.40/32", nodeMD5, nextHop(nodeMD5))
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		noPath(t, r, time.Second, "198.51.100.40/32", nodeMD5)
	})
	t.Run("wrong password", func(t *testing.T) {
		s := newSpeaker(t, nodeMD5)
		if err := s.SetPeers(ctx, []Peer{md5Peer("not-the-password")}); err != nil {
			t.Fatal(err)
		}
		changes := 0
		deadline := time.After(8 * time.Second) // four connection attempts
		for wait := true; wait; {
			select {
			case <-s.Changes():
				changes++
			case <-deadline:
				wait = false
			}
			if st, _, err := r.neighborState(nodeMD5); err != nil || st == "Established" {
				t.Fatalf("%s: session %s (%v) with a wrong password", r.kind, st, err)
			}
		}
		sess := session(t, s, "secure")
		t.Logf("wrong password: state %s since %v, last error %q, %d change notifications", sess.State, sess.Since.Format(time.RFC3339), sess.LastError, changes)
		if sess.State == StateEstablished {
			t.Fatalf("speaker says Established with a wrong password")
		}
		if sess.LastError == "" || changes == 0 {
			t.Errorf("Sessions shows no error (%q) or Changes never fired (%d)", sess.LastError, changes)
		}
	})
}

// scenarioPeerTargets: a path naming one peer reaches that peer only; moving
// it to the other peer withdraws it from the first; adding a peer does not
// touch the existing session.
func scenarioPeerTargets(t *testing.T, r router) {
	ctx := context.Background()
	s := newSpeaker(t, nodeEBGP)
	ext := ebgpPeer()
	internal := Peer{Name: "rr", Address: netip.MustParseAddr(routerV4b), MyASN: routerASN, PeerASN: routerASN,
		SourceAddress: netip.MustParseAddr(nodeIBGP), HoldTime: 9 * time.Second}
	if err := s.SetPeers(ctx, []Peer{ext}); err != nil {
		t.Fatal(err)
	}
	established(t, r, s, "router", nodeEBGP)
	since := session(t, s, "router").Since
	if err := s.SetPeers(ctx, []Peer{ext, internal}); err != nil {
		t.Fatal(err)
	}
	established(t, r, s, "rr", nodeIBGP)
	if got := session(t, s, "router").Since; !got.Equal(since) {
		t.Errorf("adding a peer touched the other session: since %v -> %v", since, got)
	}

	only := Path{Prefix: pfx("198.51.100.50/32"), Peers: []string{"router"}}
	all := Path{Prefix: pfx("198.51.100.51/32")}
	if err := s.SetPaths(ctx, []Path{only, all}); err != nil {
		t.Fatal(err)
	}
	hasPath(t, r, "198.51.100.50/32", nodeEBGP, nextHop(nodeEBGP))
	hasPath(t, r, "198.51.100.51/32", nodeEBGP, nextHop(nodeEBGP))
	hasPath(t, r, "198.51.100.51/32", nodeIBGP, nextHop(nodeIBGP))
	if ps, _ := r.paths("198.51.100.50/32", nodeIBGP); len(ps) > 0 {
		t.Errorf("a path for peer router reached rr: %+v", ps)
	}

	only.Peers = []string{"rr"}
	if err := s.SetPaths(ctx, []Path{only, all}); err != nil {
		t.Fatal(err)
	}
	hasPath(t, r, "198.51.100.50/32", nodeIBGP, nextHop(nodeIBGP))
	noPath(t, r, time.Second, "198.51.100.50/32", nodeEBGP)

	// Removing the iBGP peer closes its session; its routes go with it.
	if err := s.SetPeers(ctx, []Peer{ext}); err != nil {
		t.Fatal(err)
	}
	noPath(t, r, 2*time.Second, "198.51.100.51/32", nodeIBGP)
	hasPath(t, r, "198.51.100.51/32", nodeEBGP, nil)
	if got := session(t, s, "router").Since; !got.Equal(since) {
		t.Errorf("removing a peer touched the other session: since %v -> %v", since, got)
	}
}

// scenarioGracefulRestart: with graceful restart on the peer, Close leaves
// the routes on the router (stale) until the restart time ends. It runs last:
// FRR keeps the stale route for the restart time.
func scenarioGracefulRestart(t *testing.T, r router) {
	ctx := context.Background()
	s := newSpeaker(t, nodeEBGP)
	p := ebgpPeer()
	p.GracefulRestart = 4 * time.Second
	if err := s.SetPeers(ctx, []Peer{p}); err != nil {
		t.Fatal(err)
	}
	established(t, r, s, "router", nodeEBGP)
	if err := s.SetPaths(ctx, []Path{{Prefix: pfx("198.51.100.60/32")}}); err != nil {
		t.Fatal(err)
	}
	hasPath(t, r, "198.51.100.60/32", nodeEBGP, nextHop(nodeEBGP))
	keptAfterClose(t, r, s, "198.51.100.60/32")
}

// keptAfterClose closes the speaker, whose peer has graceful restart with
// a restart time of 4 s, and checks that the router keeps prefix from the
// node's 198.18.2.1 for about that long, and then drops it.
func keptAfterClose(t *testing.T, r router, s *Speaker, prefix string) {
	t.Helper()
	closed := time.Now()
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if ps, err := r.paths(prefix, nodeEBGP); err != nil || len(ps) != 1 {
		t.Fatalf("1 s after Close with graceful restart the router has %d paths (%v), want the route kept", len(ps), err)
	}
	noPath(t, r, 10*time.Second, prefix, nodeEBGP)
	kept := time.Since(closed)
	t.Logf("graceful restart 4s: route kept after Close, gone after %v", kept.Round(100*time.Millisecond))
	if kept < 3*time.Second {
		t.Errorf("route gone %v after Close, want about the restart time (4s)", kept)
	}
}

// scenarioGracefulRestartPassive: graceful restart on a passive peer,
// whose session the router dialed to the speaker's port 1790: Close leaves
// the route on the router for the restart time too (with BIRD, which lacks
// RFC 8538, the speaker must find the session by its own listening port,
// neither end being 179, to end it without a notification).
func scenarioGracefulRestartPassive(t *testing.T, r router) {
	ctx := context.Background()
	s := newSpeakerWith(t, Options{RouterID: netip.MustParseAddr(nodeEBGP), ListenPort: 1790,
		ListenAddresses: []netip.Addr{netip.MustParseAddr(nodeEBGP)}})
	p := ebgpPeer()
	p.Passive = true
	p.GracefulRestart = 4 * time.Second
	if err := s.SetPeers(ctx, []Peer{p}); err != nil {
		t.Fatal(err)
	}
	r.dialNode(t, s, 1790)
	if err := s.SetPaths(ctx, []Path{{Prefix: pfx("198.51.100.61/32")}}); err != nil {
		t.Fatal(err)
	}
	hasPath(t, r, "198.51.100.61/32", nodeEBGP, nextHop(nodeEBGP))
	keptAfterClose(t, r, s, "198.51.100.61/32")
}
