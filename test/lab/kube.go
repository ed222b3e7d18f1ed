package lab

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ManagedBy is the endpointslice.kubernetes.io/managed-by value of the
// EndpointSlices the lab writes.
const ManagedBy = "pylonlab.pylonlb.io"

// writeNodeKubeconfigs writes each node's admin kubeconfig
// (Node.Kubeconfig), for the processes a test starts on the node.
func (l *Lab) writeNodeKubeconfigs() error {
	dir := filepath.Join(l.Dir, "kube")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, n := range l.Nodes {
		_, kc, err := l.API.AddUser("lab-node-"+n.Name, "system:masters")
		if err != nil {
			return err
		}
		n.Kubeconfig = filepath.Join(dir, n.Name+".kubeconfig")
		if err := os.WriteFile(n.Kubeconfig, kc, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// LoadBalancerService returns (does not create) a Service of type
// LoadBalancer in namespace with one TCP port, whose target is the lab's
// backends. It selects nothing: its endpoints are what SetEndpoints writes
// (kube-controller-manager leaves a selectorless Service's EndpointSlices
// alone). Set a selector for pods; change it as the test needs, then
// create it with the lab's Client.
func LoadBalancerService(namespace, name string, port int32) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeLoadBalancer,
			Ports: []corev1.ServicePort{{
				Name: "http", Protocol: corev1.ProtocolTCP, Port: port,
				TargetPort: intstr.FromInt32(BackendPort),
			}},
		},
	}
}

// SetIngress writes status.loadBalancer.ingress of svc, as a
// load-balancer controller would: for tests that run without one.
func (l *Lab) SetIngress(ctx context.Context, svc *corev1.Service, ips ...netip.Addr) error {
	svc.Status.LoadBalancer.Ingress = nil
	for _, ip := range ips {
		svc.Status.LoadBalancer.Ingress = append(svc.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: ip.String()})
	}
	return l.Client.Status().Update(ctx, svc)
}

// Endpoint is a backend of a Service on a node, in the EndpointSlice
// conditions' terms. Its address is the node's (a host-network pod).
type Endpoint struct {
	Node                        string
	Ready, Serving, Terminating bool
}

// ReadyOn is a ready, serving endpoint on each named node.
func ReadyOn(nodes ...string) []Endpoint {
	eps := make([]Endpoint, 0, len(nodes))
	for _, n := range nodes {
		eps = append(eps, Endpoint{Node: n, Ready: true, Serving: true})
	}
	return eps
}

// SetEndpoints writes the EndpointSlices of svc (one per IP family of the
// Service) to hold exactly eps, each at its node's address and
// BackendPort (the node's backend process, as a host-network pod would
// be): tests say where the endpoints are and what state they are in, for
// a Service without a selector. Endpoints on unknown nodes are an error.
func (l *Lab) SetEndpoints(ctx context.Context, svc *corev1.Service, eps ...Endpoint) error {
	families := svc.Spec.IPFamilies
	if len(families) == 0 {
		families = []corev1.IPFamily{corev1.IPv4Protocol}
	}
	for _, fam := range families {
		slice, err := l.endpointSlice(svc, fam, eps)
		if err != nil {
			return err
		}
		var cur discoveryv1.EndpointSlice
		err = l.Client.Get(ctx, client.ObjectKeyFromObject(slice), &cur)
		switch {
		case apierrors.IsNotFound(err):
			err = l.Client.Create(ctx, slice)
		case err == nil:
			cur.Endpoints, cur.Ports, cur.Labels = slice.Endpoints, slice.Ports, slice.Labels
			err = l.Client.Update(ctx, &cur)
		}
		if err != nil {
			return fmt.Errorf("endpoint slice %s/%s: %w", slice.Namespace, slice.Name, err)
		}
	}
	return nil
}

func (l *Lab) endpointSlice(svc *corev1.Service, fam corev1.IPFamily, eps []Endpoint) (*discoveryv1.EndpointSlice, error) {
	addrType, suffix := discoveryv1.AddressTypeIPv4, "v4"
	if fam == corev1.IPv6Protocol {
		addrType, suffix = discoveryv1.AddressTypeIPv6, "v6"
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: svc.Namespace,
			Name:      svc.Name + "-lab-" + suffix,
			Labels:    map[string]string{discoveryv1.LabelServiceName: svc.Name, discoveryv1.LabelManagedBy: ManagedBy},
		},
		AddressType: addrType,
		Endpoints:   []discoveryv1.Endpoint{},
	}
	for _, p := range svc.Spec.Ports {
		slice.Ports = append(slice.Ports, discoveryv1.EndpointPort{
			Name: ptr.To(p.Name), Protocol: ptr.To(p.Protocol), Port: ptr.To(int32(BackendPort)),
		})
	}
	for _, ep := range eps {
		n := l.Node(ep.Node)
		if n == nil {
			return nil, fmt.Errorf("endpoint on %q: no such lab node", ep.Node)
		}
		addr := n.IPv4
		if fam == corev1.IPv6Protocol {
			addr = n.IPv6
		}
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{
			Addresses: []string{addr.String()},
			NodeName:  ptr.To(n.Name),
			Conditions: discoveryv1.EndpointConditions{
				Ready: ptr.To(ep.Ready), Serving: ptr.To(ep.Serving), Terminating: ptr.To(ep.Terminating),
			},
		})
	}
	return slice, nil
}

// Node returns the lab node named name, or nil.
func (l *Lab) Node(name string) *Node {
	for _, n := range l.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}
