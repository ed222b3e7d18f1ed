package controller

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/config"
)

func TestNodeUnsafe(t *testing.T) {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Spec: corev1.NodeSpec{PodCIDR: "10.244.1.0/24"}}
	n.Status.Addresses = []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: "198.18.0.11"}, {Type: corev1.NodeExternalIP, Address: "::ffff:203.0.113.9"},
		{Type: corev1.NodeHostName, Address: "n1"}, {Type: corev1.NodeInternalDNS, Address: "n1.example"},
		{Type: corev1.NodeInternalIP, Address: "2001:db8::11"}, {Type: corev1.NodeInternalIP, Address: "garbage"},
	}
	var got []string
	for _, u := range nodeUnsafe(n) {
		got = append(got, u.String())
	}
	want := "198.18.0.11/32: InternalIP of Node n1, 203.0.113.9/32: ExternalIP of Node n1, 2001:db8::11/128: InternalIP of Node n1, 10.244.1.0/24: pod CIDR of Node n1"
	if strings.Join(got, ", ") != want {
		t.Errorf("nodeUnsafe = %s\nwant          %s", strings.Join(got, ", "), want)
	}
}

func TestUnsafeMessageIsCapped(t *testing.T) {
	var blocks []config.Unsafe
	for i := range 25 {
		blocks = append(blocks, config.Unsafe{Prefix: netip.MustParsePrefix(fmt.Sprintf("198.18.0.%d/32", i)), Why: fmt.Sprintf("InternalIP of Node n%d", i)})
	}
	msg := unsafeMessage(blocks, map[netip.Addr][]string{netip.MustParseAddr("198.18.0.3"): {"ns/a", "ns/b"}})
	for _, f := range []string{"198.18.0.19/32: InternalIP of Node n19; and 5 more", "kept (never renumbered): 198.18.0.3 (ns/a, ns/b)"} {
		if !strings.Contains(msg, f) {
			t.Errorf("message %q lacks %q", msg, f)
		}
	}
	if strings.Contains(msg, "n20") {
		t.Errorf("message lists more than %d blocks: %s", unsafeMessageLimit, msg)
	}
}
