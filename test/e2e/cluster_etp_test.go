package e2e

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// localGapMax bounds the outage when a Local Service's pod is rescheduled:
// from the last answer before it to the first after.
const localGapMax = 2 * time.Second

// localWithdrawGrace is how long a node whose pod stopped being ready may
// still answer ARP for a Local address: its speaker's reaction to the
// EndpointSlice.
const localWithdrawGrace = time.Second

// clusterETPLocal checks externalTrafficPolicy Local on real nodes: a
// Service from the layer-2 pool is owned by a node with a ready backend
// pod, which sends the traffic to that pod; one from the BGP pool is routed
// by the router over exactly the nodes with a ready pod. Then it deletes
// the layer-2 owner's pod (the local client probing every 20 ms), and then
// a pod on an announcing node (the remote client probing): the Deployment
// reschedules it, and the traffic follows with no gap over 2 s. All along,
// a node without a ready pod never answers ARP for the layer-2 address,
// except its speaker's reaction time after its pod stopped being ready.
func clusterETPLocal(t *testing.T, c *cluster) {
	l, ctx := c.lab, c.ctx
	local := func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal }
	const l2Name, bgpName = "etp-lab", "etp-bgp"
	defer c.deleteServices(t, l2Name, bgpName)
	l2IP := c.backendService(t, l2Name, "lab", local)
	bgpIP := c.backendService(t, bgpName, "bgp", local)

	pods := c.readyBackend(t)
	owner := c.waitLocalOwner(t, l2IP, pods)
	waitNextHops(t, l, bgpIP, 30*time.Second, podNodes(pods)...)
	t.Logf("%s owned by %s, %s routed over %v: the nodes with a ready pod %v", l2IP, owner, bgpIP, podNodes(pods), pods)

	arp := watchARP(ctx, l, l2IP, 3, func(ctx context.Context) map[string]bool {
		return endpointNodes(ctx, l, c.backend.Namespace, l2Name)
	})
	defer arp.stop()

	// Layer 2: the owner's pod goes.
	pods = c.reschedule(t, "layer 2, local client", l.LocalClient, l2IP, podOn(pods, owner), func(pods map[string]string) {
		owner = c.waitLocalOwner(t, l2IP, pods)
		t.Logf("%s now owned by %s", l2IP, owner)
	})
	waitNextHops(t, l, bgpIP, 30*time.Second, podNodes(pods)...)

	// BGP: the pod the remote client's traffic reaches goes (the router
	// hashes a flow's addresses onto one next hop: always the same node).
	victim, err := l.RemoteClient.Get(ctx, bgpIP, 80, time.Second)
	if err != nil || pods[victim] == "" {
		t.Fatalf("the remote client's answer from %s: %q (%v), want a pod of %v", bgpIP, victim, err, pods)
	}
	pods = c.reschedule(t, "BGP, remote client", l.RemoteClient, bgpIP, victim, func(pods map[string]string) {
		took := waitNextHops(t, l, bgpIP, localGapMax, podNodes(pods)...)
		t.Logf("the router routes %s over %v %v after the new pod was Ready", bgpIP, podNodes(pods), took.Round(time.Millisecond))
	})
	t.Logf("%s owned by %s after both reschedules", l2IP, c.waitLocalOwner(t, l2IP, pods))
	checkLocalARP(t, l2IP, arp.stop())
}

// reschedule deletes the backend's pod victim while client probes ip every
// 20 ms, waits until the Deployment has two Ready pods again and then for
// follow (given the pods and their nodes), probes one second more and
// checks that no gap between answers was longer than localGapMax. It
// returns the Ready pods and their nodes.
func (c *cluster) reschedule(t *testing.T, label string, client *lab.Host, ip netip.Addr, victim string, follow func(map[string]string)) map[string]string {
	t.Helper()
	l, ctx := c.lab, c.ctx
	s := client.StartSampler(ctx, ip, 80)
	defer s.Stop()
	time.Sleep(500 * time.Millisecond)
	victimNode := c.readyBackend(t)[victim]
	deleted := time.Now()
	if err := l.Client.Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: c.backend.Namespace, Name: victim}}); err != nil {
		t.Fatal(err)
	}
	var pods map[string]string
	poll.Eventually(t, 50*time.Millisecond, 90*time.Second, "a second Ready pod in place of "+victim, func() (bool, string) {
		pods = c.readyBackend(t)
		_, old := pods[victim]
		return len(pods) == 2 && !old, fmt.Sprint(pods)
	})
	ready := time.Now()
	var newPod string
	for p := range pods {
		if c.podIsNew(t, p, deleted) {
			newPod = p
		}
	}
	follow(pods)
	time.Sleep(time.Second)
	r, _ := s.Stop()
	first, moved := s.FirstAnswer(ready, newPod)
	t.Logf("%s: deleted %s on %s; %s Ready on %s %v later; %d probes, %d unanswered, longest gap %v (%s to %s after the deletion), answers %v",
		label, victim, victimNode, newPod, pods[newPod], ready.Sub(deleted).Round(time.Millisecond),
		r.Samples, r.Failures, r.LongestGap.Round(time.Millisecond),
		r.GapFrom.Sub(deleted).Round(time.Millisecond), r.GapTo.Sub(deleted).Round(time.Millisecond), r.Answers)
	if moved {
		t.Logf("%s: first answer from the new pod %v after it was Ready", label, first.Sub(ready).Round(time.Millisecond))
	}
	if r.Samples == 0 || r.LongestGap > localGapMax {
		t.Errorf("%s: %d probes, longest gap %v, want none over %v", label, r.Samples, r.LongestGap.Round(time.Millisecond), localGapMax)
	}
	if r.Answers[victim] == 0 {
		t.Errorf("%s: the deleted pod %s never answered: the probes did not go where the pod was", label, victim)
	}
	return pods
}

