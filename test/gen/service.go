package gen

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// ServiceModifier sets one thing of a Service.
type ServiceModifier = func(*corev1.Service)

// Service returns the Service ns/name, a ClusterIP Service with no ports
// until modifiers say otherwise.
func Service(ns, name string, mods ...ServiceModifier) *corev1.Service {
	return apply(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}, mods)
}

// LoadBalancer makes the Service of type LoadBalancer.
func LoadBalancer() ServiceModifier {
	return func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeLoadBalancer }
}

// WithPort adds a TCP port (name may be empty).
func WithPort(name string, port int32) ServiceModifier {
	return func(s *corev1.Service) {
		s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: name, Protocol: corev1.ProtocolTCP, Port: port})
	}
}

// WithTargetPort sets the target port of every port the Service has so
// far.
func WithTargetPort(port int32) ServiceModifier {
	return func(s *corev1.Service) {
		for i := range s.Spec.Ports {
			s.Spec.Ports[i].TargetPort = intstr.FromInt32(port)
		}
	}
}

// WithSelector adds key=value to the Service's pod selector.
func WithSelector(key, value string) ServiceModifier {
	return func(s *corev1.Service) {
		if s.Spec.Selector == nil {
			s.Spec.Selector = map[string]string{}
		}
		s.Spec.Selector[key] = value
	}
}

// NoNodePorts sets allocateLoadBalancerNodePorts to false.
func NoNodePorts() ServiceModifier {
	return func(s *corev1.Service) { s.Spec.AllocateLoadBalancerNodePorts = ptr.To(false) }
}

// SingleStack makes the Service single-stack of family.
func SingleStack(family corev1.IPFamily) ServiceModifier {
	return func(s *corev1.Service) {
		s.Spec.IPFamilyPolicy = ptr.To(corev1.IPFamilyPolicySingleStack)
		s.Spec.IPFamilies = []corev1.IPFamily{family}
	}
}

// RequireDualStack makes the Service require both IP families, IPv4 first.
func RequireDualStack() ServiceModifier {
	return func(s *corev1.Service) {
		s.Spec.IPFamilyPolicy = ptr.To(corev1.IPFamilyPolicyRequireDualStack)
		s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
	}
}

// WithLoadBalancerIP sets the deprecated spec.loadBalancerIP.
func WithLoadBalancerIP(ip string) ServiceModifier {
	return func(s *corev1.Service) { s.Spec.LoadBalancerIP = ip }
}

// WithClass sets spec.loadBalancerClass.
func WithClass(class string) ServiceModifier {
	return func(s *corev1.Service) { s.Spec.LoadBalancerClass = ptr.To(class) }
}

// Annotated adds the annotation key=value.
func Annotated(key, value string) ServiceModifier {
	return func(s *corev1.Service) { metav1.SetMetaDataAnnotation(&s.ObjectMeta, key, value) }
}

// Labelled adds the label key=value.
func Labelled(key, value string) ServiceModifier {
	return func(s *corev1.Service) { metav1.SetMetaDataLabel(&s.ObjectMeta, key, value) }
}

// WithIngress sets status.loadBalancer.ingress to the addresses, in order.
func WithIngress(ips ...string) ServiceModifier {
	return func(s *corev1.Service) {
		s.Status.LoadBalancer.Ingress = nil
		for _, ip := range ips {
			s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: ip})
		}
	}
}
