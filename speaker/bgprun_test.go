package speaker

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/speaker/bgp"
)

// fakeBGP stands in for GoBGP where only the lifecycle matters; the real
// speaker is exercised by test/e2e TestBGPStatus.
type fakeBGP struct {
	id      netip.Addr
	closed  bool
	changes chan struct{}
}

func (f *fakeBGP) SetPeers(context.Context, []bgp.Peer) error      { return nil }
func (f *fakeBGP) SetPaths(context.Context, []bgp.Path) error      { return nil }
func (f *fakeBGP) Sessions(context.Context) ([]bgp.Session, error) { return nil, nil }
func (f *fakeBGP) Peer(string) (bgp.Peer, bool)                    { return bgp.Peer{}, false }
func (f *fakeBGP) Changes() <-chan struct{}                        { return f.changes }
func (f *fakeBGP) Close(context.Context) error                     { f.closed = true; close(f.changes); return nil }

// TestEnsureBGPRouterIDLifecycle: BGP starts only with a usable router ID,
// restarts when it changes, keeps running with its ID when the annotation
// turns invalid, and reports each case in the BGP condition.
func TestEnsureBGPRouterIDLifecycle(t *testing.T) {
	var started []*fakeBGP
	fail := false
	r := &Reconciler{Node: "n1", StartBGP: func(_ context.Context, id netip.Addr) (BGPSpeaker, error) {
		if fail {
			return nil, errors.New("listen: address in use")
		}
		f := &fakeBGP{id: id, changes: make(chan struct{})}
		started = append(started, f)
		return f, nil
	}}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: "2001:db8:18::11"},
	}}}
	snap := &snapshot{nodes: []*corev1.Node{node}}
	step := func(name string, wantStarted int, wantStatus metav1.ConditionStatus, wantReason, wantMsg string) BGPSpeaker {
		t.Helper()
		sp, c := r.ensureBGP(t.Context(), snap)
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
	if !started[0].closed || started[1].closed || sp.(*fakeBGP).id != netip.MustParseAddr("198.18.0.202") {
		t.Fatalf("a changed router ID must replace the speaker: old closed %v, new closed %v", started[0].closed, started[1].closed)
	}
	node.Annotations[AnnotationRouterID] = "not-an-address"
	step("turned invalid", 2, metav1.ConditionTrue, ReasonRouterIDKept, "running with router ID 198.18.0.202")
	if started[1].closed {
		t.Fatal("an invalid annotation stopped a running speaker")
	}
	snap.nodes = nil
	step("Node gone from the cache", 2, metav1.ConditionTrue, ReasonRouterIDKept, "not found")

	if err := r.CloseBGP(t.Context()); err != nil || !started[1].closed {
		t.Fatalf("CloseBGP: %v, closed %v", err, started[1].closed)
	}
	fresh := &Reconciler{Node: "n1", StartBGP: r.StartBGP}
	fail = true
	node.Annotations[AnnotationRouterID] = "198.18.0.203"
	snap.nodes = []*corev1.Node{node}
	r = fresh
	step("start fails", 2, metav1.ConditionFalse, ReasonBGPStartFailed, "address in use")
}
