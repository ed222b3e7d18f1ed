package speaker

import (
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pylonlb/pylon/speaker/bfd"
	"github.com/pylonlb/pylon/speaker/bgp"
	"github.com/pylonlb/pylon/speaker/layer2"
)

// Metrics are the speaker's Prometheus metrics.
type Metrics struct {
	owned, members prometheus.Gauge
	conflicts      prometheus.Counter
	// per BGP peer.
	sessionUp, prefixes *prometheus.GaugeVec
	// bgpAnnounced counts addresses with an Established session.
	bgpAnnounced prometheus.Gauge
	// bfdUp is per BGP peer with a BFD session; bfdTransitions counts
	// that session's state changes, by peer and new state.
	bfdUp          *prometheus.GaugeVec
	bfdTransitions *prometheus.CounterVec
	// passes is how long each pass of the reconciler took: reading the
	// cache, planning and applying, without the wait before it.
	passes prometheus.Histogram
	// counts are cumulative counts kept elsewhere (the Announcer's
	// packets, GoBGP's UPDATE messages), exported as counters.
	counts *countsCollector
}

// countsCollector exports the last observed cumulative counts as
// counters: their owners count, Collect copies. A count that starts again
// from zero (a peer configured anew) is a counter reset, which rate()
// handles.
type countsCollector struct {
	packets, updates *prometheus.Desc

	mu       sync.Mutex
	l2       layer2.Stats
	sessions []bgp.Session
}

// NewMetrics creates the metrics; Register adds them to a registry.
func NewMetrics() *Metrics {
	return &Metrics{
		owned:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "pylon_speaker_layer2_owned_ips", Help: "Addresses this node answers ARP/NDP for."}),
		members:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "pylon_speaker_members_alive", Help: "Speakers alive in memberlist, this one included."}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{Name: "pylon_speaker_layer2_conflicts_total", Help: "Conflict episodes: another MAC answering for an address this node owns."}),
		bgpAnnounced: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pylon_speaker_bgp_announced_ips",
			Help: "Addresses this node announces over BGP on at least one Established session.",
		}),
		sessionUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pylon_speaker_bgp_session_up", Help: "1 when the BGP session with the peer is established."}, []string{"peer"}),
		prefixes:  prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pylon_speaker_bgp_prefixes_advertised", Help: "Prefixes advertised to the peer."}, []string{"peer"}),
		bfdUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pylon_speaker_bfd_session_up",
			Help: "1 when the BFD session with the BGP peer is Up, 0 otherwise; absent for peers without a bfd profile."}, []string{"peer"}),
		bfdTransitions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pylon_speaker_bfd_transitions_total",
			Help: "State changes of the BFD session with the BGP peer since the speaker started, by new state (Up, Down, Init, AdminDown)."}, []string{"peer", "state"}),
		passes: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "pylon_speaker_pass_duration_seconds",
			Help:    "Time of one pass of the speaker: reading the cache, electing an owner for every address, planning BGP and applying both (the SpeakerStatus write is not included).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
		counts: &countsCollector{
			packets: prometheus.NewDesc("pylon_speaker_layer2_packets_total",
				"ARP/NDP packets since start, by protocol and kind (requests, replies, gratuitous, probes, conflicting, send_failed: replies, gratuitous packets and probes that could not be sent).", []string{"protocol", "kind"}, nil),
			updates: prometheus.NewDesc("pylon_speaker_bgp_updates_total",
				"BGP UPDATE messages exchanged with the peer since it was configured, by direction (sent, received).", []string{"peer", "direction"}, nil),
		},
	}
}

// Register adds the metrics to reg.
func (m *Metrics) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.owned, m.members, m.conflicts, m.counts, m.sessionUp, m.prefixes, m.bgpAnnounced, m.bfdUp, m.bfdTransitions, m.passes} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// observePass records the time of one pass.
func (m *Metrics) observePass(d time.Duration) { m.passes.Observe(d.Seconds()) }

func (m *Metrics) observe(owned, members int, s layer2.Stats) {
	m.owned.Set(float64(owned))
	m.members.Set(float64(members))
	m.counts.mu.Lock()
	m.counts.l2 = s
	m.counts.mu.Unlock()
}

func (m *Metrics) observeBGP(sessions []bgp.Session, announced int) {
	m.bgpAnnounced.Set(float64(announced))
	m.sessionUp.Reset()
	m.prefixes.Reset()
	for _, s := range sessions {
		up := 0.0
		if s.State == bgp.StateEstablished {
			up = 1
		}
		m.sessionUp.WithLabelValues(s.Peer).Set(up)
		m.prefixes.WithLabelValues(s.Peer).Set(float64(s.PrefixesSent))
	}
	m.counts.mu.Lock()
	m.counts.sessions = slices.Clone(sessions)
	m.counts.mu.Unlock()
}

// observeBFD sets each BFD session's gauge, named after its BGP peer.
func (m *Metrics) observeBFD(sessions []bgp.Session, bfds []bfd.Status) {
	m.bfdUp.Reset()
	for _, b := range bfds {
		for _, s := range sessions {
			if s.Address != b.Config.Remote {
				continue
			}
			up := 0.0
			if b.State == bfd.Up {
				up = 1
			}
			m.bfdUp.WithLabelValues(s.Peer).Set(up)
		}
	}
}

// bfdTransition counts one state change of a BFD session.
func (m *Metrics) bfdTransition(peer string, to bfd.State) {
	m.bfdTransitions.WithLabelValues(peer, to.String()).Inc()
}

// Describe implements prometheus.Collector.
func (c *countsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.packets
	ch <- c.updates
}

// Collect implements prometheus.Collector.
func (c *countsCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	l2, sessions := c.l2, c.sessions
	c.mu.Unlock()
	for _, p := range []struct {
		proto string
		c     layer2.Counters
	}{{"arp", l2.ARP}, {"ndp", l2.NDP}} {
		for _, k := range []struct {
			kind string
			n    uint64
		}{{"requests", p.c.Requests}, {"replies", p.c.Replies}, {"gratuitous", p.c.Gratuitous}, {"probes", p.c.Probes}, {"conflicting", p.c.Conflicts}, {"send_failed", p.c.SendFailures}} {
			ch <- prometheus.MustNewConstMetric(c.packets, prometheus.CounterValue, float64(k.n), p.proto, k.kind)
		}
	}
	for _, s := range sessions {
		ch <- prometheus.MustNewConstMetric(c.updates, prometheus.CounterValue, float64(s.UpdatesSent), s.Peer, "sent")
		ch <- prometheus.MustNewConstMetric(c.updates, prometheus.CounterValue, float64(s.UpdatesReceived), s.Peer, "received")
	}
}
