package metallb

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pylonlb/pylon/cmd/pylonctl/internal/manifests"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output (then review every diff)")

// docCases are MetalLB's own documented example configurations, one file
// each in testdata/docs (the file's first lines name the page and commit it
// was copied from), with the page and section each came from.
var docCases = map[string]string{
	"config-pool":                        "metallb.io/configuration: Defining the IPs to assign to the Load Balancer services",
	"config-layer2":                      "metallb.io/configuration: Layer 2 configuration (every pool)",
	"config-layer2-pools":                "metallb.io/configuration: Layer 2 configuration (listed pools)",
	"config-bgp":                         "metallb.io/configuration: BGP configuration (every pool)",
	"config-bgp-pools":                   "metallb.io/configuration: BGP configuration (listed pools)",
	"config-bfd":                         "metallb.io/configuration: Enabling BFD support for BGP sessions",
	"bgp-aggregation":                    "metallb.io/configuration/_advanced_bgp_configuration: Advertisement configuration",
	"bgp-peer-node-selectors":            "metallb.io/configuration/_advanced_bgp_configuration: Limiting peers to certain nodes",
	"bgp-adv-node-selectors":             "metallb.io/configuration/_advanced_bgp_configuration: Announcing the Service from a subset of nodes",
	"bgp-adv-peers":                      "metallb.io/configuration/_advanced_bgp_configuration: Announcing the Service to a subset of peers",
	"bgp-service-selectors":              "metallb.io/configuration/_advanced_bgp_configuration: Limiting the advertisement to specific services",
	"bgp-source-address":                 "metallb.io/configuration/_advanced_bgp_configuration: Configuring the BGP source address",
	"bgp-community-alias":                "metallb.io/configuration/_advanced_bgp_configuration: Community Aliases",
	"bgp-vrf":                            "metallb.io/configuration/_advanced_bgp_configuration: Peering and announcing via a VRF",
	"bgp-frr-k8s":                        "metallb.io/configuration/_advanced_bgp_configuration: Configuring with FRR-K8s",
	"bgp-graceful-restart":               "metallb.io/configuration/_advanced_bgp_configuration: Graceful Restart",
	"bgp-local-asn":                      "metallb.io/configuration/_advanced_bgp_configuration: Local AS override",
	"pool-auto-assign":                   "metallb.io/configuration/_advanced_ipaddresspool_configuration: Controlling automatic address allocation",
	"pool-service-allocation":            "metallb.io/configuration/_advanced_ipaddresspool_configuration: Reduce scope of address allocation",
	"pool-dual-stack":                    "metallb.io/configuration/_advanced_ipaddresspool_configuration: PreferDualStack IP Family Policy",
	"l2-node-selectors":                  "metallb.io/configuration/_advanced_l2_configuration: Limiting the set of nodes (first example)",
	"l2-node-selectors-second":           "metallb.io/configuration/_advanced_l2_configuration: Limiting the set of nodes (second example)",
	"l2-preferred-nodes":                 "metallb.io/configuration/_advanced_l2_configuration: Prefer specific nodes for L2 announcements",
	"l2-interfaces":                      "metallb.io/configuration/_advanced_l2_configuration: Specify network interfaces (first example)",
	"l2-interfaces-node":                 "metallb.io/configuration/_advanced_l2_configuration: Specify network interfaces (with a node selector)",
	"l2-interfaces-union":                "metallb.io/configuration/_advanced_l2_configuration: Specify network interfaces (the union note)",
	"l2-service-selectors":               "metallb.io/configuration/_advanced_l2_configuration: Limiting the advertisement to specific services",
	"usage-request-ips":                  "metallb.io/usage: Requesting specific IPs (loadBalancerIPs)",
	"usage-address-pool":                 "metallb.io/usage: Requesting specific IPs (address-pool)",
	"usage-ip-sharing":                   "metallb.io/usage: IP address sharing",
	"usage-example":                      "metallb.io/usage/example: the whole page",
	"faq-pools":                          "metallb.io/faq: Can I have multiple IP pools?",
	"faq-l2-and-bgp":                     "metallb.io/faq: Can I have the same service advertised via L2 and via BGP?",
	"crds-configmap":                     "metallb.io/configuration/migration_to_crds: Example (the ConfigMap)",
	"crds-generated":                     "metallb.io/configuration/migration_to_crds: Example (the generated resources)",
	"sample-bgppeer-withsecret":          "configsamples/bgppeer_withsecret.yaml, linked from metallb.io/configuration",
	"sample-bgppeer-session-options":     "configsamples/bgppeer_with_session_options.yaml, linked from metallb.io/configuration",
	"sample-bgpadv-by-label":             "configsamples/bgpadv_selectspool_by_label.yaml, linked from metallb.io/configuration",
	"sample-ipaddresspool-with-selector": "configsamples/ipaddresspool_with_selector.yaml, linked from metallb.io/configuration",
}

// madeCases are inputs made for these tests, for what the documentation
// has no example of (testdata/made; each file says what it covers).
var madeCases = []string{"v1beta1-peers", "services", "splits", "peers-dual-stack", "peer-options", "bfd"}

const pylonNS = "pylon-system"

// caseInput is the path of a case's input.
func caseInput(name string) string {
	if _, ok := docCases[name]; ok {
		return filepath.Join("testdata", "docs", name+".yaml")
	}
	return filepath.Join("testdata", "made", name+".yaml")
}

func allCases() []string {
	var out []string
	for n := range docCases {
		out = append(out, n)
	}
	return append(out, madeCases...)
}

// convertCase converts a case's input and renders the objects and the
// report.
func convertCase(t *testing.T, name string) (*Result, string, string) {
	t.Helper()
	objs, err := manifests.Read([]string{caseInput(name)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := Convert(objs, Options{PylonNamespace: pylonNS})
	var out, report bytes.Buffer
	if err := res.WriteYAML(&out); err != nil {
		t.Fatal(err)
	}
	if err := res.WriteReport(&report); err != nil {
		t.Fatal(err)
	}
	return res, out.String(), report.String()
}

// TestGolden converts every case and compares the objects and the report
// with testdata/golden/NAME.yaml and NAME.report, which were reviewed by
// hand against MetalLB's documented semantics and pylon's API. Converting
// twice must give the same bytes (the output is deterministic).
func TestGolden(t *testing.T) {
	docs, _ := filepath.Glob("testdata/docs/*.yaml")
	if len(docs) != len(docCases) {
		t.Errorf("%d files in testdata/docs, %d cases listed with their source", len(docs), len(docCases))
	}
	for _, name := range allCases() {
		t.Run(name, func(t *testing.T) {
			_, out, report := convertCase(t, name)
			_, out2, report2 := convertCase(t, name)
			if out != out2 || report != report2 {
				t.Fatal("two conversions of the same input differ")
			}
			for ext, got := range map[string]string{".yaml": out, ".report": report} {
				path := filepath.Join("testdata", "golden", name+ext)
				if *update {
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run with -update to write it, then review it)", err)
				}
				if got != string(want) {
					t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", path, got, want)
				}
			}
			if strings.Contains(report, "s3cret") || strings.Contains(report, "never-printed") {
				t.Error("the report shows a password")
			}
		})
	}
}
