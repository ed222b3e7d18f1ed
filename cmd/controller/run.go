package main

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/pylonlb/pylon/api/v1alpha1"
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
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme,
		Metrics:                       securemetrics.Options(o.metricsAddr, o.metricsSecure),
		HealthProbeBindAddress:        o.probeAddr,
		LeaderElection:                o.leaderElect,
		LeaderElectionID:              "pylon-controller.pylonlb.io",
		LeaderElectionNamespace:       o.leaderElectionNS,
		LeaderElectionReleaseOnCancel: true,
		LeaderElectionLabels:          leaderLabels(),
		LeaseDuration:                 durationPtr(15 * time.Second),
		RenewDeadline:                 durationPtr(10 * time.Second),
		RetryPeriod:                   durationPtr(2 * time.Second),
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			// Only the namespace pylon runs in: BGP password Secrets.
			&corev1.Secret{}: {Namespaces: map[string]cache.Config{o.namespace: {}}},
			// Of Nodes, only names, addresses and pod CIDRs.
			&corev1.Node{}: {Transform: controller.TrimNode},
		}},
	})
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

func durationPtr(d time.Duration) *time.Duration { return &d }
