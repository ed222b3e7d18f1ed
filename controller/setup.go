package controller

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// Options configure the controller.
type Options struct {
	// Class is the load-balancer class served; "" serves Services with no
	// spec.loadBalancerClass.
	Class string
	// Namespace is where pylon runs (password Secrets are read there).
	Namespace string
	// Workers is how many Services are reconciled at once.
	Workers int
	// Registerer takes the metrics; nil skips them.
	Registerer prometheus.Registerer
	// KeySecret is the speakers' memberlist key Secret, created in
	// Namespace when missing; "" leaves it to someone else.
	KeySecret string
	// ServiceCIDRs are the cluster's Service CIDRs
	// (--service-cluster-ip-range), never handed out. They add to the
	// networking.k8s.io/v1 ServiceCIDR objects, which are read when the
	// API server serves them; a cluster without them needs this.
	ServiceCIDRs []netip.Prefix
}

// Setup adds the controller's reconcilers to mgr. They run only while mgr
// holds the leader lease; each term starts from a fresh State rebuilt from
// the Services' status.
func Setup(mgr ctrl.Manager, opts Options) (*State, error) {
	state := NewState()
	recorder := mgr.GetEventRecorder("pylon-controller")
	var metrics *Metrics
	if opts.Registerer != nil {
		metrics = NewMetrics(state)
		if err := metrics.Register(opts.Registerer); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	_, err := mgr.GetRESTMapper().RESTMapping(schema.GroupKind{Group: networkingv1.GroupName, Kind: "ServiceCIDR"}, networkingv1.SchemeGroupVersion.Version)
	if err != nil && !meta.IsNoMatchError(err) {
		return nil, fmt.Errorf("look up networking.k8s.io/v1 ServiceCIDR: %w", err)
	}
	gatherer := &unsafeGatherer{client: mgr.GetClient(), serviceCIDRs: err == nil, extra: opts.ServiceCIDRs}
	if !gatherer.serviceCIDRs && len(opts.ServiceCIDRs) == 0 {
		mgr.GetLogger().Info("the API server serves no networking.k8s.io/v1 ServiceCIDR and --service-cluster-ip-range is unset: Service CIDR addresses in a pool may be handed out")
	}
	cfgRec := &ConfigReconciler{Client: mgr.GetClient(), Recorder: recorder, State: state, Namespace: opts.Namespace, KeySecret: opts.KeySecret, Metrics: metrics, Unsafe: gatherer.gather}
	svcRec := &ServiceReconciler{Client: mgr.GetClient(), Recorder: recorder, Class: opts.Class, State: state, Load: cfgRec.Load, Unsafe: gatherer.gather, Metrics: metrics}
	cfgRec.Restore = func(ctx context.Context) error {
		return state.restore(ctx, cfgRec.Load, gatherer.gather, mgr.GetClient(), opts.Class)
	}

	toConfig := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: configRequestName}}}
	})
	inNamespace := predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetNamespace() == opts.Namespace })
	// pylon's own kinds wake a pass when their spec or labels change (or
	// they come and go), not on a status write: the pass writes status, and
	// a pool's counts change with every allocation, so a pass woken by its
	// own write would loop at the API server's pace through a burst of new
	// Services (400 IPPool writes in 10 s where 40 were meant).
	specOrLabels := predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{})
	cfgCtl := ctrl.NewControllerManagedBy(mgr).
		Named("pylon-config").
		WatchesRawSource(source.Kind(mgr.GetCache(), client.Object(&v1alpha1.IPPool{}), toConfig, specOrLabels)).
		Watches(&v1alpha1.L2Advertisement{}, toConfig, builder.WithPredicates(specOrLabels)).
		Watches(&v1alpha1.BGPPeer{}, toConfig, builder.WithPredicates(specOrLabels)).
		Watches(&v1alpha1.BGPAdvertisement{}, toConfig, builder.WithPredicates(specOrLabels)).
		Watches(&corev1.Secret{}, toConfig, builder.WithPredicates(inNamespace)).
		Watches(&corev1.Node{}, toConfig, builder.WithPredicates(nodeChanged())).
		WatchesRawSource(source.Channel(state.poolsChanged, toConfig)).
		WithOptions(controller.Options{MaxConcurrentReconciles: 1})
	if gatherer.serviceCIDRs {
		cfgCtl = cfgCtl.Watches(&networkingv1.ServiceCIDR{}, toConfig)
	}
	err = cfgCtl.Complete(cfgRec)
	if err != nil {
		return nil, err
	}
	// One pass at the start of every term even when no pylon object exists
	// yet: it creates the memberlist key Secret and rebuilds state.
	err = mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		select {
		case state.poolsChanged <- event.GenericEvent{Object: &corev1.Service{}}:
		default:
		}
		<-ctx.Done()
		return nil
	}))
	if err != nil {
		return nil, err
	}
	if err := setupPeerSessions(mgr); err != nil {
		return nil, err
	}
	workers := max(opts.Workers, 1)
	err = ctrl.NewControllerManagedBy(mgr).
		For(&corev1.Service{}).
		WatchesRawSource(state.wakeSource()).
		WithOptions(controller.Options{MaxConcurrentReconciles: workers}).
		Complete(svcRec)
	if err != nil {
		return nil, err
	}
	return state, nil
}
