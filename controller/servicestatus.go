package controller

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/config"
)

// record is what a Service's object should say of pylon's answer, so that
// it outlives the Service's events: its addresses
// (status.loadBalancer.ingress), the condition
// v1alpha1.ConditionAddressAssigned and the annotation
// v1alpha1.AnnotationIPAllocatedFromPool.
type record struct {
	// setIPs: status.loadBalancer.ingress becomes ips; otherwise it is
	// left as it is.
	setIPs bool
	ips    []netip.Addr
	// cond is pylon's condition; nil removes it.
	cond *metav1.Condition
	// setPools: the annotation becomes pools ("" removes it); otherwise it
	// is left as it is.
	setPools bool
	pools    string
}

// servedRecord is the record of a Service served with outcome o. The
// condition carries no observedGeneration: the API server never sets a
// Service's metadata.generation.
func servedRecord(o outcome) record {
	c := metav1.Condition{Type: v1alpha1.ConditionAddressAssigned}
	switch {
	case o.pending():
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, o.reason, o.message
		if o.conflict != "" && o.reason == v1alpha1.ReasonIPConflict {
			c.Message = o.conflict + "; " + o.message // as the event says it
		}
		if len(o.ips) > 0 {
			c.Message += "; it has " + o.describe()
		}
	case o.reason != "":
		// Kept with a warning: the message names the address and why.
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, o.reason, o.message
	case len(o.ips) == 0:
		// decide gives every family asked for or a reason; never here.
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, v1alpha1.ReasonAllocationError, "no address and no reason given"
	default:
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, v1alpha1.ReasonAllocated, "assigned "+o.describe()
	}
	var pools []string
	for _, p := range o.pools {
		if p != "" && !slices.Contains(pools, p) {
			pools = append(pools, p)
		}
	}
	return record{setIPs: true, ips: o.ips, cond: &c, setPools: true, pools: strings.Join(pools, ",")}
}

// invalidRecord is the record of a Service whose request is malformed: it
// keeps its addresses and annotation; the condition says what is wrong.
func invalidRecord(svc *corev1.Service, err error) record {
	msg := err.Error()
	if ips := config.IngressIPs(svc); len(ips) > 0 {
		msg += fmt.Sprintf("; nothing is released on a malformed request: it keeps %v", ips)
	}
	return record{cond: &metav1.Condition{
		Type: v1alpha1.ConditionAddressAssigned, Status: metav1.ConditionFalse,
		Reason: v1alpha1.ReasonInvalidRequest, Message: msg,
	}}
}

// releasedRecord is the record of a Service pylon no longer serves: no
// condition, no annotation, and no addresses when clearIPs (its status
// shows what pylon had given).
func releasedRecord(clearIPs bool) record {
	return record{setIPs: clearIPs, setPools: true}
}

// differs reports whether rec says anything the Service's object does not:
// ingress entries are compared by address (the API server's defaulting of
// ipMode is ignored), the condition by status, reason and message, the
// annotation by value. It copies nothing: most passes
// (every one after a restart) find the object right.
func (rec record) differs(svc *corev1.Service) bool {
	if rec.setIPs && !slices.Equal(config.IngressIPs(svc), rec.ips) {
		return true
	}
	have := meta.FindStatusCondition(svc.Status.Conditions, v1alpha1.ConditionAddressAssigned)
	if (have == nil) != (rec.cond == nil) {
		return true
	}
	if have != nil && (have.Status != rec.cond.Status || have.Reason != rec.cond.Reason || have.Message != rec.cond.Message) {
		return true
	}
	pools, ok := svc.Annotations[v1alpha1.AnnotationIPAllocatedFromPool]
	return rec.setPools && (pools != rec.pools || ok && rec.pools == "")
}

// record brings the Service's object in line with rec in one status write,
// and writes nothing when it already is (see differs; meta.SetStatusCondition
// keeps the condition's transition time while its status holds).
//
// The annotation travels in the same status patch: the API server keeps
// metadata changes made through a Service's status endpoint (it resets only
// the spec), which spares every Service a second write and leaves the
// controller with no right to patch Services themselves.
// TestServiceStatusLasts pins this against the real API server.
func (r *ServiceReconciler) record(ctx context.Context, svc *corev1.Service, rec record) error {
	if !rec.differs(svc) {
		return nil
	}
	want := svc.DeepCopy()
	if rec.setIPs && !slices.Equal(config.IngressIPs(svc), rec.ips) {
		want.Status.LoadBalancer.Ingress = nil
		for _, ip := range rec.ips {
			want.Status.LoadBalancer.Ingress = append(want.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: ip.String()})
		}
	}
	if rec.cond != nil {
		meta.SetStatusCondition(&want.Status.Conditions, *rec.cond)
	} else {
		meta.RemoveStatusCondition(&want.Status.Conditions, v1alpha1.ConditionAddressAssigned)
	}
	if rec.setPools && rec.pools != "" {
		if want.Annotations == nil {
			want.Annotations = map[string]string{}
		}
		want.Annotations[v1alpha1.AnnotationIPAllocatedFromPool] = rec.pools
	} else if rec.setPools {
		delete(want.Annotations, v1alpha1.AnnotationIPAllocatedFromPool)
	}
	// A strategic merge patch names pylon's condition alone (conditions
	// merge by type), so other writers' conditions are left as they are.
	if err := r.Client.Status().Patch(ctx, want, client.StrategicMergeFrom(svc)); err != nil {
		return fmt.Errorf("write status of service %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	log.FromContext(ctx).V(1).Info("status written", "ips", config.IngressIPs(want), "pools", want.Annotations[v1alpha1.AnnotationIPAllocatedFromPool])
	return nil
}
