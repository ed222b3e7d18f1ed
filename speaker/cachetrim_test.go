package speaker

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestTrimServiceKeepsWhatThePlanReads(t *testing.T) {
	class, ready := "pylon", true
	full := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web", Namespace: "shop", UID: "u1", ResourceVersion: "7",
			Labels:        map[string]string{"app": "web"},
			Annotations:   map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{...}"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
		},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeLoadBalancer, LoadBalancerClass: &class,
			ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal,
			IPFamilies:            []corev1.IPFamily{corev1.IPv4Protocol},
			Ports:                 []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
			Selector:              map[string]string{"app": "web"},
			ClusterIP:             "10.0.0.1",
		},
		Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "198.51.100.7"}}}},
	}
	got, err := TrimService(full)
	if err != nil {
		t.Fatal(err)
	}
	svc := got.(*corev1.Service)
	want := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "u1", ResourceVersion: "7", Labels: map[string]string{"app": "web"}},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeLoadBalancer, LoadBalancerClass: &class,
			ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal,
			IPFamilies:            []corev1.IPFamily{corev1.IPv4Protocol},
		},
		Status: full.Status,
	}
	if !equality.Semantic.DeepEqual(want, svc) {
		t.Fatalf("trimmed Service:\n got %+v\nwant %+v", svc, want)
	}

	// The plan reads the same from the trimmed objects as from the full.
	node := "n1"
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "web-x", Namespace: "shop", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{
			Addresses: []string{"10.1.0.5"}, NodeName: &node, Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "web-1"},
		}},
		Ports: []discoveryv1.EndpointPort{{Port: new(int32(8080))}},
	}
	ts, err := TrimEndpointSlice(slice)
	if err != nil {
		t.Fatal(err)
	}
	trimmed := ts.(*discoveryv1.EndpointSlice)
	if len(trimmed.Endpoints) != 1 || trimmed.Endpoints[0].Addresses != nil || trimmed.Endpoints[0].TargetRef != nil || trimmed.Ports != nil {
		t.Fatalf("trimmed EndpointSlice keeps addresses, targets or ports: %+v", trimmed)
	}
	before := (&snapshot{services: []*corev1.Service{full}, slices: []*discoveryv1.EndpointSlice{slice}}).planServices(class)
	after := (&snapshot{services: []*corev1.Service{svc}, slices: []*discoveryv1.EndpointSlice{trimmed}}).planServices(class)
	if len(before) != 1 || !before[0].EndpointNodes["n1"] {
		t.Fatalf("plan from the full objects: %+v", before)
	}
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("plan differs after trimming:\n full    %+v\n trimmed %+v", before, after)
	}
}

func TestTrimNodeKeepsLabelsAddressesConditions(t *testing.T) {
	full := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"zone": "a"}, Annotations: map[string]string{"big": "x"}},
		Status: corev1.NodeStatus{
			Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "198.18.0.11"}},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeNetworkUnavailable, Status: corev1.ConditionTrue}},
			Images:     []corev1.ContainerImage{{Names: []string{"registry.example/app:1"}, SizeBytes: 1 << 30}},
		},
	}
	got, err := TrimNode(full)
	if err != nil {
		t.Fatal(err)
	}
	n := got.(*corev1.Node)
	if n.Annotations != nil || n.Status.Images != nil {
		t.Fatalf("trimmed Node keeps annotations or images: %+v", n)
	}
	if !equality.Semantic.DeepEqual(full.Status.Addresses, n.Status.Addresses) || !equality.Semantic.DeepEqual(full.Status.Conditions, n.Status.Conditions) {
		t.Fatalf("trimmed Node lost addresses or conditions: %+v", n.Status)
	}
	if n.Labels["zone"] != "a" {
		t.Fatalf("labels lost: %v", n.Labels)
	}
	// The router-ID annotation is the one the speaker reads.
	full.Annotations[AnnotationRouterID] = "198.18.0.99"
	got, _ = TrimNode(full)
	if a := got.(*corev1.Node).Annotations; len(a) != 1 || a[AnnotationRouterID] != "198.18.0.99" {
		t.Fatalf("trimmed Node annotations %v, want only %s", a, AnnotationRouterID)
	}
	// Anything else passes through untouched.
	other := &corev1.Secret{}
	if o, _ := TrimNode(other); o != other {
		t.Fatal("a non-Node object was changed")
	}
}
