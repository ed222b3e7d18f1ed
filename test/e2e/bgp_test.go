package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/test/gen"
	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// nodeASN is the nodes' AS in the BGP scenarios (the lab router is 64513).
const nodeASN = 64512

// bgpConfig creates BGPPeers for the lab router over IPv4 and IPv6 and an
// advertisement of the lab pool with a standard and a large community.
func bgpConfig(t testing.TB, l *lab.Lab) {
	t.Helper()
	for name, addr := range map[string]netip.Addr{"router": l.Router.IPv4, "router-v6": l.Router.IPv6} {
		create(t, l.Client, gen.BGPPeer(name, nodeASN, lab.RouterASN, addr.String()))
	}
	create(t, l.Client, &v1alpha1.BGPAdvertisement{
		ObjectMeta: metav1.ObjectMeta{Name: "lab"},
		Spec: v1alpha1.BGPAdvertisementSpec{
			IPPools:     []v1alpha1.ObjectName{"lab"},
			Communities: []v1alpha1.Community{"65000:100", "large:64512:1:2"},
		},
	})
}

// nodeIPs returns the lab nodes' addresses of ip's family, by name.
func nodeAddrs(l *lab.Lab, ip netip.Addr, names ...string) []netip.Addr {
	var out []netip.Addr
	for _, n := range l.Nodes {
		if len(names) > 0 && !slices.Contains(names, n.Name) {
			continue
		}
		if ip.Is4() {
			out = append(out, n.IPv4)
		} else {
			out = append(out, n.IPv6)
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// waitNextHops waits until the router's kernel routes ip over exactly the
// given nodes, and returns how long that took.
func waitNextHops(t testing.TB, l *lab.Lab, ip netip.Addr, timeout time.Duration, nodes ...string) time.Duration {
	t.Helper()
	return waitRouterNextHops(t, l, l.Router, ip, timeout, nodes...)
}

// waitRouterNextHops is waitNextHops for router r (l.Router or l.Router2).
func waitRouterNextHops(t testing.TB, l *lab.Lab, r *lab.Router, ip netip.Addr, timeout time.Duration, nodes ...string) time.Duration {
	t.Helper()
	began := time.Now()
	want := nodeAddrs(l, ip, nodes...)
	if len(nodes) == 0 {
		want = nil
	}
	prefix := netip.PrefixFrom(ip, ip.BitLen())
	poll.Eventually(t, 50*time.Millisecond, timeout, fmt.Sprintf("%s to route %s via %v", r.Name, ip, nodes), func() (bool, string) {
		routes, err := r.KernelRoutes(t.Context())
		if err != nil {
			return false, err.Error()
		}
		got := slices.Clone(routes[prefix])
		slices.SortFunc(got, netip.Addr.Compare)
		return slices.Equal(got, want), fmt.Sprint(got)
	})
	return time.Since(began)
}

// TestBGP runs pylon's BGP scenarios against the lab's FRR; TestBGPBIRD
// the same against BIRD 2 (lab.RouterBIRD). The last, bgpBFDCut, is BFD's.
func TestBGP(t *testing.T) { bgpScenarios(t, "") }

// TestBGPBIRD: TestBGP with BIRD 2 as the router.
func TestBGPBIRD(t *testing.T) { bgpScenarios(t, lab.RouterBIRD) }

func bgpScenarios(t *testing.T, router string) {
	// The router runs BFD for the nodes' sessions; the speakers do from
	// the last scenario on, when the BGPPeers ask for it.
	l := lab.Start(t, lab.Options{NodeASN: nodeASN, Router: router, BFD: &lab.BFD{}})
	// pylon as processes: n1's speaker gets SIGTERM at a chosen moment and
	// the withdrawal is timed from it (a pod's deletion would add the
	// kubelet's own delay and a replacement speaker).
	p := startPylon(t, l)
	bgpConfig(t, l)
	all := []string{"n1", "n2", "n3"}

	t.Run("sessions from every node", func(t *testing.T) {
		poll.Eventually(t, 50*time.Millisecond, 30*time.Second, "six established sessions (v4 and v6 from three nodes)", func() (bool, string) {
			v, err := l.Router.View(t.Context())
			if err != nil {
				return false, err.Error()
			}
			up := 0
			for _, s := range v.Sessions {
				if s.Established() {
					up++
				}
			}
			return up == 6, fmt.Sprintf("%+v", v.Sessions)
		})
		waitSessions(t, l, 2)
	})

	svc, ips := service(t, l, "web", true)
	v4, v6 := ips[0], ips[1]
	t.Run("ECMP over every node, both families, communities", func(t *testing.T) {
		waitNextHops(t, l, v4, 20*time.Second, all...)
		waitNextHops(t, l, v6, 20*time.Second, all...)
		v, err := l.Router.View(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		paths := v.Routes[netip.PrefixFrom(v4, 32)]
		if len(paths) != 3 {
			t.Fatalf("%d paths for %s, want 3: %+v", len(paths), v4, paths)
		}
		for _, pa := range paths {
			if !slices.Contains(pa.Communities, "65000:100") || !slices.Contains(pa.LargeCommunities, "64512:1:2") || !slices.Equal(pa.ASPath, []uint32{nodeASN}) {
				t.Fatalf("path %+v lacks the communities or has the wrong AS path", pa)
			}
		}
		for _, ip := range ips {
			got, err := l.RemoteClient.Get(t.Context(), ip, 80, 2*time.Second)
			if err != nil || !slices.Contains(all, got) {
				t.Fatalf("remote client GET %s: %q, %v", ip, got, err)
			}
		}
	})

	t.Run("local policy follows the endpoint", func(t *testing.T) {
		local, lips := service(t, l, "local", false, lab.ReadyOn("n2")...)
		patch := client.MergeFrom(local.DeepCopy())
		local.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		if err := l.Client.Patch(t.Context(), local, patch); err != nil {
			t.Fatal(err)
		}
		waitNextHops(t, l, lips[0], 20*time.Second, "n2")
		if err := l.SetEndpoints(t.Context(), local, lab.ReadyOn("n3")...); err != nil {
			t.Fatal(err)
		}
		waitNextHops(t, l, lips[0], 20*time.Second, "n3")
		if err := l.SetEndpoints(t.Context(), local); err != nil {
			t.Fatal(err)
		}
		waitNextHops(t, l, lips[0], 20*time.Second)
	})

	t.Run("SIGTERM removes one next hop, the client keeps the VIP", func(t *testing.T) {
		s := lab.StartSampling(t.Context(), lab.SampleEvery, func(ctx context.Context) (string, error) {
			return l.RemoteClient.Get(ctx, v4, 80, lab.SampleTimeout)
		})
		time.Sleep(300 * time.Millisecond)
		if err := p.speakers["n1"].Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		defer restart(t, p, "n1")
		took := waitNextHops(t, l, v4, 10*time.Second, "n2", "n3")
		time.Sleep(500 * time.Millisecond)
		rep, _ := s.Stop()
		t.Logf("n1 withdrew %s in %v; client: %v", v4, took, rep)
		if rep.Failures > 1 {
			t.Fatalf("the remote client lost the VIP: %v", rep)
		}
	})

	t.Run("a node outside the peer's selector does not peer", func(t *testing.T) {
		for _, n := range []string{"n1", "n2"} {
			node := &corev1.Node{}
			if err := l.Client.Get(t.Context(), client.ObjectKey{Name: n}, node); err != nil {
				t.Fatal(err)
			}
			patch := client.MergeFrom(node.DeepCopy())
			if node.Labels == nil {
				node.Labels = map[string]string{}
			}
			node.Labels["bgp"] = "yes"
			if err := l.Client.Patch(t.Context(), node, patch); err != nil {
				t.Fatal(err)
			}
		}
		peer := &v1alpha1.BGPPeer{}
		if err := l.Client.Get(t.Context(), client.ObjectKey{Name: "router"}, peer); err != nil {
			t.Fatal(err)
		}
		patch := client.MergeFrom(peer.DeepCopy())
		peer.Spec.NodeSelector = &v1alpha1.LabelSelector{MatchLabels: map[string]v1alpha1.LabelValue{"bgp": "yes"}}
		if err := l.Client.Patch(t.Context(), peer, patch); err != nil {
			t.Fatal(err)
		}
		waitNextHops(t, l, v4, 20*time.Second, "n1", "n2")
		waitNextHops(t, l, v6, 5*time.Second, all...) // the v6 peer still selects every node
	})

	t.Run("deletion withdraws", func(t *testing.T) {
		if err := l.Client.Delete(t.Context(), svc); err != nil {
			t.Fatal(err)
		}
		took := waitNextHops(t, l, v6, 10*time.Second)
		t.Logf("Service deleted: %s withdrawn in %v", v6, took)
		if took > time.Second {
			t.Errorf("withdrawal took %v, want within 1 s", took)
		}
	})

	t.Run("BFD sees a silent cut within 3 s", func(t *testing.T) { bgpBFDCut(t, l) })
}

// waitSessions waits until every node's SpeakerStatus shows perNode
// established sessions.
func waitSessions(t testing.TB, l *lab.Lab, perNode int32) {
	t.Helper()
	poll.Eventually(t, 50*time.Millisecond, 30*time.Second, "SpeakerStatus to show the sessions established", func() (bool, string) {
		var list v1alpha1.SpeakerStatusList
		if err := l.Client.List(t.Context(), &list); err != nil {
			return false, err.Error()
		}
		for _, s := range list.Items {
			if s.Status.SessionsEstablished != perNode {
				return false, fmt.Sprintf("%s: %+v", s.Name, s.Status.BGPSessions)
			}
		}
		return len(list.Items) == len(l.Nodes), ""
	})
}
