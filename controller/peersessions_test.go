package controller_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/controller"
	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/poll"
)

// TestBGPPeerSessions: the controller counts each BGPPeer's sessions from
// the SpeakerStatuses (written here by hand, as the speakers would),
// writes status.sessions and the SESSIONS column, follows changes, writes
// only on change, and leaves the configuration's conditions alone.
func TestBGPPeerSessions(t *testing.T) {
	env := envtest.Start(t)
	c := env.Client
	ensureNamespace(t, c, pylonNS, nil)
	startController(t, env, controller.Options{}, false)

	for name, addr := range map[string]string{"tor-a": "198.18.0.2", "tor-b": "198.18.0.3"} {
		p := &v1alpha1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.BGPPeerSpec{MyASN: 64512, PeerASN: 64513, PeerAddress: addr}}
		if err := c.Create(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}
	sess := func(peer, state string) v1alpha1.BGPSessionStatus {
		return v1alpha1.BGPSessionStatus{Peer: peer, State: state}
	}
	writeSpeaker(t, c, "n1", sess("tor-a", "Established"), sess("tor-b", "Active"))
	writeSpeaker(t, c, "n2", sess("tor-a", "Established"))
	writeSpeaker(t, c, "n3", sess("tor-a", "Connect"))

	waitSessions(t, c, "tor-a", 2, 3)
	tb := waitSessions(t, c, "tor-b", 0, 1)
	if !meta.IsStatusConditionTrue(tb.Status.Conditions, "Ready") || tb.Status.ObservedGeneration != tb.Generation {
		t.Fatalf("the configuration's status of tor-b is missing: %+v", tb.Status)
	}
	out, err := env.Kubectl(t.Context(), "get", "bgppeers")
	if err != nil {
		t.Fatalf("kubectl get bgppeers: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "SESSIONS") || !strings.Contains(lines[1], " 2/3 ") || !strings.Contains(lines[2], " 0/1 ") {
		t.Fatalf("kubectl get bgppeers lacks the SESSIONS column 2/3 and 0/1:\n%s", out)
	}

	// A session coming up is counted; tor-b's status is not written again.
	writeSpeaker(t, c, "n3", sess("tor-a", "Established"))
	waitSessions(t, c, "tor-a", 3, 3)
	var again v1alpha1.BGPPeer
	if err := c.Get(t.Context(), client.ObjectKey{Name: "tor-b"}, &again); err != nil {
		t.Fatal(err)
	}
	if again.ResourceVersion != tb.ResourceVersion {
		t.Errorf("tor-b was written although its sessions did not change (resourceVersion %s, was %s)", again.ResourceVersion, tb.ResourceVersion)
	}

	// A speaker that goes away takes its sessions with it.
	if err := c.Delete(t.Context(), &v1alpha1.SpeakerStatus{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}); err != nil {
		t.Fatal(err)
	}
	waitSessions(t, c, "tor-a", 2, 2)
	waitSessions(t, c, "tor-b", 0, 0)
}

// writeSpeaker creates or replaces SpeakerStatus name's sessions.
func writeSpeaker(t *testing.T, c client.Client, name string, sessions ...v1alpha1.BGPSessionStatus) {
	t.Helper()
	s := &v1alpha1.SpeakerStatus{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := c.Get(t.Context(), client.ObjectKey{Name: name}, s); err != nil {
		if err := c.Create(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	s.Status.BGPSessions = sessions
	if err := c.Status().Update(t.Context(), s); err != nil {
		t.Fatal(err)
	}
}

// waitSessions waits until BGPPeer name's status.sessions reads
// established/total, and returns the peer.
func waitSessions(t *testing.T, c client.Client, name string, established, total int32) *v1alpha1.BGPPeer {
	t.Helper()
	var p v1alpha1.BGPPeer
	want := v1alpha1.BGPPeerSessions{Established: established, Total: total, Summary: fmt.Sprintf("%d/%d", established, total)}
	poll.Eventually(t, 50*time.Millisecond, 10*time.Second, fmt.Sprintf("BGPPeer %s sessions %s", name, want.Summary), func() (bool, string) {
		if err := c.Get(t.Context(), client.ObjectKey{Name: name}, &p); err != nil {
			return false, err.Error()
		}
		return p.Status.Sessions != nil && *p.Status.Sessions == want, fmt.Sprintf("%+v", p.Status.Sessions)
	})
	return &p
}
