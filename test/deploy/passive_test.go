package deploy

import (
	"os"
	"reflect"
	"testing"

	"github.com/pylonlb/pylon/test/envtest"
)

// TestSpeakerCapabilities: the speaker adds NET_RAW for layer 2 and
// NET_BIND_SERVICE for passive BGP peers (port 179), each only when asked
// for, and nothing else.
func TestSpeakerCapabilities(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := envtest.RepoRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		vals map[string]any
		want []any
	}{
		"defaults": {nil, []any{"NET_RAW"}},
		"passive peers": {map[string]any{"bgp": map[string]any{"passivePeers": true}},
			[]any{"NET_RAW", "NET_BIND_SERVICE"}},
		"passive peers, BGP only": {map[string]any{"layer2": map[string]any{"enabled": false}, "bgp": map[string]any{"passivePeers": true}},
			[]any{"NET_BIND_SERVICE"}},
		"passive peers, BGP off": {map[string]any{"layer2": map[string]any{"enabled": false}, "bgp": map[string]any{"enabled": false, "passivePeers": true}},
			nil},
	} {
		m, _ := renderChart(t, root, pylonNS, tc.vals)
		spk := find(t, decode(t, m), "apps/v1/DaemonSet", "pylon-speaker")
		ctr := podSpec(t, spk)["containers"].([]any)[0].(map[string]any)
		caps := ctr["securityContext"].(map[string]any)["capabilities"].(map[string]any)
		var got []any
		if a, ok := caps["add"].([]any); ok {
			got = a
		}
		if !reflect.DeepEqual(got, tc.want) || !reflect.DeepEqual(caps["drop"], []any{"ALL"}) {
			t.Errorf("%s: capabilities %v, want add %v, drop ALL", name, caps, tc.want)
		}
	}
}
