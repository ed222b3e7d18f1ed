package lab

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func lbService(name string, policy corev1.ServiceExternalTrafficPolicy, ips ...string) corev1.Service {
	svc := LoadBalancerService("default", name, 80)
	svc.Spec.ExternalTrafficPolicy = policy
	for _, ip := range ips {
		svc.Status.LoadBalancer.Ingress = append(svc.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: ip})
	}
	return *svc
}

func slice(svc string, eps ...discoveryv1.Endpoint) discoveryv1.EndpointSlice {
	return discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: svc + "-x", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		Endpoints:  eps,
	}
}

func ep(node string, ready, serving, terminating bool) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{NodeName: ptr(node), Conditions: discoveryv1.EndpointConditions{Ready: ptr(ready), Serving: ptr(serving), Terminating: ptr(terminating)}}
}

func TestServedVIPs(t *testing.T) {
	const vip = "198.51.100.1"
	cluster, local := corev1.ServiceExternalTrafficPolicyCluster, corev1.ServiceExternalTrafficPolicyLocal
	tests := []struct {
		name   string
		svc    corev1.Service
		slices []discoveryv1.EndpointSlice
		// served lists the nodes (of n1, n2) that serve the VIP.
		served []string
	}{
		{"cluster, ready endpoint elsewhere: every node serves", lbService("a", cluster, vip), []discoveryv1.EndpointSlice{slice("a", ep("n2", true, true, false))}, []string{"n1", "n2"}},
		{"cluster, no endpoints: nobody", lbService("a", cluster, vip), nil, nil},
		{"cluster, endpoints of another service only: nobody", lbService("a", cluster, vip), []discoveryv1.EndpointSlice{slice("b", ep("n1", true, true, false))}, nil},
		{"local: only the node with the endpoint", lbService("a", local, vip), []discoveryv1.EndpointSlice{slice("a", ep("n2", true, true, false))}, []string{"n2"}},
		{"local, not ready: nobody", lbService("a", local, vip), []discoveryv1.EndpointSlice{slice("a", ep("n2", false, false, false))}, nil},
		{"local, terminating but serving and nothing ready: still served", lbService("a", local, vip), []discoveryv1.EndpointSlice{slice("a", ep("n1", false, true, true))}, []string{"n1"}},
		{"local, ready on n2 beats terminating on n1", lbService("a", local, vip), []discoveryv1.EndpointSlice{slice("a", ep("n1", false, true, true), ep("n2", true, true, false))}, []string{"n2"}},
		{"no ingress yet: nothing", lbService("a", cluster), []discoveryv1.EndpointSlice{slice("a", ep("n1", true, true, false))}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var served []string
			for _, node := range []string{"n1", "n2"} {
				vips := servedVIPs(node, []corev1.Service{tc.svc}, tc.slices)
				if len(vips) > 0 {
					served = append(served, node)
					if want := (vipPort{netip.MustParseAddr(vip), 80}); len(vips) != 1 || vips[0] != want {
						t.Errorf("node %s: %v, want [%v]", node, vips, want)
					}
				}
			}
			if !slices.Equal(served, tc.served) {
				t.Errorf("served on %v, want %v", served, tc.served)
			}
		})
	}
}

func TestServedVIPsSkipsOtherTypesAndUDP(t *testing.T) {
	lb := lbService("a", corev1.ServiceExternalTrafficPolicyCluster, "198.51.100.1", "2001:db8:51::1")
	lb.Spec.Ports = append(lb.Spec.Ports, corev1.ServicePort{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53}, corev1.ServicePort{Name: "alt", Protocol: corev1.ProtocolTCP, Port: 8080})
	cip := lbService("b", corev1.ServiceExternalTrafficPolicyCluster, "198.51.100.2")
	cip.Spec.Type = corev1.ServiceTypeClusterIP
	eps := []discoveryv1.EndpointSlice{slice("a", ep("n1", true, true, false)), slice("b", ep("n1", true, true, false))}
	got := servedVIPs("n1", []corev1.Service{cip, lb}, eps)
	want := []vipPort{
		{netip.MustParseAddr("198.51.100.1"), 80}, {netip.MustParseAddr("198.51.100.1"), 8080},
		{netip.MustParseAddr("2001:db8:51::1"), 80}, {netip.MustParseAddr("2001:db8:51::1"), 8080},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestProxyRuleset(t *testing.T) {
	rules := proxyRuleset([]vipPort{{netip.MustParseAddr("198.51.100.1"), 80}, {netip.MustParseAddr("2001:db8:51::1"), 443}})
	for _, want := range []string{
		"table inet pylonlab_proxy\ndelete table inet pylonlab_proxy\n",
		"type nat hook prerouting priority dstnat;",
		"ip daddr 198.51.100.1 tcp dport 80 redirect to :18080\n",
		"ip6 daddr 2001:db8:51::1 tcp dport 443 redirect to :18080\n",
	} {
		if !strings.Contains(rules, want) {
			t.Errorf("ruleset lacks %q:\n%s", want, rules)
		}
	}
	if empty := proxyRuleset(nil); strings.Contains(empty, "daddr") {
		t.Errorf("empty ruleset has rules:\n%s", empty)
	}
}

func TestCutRuleset(t *testing.T) {
	rules := cutRuleset([]string{"p-n1", "p-n3"})
	for _, want := range []string{"table bridge pylonlab_cut\ndelete table bridge pylonlab_cut\n", "type filter hook forward", `iifname "p-n1" drop`, `oifname "p-n1" drop`, `iifname "p-n3" drop`, `oifname "p-n3" drop`} {
		if !strings.Contains(rules, want) {
			t.Errorf("ruleset lacks %q:\n%s", want, rules)
		}
	}
	if strings.Contains(cutRuleset(nil), "drop") {
		t.Error("a heal-all ruleset still drops")
	}
}
