package controller

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/config"
)

// ServiceReconciler gives LoadBalancer Services their addresses: gather the
// Service and its namespace, decide with the allocator, write the status
// (addresses, pylon's condition, the pool annotation) when it differs, and
// tell the Service's events what changed.
type ServiceReconciler struct {
	Client   client.Client
	Recorder events.EventRecorder
	// Class is the load-balancer class served; "" serves Services without one.
	Class string
	State *State
	// Load reads and parses the pylon configuration.
	Load func(context.Context) (*config.Config, error)
	// Unsafe reads the addresses never handed out (Nodes, pod and Service
	// CIDRs), before the first allocation.
	Unsafe func(context.Context) ([]config.Unsafe, error)
	// Metrics counts allocation failures; may be nil.
	Metrics *Metrics
}

// Reconcile handles one Service.
func (r *ServiceReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	if err := r.State.restore(ctx, r.Load, r.Unsafe, r.Client, r.Class); err != nil {
		return reconcile.Result{}, fmt.Errorf("rebuild allocations from Service status: %w", err)
	}
	var svc corev1.Service
	if err := r.Client.Get(ctx, req.NamespacedName, &svc); err != nil {
		if apierrors.IsNotFound(err) {
			r.State.forget(req.NamespacedName)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, err
	}
	var ns corev1.Namespace
	if err := r.Client.Get(ctx, client.ObjectKey{Name: svc.Namespace}, &ns); err != nil && !apierrors.IsNotFound(err) {
		return reconcile.Result{}, err
	}

	rq, err := requestFor(&svc, ns.Labels, r.Class)
	if err != nil {
		// A malformed request keeps whatever the Service has: nothing is
		// released on a typo.
		if err := r.record(ctx, &svc, invalidRecord(&svc, err)); err != nil {
			return reconcile.Result{}, err
		}
		r.event(&svc, corev1.EventTypeWarning, v1alpha1.ReasonInvalidRequest, err.Error())
		return reconcile.Result{}, nil
	}
	if msg := r.State.takeConflict(req.NamespacedName); msg != "" {
		r.event(&svc, corev1.EventTypeWarning, v1alpha1.ReasonIPConflict, msg)
	}

	current := config.IngressIPs(&svc)
	o, before := r.State.decide(req.NamespacedName, rq)
	if !rq.served {
		// No longer ours to serve: the addresses are released; the status
		// is cleared only when it shows what pylon had given. pylon's
		// condition and annotation go when this controller held addresses
		// for the Service, or when it is no LoadBalancer (no class serves
		// it); a LoadBalancer of another class may be another pylon's.
		if len(before) == 0 && svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
			return reconcile.Result{}, nil
		}
		if err := r.record(ctx, &svc, releasedRecord(len(before) > 0 && slices.Equal(current, before))); err != nil {
			return reconcile.Result{}, err
		}
		if len(before) > 0 {
			r.event(&svc, corev1.EventTypeNormal, v1alpha1.ReasonReleased, fmt.Sprintf("released %v: the Service is no longer a LoadBalancer of this class", before))
		}
		return reconcile.Result{}, nil
	}
	if err := r.record(ctx, &svc, servedRecord(o)); err != nil {
		return reconcile.Result{}, err
	}
	switch {
	case o.conflict != "" && o.reason == v1alpha1.ReasonIPConflict:
		// One event: the event recorder folds events of one reason about
		// one object into a series that keeps the first note. The wait
		// that follows is remembered as said.
		r.event(&svc, corev1.EventTypeWarning, v1alpha1.ReasonIPConflict, o.conflict+"; "+o.message)
		r.State.tell("Service/"+svc.Namespace+"/"+svc.Name, o.reason, o.message)
	case o.conflict != "":
		r.event(&svc, corev1.EventTypeWarning, v1alpha1.ReasonIPConflict, o.conflict)
	}
	switch {
	case o.reason != "":
		r.event(&svc, corev1.EventTypeWarning, o.reason, o.message)
	case len(o.ips) > 0 && !slices.Equal(current, o.ips):
		r.event(&svc, corev1.EventTypeNormal, v1alpha1.ReasonAllocated, "assigned "+o.describe())
	case len(o.ips) > 0:
		// Nothing changed (a restarted controller confirming the status
		// it found): remember it silently, so events stay one per change.
		r.State.tell("Service/"+svc.Namespace+"/"+svc.Name, v1alpha1.ReasonAllocated, "assigned "+o.describe())
	}
	return reconcile.Result{}, nil
}

// event records an event on the Service unless it is the same as the last;
// a new warning also counts as an allocation failure.
func (r *ServiceReconciler) event(svc *corev1.Service, typ, reason, msg string) {
	if r.State.tell("Service/"+svc.Namespace+"/"+svc.Name, reason, msg) == reason+": "+msg {
		return
	}
	r.Recorder.Eventf(svc, nil, typ, reason, "Allocate", "%s", msg)
	if typ == corev1.EventTypeWarning && reason != v1alpha1.ReasonOrphaned && reason != v1alpha1.ReasonUnsafeHeld && reason != v1alpha1.ReasonCrossNamespace {
		r.Metrics.failed(reason)
	}
}
