package config

import (
	"testing"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// TestAdvertisementServiceSelectors: a Service is covered when any of an
// advertisement's serviceSelectors selects it, every Service without any;
// a bad selector rejects the advertisement at its index.
func TestAdvertisementServiceSelectors(t *testing.T) {
	web, db := *matchLabels("app", "web"), *matchLabels("app", "db")
	tier := v1alpha1.LabelSelector{MatchExpressions: []v1alpha1.LabelSelectorRequirement{selectorReq("tier", "In", "front", "edge")}}
	bad := v1alpha1.LabelSelector{MatchExpressions: []v1alpha1.LabelSelectorRequirement{selectorReq("tier", "In")}}
	c := Parse(Resources{
		Pools: testPools,
		L2Advertisements: []v1alpha1.L2Advertisement{
			{ObjectMeta: meta("l2-all", 0)},
			{ObjectMeta: meta("l2-some", 1), Spec: v1alpha1.L2AdvertisementSpec{ServiceSelectors: []v1alpha1.LabelSelector{web, tier}}},
			{ObjectMeta: meta("l2-bad", 2), Spec: v1alpha1.L2AdvertisementSpec{ServiceSelectors: []v1alpha1.LabelSelector{web, bad}}},
		},
		BGPAdvertisements: []v1alpha1.BGPAdvertisement{
			{ObjectMeta: meta("bgp-all", 0)},
			{ObjectMeta: meta("bgp-some", 1), Spec: v1alpha1.BGPAdvertisementSpec{ServiceSelectors: []v1alpha1.LabelSelector{db}}},
			{ObjectMeta: meta("bgp-bad", 2), Spec: v1alpha1.BGPAdvertisementSpec{ServiceSelectors: []v1alpha1.LabelSelector{bad}}},
		},
	})
	wantProblem(t, c, KindL2Advertisement, "l2-bad", ReasonInvalidSpec, true, "spec.serviceSelectors[1]")
	wantProblem(t, c, KindBGPAdvertisement, "bgp-bad", ReasonInvalidSpec, true, "spec.serviceSelectors[0]")
	if len(c.L2Advertisements) != 2 || len(c.BGPAdvertisements) != 2 {
		t.Fatalf("want the two good advertisements of each kind: %v %v, problems %v", c.L2Advertisements, c.BGPAdvertisements, c.Problems)
	}
	services := map[string]labels.Set{
		"web":        {"app": "web"},
		"db":         {"app": "db"},
		"edge-cache": {"app": "cache", "tier": "edge"},
		"none":       nil,
	}
	want := map[string]map[string]bool{
		"l2-all":   {"web": true, "db": true, "edge-cache": true, "none": true},
		"l2-some":  {"web": true, "edge-cache": true},
		"bgp-all":  {"web": true, "db": true, "edge-cache": true, "none": true},
		"bgp-some": {"db": true},
	}
	for svc, l := range services {
		for _, a := range c.L2Advertisements {
			if got := a.SelectsService(l); got != want[a.Name][svc] {
				t.Errorf("%s selects Service %s: %v, want %v", a.Name, svc, got, !got)
			}
		}
		for _, a := range c.BGPAdvertisements {
			if got := a.SelectsService(l); got != want[a.Name][svc] {
				t.Errorf("%s selects Service %s: %v, want %v", a.Name, svc, got, !got)
			}
		}
	}
}
