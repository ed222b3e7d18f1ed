package speaker

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pylonlb/pylon/speaker/layer2"
)

func TestMetrics(t *testing.T) {
	m := NewMetrics()
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	m.observe(4, 3, layer2.Stats{ARP: layer2.Counters{Requests: 10, Replies: 9, Gratuitous: 6}, NDP: layer2.Counters{Conflicts: 2}})
	m.conflicts.Inc()
	want := `
# HELP pylon_speaker_layer2_owned_ips Addresses this node answers ARP/NDP for.
# TYPE pylon_speaker_layer2_owned_ips gauge
pylon_speaker_layer2_owned_ips 4
# HELP pylon_speaker_members_alive Speakers alive in memberlist, this one included.
# TYPE pylon_speaker_members_alive gauge
pylon_speaker_members_alive 3
# HELP pylon_speaker_layer2_conflicts_total Conflict episodes: another MAC answering for an address this node owns.
# TYPE pylon_speaker_layer2_conflicts_total counter
pylon_speaker_layer2_conflicts_total 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "pylon_speaker_layer2_owned_ips", "pylon_speaker_members_alive", "pylon_speaker_layer2_conflicts_total"); err != nil {
		t.Fatal(err)
	}
	for labels, v := range map[[2]string]float64{{"arp", "requests"}: 10, {"arp", "replies"}: 9, {"arp", "gratuitous"}: 6, {"ndp", "conflicting"}: 2, {"ndp", "replies"}: 0} {
		if got := testutil.ToFloat64(m.l2.WithLabelValues(labels[0], labels[1])); got != v {
			t.Errorf("packets %v = %v, want %v", labels, got, v)
		}
	}
}
