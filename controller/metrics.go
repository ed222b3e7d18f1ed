package controller

import (
	"math/big"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the controller's Prometheus metrics. Per-pool gauges are read
// from the allocator when scraped, so they cost nothing between scrapes.
type Metrics struct {
	state    *State
	failures *prometheus.CounterVec
	steps    *prometheus.CounterVec
	total    *prometheus.Desc
	inUse    *prometheus.Desc
	problems *prometheus.Desc
}

// NewMetrics builds the metrics for state; register them with Register.
func NewMetrics(state *State) *Metrics {
	return &Metrics{
		state: state,
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pylon_allocation_failures_total",
			Help: "Services that did not get the addresses they asked for, by reason.",
		}, []string{"reason"}),
		steps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pylon_controller_step_failures_total",
			Help: "Failed steps of the configuration pass (key-secret, write-status), each retried with backoff.",
		}, []string{"step"}),
		total: prometheus.NewDesc("pylon_pool_addresses",
			"Usable addresses in an IPPool, per family (float: IPv6 pools exceed int64).", []string{"pool", "family"}, nil),
		inUse: prometheus.NewDesc("pylon_pool_addresses_in_use",
			"Addresses of an IPPool held by Services, per family.", []string{"pool", "family"}, nil),
		problems: prometheus.NewDesc("pylon_config_problems",
			"Problems of the pylon objects in the configuration in force (the objects' Invalid and Overlapping conditions), by object kind and reason.", []string{"kind", "reason"}, nil),
	}
}

// Register adds the metrics to reg.
func (m *Metrics) Register(reg prometheus.Registerer) error {
	if err := reg.Register(m.failures); err != nil {
		return err
	}
	if err := reg.Register(m.steps); err != nil {
		return err
	}
	return reg.Register(m)
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.total
	ch <- m.inUse
	ch <- m.problems
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	cfg := m.state.config()
	if cfg == nil {
		return
	}
	type kindReason struct{ kind, reason string }
	problems := map[kindReason]int{}
	for _, p := range cfg.Problems {
		problems[kindReason{string(p.Kind), p.Reason}]++
	}
	for k, n := range problems {
		ch <- prometheus.MustNewConstMetric(m.problems, prometheus.GaugeValue, float64(n), k.kind, k.reason)
	}
	for _, p := range cfg.Pools {
		v4, v6 := m.state.counts(p.Name)
		for fam, c := range map[string]struct {
			total float64
			used  int64
		}{"ipv4": {floatOf(v4.Total), v4.Allocated}, "ipv6": {floatOf(v6.Total), v6.Allocated}} {
			if c.total == 0 {
				continue
			}
			ch <- prometheus.MustNewConstMetric(m.total, prometheus.GaugeValue, c.total, p.Name, fam)
			ch <- prometheus.MustNewConstMetric(m.inUse, prometheus.GaugeValue, float64(c.used), p.Name, fam)
		}
	}
}

// failed counts one allocation failure; m may be nil.
func (m *Metrics) failed(reason string) {
	if m != nil {
		m.failures.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) stepFailed(step string) {
	if m != nil {
		m.steps.WithLabelValues(step).Inc()
	}
}

func floatOf(b *big.Int) float64 {
	if b == nil {
		return 0
	}
	f, _ := new(big.Float).SetInt(b).Float64()
	return f
}
