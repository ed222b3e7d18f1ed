package e2e

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/controller"
	"github.com/pylonlb/pylon/speaker"
	"github.com/pylonlb/pylon/test/gen"
	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// nowhere is a lab address no host holds: a session to it never comes up.
const nowhere = "198.18.0.250"

// TestBGPStatus: what the speakers and the controller report about BGP is
// true. A peer that never answers announces nothing (SpeakerStatus, events,
// metrics' source); the real router's sessions do, and then the event
// follows. Each node's router ID is its own (annotation, else its IPv4
// InternalIP); a node without a usable one runs layer 2 and reports BGP's
// error instead of exiting, and starts BGP once the annotation is fixed.
// BGPPeer status counts the sessions across the speakers. pylon runs as a
// cluster runs it (installed by Helm).
func TestBGPStatus(t *testing.T) {
	l := podLab(t, lab.Options{NodeASN: nodeASN})
	// n1 overrides its router ID; n3's annotation is no IPv4 address, as
	// an IPv6-only node has none to derive.
	annotateNode(t, l, "n1", "198.18.0.201")
	annotateNode(t, l, "n3", "2001:db8:18::13")
	startPylonPods(t, l)
	create(t, l.Client, gen.BGPPeer("nowhere", nodeASN, lab.RouterASN, nowhere))
	create(t, l.Client, gen.BGPAdvertisement("lab", gen.BGPPools("lab")))
	// A pool only n3 answers for over layer 2.
	create(t, l.Client, gen.IPPool("only-n3", gen.Addresses("203.0.113.0/26"), gen.AvoidBuggyIPs(), gen.AutoAssign(false)))
	create(t, l.Client, &v1alpha1.L2Advertisement{
		ObjectMeta: metav1.ObjectMeta{Name: "only-n3"},
		Spec: v1alpha1.L2AdvertisementSpec{
			IPPools:      []v1alpha1.ObjectName{"only-n3"},
			NodeSelector: &v1alpha1.LabelSelector{MatchLabels: map[string]v1alpha1.LabelValue{corev1.LabelHostname: "n3"}},
		},
	})
	_, ips := service(t, l, "web", false)
	vip := ips[0]

	t.Run("a session that never comes up announces nothing", func(t *testing.T) {
		poll.Eventually(t, 50*time.Millisecond, 30*time.Second, "n1 and n2 to report their session to "+nowhere, func() (bool, string) {
			got := speakerStatuses(t, l)
			for _, n := range []string{"n1", "n2"} {
				s := got[n]
				if len(s.Status.BGPSessions) != 1 || s.Status.BGPSessions[0].Peer != "nowhere" {
					return false, fmt.Sprintf("%s: %+v", n, s.Status.BGPSessions)
				}
			}
			return true, ""
		})
		waitPeerSessions(t, l, "nowhere", "0/2")
		// Give a wrong announcement time to show.
		time.Sleep(3 * time.Second)
		for name, s := range speakerStatuses(t, l) {
			for _, a := range s.Status.Announcements {
				if a.Protocol == "BGP" {
					t.Errorf("SpeakerStatus %s: %s announced over BGP without an Established session", name, a.IP)
				}
			}
			if c := meta.FindStatusCondition(s.Status.Conditions, speaker.ConditionAnnouncing); c == nil || !strings.Contains(c.Message, "0 over BGP") {
				t.Errorf("SpeakerStatus %s: Announcing condition %+v, want 0 addresses over BGP", name, c)
			}
		}
		if notes := bgpEvents(t, l, ""); len(notes) > 0 {
			t.Errorf("events claim BGP announcements without a session: %q", notes)
		}
	})

	t.Run("no usable router ID: layer 2 runs, BGP reports why, no exit", func(t *testing.T) {
		cond := bgpCondition(t, l, "n3")
		if cond.Status != metav1.ConditionFalse || cond.Reason != speaker.ReasonNoRouterID || !strings.Contains(cond.Message, speaker.AnnotationRouterID) {
			t.Fatalf("n3's BGP condition %+v, want False/%s naming the annotation", cond, speaker.ReasonNoRouterID)
		}
		svc := lab.LoadBalancerService("default", "on-n3", 80)
		svc.Annotations = map[string]string{controller.AnnotationPool: "only-n3"}
		_, own := createService(t, l, svc, lab.ReadyOn("n1", "n2", "n3")...)
		if who := waitOwner(t, l, own[0], 20*time.Second); who != "n3" {
			t.Fatalf("%s answered by %s, want n3", own[0], who)
		}
		if n := speakerRestarts(t, l, "n3"); n != 0 {
			t.Fatalf("n3's speaker restarted %d times, want it never to exit", n)
		}
	})

	t.Run("established sessions announce; the event follows", func(t *testing.T) {
		create(t, l.Client, &v1alpha1.BGPPeer{
			ObjectMeta: metav1.ObjectMeta{Name: "router"},
			Spec:       v1alpha1.BGPPeerSpec{MyASN: nodeASN, PeerASN: lab.RouterASN, PeerAddress: l.Router.IPv4.String()},
		})
		waitNextHops(t, l, vip, 30*time.Second, "n1", "n2")
		waitPeerSessions(t, l, "router", "2/2")
		waitPeerSessions(t, l, "nowhere", "0/2")
		poll.Eventually(t, 50*time.Millisecond, 10*time.Second, "n1 and n2 to list "+vip.String()+" over BGP, and their events", func() (bool, string) {
			got := speakerStatuses(t, l)
			for _, n := range []string{"n1", "n2"} {
				if !slices.ContainsFunc(got[n].Status.Announcements, func(a v1alpha1.Announcement) bool {
					return a.Protocol == "BGP" && a.IP == vip.String()
				}) {
					return false, fmt.Sprintf("%s: %+v", n, got[n].Status.Announcements)
				}
				if len(bgpEvents(t, l, "node "+n+" announces "+vip.String()+" over BGP")) == 0 {
					return false, "no event from " + n
				}
			}
			return true, ""
		})
		if notes := bgpEvents(t, l, "node n3 "); len(notes) > 0 {
			t.Errorf("n3 runs no BGP but its events say %q", notes)
		}
		if id := remoteRouterID(t, l, "198.18.0.11"); id != "198.18.0.201" {
			t.Errorf("n1's router ID at the router is %s, want its annotation's 198.18.0.201", id)
		}
		if id := remoteRouterID(t, l, "198.18.0.12"); id != "198.18.0.12" {
			t.Errorf("n2's router ID at the router is %s, want its InternalIP 198.18.0.12", id)
		}
	})

	t.Run("a fixed annotation starts BGP on that node", func(t *testing.T) {
		annotateNode(t, l, "n3", "198.18.0.213")
		waitNextHops(t, l, vip, 30*time.Second, "n1", "n2", "n3")
		waitPeerSessions(t, l, "router", "3/3")
		if c := bgpCondition(t, l, "n3"); c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, "198.18.0.213") {
			t.Errorf("n3's BGP condition %+v, want True with 198.18.0.213", c)
		}
		if id := remoteRouterID(t, l, "198.18.0.13"); id != "198.18.0.213" {
			t.Errorf("n3's router ID at the router is %s, want 198.18.0.213", id)
		}
	})
}

