package controllertest

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/pylonlb/pylon/controller"
	"github.com/pylonlb/pylon/test/envtest"
)

// Namespace is the namespace the tests run pylon in.
const Namespace = "pylon-system"

// Lease is the leader election's timing in tests: a new leader within 2 s.
func Lease() controller.Lease {
	return controller.Lease{Duration: 2 * time.Second, RenewDeadline: 1500 * time.Millisecond, RetryPeriod: 200 * time.Millisecond}
}

// Config is what Start needs besides the API server.
type Config struct {
	// Options for controller.Setup; Namespace defaults to Namespace and
	// Registerer to a registry of the test's own (Running.Registry).
	Options controller.Options
	// LeaderElect: take the Lease before working.
	LeaderElect bool
	// LeaderLabels go on the Lease while this controller leads.
	LeaderLabels map[string]string
}

// Running is one controller started by Start.
type Running struct {
	// Registry holds the controller's metrics.
	Registry *prometheus.Registry
	// Elected is closed once this controller leads (at once without
	// leader election).
	Elected <-chan struct{}
	stop    func()
}

// Stop stops the controller and waits for it; a second call does nothing.
// The test's end stops it too.
func (r *Running) Stop() { r.stop() }

// Start runs pylon's controller against env until the test ends or Stop is
// called.
func Start(t testing.TB, env *envtest.Env, c Config) *Running {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts := c.Options
	if opts.Registerer == nil {
		opts.Registerer = reg
	}
	if opts.Namespace == "" {
		opts.Namespace = Namespace
	}
	mo := controller.ManagerOptions(env.Scheme, controller.ManagerConfig{
		Namespace: opts.Namespace, LeaderElect: c.LeaderElect, Lease: Lease(), LeaderLabels: c.LeaderLabels,
	})
	mo.Metrics = metricsserver.Options{BindAddress: "0"}
	mo.HealthProbeBindAddress = "0"
	// Several controllers in one test process register the same names.
	skip := true
	mo.Controller = config.Controller{SkipNameValidation: &skip}
	mgr, err := ctrl.NewManager(env.Config, mo)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := controller.Setup(mgr, opts); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller manager: %v", err)
		}
	}
	t.Cleanup(stop)
	return &Running{Registry: reg, Elected: mgr.Elected(), stop: stop}
}
