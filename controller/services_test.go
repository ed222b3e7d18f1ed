package controller_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/controller"
	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/gen"
	"github.com/pylonlb/pylon/test/poll"
)

// TestController runs the scenarios against one real API server and one
// controller. Each scenario has its own namespace and pools limited to it.
func TestController(t *testing.T) {
	env := envtest.Start(t)
	c := env.Client
	ensureNamespace(t, c, pylonNS, nil)
	ctl := startController(t, env, controller.Options{}, false)

	t.Run("lowest free address of the first pool by priority, then name", func(t *testing.T) {
		ns := "prio"
		ensureNamespace(t, c, ns, nil)
		one := int32(1)
		createPool(t, c, "prio-b", []string{"198.51.100.0/29"}, onlyNamespaces(ns))
		createPool(t, c, "prio-a", []string{"198.51.100.8/29"}, onlyNamespaces(ns))
		createPool(t, c, "prio-first", []string{"198.51.100.16/30"}, onlyNamespaces(ns), func(p *v1alpha1.IPPool) { p.Spec.Allocation.Priority = &one })
		for i, want := range []string{"198.51.100.16", "198.51.100.17", "198.51.100.18", "198.51.100.19", "198.51.100.8"} {
			name := fmt.Sprintf("s%d", i)
			lbService(t, c, ns, name)
			waitIngress(t, c, ns, name, want)
		}
		waitEvent(t, c, ns, "Service", "s4", v1alpha1.ReasonAllocated, "198.51.100.8 (IPPool prio-a)")
	})

	t.Run("requested addresses: annotation, spec.loadBalancerIP, never stolen", func(t *testing.T) {
		ns := "req"
		ensureNamespace(t, c, ns, nil)
		createPool(t, c, "req", []string{"198.51.100.32/28"}, onlyNamespaces(ns))
		lbService(t, c, ns, "a", gen.Annotated(controller.AnnotationIPs, "198.51.100.40"))
		waitIngress(t, c, ns, "a", "198.51.100.40")
		lbService(t, c, ns, "b", func(s *corev1.Service) { s.Spec.LoadBalancerIP = "198.51.100.41" })
		waitIngress(t, c, ns, "b", "198.51.100.41")
		lbService(t, c, ns, "thief", gen.Annotated(controller.AnnotationIPs, "198.51.100.40"))
		waitEvent(t, c, ns, "Service", "thief", v1alpha1.ReasonIPConflict, "198.51.100.40")
		lbService(t, c, ns, "outside", gen.Annotated(controller.AnnotationIPs, "203.0.113.99"))
		waitEvent(t, c, ns, "Service", "outside", v1alpha1.ReasonIPNotInPool, "203.0.113.99")
		lbService(t, c, ns, "garbled", gen.Annotated(controller.AnnotationIPs, "198.51.100.300"))
		waitEvent(t, c, ns, "Service", "garbled", v1alpha1.ReasonInvalidRequest, controller.AnnotationIPs)
		consistently(t, 500*time.Millisecond, "a keeps its address and the others get none", func() (bool, string) {
			a, th, out := ingress(t, c, ns, "a"), ingress(t, c, ns, "thief"), ingress(t, c, ns, "outside")
			return slices.Equal(a, []string{"198.51.100.40"}) && th == nil && out == nil, fmt.Sprint(a, th, out)
		})
	})

	t.Run("pool by name; autoAssign false only by name; unknown pool", func(t *testing.T) {
		ns := "named"
		ensureNamespace(t, c, ns, nil)
		off := false
		createPool(t, c, "named-auto", []string{"198.51.100.48/30"}, onlyNamespaces(ns))
		createPool(t, c, "named-manual", []string{"198.51.100.52/30"}, onlyNamespaces(ns), func(p *v1alpha1.IPPool) { p.Spec.AutoAssign = &off })
		lbService(t, c, ns, "any")
		waitIngress(t, c, ns, "any", "198.51.100.48")
		lbService(t, c, ns, "manual", gen.Annotated(controller.AnnotationPool, "named-manual"))
		waitIngress(t, c, ns, "manual", "198.51.100.52")
		lbService(t, c, ns, "nowhere", gen.Annotated(controller.AnnotationPool, "no-such-pool"))
		waitEvent(t, c, ns, "Service", "nowhere", v1alpha1.ReasonPoolNotFound, "no-such-pool")
	})

	t.Run("sharing: same key and no port clash share; a clash gets its own", func(t *testing.T) {
		ns := "share"
		ensureNamespace(t, c, ns, nil)
		createPool(t, c, "share", []string{"198.51.100.64/30"}, onlyNamespaces(ns))
		lbService(t, c, ns, "web", gen.Annotated(controller.AnnotationSharing, "k"))
		waitIngress(t, c, ns, "web", "198.51.100.64")
		lbService(t, c, ns, "dns", gen.Annotated(controller.AnnotationSharing, "k"), func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53}}
		})
		waitIngress(t, c, ns, "dns", "198.51.100.64")
		lbService(t, c, ns, "web2", gen.Annotated(controller.AnnotationSharing, "k"))
		waitIngress(t, c, ns, "web2", "198.51.100.65")
		lbService(t, c, ns, "other-key", gen.Annotated(controller.AnnotationSharing, "j"), gen.Annotated(controller.AnnotationIPs, "198.51.100.64"),
			func(s *corev1.Service) { s.Spec.Ports[0].Port = 8080 })
		waitEvent(t, c, ns, "Service", "other-key", v1alpha1.ReasonIPConflict, "198.51.100.64")
	})

	t.Run("release on delete and on type change; B's deletion never moves A", func(t *testing.T) {
		ns := "release"
		ensureNamespace(t, c, ns, nil)
		createPool(t, c, "release", []string{"198.51.100.72/30"}, onlyNamespaces(ns))
		a := lbService(t, c, ns, "a")
		waitIngress(t, c, ns, "a", "198.51.100.72")
		b := lbService(t, c, ns, "b")
		waitIngress(t, c, ns, "b", "198.51.100.73")
		if err := c.Delete(t.Context(), a); err != nil {
			t.Fatal(err)
		}
		lbService(t, c, ns, "c")
		waitIngress(t, c, ns, "c", "198.51.100.72")
		patch := client.MergeFrom(b.DeepCopy())
		b.Spec.Type = corev1.ServiceTypeClusterIP
		b.Spec.AllocateLoadBalancerNodePorts = nil
		if err := c.Patch(t.Context(), b, patch); err != nil {
			t.Fatal(err)
		}
		waitIngress(t, c, ns, "b")
		lbService(t, c, ns, "d")
		waitIngress(t, c, ns, "d", "198.51.100.73")
		waitIngress(t, c, ns, "c", "198.51.100.72")
	})

	t.Run("exhausted pool: event, and the waiting Service gets the next freed address", func(t *testing.T) {
		ns := "exhaust"
		ensureNamespace(t, c, ns, nil)
		createPool(t, c, "exhaust", []string{"198.51.100.80/31"}, onlyNamespaces(ns))
		first := lbService(t, c, ns, "first")
		lbService(t, c, ns, "second")
		waitIngress(t, c, ns, "first", "198.51.100.80")
		waitIngress(t, c, ns, "second", "198.51.100.81")
		lbService(t, c, ns, "third")
		waitEvent(t, c, ns, "Service", "third", v1alpha1.ReasonPoolExhausted, "exhaust")
		if err := c.Delete(t.Context(), first); err != nil {
			t.Fatal(err)
		}
		waitIngress(t, c, ns, "third", "198.51.100.80")
	})

	t.Run("load-balancer class: a classed Service is not ours", func(t *testing.T) {
		ns := "class"
		ensureNamespace(t, c, ns, nil)
		createPool(t, c, "class", []string{"198.51.100.88/30"}, onlyNamespaces(ns))
		other := "example.com/other"
		lbService(t, c, ns, "theirs", func(s *corev1.Service) { s.Spec.LoadBalancerClass = &other })
		lbService(t, c, ns, "ours")
		waitIngress(t, c, ns, "ours", "198.51.100.88")
		consistently(t, 300*time.Millisecond, "the classed Service gets nothing", func() (bool, string) {
			got := ingress(t, c, ns, "theirs")
			return got == nil, fmt.Sprint(got)
		})
	})

	t.Run("dual stack: Require, Prefer (family added later), ipFamilies order", func(t *testing.T) {
		ns := "dual"
		ensureNamespace(t, c, ns, nil)
		createPool(t, c, "dual-v4", []string{"198.51.100.96/30"}, onlyNamespaces(ns))
		require, prefer := corev1.IPFamilyPolicyRequireDualStack, corev1.IPFamilyPolicyPreferDualStack
		lbService(t, c, ns, "prefer", func(s *corev1.Service) { s.Spec.IPFamilyPolicy = &prefer })
		waitIngress(t, c, ns, "prefer", "198.51.100.96")
		// Waiting for one family: the condition says so and which address
		// it has meanwhile.
		waitStanding(t, c, ns, "prefer", metav1.ConditionFalse, v1alpha1.ReasonNoPool, "dual-v4", "IPv6", "it has 198.51.100.96 (IPPool dual-v4)")
		lbService(t, c, ns, "require", func(s *corev1.Service) { s.Spec.IPFamilyPolicy = &require })
		waitEvent(t, c, ns, "Service", "require", v1alpha1.ReasonNoPool, "IPv6")
		if got := ingress(t, c, ns, "require"); got != nil {
			t.Fatalf("RequireDualStack got %v with no IPv6 pool", got)
		}
		createPool(t, c, "dual-v6", []string{"2001:db8:10::/120"}, onlyNamespaces(ns))
		waitIngress(t, c, ns, "prefer", "198.51.100.96", "2001:db8:10::")
		waitIngress(t, c, ns, "require", "198.51.100.97", "2001:db8:10::1")
		lbService(t, c, ns, "v6first", func(s *corev1.Service) {
			s.Spec.IPFamilyPolicy = &require
			s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol, corev1.IPv4Protocol}
		})
		waitIngress(t, c, ns, "v6first", "2001:db8:10::2", "198.51.100.98")
		// Two pools: both names, in the order of the addresses.
		waitStanding(t, c, ns, "prefer", metav1.ConditionTrue, v1alpha1.ReasonAllocated, "dual-v4,dual-v6")
		waitStanding(t, c, ns, "v6first", metav1.ConditionTrue, v1alpha1.ReasonAllocated, "dual-v6,dual-v4", "2001:db8:10::2 (IPPool dual-v6), 198.51.100.98 (IPPool dual-v4)")
	})

	t.Run("pool status counts and conditions; overlapping pool marked and unused", func(t *testing.T) {
		ns := "status"
		ensureNamespace(t, c, ns, nil)
		createPool(t, c, "status-a-old", []string{"203.0.113.0/30", "2001:db8:20::/64"}, onlyNamespaces(ns))
		lbService(t, c, ns, "a")
		waitIngress(t, c, ns, "a", "203.0.113.0")
		poll.Eventually(t, 50*time.Millisecond, 10*time.Second, "status-a-old counts", func() (bool, string) {
			var p v1alpha1.IPPool
			_ = c.Get(t.Context(), client.ObjectKey{Name: "status-a-old"}, &p)
			st := p.Status
			ok := st.IPv4 != nil && st.IPv4.Total == "4" && st.IPv4.Allocated == 1 && st.IPv4.Available == "3" &&
				st.IPv6 != nil && st.IPv6.Total == "18446744073709551616" && st.Allocated == 1 &&
				st.Available == "18446744073709551619" && meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionReady)
			return ok, fmt.Sprintf("%+v %+v %+v", st, st.IPv4, st.IPv6)
		})
		// Creation times have one-second resolution; within a second the
		// name decides, so these names agree with the ages either way.
		createPool(t, c, "status-b-new", []string{"203.0.113.2/31"}, onlyNamespaces(ns))
		poll.Eventually(t, 50*time.Millisecond, 10*time.Second, "status-b-new marked Overlapping", func() (bool, string) {
			var p v1alpha1.IPPool
			_ = c.Get(t.Context(), client.ObjectKey{Name: "status-b-new"}, &p)
			return meta.IsStatusConditionTrue(p.Status.Conditions, v1alpha1.ConditionOverlapping) &&
				meta.IsStatusConditionFalse(p.Status.Conditions, v1alpha1.ConditionReady), fmt.Sprintf("%+v", p.Status.Conditions)
		})
		waitEvent(t, c, "default", "IPPool", "status-b-new", "Overlapping", "status-a-old")
		lbService(t, c, ns, "b", gen.Annotated(controller.AnnotationPool, "status-b-new"))
		waitEvent(t, c, ns, "Service", "b", v1alpha1.ReasonIPNotAllowed, "")
	})

	t.Run("namespace and service selectors", func(t *testing.T) {
		ensureNamespace(t, c, "sel-team", map[string]string{"team": "edge"})
		ensureNamespace(t, c, "sel-other", nil)
		createPool(t, c, "sel", []string{"203.0.113.16/30"}, func(p *v1alpha1.IPPool) {
			p.Spec.Allocation = &v1alpha1.IPPoolAllocation{
				NamespaceSelector: &v1alpha1.LabelSelector{MatchLabels: map[string]v1alpha1.LabelValue{"team": "edge"}},
				ServiceSelector:   &v1alpha1.LabelSelector{MatchLabels: map[string]v1alpha1.LabelValue{"expose": "yes"}},
			}
		})
		labelled := func(s *corev1.Service) { s.Labels = map[string]string{"expose": "yes"} }
		lbService(t, c, "sel-team", "in", labelled)
		waitIngress(t, c, "sel-team", "in", "203.0.113.16")
		lbService(t, c, "sel-team", "unlabelled")
		lbService(t, c, "sel-other", "elsewhere", labelled)
		waitEvent(t, c, "sel-team", "Service", "unlabelled", v1alpha1.ReasonNoPool, "")
		waitEvent(t, c, "sel-other", "Service", "elsewhere", v1alpha1.ReasonNoPool, "")
	})

	t.Run("metrics per pool and family, failures by reason", func(t *testing.T) {
		gather := func() map[string]float64 {
			families, err := ctl.Registry.Gather()
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]float64{}
			for _, mf := range families {
				for _, m := range mf.GetMetric() {
					key := mf.GetName()
					for _, l := range m.GetLabel() {
						key += "," + l.GetName() + "=" + l.GetValue()
					}
					got[key] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
				}
			}
			return got
		}
		const exhausted = "pylon_allocation_failures_total,reason=PoolExhausted"
		before := gather()[exhausted]
		ns := "metrics"
		ensureNamespace(t, c, ns, nil)
		createPool(t, c, "metrics", []string{"203.0.113.24/29", "2001:db8:30::/64"}, onlyNamespaces(ns))
		createPool(t, c, "metrics-tiny", []string{"203.0.113.32/32"}, onlyNamespaces(ns), func(p *v1alpha1.IPPool) {
			off := false
			p.Spec.AutoAssign = &off
		})
		lbService(t, c, ns, "m")
		waitIngress(t, c, ns, "m", "203.0.113.24")
		lbService(t, c, ns, "tiny-1", gen.Annotated(controller.AnnotationPool, "metrics-tiny"))
		waitIngress(t, c, ns, "tiny-1", "203.0.113.32")
		lbService(t, c, ns, "tiny-2", gen.Annotated(controller.AnnotationPool, "metrics-tiny"))
		waitEvent(t, c, ns, "Service", "tiny-2", v1alpha1.ReasonPoolExhausted, "metrics-tiny")
		// Releases elsewhere wake tiny-2 again; it fails again, silently.
		for i := range 3 {
			s := lbService(t, c, ns, fmt.Sprintf("churn-%d", i))
			waitIngress(t, c, ns, s.Name, "203.0.113.25")
			if err := c.Delete(t.Context(), s); err != nil {
				t.Fatal(err)
			}
			poll.Eventually(t, 50*time.Millisecond, 10*time.Second, "release", func() (bool, string) {
				return gather()["pylon_pool_addresses_in_use,family=ipv4,pool=metrics"] == 1, ""
			})
		}
		got := gather()
		if d := got[exhausted] - before; d != 1 {
			t.Errorf("PoolExhausted counted %v times for one waiting Service, want 1 (on change, not per retry)", d)
		}
		want := map[string]float64{
			"pylon_pool_addresses,family=ipv4,pool=metrics":             8,
			"pylon_pool_addresses_in_use,family=ipv4,pool=metrics":      1,
			"pylon_pool_addresses,family=ipv6,pool=metrics":             18446744073709551616,
			"pylon_pool_addresses_in_use,family=ipv6,pool=metrics":      0,
			"pylon_pool_addresses_in_use,family=ipv4,pool=metrics-tiny": 1,
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %v, want %v", k, got[k], v)
			}
		}
		// A configuration problem is counted while it lasts.
		const overlapping = "pylon_config_problems,kind=IPPool,reason=Overlapping"
		if n := gather()[overlapping]; n != 0 {
			t.Fatalf("%s = %v before any overlap", overlapping, n)
		}
		over := createPool(t, c, "metrics-overlap", []string{"203.0.113.28/30"}, onlyNamespaces(ns))
		poll.Eventually(t, 50*time.Millisecond, 10*time.Second, overlapping+" = 1", func() (bool, string) {
			n := gather()[overlapping]
			return n == 1, fmt.Sprint(n)
		})
		if err := c.Delete(t.Context(), over); err != nil {
			t.Fatal(err)
		}
		poll.Eventually(t, 50*time.Millisecond, 10*time.Second, overlapping+" gone", func() (bool, string) {
			n, ok := gather()[overlapping]
			return !ok, fmt.Sprint(n)
		})

		// Names and types by Prometheus' conventions (promlint): counters
		// end in _total, nothing else does.
		families, err := ctl.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		families = slices.DeleteFunc(families, func(mf *dto.MetricFamily) bool { return !strings.HasPrefix(mf.GetName(), "pylon_") })
		if len(families) < 3 {
			t.Fatalf("%d pylon metric families gathered, want at least 3", len(families))
		}
		problems, err := promlint.NewWithMetricFamilies(families).Lint()
		if err != nil {
			t.Fatal(err)
		}
		if len(problems) > 0 {
			t.Errorf("promlint: %v", problems)
		}
	})
}
