package controller_test

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/controller"
	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/gen"
	"github.com/pylonlb/pylon/test/poll"
)

// TestTakeOverAddressesFromAnotherImplementation is the switch from MetalLB
// that docs/migrate-from-metallb.md describes, from the controller's side:
// Services whose addresses another implementation chose and wrote into
// their status keep them when pylon, installed with a class nobody uses,
// restarts to serve Services without a class. Shared addresses are kept
// where the Services carry pylon's sharing key (what `pylonctl migrate
// metallb --apply` adds); without it the younger Service gets an
// IPConflict warning and an address of its own.
func TestTakeOverAddressesFromAnotherImplementation(t *testing.T) {
	env := envtest.Start(t)
	c := env.Client
	const ns = "takeover"
	ensureNamespace(t, c, pylonNS, nil)
	ensureNamespace(t, c, ns, nil)

	// pylon beside MetalLB: a class no Service has.
	waiting := startController(t, env, controller.Options{Class: "pylonlb.io/not-yet"}, false)
	createPool(t, c, "takeover", []string{"198.51.100.0/28"}, onlyNamespaces(ns))

	// The Services as MetalLB left them: addresses it chose (not the lowest
	// free), two pairs sharing one address each, one pair annotated for
	// pylon and one not.
	share := gen.Annotated(controller.AnnotationSharing, "dns")
	given := map[string]string{}
	create := func(name, ip string, edit ...func(*corev1.Service)) {
		s := lbService(t, c, ns, name, edit...)
		s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip}}
		if err := c.Status().Update(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		given[name] = ip
	}
	tcp, udp := withPorts(port("dns", corev1.ProtocolTCP, 53)), withPorts(port("dns", corev1.ProtocolUDP, 53))
	create("app", "198.51.100.9")
	create("dns-tcp", "198.51.100.5", share, tcp)
	create("dns-udp", "198.51.100.5", share, udp)
	create("web-tcp", "198.51.100.6", tcp)
	create("web-udp", "198.51.100.6", udp)
	create("fixed", "198.51.100.7", func(s *corev1.Service) { s.Spec.LoadBalancerIP = "198.51.100.7" })

	// Not its class: a running pylon leaves them alone.
	keepAll(t, c, ns, given)
	waiting.Stop()

	// The switch: pylon restarts serving Services without a class.
	startController(t, env, controller.Options{}, false)
	waitEvent(t, c, ns, "Service", "web-udp", v1alpha1.ReasonIPConflict, "198.51.100.6")
	poll.Eventually(t, 50*time.Millisecond, 10*time.Second, "web-udp to get an address of its own", func() (bool, string) {
		got := ingress(t, c, ns, "web-udp")
		return len(got) == 1 && got[0] != "198.51.100.6", fmt.Sprint(got)
	})
	// web-tcp keeps the address: the older of the two (or, created in the
	// same second, the first by name).
	delete(given, "web-udp")
	keepAll(t, c, ns, given)
	for _, name := range []string{"app", "dns-tcp", "dns-udp", "web-tcp", "fixed"} {
		if n := countEvents(t, c, ns, "Service", name, v1alpha1.ReasonIPConflict); n != 0 {
			t.Errorf("%s: %d IPConflict events", name, n)
		}
	}
}

// keepAll checks for a while that each Service's status stays its address.
func keepAll(t *testing.T, c client.Client, ns string, want map[string]string) {
	t.Helper()
	consistently(t, time.Second, fmt.Sprintf("Services keep %v", want), func() (bool, string) {
		for name, ip := range want {
			if got := ingress(t, c, ns, name); len(got) != 1 || got[0] != ip {
				return false, fmt.Sprintf("%s has %v", name, got)
			}
		}
		return true, ""
	})
}
