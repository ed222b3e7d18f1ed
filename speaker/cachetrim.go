package speaker

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The speaker caches every Service, EndpointSlice and Node of the cluster
// but reads a handful of fields of each; the trims below are cache
// transforms that keep only those, so that the cache's memory follows the
// number of objects rather than their size (a Node's image list, a
// Service's last-applied annotation, a thousand-endpoint slice's
// addresses). Anything else that reads these kinds from the speaker's
// cache sees the trimmed objects: add a field here before reading it.

// trimMeta keeps what identifies an object and what selectors and events
// need: no annotations, no managedFields, no owner references.
func trimMeta(m metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		Generation: m.Generation, CreationTimestamp: m.CreationTimestamp, DeletionTimestamp: m.DeletionTimestamp,
		Labels: m.Labels,
	}
}

// TrimService keeps of a Service what the speaker reads: its type, class,
// traffic policy and load-balancer ingress.
func TrimService(obj any) (any, error) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return obj, nil
	}
	return &corev1.Service{
		TypeMeta:   svc.TypeMeta,
		ObjectMeta: trimMeta(svc.ObjectMeta),
		Spec: corev1.ServiceSpec{
			Type: svc.Spec.Type, LoadBalancerClass: svc.Spec.LoadBalancerClass,
			ExternalTrafficPolicy: svc.Spec.ExternalTrafficPolicy, IPFamilies: svc.Spec.IPFamilies,
		},
		Status: corev1.ServiceStatus{LoadBalancer: svc.Status.LoadBalancer},
	}, nil
}

// TrimEndpointSlice keeps of an EndpointSlice its Service (a label), and of
// each endpoint its node and conditions: not its addresses or ports.
func TrimEndpointSlice(obj any) (any, error) {
	sl, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return obj, nil
	}
	eps := make([]discoveryv1.Endpoint, len(sl.Endpoints))
	for i, ep := range sl.Endpoints {
		eps[i] = discoveryv1.Endpoint{NodeName: ep.NodeName, Conditions: ep.Conditions}
	}
	return &discoveryv1.EndpointSlice{
		TypeMeta: sl.TypeMeta, ObjectMeta: trimMeta(sl.ObjectMeta),
		AddressType: sl.AddressType, Endpoints: eps,
	}, nil
}

// TrimNode keeps of a Node its labels, the router-ID annotation, addresses
// and conditions: not its image list, capacity or system information.
func TrimNode(obj any) (any, error) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	meta := trimMeta(n.ObjectMeta)
	if v, ok := n.Annotations[AnnotationRouterID]; ok {
		meta.Annotations = map[string]string{AnnotationRouterID: v}
	}
	return &corev1.Node{
		TypeMeta: n.TypeMeta, ObjectMeta: meta,
		Spec:   corev1.NodeSpec{Unschedulable: n.Spec.Unschedulable, Taints: n.Spec.Taints},
		Status: corev1.NodeStatus{Addresses: n.Status.Addresses, Conditions: n.Status.Conditions},
	}, nil
}
