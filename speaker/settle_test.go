package speaker

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// TestSettling: a starting speaker answers for nothing until the speakers
// it knows of are live, or settleMax has passed on its clock; once settled
// it stays settled.
func TestSettling(t *testing.T) {
	known := func(name string) v1alpha1.SpeakerStatus {
		return v1alpha1.SpeakerStatus{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.SpeakerStatusSpec{MemberlistAddress: "198.18.0.12:7946"}}
	}
	node := func(name string) *corev1.Node { return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}} }
	type step struct {
		at   time.Duration
		live []string
		want bool
	}
	for _, tc := range []struct {
		name  string
		snap  *snapshot
		steps []step
	}{
		{"knows nobody: answers at once", &snapshot{nodes: []*corev1.Node{node("n1")}}, []step{{0, []string{"n1"}, false}}},
		{"a known speaker's Node is gone: it does not count", &snapshot{nodes: []*corev1.Node{node("n1")}, speakers: []v1alpha1.SpeakerStatus{known("n2")}},
			[]step{{0, []string{"n1"}, false}}},
		{"waits for a known speaker until it is live", &snapshot{nodes: []*corev1.Node{node("n1"), node("n2")}, speakers: []v1alpha1.SpeakerStatus{known("n2")}},
			[]step{{0, []string{"n1"}, true}, {time.Second, []string{"n1"}, true}, {2 * time.Second, []string{"n1", "n2"}, false}, {3 * time.Second, []string{"n1"}, false}}},
		{"a known speaker gone for good: answers after settleMax", &snapshot{nodes: []*corev1.Node{node("n1"), node("n2")}, speakers: []v1alpha1.SpeakerStatus{known("n2")}},
			[]step{{0, []string{"n1"}, true}, {settleMax - time.Millisecond, []string{"n1"}, true}, {settleMax, []string{"n1"}, false}, {settleMax + time.Second, []string{"n1"}, false}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clocktesting.NewFakePassiveClock(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
			start := clk.Now()
			r := &Reconciler{Node: "n1", Clock: clk}
			for i, s := range tc.steps {
				clk.SetTime(start.Add(s.at))
				live := map[string]bool{}
				for _, n := range s.live {
					live[n] = true
				}
				if got := r.settling(tc.snap, live); got != s.want {
					t.Fatalf("step %d at %v, live %v: settling %v, want %v", i, s.at, s.live, got, s.want)
				}
				// Ready (the readiness check) exactly once settled.
				if err := r.Settled(nil); (err == nil) == s.want {
					t.Fatalf("step %d at %v: settling %v but the readiness check says %v", i, s.at, s.want, err)
				}
			}
		})
	}
}