// podIsNew reports whether the pod was created after since.
func (c *cluster) podIsNew(t *testing.T, name string, since time.Time) bool {
	t.Helper()
	var p corev1.Pod
	if err := c.lab.Client.Get(c.ctx, client.ObjectKey{Namespace: c.backend.Namespace, Name: name}, &p); err != nil {
		t.Fatal(err)
	}
	return !p.CreationTimestamp.Time.Before(since.Truncate(time.Second))
}

// waitLocalOwner waits until one node answers ARP for ip, it is a node
// with a ready pod (pods: pod to node), and the address's HTTP answer is
// that node's pod (externalTrafficPolicy Local: kube-proxy sends to the
// node's own pods only); it returns the node.
func (c *cluster) waitLocalOwner(t *testing.T, ip netip.Addr, pods map[string]string) string {
	t.Helper()
	var owner string
	poll.Eventually(t, 50*time.Millisecond, 30*time.Second, "a node with a ready pod to own "+ip.String(), func() (bool, string) {
		who := answering(t, c.lab, ip)
		if len(who) != 1 || podOn(pods, who[0]) == "" {
			return false, fmt.Sprintf("answering ARP: %v; ready pods %v", who, pods)
		}
		got, err := c.lab.LocalClient.Get(c.ctx, ip, 80, time.Second)
		if err != nil || got != podOn(pods, who[0]) {
			return false, fmt.Sprintf("ARP says %s; HTTP answer %q (%v), want its pod %s", who[0], got, err, podOn(pods, who[0]))
		}
		owner = who[0]
		return true, ""
	})
	return owner
}

// checkLocalARP fails t for every ARP answer for ip from a node with no
// ready endpoint just before or just after the probe, unless it had one
// within localWithdrawGrace before it.
func checkLocalARP(t *testing.T, ip netip.Addr, probes []arpProbe) {
	t.Helper()
	lastReady := map[string]time.Time{}
	answered, unknown, withdrawing := 0, 0, 0
	var bad []string
	for _, p := range probes {
		if p.err != nil || p.before == nil || p.after == nil {
			unknown++
			continue
		}
		if len(p.who) > 0 {
			answered++
		}
		for _, w := range p.who {
			switch {
			case p.before[w] || p.after[w]:
			case !lastReady[w].IsZero() && p.start.Sub(lastReady[w]) <= localWithdrawGrace:
				withdrawing++
			default:
				bad = append(bad, fmt.Sprintf("%s at %s (ready endpoints on %v, then %v)", w, p.start.Format("15:04:05.000"),
					slices.Sorted(maps.Keys(p.before)), slices.Sorted(maps.Keys(p.after))))
			}
		}
		for n := range p.before {
			lastReady[n] = p.start
		}
		for n := range p.after {
			lastReady[n] = p.end
		}
	}
	t.Logf("%s: %d ARP probes, %d answered, %d unknown, %d answers within %v of the node's pod stopping",
		ip, len(probes), answered, unknown, withdrawing, localWithdrawGrace)
	if answered < 10 {
		t.Errorf("%s: %d ARP probes answered, too few to judge", ip, answered)
	}
	for i, b := range bad {
		if i == 10 {
			t.Errorf("%s: %d more", ip, len(bad)-i)
			break
		}
		t.Errorf("%s answered ARP by a node without a ready pod: %s", ip, b)
	}
}

// readyBackend maps the backend's Ready pods that are not being deleted
// to their nodes.
func (c *cluster) readyBackend(t *testing.T) map[string]string {
	t.Helper()
	var pods corev1.PodList
	if err := c.lab.Client.List(c.ctx, &pods, client.InNamespace(c.backend.Namespace), client.MatchingLabels(c.backend.Spec.Selector.MatchLabels)); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
				out[p.Name] = p.Spec.NodeName
			}
		}
	}
	return out
}

// podOn returns the pod on node, or "".
func podOn(pods map[string]string, node string) string {
	for p, n := range pods {
		if n == node {
			return p
		}
	}
	return ""
}

// podNodes are the nodes of pods, sorted.
func podNodes(pods map[string]string) []string {
	return slices.Sorted(maps.Values(pods))
}

// endpointNodes returns the nodes with a ready endpoint in the Service's
// EndpointSlices, as the speakers read them, or nil when it cannot list
// them.
func endpointNodes(ctx context.Context, l *lab.Lab, ns, svc string) map[string]bool {
	var slices discoveryv1.EndpointSliceList
	if err := l.Client.List(ctx, &slices, client.InNamespace(ns), client.MatchingLabels{discoveryv1.LabelServiceName: svc}); err != nil {
		return nil
	}
	out := map[string]bool{}
	for _, s := range slices.Items {
		for _, ep := range s.Endpoints {
			if ep.NodeName != nil && (ep.Conditions.Ready == nil || *ep.Conditions.Ready) {
				out[*ep.NodeName] = true
			}
		}
	}
	return out
}

// deleteServices deletes the named Services of the backend's namespace
// and waits until they are gone.
func (c *cluster) deleteServices(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: c.backend.Namespace, Name: n}}
		if err := c.lab.Client.Delete(c.ctx, svc); err != nil && !apierrors.IsNotFound(err) {
			t.Error(err)
			continue
		}
		poll.Eventually(t, 50*time.Millisecond, 30*time.Second, "Service "+n+" gone", func() (bool, string) {
			err := c.lab.Client.Get(c.ctx, client.ObjectKeyFromObject(svc), svc)
			return apierrors.IsNotFound(err), fmt.Sprint(err)
		})
	}
}
