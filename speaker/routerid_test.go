package speaker

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestRouterIDFor(t *testing.T) {
	node := func(annotation *string, addrs ...corev1.NodeAddress) *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{Addresses: addrs}}
		if annotation != nil {
			n.Annotations = map[string]string{AnnotationRouterID: *annotation}
		}
		return n
	}
	internal := func(a string) corev1.NodeAddress { return corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: a} }
	external := corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: "192.0.2.7"}
	str := func(s string) *string { return &s }
	tests := []struct {
		name    string
		node    *corev1.Node
		want    string
		wantErr string
	}{
		{"first IPv4 InternalIP", node(nil, internal("2001:db8:18::11"), external, internal("198.18.0.11"), internal("198.18.0.12")), "198.18.0.11", ""},
		{"the annotation wins over the address", node(str("198.18.9.9"), internal("198.18.0.11")), "198.18.9.9", ""},
		{"IPv6-only without annotation", node(nil, internal("2001:db8:18::11"), external), "", "no IPv4 InternalIP"},
		{"IPv6-only with annotation", node(str("198.18.9.9"), internal("2001:db8:18::11")), "198.18.9.9", ""},
		{"an IPv6 annotation is refused, not replaced by the address", node(str("2001:db8::1"), internal("198.18.0.11")), "", `pylonlb.io/bgp-router-id="2001:db8::1" must be an IPv4 address`},
		{"garbage annotation", node(str("router-1"), internal("198.18.0.11")), "", "must be an IPv4 address"},
		{"0.0.0.0 annotation", node(str("0.0.0.0"), internal("198.18.0.11")), "", "must be an IPv4 address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, source, err := RouterIDFor(tt.node)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, errNoRouterID) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != netip.MustParseAddr(tt.want) || source == "" {
				t.Fatalf("RouterIDFor = %v, %q, %v; want %s", got, source, err, tt.want)
			}
		})
	}
}
