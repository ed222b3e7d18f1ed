package gen

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// TestService: each modifier sets what it says, and only that.
func TestService(t *testing.T) {
	meta := metav1.ObjectMeta{Namespace: "shop", Name: "web"}
	for _, c := range []struct {
		name string
		mods []ServiceModifier
		want corev1.Service
	}{
		{"none", nil, corev1.Service{ObjectMeta: meta}},
		{"LoadBalancer", []ServiceModifier{LoadBalancer()}, corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}}},
		{"WithPort twice, WithTargetPort", []ServiceModifier{WithPort("http", 80), WithPort("", 443), WithTargetPort(8080)}, corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{
			{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080)},
			{Protocol: corev1.ProtocolTCP, Port: 443, TargetPort: intstr.FromInt32(8080)},
		}}}},
		{"WithSelector twice", []ServiceModifier{WithSelector("app", "web"), WithSelector("tier", "front")}, corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web", "tier": "front"}}}},
		{"NoNodePorts", []ServiceModifier{NoNodePorts()}, corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{AllocateLoadBalancerNodePorts: ptr.To(false)}}},
		{"SingleStack", []ServiceModifier{SingleStack(corev1.IPv6Protocol)}, corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{
			IPFamilyPolicy: ptr.To(corev1.IPFamilyPolicySingleStack), IPFamilies: []corev1.IPFamily{corev1.IPv6Protocol},
		}}},
		{"RequireDualStack", []ServiceModifier{RequireDualStack()}, corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{
			IPFamilyPolicy: ptr.To(corev1.IPFamilyPolicyRequireDualStack), IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol},
		}}},
		{"WithLoadBalancerIP", []ServiceModifier{WithLoadBalancerIP("192.0.2.7")}, corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{LoadBalancerIP: "192.0.2.7"}}},
		{"WithClass", []ServiceModifier{WithClass("example.com/other")}, corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{LoadBalancerClass: ptr.To("example.com/other")}}},
		{"Annotated, Labelled", []ServiceModifier{Annotated("a", "1"), Annotated("b", "2"), Labelled("l", "3")}, corev1.Service{ObjectMeta: metav1.ObjectMeta{
			Namespace: "shop", Name: "web", Annotations: map[string]string{"a": "1", "b": "2"}, Labels: map[string]string{"l": "3"},
		}}},
		{"WithIngress replaces", []ServiceModifier{WithIngress("192.0.2.1"), WithIngress("192.0.2.2", "2001:db8::2")}, corev1.Service{ObjectMeta: meta, Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{
			Ingress: []corev1.LoadBalancerIngress{{IP: "192.0.2.2"}, {IP: "2001:db8::2"}},
		}}}},
		{"a plain func", []ServiceModifier{func(s *corev1.Service) { s.Spec.ClusterIP = "None" }}, corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{ClusterIP: "None"}}},
	} {
		same(t, c.name, &c.want, Service("shop", "web", c.mods...))
	}
}

// TestPylonKinds: the pylon kinds' builders and modifiers.
func TestPylonKinds(t *testing.T) {
	pool := IPPool("p", Addresses("198.51.100.0/24"), Addresses("2001:db8::/64", "192.0.2.1-192.0.2.9"), AutoAssign(false), AvoidBuggyIPs())
	same(t, "IPPool", &v1alpha1.IPPool{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: v1alpha1.IPPoolSpec{
		Addresses:  []v1alpha1.AddressRange{"198.51.100.0/24", "2001:db8::/64", "192.0.2.1-192.0.2.9"},
		AutoAssign: ptr.To(false), AvoidBuggyIPs: true,
	}}, pool)
	peer := BGPPeer("r1", 64512, 64513, "198.51.100.254", func(p *v1alpha1.BGPPeer) { p.Spec.EBGPMultiHop = ptr.To(true) })
	same(t, "BGPPeer", &v1alpha1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: "r1"}, Spec: v1alpha1.BGPPeerSpec{
		MyASN: 64512, PeerASN: 64513, PeerAddress: "198.51.100.254", EBGPMultiHop: ptr.To(true),
	}}, peer)
	bgp := BGPAdvertisement("b", BGPPools("a"), BGPPools("b", "c"))
	same(t, "BGPAdvertisement", &v1alpha1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "b"}, Spec: v1alpha1.BGPAdvertisementSpec{
		IPPools: []v1alpha1.ObjectName{"a", "b", "c"},
	}}, bgp)
	l2 := L2Advertisement("l", L2Pools("a", "b"))
	same(t, "L2Advertisement", &v1alpha1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "l"}, Spec: v1alpha1.L2AdvertisementSpec{
		IPPools: []v1alpha1.ObjectName{"a", "b"},
	}}, l2)
}

func same(t *testing.T, what string, want, got any) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}
