package controller_test

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/controller"
	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/gen"
)

// editService changes a Service with a merge patch.
func editService(t *testing.T, c client.Client, ns, name string, edit func(*corev1.Service)) {
	t.Helper()
	var s corev1.Service
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(s.DeepCopy())
	edit(&s)
	if err := c.Patch(t.Context(), &s, patch); err != nil {
		t.Fatalf("patch Service %s/%s: %v", ns, name, err)
	}
}

// keeps checks for a while that a Service's status stays exactly want.
func keeps(t *testing.T, c client.Client, ns, name string, want ...string) {
	t.Helper()
	consistently(t, 500*time.Millisecond, fmt.Sprintf("%s/%s keeps %v", ns, name, want), func() (bool, string) {
		got := ingress(t, c, ns, name)
		return slices.Equal(got, want), fmt.Sprint(got)
	})
}

func withPorts(ports ...corev1.ServicePort) func(*corev1.Service) {
	return func(s *corev1.Service) { s.Spec.Ports = ports }
}

func port(name string, proto corev1.Protocol, n int32) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Protocol: proto, Port: n}
}

func acrossNamespaces(on bool) func(*v1alpha1.IPPool) {
	return func(p *v1alpha1.IPPool) {
		if p.Spec.Allocation == nil {
			p.Spec.Allocation = &v1alpha1.IPPoolAllocation{}
		}
		p.Spec.Allocation.AllowSharingAcrossNamespaces = on
	}
}

