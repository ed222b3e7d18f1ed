package main

import (
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/config"
)

// What the controller writes on a Service itself so that its answer
// outlives the events: the condition api/v1alpha1.ConditionAddressAssigned
// and the annotation api/v1alpha1.AnnotationIPAllocatedFromPool. A Service
// without them (a controller from before they existed) is explained from
// events and the configuration.

// serviceCondition returns the controller's condition on svc; nil when it
// wrote none.
func serviceCondition(svc *corev1.Service) *metav1.Condition {
	return meta.FindStatusCondition(svc.Status.Conditions, v1alpha1.ConditionAddressAssigned)
}

// servicePools returns the pool of each of svc's addresses as the
// controller's annotation names it: one pool for all, or one per address
// in ingress order when the families came from two pools; empty when there
// is none.
func servicePools(svc *corev1.Service) map[netip.Addr]string {
	value := svc.Annotations[v1alpha1.AnnotationIPAllocatedFromPool]
	if value == "" {
		return nil
	}
	pools := strings.Split(value, ",")
	ips := config.IngressIPs(svc)
	out := map[netip.Addr]string{}
	for i, ip := range ips {
		switch {
		case len(pools) == 1:
			out[ip] = pools[0]
		case len(pools) == len(ips):
			out[ip] = strings.TrimSpace(pools[i])
		}
	}
	return out
}
