package speaker

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pylonlb/pylon/speaker/bgp"
	"github.com/pylonlb/pylon/speaker/layer2"
)

// Metrics are the speaker's Prometheus metrics.
type Metrics struct {
	owned, members prometheus.Gauge
	conflicts      prometheus.Counter
	// layer-2 counters by protocol and kind, copied from the Announcer's.
	l2 *prometheus.GaugeVec
	// per BGP peer.
	sessionUp, prefixes, updates *prometheus.GaugeVec
	// bgpAnnounced counts addresses with an Established session.
	bgpAnnounced prometheus.Gauge
}

// NewMetrics creates the metrics; Register adds them to a registry.
func NewMetrics() *Metrics {
	return &Metrics{
		owned:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "pylon_speaker_layer2_owned_ips", Help: "Addresses this node answers ARP/NDP for."}),
		members:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "pylon_speaker_members_alive", Help: "Speakers alive in memberlist, this one included."}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{Name: "pylon_speaker_layer2_conflicts_total", Help: "Conflict episodes: another MAC answering for an address this node owns."}),
		l2: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pylon_speaker_layer2_packets",
			Help: "ARP/NDP packets since start, by protocol and kind (requests, replies, gratuitous, probes, conflicting).",
		}, []string{"protocol", "kind"}),
		bgpAnnounced: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pylon_speaker_bgp_announced_ips",
			Help: "Addresses this node announces over BGP on at least one Established session.",
		}),
		sessionUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pylon_speaker_bgp_session_up", Help: "1 when the BGP session with the peer is established."}, []string{"peer"}),
		prefixes:  prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pylon_speaker_bgp_prefixes_advertised", Help: "Prefixes advertised to the peer."}, []string{"peer"}),
		updates: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pylon_speaker_bgp_updates",
			Help: "BGP UPDATE messages exchanged with the peer since it was configured, by direction (sent, received).",
		}, []string{"peer", "direction"}),
	}
}

// Register adds the metrics to reg.
func (m *Metrics) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.owned, m.members, m.conflicts, m.l2, m.sessionUp, m.prefixes, m.updates, m.bgpAnnounced} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (m *Metrics) observe(owned, members int, s layer2.Stats) {
	m.owned.Set(float64(owned))
	m.members.Set(float64(members))
	for proto, c := range map[string]layer2.Counters{"arp": s.ARP, "ndp": s.NDP} {
		m.l2.WithLabelValues(proto, "requests").Set(float64(c.Requests))
		m.l2.WithLabelValues(proto, "replies").Set(float64(c.Replies))
		m.l2.WithLabelValues(proto, "gratuitous").Set(float64(c.Gratuitous))
		m.l2.WithLabelValues(proto, "probes").Set(float64(c.Probes))
		m.l2.WithLabelValues(proto, "conflicting").Set(float64(c.Conflicts))
	}
}

func (m *Metrics) observeBGP(sessions []bgp.Session, announced int) {
	m.bgpAnnounced.Set(float64(announced))
	m.sessionUp.Reset()
	m.prefixes.Reset()
	m.updates.Reset()
	for _, s := range sessions {
		up := 0.0
		if s.State == bgp.StateEstablished {
			up = 1
		}
		m.sessionUp.WithLabelValues(s.Peer).Set(up)
		m.prefixes.WithLabelValues(s.Peer).Set(float64(s.PrefixesSent))
		m.updates.WithLabelValues(s.Peer, "sent").Set(float64(s.UpdatesSent))
		m.updates.WithLabelValues(s.Peer, "received").Set(float64(s.UpdatesReceived))
	}
}
