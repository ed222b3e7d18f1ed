package controller_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/controller"
	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/gen"
	"github.com/pylonlb/pylon/test/poll"
)

// createNode creates a Node with pod CIDRs and sets its addresses
// ("InternalIP=198.18.0.11").
func createNode(t *testing.T, c client.Client, name string, podCIDRs []string, addrs ...string) {
	t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{PodCIDRs: podCIDRs}}
	if len(podCIDRs) > 0 {
		n.Spec.PodCIDR = podCIDRs[0]
	}
	if err := c.Create(t.Context(), n); err != nil {
		t.Fatalf("create Node %s: %v", name, err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), n) })
	for _, a := range addrs {
		typ, ip, _ := strings.Cut(a, "=")
		n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeAddressType(typ), Address: ip})
	}
	if err := c.Status().Update(t.Context(), n); err != nil {
		t.Fatalf("set addresses of Node %s: %v", name, err)
	}
}

// waitPoolCondition waits until the IPPool's condition has the status and
// its message holds every fragment; it returns the pool.
func waitPoolCondition(t *testing.T, c client.Client, pool, typ string, status metav1.ConditionStatus, fragments ...string) *v1alpha1.IPPool {
	t.Helper()
	var got v1alpha1.IPPool
	poll.Eventually(t, 50*time.Millisecond, 10*time.Second, fmt.Sprintf("IPPool %s condition %s=%s with %q", pool, typ, status, fragments), func() (bool, string) {
		if err := c.Get(t.Context(), client.ObjectKey{Name: pool}, &got); err != nil {
			return false, err.Error()
		}
		cond := meta.FindStatusCondition(got.Status.Conditions, typ)
		if cond == nil || cond.Status != status {
			return false, fmt.Sprintf("%+v", got.Status)
		}
		for _, f := range fragments {
			if !strings.Contains(cond.Message, f) {
				return false, cond.Message
			}
		}
		return true, ""
	})
	return &got
}