// TestSharedAddresses: when a co-holder of a shared address changes so that
// it clashes, the one that changed gives the address up (IPConflict, naming
// the other Service and the clash) and the other keeps it; sharing keys are
// private to a namespace unless the pool opts in; a restart lands on the
// same answer.
func TestSharedAddresses(t *testing.T) {
	env := envtest.Start(t)
	c := env.Client
	ensureNamespace(t, c, pylonNS, nil)
	ctl := startController(t, env, controller.Options{}, false)
	key := gen.Annotated(controller.AnnotationSharing, "k")
	dnsPorts := withPorts(port("dns", corev1.ProtocolUDP, 53))

	// share sets up web (TCP/80) and dns (UDP/53) sharing the first
	// address of a /30 pool in namespace ns.
	share := func(t *testing.T, ns, addrs string, dns ...func(*corev1.Service)) {
		t.Helper()
		ensureNamespace(t, c, ns, nil)
		createPool(t, c, ns, []string{addrs}, onlyNamespaces(ns))
		lbService(t, c, ns, "a-web", key)
		lbService(t, c, ns, "b-dns", append([]func(*corev1.Service){key, dnsPorts}, dns...)...)
	}

	t.Run("port clash: the changed Service gets a new address, the other keeps it", func(t *testing.T) {
		ns := "share-port"
		share(t, ns, "198.51.100.0/30")
		waitIngress(t, c, ns, "a-web", "198.51.100.0")
		waitIngress(t, c, ns, "b-dns", "198.51.100.0")
		editService(t, c, ns, "b-dns", withPorts(port("dns", corev1.ProtocolUDP, 53), port("http", corev1.ProtocolTCP, 80)))
		waitIngress(t, c, ns, "b-dns", "198.51.100.1")
		waitEvent(t, c, ns, "Service", "b-dns", v1alpha1.ReasonIPConflict, "198.51.100.0 is held by share-port/a-web and both use port TCP/80")
		waitEvent(t, c, ns, "Service", "b-dns", v1alpha1.ReasonAllocated, "198.51.100.1")
		keeps(t, c, ns, "a-web", "198.51.100.0")
		if n := countEvents(t, c, ns, "Service", "a-web", v1alpha1.ReasonIPConflict); n != 0 {
			t.Errorf("the unchanged Service got %d IPConflict events", n)
		}
	})

	t.Run("protocol change: UDP/80 next to TCP/80 becomes TCP/80", func(t *testing.T) {
		ns := "share-proto"
		share(t, ns, "198.51.100.4/30", withPorts(port("quic", corev1.ProtocolUDP, 80)))
		waitIngress(t, c, ns, "a-web", "198.51.100.4")
		waitIngress(t, c, ns, "b-dns", "198.51.100.4")
		editService(t, c, ns, "b-dns", withPorts(port("quic", corev1.ProtocolTCP, 80)))
		waitIngress(t, c, ns, "b-dns", "198.51.100.5")
		waitEvent(t, c, ns, "Service", "b-dns", v1alpha1.ReasonIPConflict, "both use port TCP/80")
		keeps(t, c, ns, "a-web", "198.51.100.4")
	})

	t.Run("key change of the older Service: it leaves, the newer keeps the address", func(t *testing.T) {
		ns := "share-key"
		share(t, ns, "198.51.100.8/30")
		waitIngress(t, c, ns, "a-web", "198.51.100.8")
		waitIngress(t, c, ns, "b-dns", "198.51.100.8")
		editService(t, c, ns, "a-web", gen.Annotated(controller.AnnotationSharing, "other"))
		waitIngress(t, c, ns, "a-web", "198.51.100.9")
		waitEvent(t, c, ns, "Service", "a-web", v1alpha1.ReasonIPConflict, `their sharing keys differ ("other", "k")`)
		keeps(t, c, ns, "b-dns", "198.51.100.8")
	})

	t.Run("traffic policy change: Local next to Cluster is refused", func(t *testing.T) {
		ns := "share-local"
		share(t, ns, "198.51.100.12/30")
		waitIngress(t, c, ns, "a-web", "198.51.100.12")
		waitIngress(t, c, ns, "b-dns", "198.51.100.12")
		editService(t, c, ns, "b-dns", func(s *corev1.Service) {
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		})
		waitIngress(t, c, ns, "b-dns", "198.51.100.13")
		waitEvent(t, c, ns, "Service", "b-dns", v1alpha1.ReasonIPConflict, "only one has externalTrafficPolicy Local")
		keeps(t, c, ns, "a-web", "198.51.100.12")
	})

	t.Run("a requested shared address: the changed Service waits, then gets it back", func(t *testing.T) {
		ns := "share-req"
		ensureNamespace(t, c, ns, nil)
		createPool(t, c, ns, []string{"198.51.100.16/30"}, onlyNamespaces(ns))
		want := gen.Annotated(controller.AnnotationIPs, "198.51.100.17")
		web := lbService(t, c, ns, "a-web", key, want)
		lbService(t, c, ns, "b-dns", key, want, dnsPorts)
		waitIngress(t, c, ns, "a-web", "198.51.100.17")
		waitIngress(t, c, ns, "b-dns", "198.51.100.17")
		editService(t, c, ns, "b-dns", withPorts(port("http", corev1.ProtocolTCP, 80)))
		waitIngress(t, c, ns, "b-dns")
		waitEvent(t, c, ns, "Service", "b-dns", v1alpha1.ReasonIPConflict, "198.51.100.17 given up")
		keeps(t, c, ns, "a-web", "198.51.100.17")
		// The address is not lost to it for good: when web leaves, dns
		// (waiting for it) gets it.
		if err := c.Delete(t.Context(), web); err != nil {
			t.Fatal(err)
		}
		waitIngress(t, c, ns, "b-dns", "198.51.100.17")
	})

	t.Run("pool change: the Service moves, its co-holder stays", func(t *testing.T) {
		ns := "share-pool"
		share(t, ns, "198.51.100.20/30")
		createPool(t, c, ns+"-other", []string{"198.51.100.24/30"}, onlyNamespaces(ns))
		waitIngress(t, c, ns, "a-web", "198.51.100.20")
		waitIngress(t, c, ns, "b-dns", "198.51.100.20")
		editService(t, c, ns, "b-dns", gen.Annotated(controller.AnnotationPool, ns+"-other"))
		waitIngress(t, c, ns, "b-dns", "198.51.100.24")
		keeps(t, c, ns, "a-web", "198.51.100.20")
		// A newcomer with the key and dns's old port joins web's address.
		lbService(t, c, ns, "c-ntp", key, withPorts(port("dns", corev1.ProtocolUDP, 53)))
		waitIngress(t, c, ns, "c-ntp", "198.51.100.20")
	})

	t.Run("class change: the Service that leaves the class is released, its co-holder stays", func(t *testing.T) {
		ns := "share-class"
		share(t, ns, "198.51.100.44/30")
		waitIngress(t, c, ns, "a-web", "198.51.100.44")
		waitIngress(t, c, ns, "b-dns", "198.51.100.44")
		// The class may be set only as a Service becomes a LoadBalancer.
		editService(t, c, ns, "b-dns", func(s *corev1.Service) {
			s.Spec.Type, s.Spec.AllocateLoadBalancerNodePorts = corev1.ServiceTypeClusterIP, nil
		})
		waitIngress(t, c, ns, "b-dns")
		other := "example.com/other"
		no := false
		editService(t, c, ns, "b-dns", func(s *corev1.Service) {
			s.Spec.Type, s.Spec.LoadBalancerClass, s.Spec.AllocateLoadBalancerNodePorts = corev1.ServiceTypeLoadBalancer, &other, &no
		})
		keeps(t, c, ns, "b-dns")
		keeps(t, c, ns, "a-web", "198.51.100.44")
		lbService(t, c, ns, "c-dns", key, dnsPorts)
		waitIngress(t, c, ns, "c-dns", "198.51.100.44")
	})

	t.Run("sharing keys are private to a namespace unless the pool opts in", func(t *testing.T) {
		for _, ns := range []string{"tenant-a", "tenant-b", "open-a", "open-b"} {
			ensureNamespace(t, c, ns, nil)
		}
		createPool(t, c, "tenants", []string{"198.51.100.28/30"}, onlyNamespaces("tenant-a", "tenant-b"))
		createPool(t, c, "open", []string{"198.51.100.32/30"}, onlyNamespaces("open-a", "open-b"), acrossNamespaces(true))
		lbService(t, c, "tenant-a", "web", key)
		waitIngress(t, c, "tenant-a", "web", "198.51.100.28")
		lbService(t, c, "tenant-b", "thief", key, dnsPorts, gen.Annotated(controller.AnnotationIPs, "198.51.100.28"))
		waitEvent(t, c, "tenant-b", "Service", "thief", v1alpha1.ReasonIPConflict,
			`the sharing key "k" is private to namespace "tenant-a": IPPool "tenants" does not allow sharing across namespaces`)
		lbService(t, c, "tenant-b", "dns", key, dnsPorts)
		waitIngress(t, c, "tenant-b", "dns", "198.51.100.29")
		keeps(t, c, "tenant-b", "thief")

		lbService(t, c, "open-a", "web", key)
		waitIngress(t, c, "open-a", "web", "198.51.100.32")
		lbService(t, c, "open-b", "dns", key, dnsPorts, gen.Annotated(controller.AnnotationIPs, "198.51.100.32"))
		waitIngress(t, c, "open-b", "dns", "198.51.100.32")
		lbService(t, c, "open-b", "ntp", key, withPorts(port("ntp", corev1.ProtocolUDP, 123)))
		waitIngress(t, c, "open-b", "ntp", "198.51.100.32")
	})

	t.Run("a restart lands on the same answer; sharing already in place is kept", func(t *testing.T) {
		ns := "share-restart"
		share(t, ns, "198.51.100.36/30")
		waitIngress(t, c, ns, "a-web", "198.51.100.36")
		waitIngress(t, c, ns, "b-dns", "198.51.100.36")
		// Sharing across namespaces set up while the pool allowed it (or
		// before pylon had the rule), then the pool turns it off.
		ensureNamespace(t, c, "legacy-a", nil)
		ensureNamespace(t, c, "legacy-b", nil)
		open := createPool(t, c, "legacy", []string{"198.51.100.40/30"}, onlyNamespaces("legacy-a", "legacy-b"), acrossNamespaces(true))
		lbService(t, c, "legacy-a", "web", key)
		waitIngress(t, c, "legacy-a", "web", "198.51.100.40")
		lbService(t, c, "legacy-b", "dns", key, dnsPorts)
		waitIngress(t, c, "legacy-b", "dns", "198.51.100.40")
		patch := client.MergeFrom(open.DeepCopy())
		open.Spec.Allocation.AllowSharingAcrossNamespaces = false
		if err := c.Patch(t.Context(), open, patch); err != nil {
			t.Fatal(err)
		}
		// The pool's edit alone wakes the holders: the newer one's
		// condition says it keeps a sharing its pool no longer allows.
		waitStanding(t, c, "legacy-b", "dns", metav1.ConditionTrue, v1alpha1.ReasonCrossNamespace, "legacy", `198.51.100.40 is shared with legacy-a/web`)
		waitStanding(t, c, "legacy-a", "web", metav1.ConditionTrue, v1alpha1.ReasonAllocated, "legacy")
		settled := snapshot(t, c, "share-port")
		ctl.Stop()
		// While no controller runs, dns starts to clash with web.
		editService(t, c, ns, "b-dns", withPorts(port("http", corev1.ProtocolTCP, 80)))
		startController(t, env, controller.Options{}, false)
		waitIngress(t, c, ns, "b-dns", "198.51.100.37")
		waitEvent(t, c, ns, "Service", "b-dns", v1alpha1.ReasonIPConflict, "198.51.100.36")
		keeps(t, c, ns, "a-web", "198.51.100.36")
		// What the first controller settled stays settled.
		if after := snapshot(t, c, "share-port"); !maps.Equal(settled, after) {
			t.Errorf("share-port changed across the restart: %v -> %v", settled, after)
		}
		// Sharing across namespaces already in place is kept; a newcomer
		// from another namespace is refused.
		keeps(t, c, "legacy-a", "web", "198.51.100.40")
		keeps(t, c, "legacy-b", "dns", "198.51.100.40")
		waitEvent(t, c, "legacy-b", "Service", "dns", v1alpha1.ReasonCrossNamespace, `198.51.100.40 is shared with legacy-a/web, but the sharing key "k" is private`)
		if n := countEvents(t, c, "legacy-a", "Service", "web", v1alpha1.ReasonCrossNamespace); n != 0 {
			t.Errorf("the older Service got %d %s events", n, v1alpha1.ReasonCrossNamespace)
		}
		lbService(t, c, "legacy-b", "late", key, withPorts(port("late", corev1.ProtocolTCP, 9)), gen.Annotated(controller.AnnotationIPs, "198.51.100.40"))
		waitEvent(t, c, "legacy-b", "Service", "late", v1alpha1.ReasonIPConflict, `private to namespace "legacy-a"`)
		keeps(t, c, "legacy-b", "late")
	})
}
