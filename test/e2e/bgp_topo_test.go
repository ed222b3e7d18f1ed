package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/test/gen"
	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// TestTwoRouters runs the nodes against two routers at once: r1 FRR, r2
// BIRD (lab.Options.SecondRouter), each peered with every node by its
// own BGPPeer (one IPv4 session each, both families over it). One lab
// covers both kinds: what is asked of a router here (hold every route
// over every node, keep them while the other restarts, take them back
// after its own restart) is the same of either, and each kind restarts
// once. Both routers route each Service address over all three nodes; the
// remote client reaches it through each (by source address, counted on
// each router's link); each router's BGP daemon restarts in turn while
// the other's kernel routes are sampled every 10 ms and probes cross it.
func TestTwoRouters(t *testing.T) {
	l := lab.Start(t, lab.Options{NodeASN: nodeASN, SecondRouter: lab.RouterBIRD})
	startPylon(t, l)
	routers := []*lab.Router{l.Router, l.Router2}
	for _, r := range routers {
		create(t, l.Client, gen.BGPPeer(r.Name, nodeASN, lab.RouterASN, r.IPv4.String(), dualStack))
	}
	create(t, l.Client, gen.BGPAdvertisement("lab", gen.BGPPools("lab")))
	waitSessions(t, l, 2)
	_, ips := service(t, l, "web", true)
	all := []string{"n1", "n2", "n3"}

	t.Run("ECMP in both routers, the client through each", func(t *testing.T) {
		for _, r := range routers {
			for _, ip := range ips {
				waitRouterNextHops(t, l, r, ip, 20*time.Second, all...)
			}
		}
		for _, r := range routers {
			before, err := r.RemoteRxPackets(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for _, ip := range ips {
				got, err := getThrough(t.Context(), l, r, ip, 2*time.Second)
				if err != nil || !slices.Contains(all, got) {
					t.Fatalf("remote client GET %s through %s: %q, %v", ip, r.Name, got, err)
				}
			}
			after, err := r.RemoteRxPackets(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			// A GET is at least SYN, ACK, request and FIN from the client.
			if min := uint64(4 * len(ips)); after-before < min {
				t.Fatalf("%s received %d packets from the remote client for %d GETs, want at least %d: the traffic went another way", r.Name, after-before, len(ips), min)
			}
		}
	})

	for _, c := range []struct{ restarted, other *lab.Router }{{l.Router, l.Router2}, {l.Router2, l.Router}} {
		t.Run(fmt.Sprintf("%s (%s) restarts, %s holds", c.restarted.Name, c.restarted.Kind(), c.other.Name), func(t *testing.T) {
			restartOneOfTwo(t, l, c.restarted, c.other, ips, all)
		})
	}
}

// restartOneOfTwo restarts restarted's BGP daemon and measures until it
// routes every address over every node again; meanwhile other's kernel
// routes (sampled every 10 ms) never change and no probe through it is
// lost.
func restartOneOfTwo(t *testing.T, l *lab.Lab, restarted, other *lab.Router, ips []netip.Addr, all []string) {
	routeState := func(r *lab.Router) func(context.Context) (string, error) {
		return func(ctx context.Context) (string, error) {
			routes, err := r.KernelRoutes(ctx)
			if err != nil {
				return "", err
			}
			var s []string
			for _, ip := range ips {
				s = append(s, fmt.Sprint(routes[netip.PrefixFrom(ip, ip.BitLen())]))
			}
			return fmt.Sprint(s), nil
		}
	}
	var whole []string
	for _, ip := range ips {
		whole = append(whole, fmt.Sprint(nodeAddrs(l, ip, all...)))
	}
	want := fmt.Sprint(whole)
	held := lab.StartSampling(t.Context(), 10*time.Millisecond, routeState(other))
	lost := lab.StartSampling(t.Context(), 50*time.Millisecond, routeState(restarted))
	var probes []*lab.Sampler
	for _, ip := range ips {
		probes = append(probes, lab.StartSampling(t.Context(), lab.SampleEvery, func(ctx context.Context) (string, error) {
			return getThrough(ctx, l, other, ip, lab.SampleTimeout)
		}))
	}
	time.Sleep(300 * time.Millisecond)
	began := time.Now()
	if err := restarted.RestartBGP(t.Context()); err != nil {
		t.Fatal(err)
	}
	var back time.Duration
	poll.Eventually(t, 20*time.Millisecond, 60*time.Second, restarted.Name+" to route every address over every node again", func() (bool, string) {
		got, err := routeState(restarted)(t.Context())
		if err != nil {
			return false, err.Error()
		}
		back = time.Since(began)
		return got == want, got
	})
	time.Sleep(300 * time.Millisecond)
	heldRep, _ := held.Stop()
	lostRep, _ := lost.Stop()
	t.Logf("%s (%s) restarted: every route back over every node %v after the restart began; %s's kernel routes read %d times meanwhile, %d distinct", restarted.Name, restarted.Kind(), back.Round(time.Millisecond), other.Name, heldRep.Samples, len(heldRep.Answers))
	if heldRep.Failures > 0 || len(heldRep.Answers) != 1 || heldRep.Answers[want] == 0 {
		t.Errorf("%s's kernel routes changed while %s restarted (want %s throughout): %v", other.Name, restarted.Name, want, heldRep)
	}
	// The restart was real: the restarted router's routes went away.
	if len(lostRep.Answers) < 2 {
		t.Errorf("%s's routes never changed during its restart: %v", restarted.Name, lostRep)
	}
	for i, p := range probes {
		rep, _ := p.Stop()
		// ECMP spreads the answers over the nodes: the changes of
		// answering node say nothing here.
		sum := fmt.Sprintf("%d probes, %d unanswered, answers %v, longest gap %v", rep.Samples, rep.Failures, rep.Answers, rep.LongestGap.Round(time.Millisecond))
		t.Logf("%s through %s: %s", ips[i], other.Name, sum)
		if rep.Failures > 0 || rep.Samples < 10 {
			t.Errorf("%s through %s: %s, want none lost", ips[i], other.Name, sum)
		}
	}
	waitSessions(t, l, 2)
}

// dualStack sends both families over a BGPPeer's one session.
func dualStack(p *v1alpha1.BGPPeer) { p.Spec.DualStackAddressFamily = ptr.To(true) }

// getThrough GETs ip from the remote client through router r: from its
// address on r2's link for l.Router2, from its default one (r1's link)
// otherwise.
func getThrough(ctx context.Context, l *lab.Lab, r *lab.Router, ip netip.Addr, timeout time.Duration) (string, error) {
	if r != l.Router2 {
		return l.RemoteClient.Get(ctx, ip, 80, timeout)
	}
	src := l.RemoteVia2IPv4
	if ip.Is6() {
		src = l.RemoteVia2IPv6
	}
	return l.RemoteClient.GetFrom(ctx, src, ip, 80, timeout)
}
