package speaker

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestEnsureBGPRouterIDLifecycle: BGP starts only with a usable router ID,
// restarts when it changes, keeps running with its ID when the annotation
// turns invalid, and reports each case in the BGP condition.
func TestEnsureBGPRouterIDLifecycle(t *testing.T) {
	var started []*FakeBGP
	fail := false
	r := &Reconciler{Node: "n1", StartBGP: func(_ context.Context, id netip.Addr, _ []netip.Addr) (BGPSpeaker, error) {
		if fail {
			return nil, errors.New("listen: address in use")
		}
		f := NewFakeBGP(id, false)
		started = append(started, f)
		return f, nil
	}}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: "2001:db8:18::11"},
	}}}
	snap := &snapshot{nodes: []*corev1.Node{node}}
	step := func(name string, wantStarted int, wantStatus metav1.ConditionStatus, wantReason, wantMsg string) BGPSpeaker {
		t.Helper()
		sp, c := r.ensureBGP(t.Context(), snap, nil)
		if len(started) != wantStarted || c.Type != ConditionBGP || c.Status != wantStatus || c.Reason != wantReason || !strings.Contains(c.Message, wantMsg) {
			t.Fatalf("%s: %d started, condition %+v; want %d started, %s/%s containing %q", name, len(started), c, wantStarted, wantStatus, wantReason, wantMsg)
		}
		if (sp == nil) != (wantStatus == metav1.ConditionFalse) {
			t.Fatalf("%s: speaker %v with condition %s", name, sp, c.Status)
		}
		return sp
	}

	step("IPv6-only", 0, metav1.ConditionFalse, ReasonNoRouterID, "no IPv4 InternalIP")
	node.Annotations = map[string]string{AnnotationRouterID: "198.18.0.201"}
	step("annotated", 1, metav1.ConditionTrue, ReasonBGPRunning, "198.18.0.201")
	step("unchanged", 1, metav1.ConditionTrue, ReasonBGPRunning, "198.18.0.201")
	node.Annotations[AnnotationRouterID] = "198.18.0.202"
	sp := step("changed", 2, metav1.ConditionTrue, ReasonBGPRunning, "198.18.0.202")
	if !started[0].Closed() || started[1].Closed() || sp.(*FakeBGP).ID != netip.MustParseAddr("198.18.0.202") {
		t.Fatalf("a changed router ID must replace the speaker: old closed %v, new closed %v", started[0].Closed(), started[1].Closed())
	}
	node.Annotations[AnnotationRouterID] = "not-an-address"
	step("turned invalid", 2, metav1.ConditionTrue, ReasonRouterIDKept, "running with router ID 198.18.0.202")
	if started[1].Closed() {
		t.Fatal("an invalid annotation stopped a running speaker")
	}
	snap.nodes = nil
	step("Node gone from the cache", 2, metav1.ConditionTrue, ReasonRouterIDKept, "not found")

	if err := r.CloseBGP(t.Context()); err != nil || !started[1].Closed() {
		t.Fatalf("CloseBGP: %v, closed %v", err, started[1].Closed())
	}
	fresh := &Reconciler{Node: "n1", StartBGP: r.StartBGP}
	fail = true
	node.Annotations[AnnotationRouterID] = "198.18.0.203"
	snap.nodes = []*corev1.Node{node}
	r = fresh
	step("start fails", 2, metav1.ConditionFalse, ReasonBGPStartFailed, "address in use")
}
