package metallb

import (
	"slices"
	"strings"
	"testing"

	"github.com/pylonlb/pylon/config"
)

// expectedProblems are the cases whose output pylon's validation does not
// accept as it is, and why that is right: the MetalLB input is incomplete
// or wrong in the same way.
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
			var got []string
			problems := config.Parse(decoded).Problems
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
			if len(invalid) != len(problems) {
				t.Errorf("the report has %d invalid notes for %d problems: %v", len(invalid), len(problems), invalid)
			}
		})
	}
}
