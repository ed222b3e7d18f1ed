package e2e

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/controller"
	"github.com/pylonlb/pylon/speaker"
	"github.com/pylonlb/pylon/speaker/election"
	"github.com/pylonlb/pylon/test/gen"
	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// TestLayer2Placement checks where layer-2 announcements must and must not
// happen: externalTrafficPolicy Local (only a node with a ready endpoint
// answers, the answer follows the endpoint, no endpoint means no answer);
// a node with the exclusion label; an L2Advertisement's node selector; and
// its interfaces list. pylon runs as a cluster runs it (installed by Helm).
func TestLayer2Placement(t *testing.T) {
	l := podLab(t, lab.Options{})
	startPylonPods(t, l)

	t.Run("Local policy: the endpoint's node answers, and follows it", func(t *testing.T) {
		svc := lab.LoadBalancerService("default", "local", 80)
		svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		svc, ips := createService(t, l, svc, lab.ReadyOn("n2")...)
		ip := ips[0]
		if owner := waitOwner(t, l, ip, 20*time.Second); owner != "n2" {
			t.Fatalf("%s answered by %s, want n2 (the only ready endpoint)", ip, owner)
		}
		if err := l.SetEndpoints(t.Context(), svc, lab.ReadyOn("n3")...); err != nil {
			t.Fatal(err)
		}
		if owner := waitOwner(t, l, ip, 20*time.Second, "n2"); owner != "n3" {
			t.Fatalf("after the endpoint moved, %s answered by %s, want n3", ip, owner)
		}
		if err := l.SetEndpoints(t.Context(), svc); err != nil {
			t.Fatal(err)
		}
		nobodyAnswers(t, l, ip, "the Service has no ready endpoint")
	})

	t.Run("a node with the exclusion label does not answer", func(t *testing.T) {
		var ips []netip.Addr
		for i := range 6 {
			_, got := service(t, l, fmt.Sprintf("excl-%d", i), false)
			ips = append(ips, got[0])
		}
		// The node owning the first address gets the label.
		owner := waitOwner(t, l, ips[0], 20*time.Second)
		setNodeLabel(t, l, owner, election.ExcludeLabel, "true")
		defer setNodeLabel(t, l, owner, election.ExcludeLabel, "")
		waitOwner(t, l, ips[0], 20*time.Second, owner)
		for _, ip := range ips {
			if who := waitOwner(t, l, ip, 20*time.Second); who == owner {
				t.Fatalf("%s is answered by %s, which is excluded", ip, owner)
			}
		}
	})

	t.Run("an L2Advertisement's node selector and interfaces", func(t *testing.T) {
		create(t, l.Client, gen.IPPool("only-n1", gen.Addresses("203.0.113.0/26"), gen.AvoidBuggyIPs(), gen.AutoAssign(false)))
		create(t, l.Client, &v1alpha1.L2Advertisement{
			ObjectMeta: metav1.ObjectMeta{Name: "only-n1"},
			Spec: v1alpha1.L2AdvertisementSpec{
				IPPools:      []v1alpha1.ObjectName{"only-n1"},
				NodeSelector: &v1alpha1.LabelSelector{MatchLabels: map[string]v1alpha1.LabelValue{corev1.LabelHostname: "n1"}},
				Interfaces:   []v1alpha1.InterfaceName{lab.HostIf},
			},
		})
		create(t, l.Client, gen.IPPool("no-such-interface", gen.Addresses("203.0.113.64/26"), gen.AutoAssign(false)))
		create(t, l.Client, &v1alpha1.L2Advertisement{
			ObjectMeta: metav1.ObjectMeta{Name: "no-such-interface"},
			Spec: v1alpha1.L2AdvertisementSpec{
				IPPools: []v1alpha1.ObjectName{"no-such-interface"}, Interfaces: []v1alpha1.InterfaceName{"pyl-absent0"},
			},
		})
		for i := range 4 {
			svc := lab.LoadBalancerService("default", fmt.Sprintf("sel-%d", i), 80)
			svc.Annotations = map[string]string{controller.AnnotationPool: "only-n1"}
			_, ips := serviceOnAll(t, l, svc)
			if who := waitOwner(t, l, ips[0], 20*time.Second); who != "n1" {
				t.Fatalf("%s (pool only-n1) answered by %s; the advertisement selects n1 only", ips[0], who)
			}
		}
		svc := lab.LoadBalancerService("default", "no-iface", 80)
		svc.Annotations = map[string]string{controller.AnnotationPool: "no-such-interface"}
		_, ips := serviceOnAll(t, l, svc)
		nobodyAnswers(t, l, ips[0], "its advertisement names an interface no node has")
		// The owner says why in its SpeakerStatus.
		poll.Eventually(t, 50*time.Millisecond, 20*time.Second, "a NoInterface condition naming "+ips[0].String(), func() (bool, string) {
			var list v1alpha1.SpeakerStatusList
			if err := l.Client.List(t.Context(), &list); err != nil {
				return false, err.Error()
			}
			var seen []string
			for _, st := range list.Items {
				for _, c := range st.Status.Conditions {
					if c.Type == speaker.ConditionAnnouncing && c.Reason == speaker.ReasonNoInterface && containsAddr(c.Message, ips[0]) {
						return true, ""
					}
					seen = append(seen, st.Name+": "+c.Reason)
				}
			}
			return false, fmt.Sprint(seen)
		})
	})
}

// serviceOnAll creates svc with a ready endpoint on every node and waits for
// its address.
func serviceOnAll(t *testing.T, l *lab.Lab, svc *corev1.Service) (*corev1.Service, []netip.Addr) {
	t.Helper()
	var names []string
	for _, n := range l.Nodes {
		names = append(names, n.Name)
	}
	return createService(t, l, svc, lab.ReadyOn(names...)...)
}

// nobodyAnswers waits until no node answers ARP/NDP for ip, then checks it
// stays so for two seconds.
func nobodyAnswers(t *testing.T, l *lab.Lab, ip netip.Addr, why string) {
	t.Helper()
	poll.Eventually(t, 50*time.Millisecond, 20*time.Second, "no node to answer for "+ip.String()+": "+why, func() (bool, string) {
		who := answering(t, l, ip)
		return len(who) == 0, fmt.Sprintf("answering: %v", who)
	})
	for range 5 {
		if who := answering(t, l, ip); len(who) != 0 {
			t.Fatalf("%s answered by %v although %s", ip, who, why)
		}
		time.Sleep(400 * time.Millisecond)
	}
}

// setNodeLabel sets (value "" removes) a label on a lab Node.
func setNodeLabel(t *testing.T, l *lab.Lab, name, key, value string) {
	t.Helper()
	var n corev1.Node
	if err := l.Client.Get(t.Context(), client.ObjectKey{Name: name}, &n); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(n.DeepCopy())
	if value == "" {
		delete(n.Labels, key)
	} else {
		n.Labels[key] = value
	}
	if err := l.Client.Patch(t.Context(), &n, patch); err != nil {
		t.Fatal(err)
	}
}

// containsAddr reports whether s names ip as a whole word.
func containsAddr(s string, ip netip.Addr) bool {
	words := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(" [],:", r) })
	return slices.Contains(words, ip.String())
}
