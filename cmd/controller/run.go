package main

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/cmd/internal/kinds"
	"github.com/pylonlb/pylon/cmd/internal/restconfig"
	"github.com/pylonlb/pylon/cmd/internal/securemetrics"
	"github.com/pylonlb/pylon/cmd/internal/version"
	"github.com/pylonlb/pylon/controller"
)

func run(ctx context.Context, o options) error {
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&o.zap)))
	cfg, err := restconfig.Load(o.kubeconfig)
	if err != nil {
		return err
	}
	scheme, err := kinds.Scheme()
	if err != nil {
		return err
	}
	mo := controller.ManagerOptions(scheme, controller.ManagerConfig{
		Namespace: o.namespace, LeaderElect: o.leaderElect, Lease: controller.DefaultLease(), LeaderLabels: leaderLabels(),
	})
	mo.LeaderElectionNamespace = o.leaderElectionNS
	mo.Metrics = securemetrics.Options(o.metricsAddr, o.metricsSecure)
	mo.HealthProbeBindAddress = o.probeAddr
	mgr, err := ctrl.NewManager(cfg, mo)
	if err != nil {
		return fmt.Errorf("new manager: %w", err)
	}
	if _, err := controller.Setup(mgr, controller.Options{
		Class: o.loadBalancerClass, Namespace: o.namespace, Workers: o.workers, Registerer: metrics.Registry, KeySecret: o.keySecret,
		ServiceCIDRs: o.serviceCIDRs,
	}); err != nil {
		return err
	}
	if err := metrics.Registry.Register(version.Get().BuildInfo("controller")); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	return mgr.Start(ctx)
}

// leaderLabels are the labels the leader puts on its Lease: which build it
// runs (pylonctl version reads it).
func leaderLabels() map[string]string {
	return map[string]string{v1alpha1.LabelVersion: version.Get().Label()}
}
