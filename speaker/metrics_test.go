package speaker

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/pylonlb/pylon/speaker/bgp"
	"github.com/pylonlb/pylon/speaker/layer2"
)

func TestMetrics(t *testing.T) {
	m := NewMetrics()
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	m.observe(4, 3, layer2.Stats{ARP: layer2.Counters{Requests: 10, Replies: 9, Gratuitous: 6}, NDP: layer2.Counters{Conflicts: 2, SendFailures: 5}})
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
	packets := `
# HELP pylon_speaker_layer2_packets_total ARP/NDP packets since start, by protocol and kind (requests, replies, gratuitous, probes, conflicting, send_failed: replies, gratuitous packets and probes that could not be sent).
# TYPE pylon_speaker_layer2_packets_total counter
pylon_speaker_layer2_packets_total{kind="conflicting",protocol="arp"} 0
pylon_speaker_layer2_packets_total{kind="conflicting",protocol="ndp"} 2
pylon_speaker_layer2_packets_total{kind="gratuitous",protocol="arp"} 6
pylon_speaker_layer2_packets_total{kind="gratuitous",protocol="ndp"} 0
pylon_speaker_layer2_packets_total{kind="probes",protocol="arp"} 0
pylon_speaker_layer2_packets_total{kind="probes",protocol="ndp"} 0
pylon_speaker_layer2_packets_total{kind="replies",protocol="arp"} 9
pylon_speaker_layer2_packets_total{kind="replies",protocol="ndp"} 0
pylon_speaker_layer2_packets_total{kind="requests",protocol="arp"} 10
pylon_speaker_layer2_packets_total{kind="requests",protocol="ndp"} 0
pylon_speaker_layer2_packets_total{kind="send_failed",protocol="arp"} 0
pylon_speaker_layer2_packets_total{kind="send_failed",protocol="ndp"} 5
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(packets), "pylon_speaker_layer2_packets_total"); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", problems, err)
	}
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
	updates := `
# HELP pylon_speaker_bgp_updates_total BGP UPDATE messages exchanged with the peer since it was configured, by direction (sent, received).
# TYPE pylon_speaker_bgp_updates_total counter
pylon_speaker_bgp_updates_total{direction="received",peer="tor-a"} 2
pylon_speaker_bgp_updates_total{direction="received",peer="tor-b"} 0
pylon_speaker_bgp_updates_total{direction="sent",peer="tor-a"} 7
pylon_speaker_bgp_updates_total{direction="sent",peer="tor-b"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(updates), "pylon_speaker_bgp_updates_total"); err != nil {
		t.Error(err)
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

// TestMetricsPassDuration: every pass of Reconcile is observed, here two
// passes of a stopping speaker taking no time on a fake clock.
func TestMetricsPassDuration(t *testing.T) {
	m := NewMetrics()
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	r := &Reconciler{Metrics: m, WorkClock: clocktesting.NewFakeClock(time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC))}
	r.Freeze()
	for range 2 {
		if _, err := r.Reconcile(t.Context(), reconcile.Request{}); err != nil {
			t.Fatal(err)
		}
	}
	var want strings.Builder
	want.WriteString(`
# HELP pylon_speaker_pass_duration_seconds Time of one pass of the speaker: reading the cache, electing an owner for every address, planning BGP and applying both (the SpeakerStatus write is not included).
# TYPE pylon_speaker_pass_duration_seconds histogram
`)
	for _, le := range []string{"0.001", "0.002", "0.004", "0.008", "0.016", "0.032", "0.064", "0.128", "0.256", "0.512", "1.024", "2.048", "4.096", "8.192", "+Inf"} {
		fmt.Fprintf(&want, "pylon_speaker_pass_duration_seconds_bucket{le=%q} 2\n", le)
	}
	want.WriteString("pylon_speaker_pass_duration_seconds_sum 0\npylon_speaker_pass_duration_seconds_count 2\n")
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want.String()), "pylon_speaker_pass_duration_seconds"); err != nil {
		t.Fatal(err)
	}
}
