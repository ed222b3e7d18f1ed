package controller

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/controller/allocator"
)

// Service annotations pylon reads (defined in api/v1alpha1).
const (
	AnnotationPool    = v1alpha1.AnnotationPool
	AnnotationIPs     = v1alpha1.AnnotationIPs
	AnnotationSharing = v1alpha1.AnnotationSharing
)

// request is what one Service asks of the allocator.
type request struct {
	// served is false when pylon must not give this Service addresses
	// (not a LoadBalancer, another class, being deleted).
	served   bool
	svc      allocator.Service
	families []allocator.Family // wanted, in the Service's order
	require  bool               // RequireDualStack: all families or none
	pool     string             // requested pool, "" for any
	ips      []netip.Addr       // requested addresses, nil for any
}

// requestFor reads a Service. class is the load-balancer class served ("" =
// Services with no class). An error means the Service's request is malformed
// (the message names the annotation or field); it is reported, not retried.
func requestFor(s *corev1.Service, nsLabels map[string]string, class string) (request, error) {
	r := request{svc: allocator.Service{Key: s.Namespace + "/" + s.Name}}
	if s.Spec.Type != corev1.ServiceTypeLoadBalancer || !s.DeletionTimestamp.IsZero() {
		return r, nil
	}
	if got := s.Spec.LoadBalancerClass; (class == "" && got != nil) || (class != "" && (got == nil || *got != class)) {
		return r, nil
	}
	r.served = true
	r.svc = allocator.Service{
		Key:             r.svc.Key,
		Namespace:       s.Namespace,
		Labels:          s.Labels,
		NamespaceLabels: nsLabels,
		SharingKey:      s.Annotations[AnnotationSharing],
		Local:           s.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal,
		Selector:        s.Spec.Selector,
	}
	for _, p := range s.Spec.Ports {
		r.svc.Ports = append(r.svc.Ports, allocator.Port{Protocol: string(p.Protocol), Port: p.Port})
	}
	r.pool = s.Annotations[AnnotationPool]

	r.families = families(s)
	policy := corev1.IPFamilyPolicySingleStack
	if s.Spec.IPFamilyPolicy != nil {
		policy = *s.Spec.IPFamilyPolicy
	}
	if policy == corev1.IPFamilyPolicySingleStack {
		r.families = r.families[:1]
	}
	r.require = policy == corev1.IPFamilyPolicyRequireDualStack

	ips, err := requestedIPs(s)
	if err != nil {
		return r, err
	}
	if len(ips) > 0 {
		// Requested addresses decide the families: one address per family,
		// of the families the Service has.
		for _, ip := range ips {
			if !slices.Contains(r.families, familyOf(ip)) {
				return r, fmt.Errorf("annotation %s: %s is %s, but the Service's ipFamilies (with ipFamilyPolicy %s) allow only %v",
					AnnotationIPs, ip, familyOf(ip), policy, r.families)
			}
		}
		r.ips = ips
	}
	return r, nil
}

// families returns the Service's IP families in order, IPv4 alone when the
// API server left spec.ipFamilies empty.
func families(s *corev1.Service) []allocator.Family {
	var out []allocator.Family
	for _, f := range s.Spec.IPFamilies {
		switch f {
		case corev1.IPv4Protocol:
			out = append(out, allocator.IPv4)
		case corev1.IPv6Protocol:
			out = append(out, allocator.IPv6)
		}
	}
	if len(out) == 0 {
		out = []allocator.Family{allocator.IPv4}
	}
	return out
}

// requestedIPs reads pylonlb.io/load-balancer-ips, or else the deprecated
// spec.loadBalancerIP.
func requestedIPs(s *corev1.Service) ([]netip.Addr, error) {
	source, text := "annotation "+AnnotationIPs, s.Annotations[AnnotationIPs]
	if text == "" {
		source, text = "spec.loadBalancerIP", s.Spec.LoadBalancerIP
	}
	if text == "" {
		return nil, nil
	}
	var out []netip.Addr
	for _, part := range strings.Split(text, ",") {
		ip, err := netip.ParseAddr(strings.TrimSpace(part))
		if err != nil || ip.Zone() != "" || ip.Is4In6() {
			return nil, fmt.Errorf("%s: %q is not an IPv4 or IPv6 address", source, strings.TrimSpace(part))
		}
		for _, prev := range out {
			if familyOf(prev) == familyOf(ip) {
				return nil, fmt.Errorf("%s: %s and %s are of the same family; ask for at most one address per family", source, prev, ip)
			}
		}
		out = append(out, ip)
	}
	return out, nil
}

func familyOf(ip netip.Addr) allocator.Family {
	if ip.Is4() {
		return allocator.IPv4
	}
	return allocator.IPv6
}
