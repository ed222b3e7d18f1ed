package controller_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/controller"
	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/poll"
)

// getPool reads an IPPool.
func getPool(t *testing.T, c client.Client, name string) *v1alpha1.IPPool {
	t.Helper()
	var p v1alpha1.IPPool
	if err := c.Get(t.Context(), client.ObjectKey{Name: name}, &p); err != nil {
		t.Fatalf("get IPPool %s: %v", name, err)
	}
	return &p
}

// TestRejectedEditKeepsWhatWasInForce: an IPPool edit that pylon rejects
// (two ranges that overlap: the API server cannot tell, config.Parse can)
// leaves the accepted generation in force, in this controller and in one
// that starts afterwards, and the status says which generation that is.
func TestRejectedEditKeepsWhatWasInForce(t *testing.T) {
	env := envtest.Start(t)
	c := env.Client
	ensureNamespace(t, c, pylonNS, nil)
	ns := "kept"
	ensureNamespace(t, c, ns, nil)
	ctl := startController(t, env, controller.Options{}, false)

	createPool(t, c, "kept", []string{"198.51.100.64-198.51.100.71"}, onlyNamespaces(ns))
	lbService(t, c, ns, "s1")
	waitIngress(t, c, ns, "s1", "198.51.100.64")

	// Generation 2: overlapping ranges.
	pool := getPool(t, c, "kept")
	patch := client.MergeFrom(pool.DeepCopy()) // no resourceVersion check: status writes race with it
	pool.Spec.Addresses = []v1alpha1.AddressRange{"198.51.100.64-198.51.100.71", "198.51.100.70-198.51.100.90"}
	if err := c.Patch(t.Context(), pool, patch); err != nil {
		t.Fatal(err)
	}
	pool = waitPoolCondition(t, c, "kept", v1alpha1.ConditionReady, metav1.ConditionFalse,
		"generation 2 is rejected", "spec.addresses[1]", "generation 1 stays in force")
	if in := pool.Status.InForce; in == nil || in.Generation != 1 || !strings.Contains(string(in.Spec.Raw), "198.51.100.64-198.51.100.71") {
		t.Fatalf("status.inForce = %+v, want generation 1 and its spec", in)
	}
	if pool.Status.IPv4 == nil || pool.Status.IPv4.Total != "8" || pool.Status.Allocated != 1 {
		t.Errorf("counts must be those of generation 1: %+v", pool.Status)
	}
	waitEvent(t, c, "default", "IPPool", "kept", "InvalidSpec", "spec.addresses[1]")

	// The pool stays usable: a new Service gets the next address.
	lbService(t, c, ns, "s2")
	waitIngress(t, c, ns, "s2", "198.51.100.65")

	// A controller that starts now finds generation 1 in the status.
	ctl.Stop()
	startController(t, env, controller.Options{}, false)
	lbService(t, c, ns, "s3")
	waitIngress(t, c, ns, "s3", "198.51.100.66")
	waitIngress(t, c, ns, "s1", "198.51.100.64")

	// Fixed: generation 3 is in force.
	pool = getPool(t, c, "kept")
	patch = client.MergeFrom(pool.DeepCopy())
	pool.Spec.Addresses = []v1alpha1.AddressRange{"198.51.100.64-198.51.100.90"}
	if err := c.Patch(t.Context(), pool, patch); err != nil {
		t.Fatal(err)
	}
	pool = waitPoolCondition(t, c, "kept", v1alpha1.ConditionReady, metav1.ConditionTrue, "in force")
	if in := pool.Status.InForce; in == nil || in.Generation != 3 {
		t.Fatalf("status.inForce = %+v, want generation 3", in)
	}

	// Deleted: gone, and its Services keep their addresses (nothing is
	// renumbered by a pool going away).
	if err := c.Delete(t.Context(), pool); err != nil {
		t.Fatal(err)
	}
	lbService(t, c, ns, "s4")
	waitEvent(t, c, ns, "Service", "s4", v1alpha1.ReasonNoPool, "")
	waitIngress(t, c, ns, "s1", "198.51.100.64")
}

// TestOneFailingStepBlocksNothing: with pylon's namespace not created yet,
// the memberlist key Secret cannot be created; pool status is written all
// the same, the failure is an event and a metric, and once the namespace
// exists the retry creates the Secret.
func TestOneFailingStepBlocksNothing(t *testing.T) {
	env := envtest.Start(t)
	c := env.Client
	ensureNamespace(t, c, pylonNS, nil) // for the tests' own cache options
	const later = "pylon-later"
	ctl := startController(t, env, controller.Options{Namespace: later, KeySecret: "pylon-memberlist"}, false)

	createPool(t, c, "steps", []string{"203.0.113.0/28"}) // waits for its status
	p := getPool(t, c, "steps")
	if p.Status.IPv4 == nil || p.Status.IPv4.Total != "16" || meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady) == nil {
		t.Fatalf("pool status incomplete: %+v", p.Status)
	}
	waitEvent(t, c, "default", "Namespace", later, controller.ReasonStepFailed, "memberlist key Secret")
	poll.Eventually(t, 50*time.Millisecond, 10*time.Second, "the step failure metric", func() (bool, string) {
		v := counterValue(t, ctl.Registry, "pylon_controller_step_failures_total", "step", controller.StepKeySecret)
		return v >= 1, fmt.Sprint(v)
	})

	ensureNamespace(t, c, later, nil)
	poll.Eventually(t, 50*time.Millisecond, 30*time.Second, "the key Secret, created by a retry", func() (bool, string) {
		var s corev1.Secret
		err := c.Get(t.Context(), client.ObjectKey{Namespace: later, Name: "pylon-memberlist"}, &s)
		return err == nil, fmt.Sprint(err)
	})
}

// counterValue reads one labelled counter from a registry (0 when absent).
func counterValue(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
