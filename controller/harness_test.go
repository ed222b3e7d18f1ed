package controller_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/controller"
	"github.com/pylonlb/pylon/test/controllertest"
	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/gen"
	"github.com/pylonlb/pylon/test/poll"
)

const pylonNS = controllertest.Namespace

// startController runs pylon's controller against env until the test ends
// or Stop is called (controllertest.Start). With leaderElect, it takes the
// lease before working.
func startController(t *testing.T, env *envtest.Env, opts controller.Options, leaderElect bool) *controllertest.Running {
	t.Helper()
	return controllertest.Start(t, env, controllertest.Config{Options: opts, LeaderElect: leaderElect})
}

// ensureNamespace creates a namespace (with labels) for one scenario.
func ensureNamespace(t *testing.T, c client.Client, name string, labels map[string]string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := c.Create(t.Context(), ns); err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
}

// createPool creates an IPPool; edit may change it first.
func createPool(t *testing.T, c client.Client, name string, addrs []string, edit ...func(*v1alpha1.IPPool)) *v1alpha1.IPPool {
	t.Helper()
	p := gen.IPPool(name, append([]gen.IPPoolModifier{gen.Addresses(addrs...)}, edit...)...)
	if err := c.Create(t.Context(), p); err != nil {
		t.Fatalf("create IPPool %s: %v", name, err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), p) })
	// Configuration reaches the allocator asynchronously: wait until the
	// controller has written this pool's status, which it does after
	// putting the pool in force.
	poll.Eventually(t, 50*time.Millisecond, 10*time.Second, "IPPool "+name+" to be in force", func() (bool, string) {
		var got v1alpha1.IPPool
		if err := c.Get(t.Context(), client.ObjectKey{Name: name}, &got); err != nil {
			return false, err.Error()
		}
		return got.Status.ObservedGeneration == got.Generation, fmt.Sprintf("%+v", got.Status)
	})
	return p
}

// onlyNamespaces limits a pool to Services in these namespaces, which keeps
// scenarios that share the API server from taking each other's addresses.
func onlyNamespaces(ns ...string) func(*v1alpha1.IPPool) {
	return func(p *v1alpha1.IPPool) {
		if p.Spec.Allocation == nil {
			p.Spec.Allocation = &v1alpha1.IPPoolAllocation{}
		}
		p.Spec.Allocation.Namespaces = append(p.Spec.Allocation.Namespaces, ns...)
	}
}

// lbService creates a LoadBalancer Service on TCP port 80 (edit may change it).
func lbService(t *testing.T, c client.Client, ns, name string, edit ...func(*corev1.Service)) *corev1.Service {
	t.Helper()
	s := gen.Service(ns, name, append([]gen.ServiceModifier{gen.LoadBalancer(), gen.WithPort("http", 80), gen.WithSelector("app", name), gen.NoNodePorts()}, edit...)...)
	if err := c.Create(t.Context(), s); err != nil {
		t.Fatalf("create Service %s/%s: %v", ns, name, err)
	}
	return s
}

// ingress reads a Service's status addresses.
func ingress(t *testing.T, c client.Client, ns, name string) []string {
	t.Helper()
	var s corev1.Service
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		t.Fatalf("get Service %s/%s: %v", ns, name, err)
	}
	var out []string
	for _, in := range s.Status.LoadBalancer.Ingress {
		out = append(out, in.IP)
	}
	return out
}

// waitIngress waits until a Service's status shows exactly want.
func waitIngress(t *testing.T, c client.Client, ns, name string, want ...string) {
	t.Helper()
	poll.Eventually(t, 50*time.Millisecond, 10*time.Second, fmt.Sprintf("%s/%s to have %v", ns, name, want), func() (bool, string) {
		got := ingress(t, c, ns, name)
		return slices.Equal(got, want), fmt.Sprint(got)
	})
}

// consistently checks cond over a short while.
func consistently(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if ok, state := cond(); !ok {
			t.Fatalf("%s no longer holds: %s", what, state)
		}
	}
}

// events returns reason: note of every Event about the object, oldest first.
func events(t *testing.T, c client.Client, ns, kind, name string) []string {
	t.Helper()
	var list eventsv1.EventList
	if err := c.List(t.Context(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(list.Items, func(a, b eventsv1.Event) int { return a.EventTime.Compare(b.EventTime.Time) })
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Kind == kind && e.Regarding.Name == name {
			out = append(out, e.Reason+": "+e.Note)
		}
	}
	return out
}

// waitEvent waits for an event with this reason whose note holds fragment.
func waitEvent(t *testing.T, c client.Client, ns, kind, name, reason, fragment string) {
	t.Helper()
	poll.Eventually(t, 50*time.Millisecond, 10*time.Second, fmt.Sprintf("event %s on %s %s", reason, kind, name), func() (bool, string) {
		evs := events(t, c, ns, kind, name)
		for _, e := range evs {
			if strings.HasPrefix(e, reason+": ") && strings.Contains(e, fragment) {
				return true, ""
			}
		}
		return false, fmt.Sprint(evs)
	})
}

func countEvents(t *testing.T, c client.Client, ns, kind, name, reason string) int {
	n := 0
	for _, e := range events(t, c, ns, kind, name) {
		if strings.HasPrefix(e, reason+": ") {
			n++
		}
	}
	return n
}
