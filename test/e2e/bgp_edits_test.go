package e2e

import (
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// passwordEditGap is how long the test leaves between changing the BGP
// password in the Secret and on the router, as an operator would who edits
// one and then the other: longer than the speaker's trial of new settings
// (15 s), so the first node goes back to the old password and its session
// returns before the router changes.
const passwordEditGap = 20 * time.Second

// waitChanges waits until every node's session reports this change state
// ("" when the BGPPeer runs as configured) and is Established.
func waitChanges(t *testing.T, l *lab.Lab, change string) {
	t.Helper()
	poll.Eventually(t, 50*time.Millisecond, 60*time.Second, "every session Established with change "+change, func() (bool, string) {
		var list v1alpha1.SpeakerStatusList
		if err := l.Client.List(t.Context(), &list); err != nil {
			return false, err.Error()
		}
		seen := ""
		for _, st := range list.Items {
			for _, ss := range st.Status.BGPSessions {
				seen += st.Name + ":" + ss.State + "/" + ss.Change + " "
				if ss.State != "Established" || ss.Change != change {
					return false, seen
				}
			}
		}
		return len(list.Items) == len(l.Nodes), seen
	})
}

// passwordBGP is the set-up the fail-small BGP tests share: the lab with
// an iBGP router that requires the TCP-MD5 password "s3cret", pylon with a
// BGPPeer reading it from the Secret router-password, the lab pool
// advertised, and one Service routed over every node. It returns the
// Secret, the BGPPeer, the Service's address and the nodes' names. pylon
// runs as pods (startPylonPods) or, for a test that needs them, as
// processes (startPylon).
func passwordBGP(t *testing.T, pods bool) (l *lab.Lab, p *pylon, secret *corev1.Secret, peer *v1alpha1.BGPPeer, vip netip.Addr, all []string) {
	t.Helper()
	l, p, secret, peer, _ = passwordPeer(t, pods, "s3cret", v1alpha1.BGPAdvertisementSpec{})
	vip, all = routedService(t, l, "web")
	return l, p, secret, peer, vip, all
}

// passwordPeer starts the lab of passwordBGP with the password Secret
// holding password, and the BGPAdvertisement "lab" of the lab pool with
// adv's other fields. It creates no Service.
func passwordPeer(t *testing.T, pods bool, password string, adv v1alpha1.BGPAdvertisementSpec) (l *lab.Lab, p *pylon, secret *corev1.Secret, peer *v1alpha1.BGPPeer, a *v1alpha1.BGPAdvertisement) {
	t.Helper()
	o := lab.Options{NodeASN: lab.RouterASN, BGPPassword: "s3cret"}
	if pods {
		l = podLab(t, o)
		p = startPylonPods(t, l)
	} else {
		l = lab.Start(t, o)
		p = startPylon(t, l)
	}
	secret = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: pylonNS, Name: "router-password"}, StringData: map[string]string{"password": password}}
	create(t, l.Client, secret)
	peer = &v1alpha1.BGPPeer{
		ObjectMeta: metav1.ObjectMeta{Name: "router"},
		Spec: v1alpha1.BGPPeerSpec{
			MyASN: lab.RouterASN, PeerASN: lab.RouterASN, PeerAddress: l.Router.IPv4.String(),
			HoldTime:          &metav1.Duration{Duration: 9 * time.Second},
			PasswordSecretRef: &v1alpha1.SecretKeyReference{Name: "router-password"},
		},
	}
	create(t, l.Client, peer)
	adv.IPPools = []v1alpha1.ObjectName{"lab"}
	a = &v1alpha1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "lab"}, Spec: adv}
	create(t, l.Client, a)
	return l, p, secret, peer, a
}

// routedService creates the Service name and waits until the router
// routes its address over every node; it returns the address and the
// nodes' names.
func routedService(t *testing.T, l *lab.Lab, name string) (vip netip.Addr, all []string) {
	t.Helper()
	_, ips := service(t, l, name, false)
	for _, n := range l.Nodes {
		all = append(all, n.Name)
	}
	waitNextHops(t, l, ips[0], 30*time.Second, all...)
	return ips[0], all
}

// fewestHops watches the router's kernel for d and returns the fewest next
// hops it had for ip.
func fewestHops(t *testing.T, l *lab.Lab, ip netip.Addr, d time.Duration) int {
	t.Helper()
	fewest := len(l.Nodes)
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		routes, err := l.Router.KernelRoutes(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		fewest = min(fewest, len(routes[netip.PrefixFrom(ip, ip.BitLen())]))
	}
	return fewest
}