// TestUnsafeAddresses: against a real API server, the controller never hands
// out a Node's addresses, its pod CIDRs, a ServiceCIDR's or
// --service-cluster-ip-range's addresses, or a special range; the pools
// say which blocks they skip and why; a Service that held an address before
// a Node took it keeps it, with a warning.
func TestUnsafeAddresses(t *testing.T) {
	env := envtest.Start(t)
	c := env.Client
	ensureNamespace(t, c, pylonNS, nil)
	// The test API server's Service CIDRs are envtest.ServiceClusterIPRange;
	// it serves ServiceCIDR objects for them.
	var cidrs networkingv1.ServiceCIDRList
	if err := c.List(t.Context(), &cidrs); err != nil {
		t.Fatalf("the test API server must serve networking.k8s.io/v1 ServiceCIDR: %v", err)
	}
	createNode(t, c, "n1", []string{"198.18.0.16/30", "2001:db8:18::/126"}, "InternalIP=198.18.0.11", "ExternalIP=198.18.0.12", "Hostname=n1", "InternalIP=2001:db8:18::11")
	opts := controller.Options{ServiceCIDRs: []netip.Prefix{netip.MustParsePrefix("198.18.1.0/24")}}
	ctl := startController(t, env, opts, false)
	ns := "unsafe"
	ensureNamespace(t, c, ns, nil)

	t.Run("lowest free skips Node addresses and pod CIDRs; the pool says why", func(t *testing.T) {
		createPool(t, c, "nodes", []string{"198.18.0.8-198.18.0.23"}, onlyNamespaces(ns))
		for i, want := range []string{"198.18.0.8", "198.18.0.9", "198.18.0.10", "198.18.0.13", "198.18.0.14", "198.18.0.15", "198.18.0.20"} {
			name := fmt.Sprintf("s%d", i)
			lbService(t, c, ns, name)
			waitIngress(t, c, ns, name, want)
		}
		p := waitPoolCondition(t, c, "nodes", v1alpha1.ConditionUnsafeAddresses, metav1.ConditionTrue,
			"198.18.0.11/32: InternalIP of Node n1", "198.18.0.12/32: ExternalIP of Node n1", "198.18.0.16/30: pod CIDR of Node n1")
		poll.Eventually(t, 50*time.Millisecond, 10*time.Second, "available to leave out the 6 unsafe addresses", func() (bool, string) {
			if err := c.Get(t.Context(), client.ObjectKey{Name: "nodes"}, p); err != nil {
				return false, err.Error()
			}
			st := p.Status.IPv4
			return st != nil && st.Total == "16" && st.Allocated == 7 && st.Available == "3", fmt.Sprintf("%+v", st)
		})
		if r := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady); r == nil || r.Status != metav1.ConditionTrue {
			t.Errorf("a pool with unsafe addresses stays Ready (only those are skipped): %+v", r)
		}
	})

	t.Run("asked for by name: refused with a reason", func(t *testing.T) {
		createPool(t, c, "named", []string{"198.18.0.8/29", "127.0.0.0/30", "2001:db8:18::/123"}, onlyNamespaces(ns))
		waitPoolCondition(t, c, "named", v1alpha1.ConditionUnsafeAddresses, metav1.ConditionTrue, "127.0.0.0/8: loopback", "2001:db8:18::/126: pod CIDR of Node n1", "2001:db8:18::11/128: InternalIP of Node n1")
		lbService(t, c, ns, "wants-loopback", gen.Annotated(controller.AnnotationIPs, "127.0.0.1"))
		waitEvent(t, c, ns, "Service", "wants-loopback", v1alpha1.ReasonUnsafeAddress, "127.0.0.0/8: loopback")
		lbService(t, c, ns, "wants-node", func(s *corev1.Service) { s.Spec.LoadBalancerIP = "198.18.0.11" })
		waitEvent(t, c, ns, "Service", "wants-node", v1alpha1.ReasonUnsafeAddress, "InternalIP of Node n1")
		lbService(t, c, ns, "wants-pod6", gen.Annotated(controller.AnnotationIPs, "2001:db8:18::2"), func(s *corev1.Service) {
			s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol}
		})
		waitEvent(t, c, ns, "Service", "wants-pod6", v1alpha1.ReasonUnsafeAddress, "pod CIDR of Node n1")
		consistently(t, 500*time.Millisecond, "none of them gets an address", func() (bool, string) {
			a, b, d := ingress(t, c, ns, "wants-loopback"), ingress(t, c, ns, "wants-node"), ingress(t, c, ns, "wants-pod6")
			return a == nil && b == nil && d == nil, fmt.Sprint(a, b, d)
		})
	})

	t.Run("Service CIDRs: ServiceCIDR objects and --service-cluster-ip-range", func(t *testing.T) {
		// 198.19.192.0/18 is the test API server's ServiceCIDR "kubernetes".
		createPool(t, c, "svc-cidr", []string{"198.19.192.0/30"}, onlyNamespaces(ns), func(p *v1alpha1.IPPool) { p.Spec.AutoAssign = new(bool) })
		createPool(t, c, "svc-flag", []string{"198.18.1.0/30"}, onlyNamespaces(ns), func(p *v1alpha1.IPPool) { p.Spec.AutoAssign = new(bool) })
		waitPoolCondition(t, c, "svc-cidr", v1alpha1.ConditionUnsafeAddresses, metav1.ConditionTrue, "198.19.192.0/18: ServiceCIDR kubernetes")
		waitPoolCondition(t, c, "svc-flag", v1alpha1.ConditionUnsafeAddresses, metav1.ConditionTrue, "198.18.1.0/24: Service CIDR (--service-cluster-ip-range)")
		lbService(t, c, ns, "in-svc-cidr", gen.Annotated(controller.AnnotationPool, "svc-cidr"))
		waitEvent(t, c, ns, "Service", "in-svc-cidr", v1alpha1.ReasonPoolExhausted, "svc-cidr")
		lbService(t, c, ns, "in-svc-flag", gen.Annotated(controller.AnnotationPool, "svc-flag"))
		waitEvent(t, c, ns, "Service", "in-svc-flag", v1alpha1.ReasonPoolExhausted, "svc-flag")
		if got := ingress(t, c, ns, "in-svc-cidr"); got != nil {
			t.Errorf("a Service CIDR address was handed out: %v", got)
		}
	})

	t.Run("a Node added later: the Service keeps its address, with a warning", func(t *testing.T) {
		createPool(t, c, "later", []string{"198.18.2.0/30"}, onlyNamespaces(ns+"-later"))
		ensureNamespace(t, c, ns+"-later", nil)
		lbService(t, c, ns+"-later", "early")
		waitIngress(t, c, ns+"-later", "early", "198.18.2.0")
		waitPoolCondition(t, c, "later", v1alpha1.ConditionUnsafeAddresses, metav1.ConditionFalse)
		createNode(t, c, "n2", nil, "InternalIP=198.18.2.0")
		waitEvent(t, c, ns+"-later", "Service", "early", v1alpha1.ReasonUnsafeHeld, "198.18.2.0/32: InternalIP of Node n2")
		waitStanding(t, c, ns+"-later", "early", metav1.ConditionTrue, v1alpha1.ReasonUnsafeHeld, "later", "198.18.2.0/32: InternalIP of Node n2")
		waitPoolCondition(t, c, "later", v1alpha1.ConditionUnsafeAddresses, metav1.ConditionTrue,
			"198.18.2.0/32: InternalIP of Node n2", "kept (never renumbered): 198.18.2.0 (unsafe-later/early)")
		lbService(t, c, ns+"-later", "next")
		waitIngress(t, c, ns+"-later", "next", "198.18.2.1")
		consistently(t, time.Second, "early keeps 198.18.2.0", func() (bool, string) {
			got := ingress(t, c, ns+"-later", "early")
			return slices.Equal(got, []string{"198.18.2.0"}), fmt.Sprint(got)
		})
		// A restarted controller rebuilds the hold from the status and
		// keeps it; the unsafe set is in force before its first allocation.
		ctl.Stop()
		startController(t, env, opts, false)
		lbService(t, c, ns+"-later", "after-restart")
		waitIngress(t, c, ns+"-later", "after-restart", "198.18.2.2")
		waitPoolCondition(t, c, "later", v1alpha1.ConditionUnsafeAddresses, metav1.ConditionTrue, "kept (never renumbered): 198.18.2.0 (unsafe-later/early)")
		waitIngress(t, c, ns+"-later", "early", "198.18.2.0")
		// The Node goes away: the warning's cause is gone from the pool.
		if err := c.Delete(t.Context(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2"}}); err != nil {
			t.Fatal(err)
		}
		waitPoolCondition(t, c, "later", v1alpha1.ConditionUnsafeAddresses, metav1.ConditionFalse)
		waitIngress(t, c, ns+"-later", "early", "198.18.2.0")
		// ... and from the Service's condition, with nothing else touching it.
		waitStanding(t, c, ns+"-later", "early", metav1.ConditionTrue, v1alpha1.ReasonAllocated, "later", "198.18.2.0 (IPPool later)")
	})
}
