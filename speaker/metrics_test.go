package speaker

import (
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/pylonlb/pylon/speaker/bgp"
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
		if got := sample(t, reg, "pylon_speaker_layer2_packets_total", "protocol", labels[0], "kind", labels[1]); got != v {
			t.Errorf("packets %v = %v, want %v", labels, got, v)
		}
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", problems, err)
	}
}

// sample is the value of the series of metric name with the label pairs
// kv in reg; it fails t when there is no such series or it is neither a
// counter nor a gauge.
func sample(t *testing.T, reg *prometheus.Registry, name string, kv ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(kv); i += 2 {
				if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == kv[i] && l.GetValue() == kv[i+1] }) {
					continue series
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no series %s%v", name, kv)
	return 0
}

func TestMetricsBGP(t *testing.T) {
	m := NewMetrics()
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	m.observeBGP([]bgp.Session{
		{Peer: "tor-a", State: bgp.StateEstablished, PrefixesSent: 12, UpdatesSent: 7, UpdatesReceived: 2},
		{Peer: "tor-b", State: "Active"},
	}, 5)
	for _, c := range []struct {
		g    prometheus.Gauge
		want float64
	}{
		{m.sessionUp.WithLabelValues("tor-a"), 1}, {m.sessionUp.WithLabelValues("tor-b"), 0},
		{m.prefixes.WithLabelValues("tor-a"), 12},
		{m.bgpAnnounced, 5},
	} {
		if got := testutil.ToFloat64(c.g); got != c.want {
			t.Errorf("%s = %v, want %v", c.g.Desc(), got, c.want)
		}
	}
	for _, c := range []struct {
		peer, dir string
		want      float64
	}{{"tor-a", "sent", 7}, {"tor-a", "received", 2}, {"tor-b", "sent", 0}} {
		if got := sample(t, reg, "pylon_speaker_bgp_updates_total", "peer", c.peer, "direction", c.dir); got != c.want {
			t.Errorf("updates %s %s = %v, want %v", c.peer, c.dir, got, c.want)
		}
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", problems, err)
	}
	// A peer that is gone leaves no series behind.
	m.observeBGP(nil, 0)
	if n := testutil.CollectAndCount(m.counts, "pylon_speaker_bgp_updates_total"); n != 0 {
		t.Fatalf("%d update series after the peers went", n)
	}
}