// annotateNode sets a lab Node's router-ID annotation.
func annotateNode(t *testing.T, l *lab.Lab, name, routerID string) {
	t.Helper()
	var n corev1.Node
	if err := l.Client.Get(t.Context(), client.ObjectKey{Name: name}, &n); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(n.DeepCopy())
	if n.Annotations == nil {
		n.Annotations = map[string]string{}
	}
	n.Annotations[speaker.AnnotationRouterID] = routerID
	if err := l.Client.Patch(t.Context(), &n, patch); err != nil {
		t.Fatal(err)
	}
}

func speakerStatuses(t *testing.T, l *lab.Lab) map[string]v1alpha1.SpeakerStatus {
	t.Helper()
	var list v1alpha1.SpeakerStatusList
	if err := l.Client.List(t.Context(), &list); err != nil {
		t.Fatal(err)
	}
	out := map[string]v1alpha1.SpeakerStatus{}
	for _, s := range list.Items {
		out[s.Name] = s
	}
	return out
}

// bgpCondition waits for node's SpeakerStatus condition BGP and returns it.
func bgpCondition(t *testing.T, l *lab.Lab, node string) metav1.Condition {
	t.Helper()
	var c metav1.Condition
	poll.Eventually(t, 50*time.Millisecond, 20*time.Second, node+"'s BGP condition", func() (bool, string) {
		s := speakerStatuses(t, l)[node]
		got := meta.FindStatusCondition(s.Status.Conditions, speaker.ConditionBGP)
		if got == nil {
			return false, fmt.Sprintf("%+v", s.Status.Conditions)
		}
		c = *got
		return true, ""
	})
	return c
}

// bgpEvents returns the Announcing/StoppedAnnouncing notes about BGP
// containing part.
func bgpEvents(t *testing.T, l *lab.Lab, part string) []string {
	t.Helper()
	var out []string
	for _, n := range append(eventNotes(t, l, speaker.ReasonAnnouncing), eventNotes(t, l, speaker.ReasonStoppedAnnouncing)...) {
		if strings.Contains(n, "over BGP") && strings.Contains(n, part) {
			out = append(out, n)
		}
	}
	return out
}

// waitPeerSessions waits until BGPPeer name's status.sessions.summary is want.
func waitPeerSessions(t *testing.T, l *lab.Lab, name, want string) {
	t.Helper()
	poll.Eventually(t, 50*time.Millisecond, 30*time.Second, "BGPPeer "+name+" sessions "+want, func() (bool, string) {
		var p v1alpha1.BGPPeer
		if err := l.Client.Get(t.Context(), client.ObjectKey{Name: name}, &p); err != nil {
			return false, err.Error()
		}
		return p.Status.Sessions != nil && p.Status.Sessions.Summary == want, fmt.Sprintf("%+v", p.Status.Sessions)
	})
}

// remoteRouterID is the BGP identifier the router sees from neighbour addr.
func remoteRouterID(t *testing.T, l *lab.Lab, addr string) string {
	t.Helper()
	out, err := l.Router.Vtysh(t.Context(), "show bgp neighbors "+addr+" json")
	if err != nil {
		t.Fatalf("vtysh: %v: %s", err, out)
	}
	var v map[string]struct {
		RemoteRouterID string `json:"remoteRouterId"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("show bgp neighbors %s: %v: %s", addr, err, out)
	}
	return v[netip.MustParseAddr(addr).String()].RemoteRouterID
}
