package main

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/speaker"
)

// What the controller writes on a Service itself so that its answer
// outlives the events (issue 15 §2: a condition in status.conditions and
// an annotation naming the pool). The names are the controller's to
// choose: these two constants and the two functions below are the only
// places that read them, so that following its choice is a change here
// only. A Service without them is explained from events and the
// configuration.
const (
	// serviceConditionType is the controller's condition on the
	// Service: True with the addresses, False with why none.
	serviceConditionType = "pylonlb.io/AddressAssigned"
	// servicePoolAnnotation names the IPPool the Service's addresses
	// came from.
	servicePoolAnnotation = "pylonlb.io/ip-pool"
)

// serviceCondition returns the controller's condition on svc; nil when it
// wrote none.
func serviceCondition(svc *corev1.Service) *metav1.Condition {
	return meta.FindStatusCondition(svc.Status.Conditions, serviceConditionType)
}

// servicePools returns the pool of each of svc's addresses as the
// controller's annotation names it; empty when there is none.
func servicePools(svc *corev1.Service) map[netip.Addr]string {
	pool := svc.Annotations[servicePoolAnnotation]
	if pool == "" {
		return nil
	}
	out := map[netip.Addr]string{}
	for _, ip := range speaker.IngressIPs(svc) {
		out[ip] = pool
	}
	return out
}