// TestBGPPeerEditsWithoutOutage: an iBGP router that requires a TCP MD5
// password, pylon installed by Helm. With the wrong password in the Secret
// no session comes up and every SpeakerStatus says so; with the right one
// they do, and the advertisement's local-pref and aggregation arrive as
// configured. Then, with the aggregation edited away, a BGPPeer's new
// timers are taken without restarting any session, and a password changed
// on both sides (Secret first, then the router) is tried by one node at a
// time while the router has the old password, so the router keeps next
// hops until it changes itself; then every node takes the new password at
// once. A remote client probes the Service every 20 ms; the lost probes
// and the longest gap are logged (docs/benchmarks.md). One lab for all
// (it was two tests; folded to keep make test's wall time).
func TestBGPPeerEditsWithoutOutage(t *testing.T) {
	localPref, agg := int64(150), int32(28)
	l, _, secret, peer, adv := passwordPeer(t, true, "wrong", v1alpha1.BGPAdvertisementSpec{LocalPref: &localPref, AggregationLength: &agg})
	if !t.Run("wrong password: never established, and shown", func(t *testing.T) { wrongPasswordShown(t, l) }) {
		return
	}
	if !t.Run("right password: local-pref and the aggregate arrive", func(t *testing.T) { aggregateArrives(t, l, secret, agg) }) {
		return
	}
	patch := client.MergeFrom(adv.DeepCopy())
	adv.Spec.LocalPref, adv.Spec.AggregationLength = nil, nil
	if err := l.Client.Patch(t.Context(), adv, patch); err != nil {
		t.Fatal(err)
	}
	// A second Service: the first one's address is inside the aggregate.
	vip, all := routedService(t, l, "web2")

	t.Run("new timers restart no session", func(t *testing.T) {
		if err := l.Client.Get(t.Context(), client.ObjectKeyFromObject(peer), peer); err != nil {
			t.Fatal(err)
		}
		patch := client.MergeFrom(peer.DeepCopy()) // no resourceVersion check: status writes race with it
		peer.Spec.HoldTime, peer.Spec.KeepaliveTime = &metav1.Duration{Duration: 30 * time.Second}, &metav1.Duration{Duration: 10 * time.Second}
		if err := l.Client.Patch(t.Context(), peer, patch); err != nil {
			t.Fatal(err)
		}
		s := l.RemoteClient.StartSampler(t.Context(), vip, 80)
		if n := fewestHops(t, l, vip, 5*time.Second); n != len(all) {
			t.Fatalf("the router's next hops fell to %d after a timer edit; want all %d kept", n, len(all))
		}
		rep, _ := s.Stop()
		if rep.Failures > 0 {
			t.Fatalf("%d of %d probes lost after a timer edit", rep.Failures, rep.Samples)
		}
	})

	t.Run("a password changed on both sides", func(t *testing.T) {
		s := l.RemoteClient.StartSampler(t.Context(), vip, 80)
		patch := client.MergeFrom(secret.DeepCopy())
		secret.StringData = map[string]string{"password": "n3w-secret"}
		if err := l.Client.Patch(t.Context(), secret, patch); err != nil {
			t.Fatal(err)
		}
		fewest := fewestHops(t, l, vip, passwordEditGap)
		if err := l.Router.SetPassword(t.Context(), "n3w-secret"); err != nil {
			t.Fatal(err)
		}
		// FRR keeps established sessions on the key they were opened with;
		// the operator clears them, one node at a time, and each node takes
		// the new password as soon as its session drops.
		changed := time.Now()
		for _, n := range l.Nodes {
			if err := l.Router.Clear(t.Context(), n.IPv4); err != nil {
				t.Fatal(err)
			}
			time.Sleep(500 * time.Millisecond)
			waitNextHops(t, l, vip, 60*time.Second, all...)
		}
		waitChanges(t, l, "")
		back := time.Since(changed)
		time.Sleep(500 * time.Millisecond)
		rep, _ := s.Stop()
		t.Logf("password change, Secret then router %v later, then the router's sessions cleared one by one: fewest next hops before the router changed %d; "+
			"every node on the new password %v after the router changed; remote probes every 20 ms: %d of %d lost, longest gap %v",
			passwordEditGap, fewest, back.Round(10*time.Millisecond), rep.Failures, rep.Samples, rep.LongestGap.Round(time.Millisecond))
		if fewest < len(all)-1 {
			t.Errorf("the router kept %d next hops while only the Secret had changed; the nodes must restart one at a time (want at least %d)", fewest, len(all)-1)
		}
		t.Logf("longest gap from %v to %v after the Secret changed (the router changed at %v)",
			rep.GapFrom.Sub(rep.First).Round(10*time.Millisecond), rep.GapTo.Sub(rep.First).Round(10*time.Millisecond), changed.Sub(rep.First).Round(10*time.Millisecond))
		// Without staggering every node drops its session when the Secret
		// changes and the Service is unreachable until the router changes
		// (passwordEditGap). With it, what is left is the router moving the
		// client's flow off a node whose session restarts.
		if rep.LongestGap >= 5*time.Second {
			t.Errorf("longest gap %v: want the Service reachable throughout but for the router's re-routing (under 5 s)", rep.LongestGap)
		}
	})
}
