package deploy

import (
	"reflect"
	"testing"
)

// testSpeakerCapabilities: the speaker adds NET_RAW for layer 2 and
// NET_BIND_SERVICE for passive BGP peers (port 179), each only when asked
// for, and nothing else.
func testSpeakerCapabilities(t *testing.T, root string) {
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
