package speaker

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
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
	"github.com/pylonlb/pylon/memberlistkey"
	"github.com/pylonlb/pylon/speaker/layer2"
)

// retryMax bounds the wait before a failed pass is tried again. A pass
// fails when its SpeakerStatus write fails; with controller-runtime's
// default (doubling up to 16 minutes) a speaker whose API server was down
// for minutes would write its status minutes after the API server is back.
const retryMax = 10 * time.Second

// RetryLimiter is how long the speaker waits before trying a failed pass
// again: doubling from 5 ms, at most retryMax.
func RetryLimiter() workqueue.TypedRateLimiter[reconcile.Request] {
	return workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](5*time.Millisecond, retryMax)
}

// Options configure the speaker's reconciler.
type Options struct {
	Node      string
	Namespace string
	Class     string
	KeySecret string
	// Version is this speaker's build as a label value (see
	// Reconciler.Version).
	Version   string
	Announcer Announcer
	// StartBGP, when set, starts the BGP speaker once this node's router
	// ID is known (GoBGP starts speaker/bgp's); nil turns BGP off.
	StartBGP StartBGP
	// BFD, when set, runs the BFD sessions of the BGP peers with a bfd
	// profile (speaker/bfd's Sessions, one per process); give its change
	// callback to Reconciler.OnBFDChange.
	BFD     BFD
	Members Membership
	// Keys are the memberlist keys Members started with; later changes of
	// the key Secret roll over from them (membership.Rollover).
	Keys memberlistkey.Keys
	// Changes signals memberlist changes (membership.List.Changes).
	Changes <-chan struct{}
	// LinkChanges signals changes of the node's links and addresses
	// (layer2.WatchLinks); nil when nothing watches them, and then only
	// other events and the retry of a failed pass read them again.
	LinkChanges <-chan struct{}
	// Links reads the node's interfaces; nil means layer2.ReadLinks.
	Links   func() ([]layer2.Link, error)
	Metrics *Metrics
	// Clock is the reconciler's clock; nil means the real one.
	Clock clock.PassiveClock
}

// requestName is the one request the speaker reconciles.
const requestName = "speaker"

// Setup adds the speaker's reconciler to mgr. Every watched change, every
// memberlist change, every change of the node's links and every layer-2
// conflict enqueues the same request, so bursts coalesce into one pass.
func Setup(mgr ctrl.Manager, o Options) (*Reconciler, error) {
	if o.Node == "" || o.Announcer == nil || o.Members == nil {
		return nil, errors.New("speaker: node name, announcer and membership are required")
	}
	if o.Links == nil {
		o.Links = layer2.ReadLinks
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	r := &Reconciler{
		Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("pylon-speaker"),
		Node: o.Node, Namespace: o.Namespace, Class: o.Class, KeySecret: o.KeySecret, Version: o.Version,
		Announcer: o.Announcer, StartBGP: o.StartBGP, Members: o.Members, Links: o.Links, Metrics: o.Metrics, Clock: o.Clock,
		BFD: o.BFD, Log: mgr.GetLogger().WithName("speaker"),
		Trigger: make(chan event.GenericEvent, 1), writer: newStatusWriter(),
		retry: backoff{min: applyRetryMin, max: applyRetryMax},
		keys:  o.Keys,
	}
	stores, err := CacheStores(context.Background(), mgr.GetCache())
	if err != nil {
		return nil, err
	}
	r.Stores = stores
	all := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: requestName}}}
	})
	inNamespace := predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetNamespace() == r.Namespace })
	err = ctrl.NewControllerManagedBy(mgr).
		Named("pylon-speaker").
		WatchesRawSource(source.Kind(mgr.GetCache(), client.Object(&corev1.Service{}), all)).
		Watches(&discoveryv1.EndpointSlice{}, all).
		Watches(&corev1.Node{}, all).
		Watches(&v1alpha1.IPPool{}, all).
		Watches(&v1alpha1.L2Advertisement{}, all).
		Watches(&v1alpha1.BGPPeer{}, all).
		Watches(&v1alpha1.BGPAdvertisement{}, all).
		Watches(&v1alpha1.SpeakerStatus{}, all).
		Watches(&corev1.Secret{}, all, builder.WithPredicates(inNamespace)).
		WatchesRawSource(source.Channel(r.Trigger, all)).
		WithOptions(controller.Options{MaxConcurrentReconciles: 1, RateLimiter: RetryLimiter()}).
		Complete(r)
	if err != nil {
		return nil, err
	}
	if err := mgr.Add(manager.RunnableFunc(r.runStatusWriter)); err != nil {
		return nil, err
	}
	err = mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		members, links := o.Changes, o.LinkChanges
		for {
			select {
			case <-ctx.Done():
				return nil
			case _, ok := <-members:
				if !ok {
					members = nil // closed: a nil channel never fires
				}
				r.wake()
			case _, ok := <-links:
				if !ok {
					links = nil
				}
				r.wake()
			}
		}
	}))
	return r, err
}
