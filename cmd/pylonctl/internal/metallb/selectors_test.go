package metallb

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// TestAnyOfMatchesTheSameNodes: where anyOf merges MetalLB's list of
// selectors into one, the one selects exactly the label sets that some
// selector of the list selects; where it cannot, it says so.
func TestAnyOfMatchesTheSameNodes(t *testing.T) {
	ml := func(k, v string) metav1.LabelSelector {
		return metav1.LabelSelector{MatchLabels: map[string]string{k: v}}
	}
	in := func(k string, vs ...string) metav1.LabelSelector {
		return metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: k, Operator: metav1.LabelSelectorOpIn, Values: vs}}}
	}
	nodes := []labels.Set{
		{"host": "a"}, {"host": "b"}, {"host": "c"}, {"rack": "a"}, {"host": "a", "rack": "x"}, {},
	}
	tests := []struct {
		name   string
		sels   []metav1.LabelSelector
		merges bool
	}{
		{"none", nil, true},
		{"one", []metav1.LabelSelector{ml("host", "a")}, true},
		{"same key", []metav1.LabelSelector{ml("host", "a"), ml("host", "b")}, true},
		{"same key, In", []metav1.LabelSelector{ml("host", "a"), in("host", "b", "c")}, true},
		{"an empty selector", []metav1.LabelSelector{ml("host", "a"), {}}, true},
		{"two keys", []metav1.LabelSelector{ml("host", "a"), ml("rack", "a")}, false},
		{"NotIn", []metav1.LabelSelector{ml("host", "a"), {MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "host", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"b"}}}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := anyOf(tt.sels)
			if ok != tt.merges {
				t.Fatalf("merges = %v, want %v", ok, tt.merges)
			}
			if !ok {
				if n := len(eachOf(tt.sels)); n != len(tt.sels) {
					t.Errorf("eachOf gives %d selectors for %d", n, len(tt.sels))
				}
				return
			}
			for _, n := range nodes {
				want := len(tt.sels) == 0
				for _, s := range tt.sels {
					m, err := metav1.LabelSelectorAsSelector(&s)
					if err != nil {
						t.Fatal(err)
					}
					want = want || m.Matches(n)
				}
				has := true
				if got != nil {
					m, err := metav1.LabelSelectorAsSelector(got.AsMetav1())
					if err != nil {
						t.Fatal(err)
					}
					has = m.Matches(n)
				}
				if has != want {
					t.Errorf("labels %v: merged selector %v matches %v, the list %v", n, got, has, want)
				}
			}
		})
	}
}
