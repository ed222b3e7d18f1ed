package metallb

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/config"
)

// expectedProblems are the cases whose output pylon's validation does not
// accept, and why that is right: the MetalLB input is wrong in the same way.
var expectedProblems = map[string][]string{
	// The example names pool "PoolA" and peers "PeerA", "PeerB" that it
	// does not define (and "PoolA" is no valid object name at all).
	"bgp-adv-peers": {"BGPAdvertisement example"},
	// The example names Secret "secretname" without showing it: the peer
	// waits for the copy the report asks for.
	"sample-bgppeer-withsecret": {"BGPPeer peer-with-secret"},
}

// TestOutputPassesPylonValidation: the YAML written for every case reads
// back with config.Decode (strict: an unknown field is an error, as the
// API server's strict field validation makes it) and config.Parse, the
// check `pylonctl validate` and the controller make, finds no problem but
// the expected ones; and the report's "invalid" notes are exactly
// config.Parse's problems.
//
// Many documented examples are snippets of a page that advertise a pool
// defined in another snippet, or not at all (first-pool, production-pool):
// the report rightly says PoolNotFound for them. Here each such pool is
// added (a small block of its own, 203.0.113.0/24 split in /28s), so that
// the advertisements are judged in a configuration as complete as the
// page means it.
func TestOutputPassesPylonValidation(t *testing.T) {
	for _, name := range allCases() {
		t.Run(name, func(t *testing.T) {
			res, out, _ := convertCase(t, name)
			decoded := config.Resources{Namespace: pylonNS}
			skipped, err := config.Decode(strings.NewReader(out), &decoded)
			if err != nil {
				t.Fatalf("output does not decode strictly: %v\n%s", err, out)
			}
			if len(skipped) > 0 {
				t.Errorf("output holds kinds pylon does not read: %v", skipped)
			}
			n := len(decoded.Pools) + len(decoded.L2Advertisements) + len(decoded.BGPPeers) + len(decoded.BGPAdvertisements) + len(decoded.Secrets)
			if want := len(res.Resources.Pools) + len(res.Resources.L2Advertisements) + len(res.Resources.BGPPeers) + len(res.Resources.BGPAdvertisements) + len(res.Resources.Secrets); n != want {
				t.Errorf("read back %d objects, converted %d", n, want)
			}
			complete := decoded
			complete.Pools = append(slices.Clone(decoded.Pools), poolsNamed(missingPools(decoded))...)
			var got []string
			problems := config.Parse(complete).Problems
			for _, p := range problems {
				got = append(got, string(p.Kind)+" "+p.Name)
			}
			got = slices.Compact(got)
			if want := expectedProblems[name]; !slices.Equal(got, want) {
				t.Errorf("pylon's validation finds problems with %v, expected %v", got, want)
			}
			var invalid []string
			for _, o := range res.Outcomes {
				for _, note := range o.Notes {
					if note.Verdict == Invalid {
						invalid = append(invalid, note.Message)
					}
				}
			}
			if own := config.Parse(decoded).Problems; len(invalid) != len(own) {
				t.Errorf("the report has %d invalid notes for %d problems: %v", len(invalid), len(own), invalid)
			}
		})
	}
}

// missingPools returns the valid pool names that advertisements name and
// no pool has, sorted.
func missingPools(r config.Resources) []string {
	have := map[string]bool{}
	for _, p := range r.Pools {
		have[p.Name] = true
	}
	var out []string
	add := func(names []v1alpha1.ObjectName) {
		for _, n := range names {
			if !have[string(n)] && len(validation.IsDNS1123Subdomain(string(n))) == 0 {
				have[string(n)] = true
				out = append(out, string(n))
			}
		}
	}
	for _, a := range r.L2Advertisements {
		add(a.Spec.IPPools)
	}
	for _, a := range r.BGPAdvertisements {
		add(a.Spec.IPPools)
	}
	slices.Sort(out)
	return out
}

// poolsNamed makes a pool of 16 addresses for each name.
func poolsNamed(names []string) []v1alpha1.IPPool {
	var out []v1alpha1.IPPool
	for i, n := range names {
		p := v1alpha1.IPPool{ObjectMeta: metav1.ObjectMeta{Name: n}}
		p.Spec.Addresses = []v1alpha1.AddressRange{v1alpha1.AddressRange(fmt.Sprintf("203.0.113.%d/28", 16*i))}
		out = append(out, p)
	}
	return out
}
