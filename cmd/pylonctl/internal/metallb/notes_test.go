package metallb

import (
	"fmt"
	"testing"
)

// TestUnmappedReported: every field of MetalLB's that pylon has no
// equivalent of is named, with the object, in an unmapped note; a field
// this package does not know at all is too. (The golden files show the
// messages; this test pins which fields must be reported, so that a rule
// that starts dropping one fails here even if its golden file is
// rewritten.)
func TestUnmappedReported(t *testing.T) {
	want := map[string][]string{
		"bfd": {"BFDProfile metallb-system/fast: spec.echoMode", "BFDProfile metallb-system/fast: spec.echoInterval",
			"BFDProfile metallb-system/fast: spec.minimumTtl", "BGPPeer metallb-system/spine: spec.bfdProfile"},
		"l2-preferred-nodes": {"L2Advertisement metallb-system/prefer-edge: spec.preferredNodeSelectors", "L2Advertisement metallb-system/tiered-zones: spec.preferredNodeSelectors", "L2Advertisement metallb-system/zone-boost: spec.preferredNodeSelectors"},
		"bgp-frr-k8s":        {"FRRConfiguration metallb-system/with-recv: "},
		"crds-configmap":     {"ConfigMap metallb-system/config: data.config"},
		"v1beta1-peers": {
			"BGPPeer metallb-system/tor-b: spec.routerID",
			"BGPPeer metallb-system/unnumbered: spec.interface", "BGPPeer metallb-system/unnumbered: ",
			"Community metallb-system/wellknown: spec.communities[1]",
		},
		"services": {
			"IPAddressPool metallb-system/lan: spec.futureField.enabled",
			"Service shop/dns: status.loadBalancer.ingress",
			"Service staging/fixed: metadata.annotations.metallb.io/future-annotation",
			"Service staging/fixed: metadata.annotations.metallb.io/address-pool",
		},
	}
	for name, fields := range want {
		t.Run(name, func(t *testing.T) {
			res, _, _ := convertCase(t, name)
			got := map[string]bool{}
			for _, o := range res.Outcomes {
				for _, n := range o.Notes {
					if n.Verdict == Unmapped {
						got[fmt.Sprintf("%s: %s", o.Source, n.Field)] = true
					}
				}
			}
			for _, s := range res.Services {
				for _, n := range s.Notes {
					if n.Verdict == Unmapped {
						got[fmt.Sprintf("Service %s/%s: %s", s.Namespace, s.Name, n.Field)] = true
					}
				}
			}
			for _, f := range fields {
				if !got[f] {
					t.Errorf("no unmapped note for %s; unmapped notes: %v", f, got)
				}
			}
			if len(got) != len(fields) {
				t.Errorf("%d unmapped notes, want %d: %v", len(got), len(fields), got)
			}
			if res.Exact() {
				t.Error("Exact() is true with unmapped notes")
			}
		})
	}
}

// TestExactWhenNothingLost: a configuration pylon can express fully
// converts without an unmapped or invalid note.
func TestExactWhenNothingLost(t *testing.T) {
	for _, name := range []string{"config-pool", "config-layer2", "bgp-aggregation", "usage-example", "faq-l2-and-bgp", "pool-service-allocation", "crds-generated", "config-bfd"} {
		res, _, report := convertCase(t, name)
		if !res.Exact() {
			t.Errorf("%s: not exact:\n%s", name, report)
		}
	}
}
