package controller_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/controller"
	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/gen"
	"github.com/pylonlb/pylon/test/poll"
)

// snapshot maps each Service of a namespace to its addresses and
// resourceVersion.
func snapshot(t *testing.T, c client.Client, ns string) map[string][2]string {
	t.Helper()
	var list corev1.ServiceList
	if err := c.List(t.Context(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	out := map[string][2]string{}
	for _, s := range list.Items {
		ip := ""
		for _, in := range s.Status.LoadBalancer.Ingress {
			ip += in.IP + " "
		}
		out[s.Name] = [2]string{ip, s.ResourceVersion}
	}
	return out
}

// createMany creates n Services named prefix-0.. in parallel.
func createMany(t *testing.T, c client.Client, ns, prefix string, n int) {
	t.Helper()
	var g errgroup.Group
	g.SetLimit(16)
	for i := range n {
		g.Go(func() error {
			s := gen.Service(ns, fmt.Sprintf("%s-%d", prefix, i), gen.LoadBalancer(), gen.WithPort("", 80), gen.NoNodePorts())
			if err := c.Create(t.Context(), s); err != nil {
				return fmt.Errorf("create Service %s/%s: %w", ns, s.Name, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

func allHaveIPs(t *testing.T, c client.Client, ns string, n int) func() (bool, string) {
	return func() (bool, string) {
		snap := snapshot(t, c, ns)
		have := 0
		seen := map[string]string{}
		for name, v := range snap {
			if v[0] != "" {
				have++
				if other, dup := seen[v[0]]; dup {
					return false, fmt.Sprintf("%s and %s both hold %s", name, other, v[0])
				}
				seen[v[0]] = name
			}
		}
		return have == n && len(snap) == n, fmt.Sprintf("%d of %d have addresses", have, len(snap))
	}
}

// TestRestartKeepsEveryAddress: a new controller rebuilds its state from the
// Services' status before it allocates anything, changes no existing
// address, writes no status (addresses, condition, pool annotation) that is
// already right, of an assigned or a waiting Service, and serves the
// Services created while it was down.
func TestRestartKeepsEveryAddress(t *testing.T) {
	env := envtest.Start(t)
	c := env.Client
	ensureNamespace(t, c, pylonNS, nil)
	// 450 of the 512 addresses of the two IPv4 documentation ranges.
	const ns, standing, whileDown = "restart", 400, 50
	ensureNamespace(t, c, ns, nil)

	first := startController(t, env, controller.Options{Workers: 4}, false)
	createPool(t, c, "restart", []string{"198.51.100.0/24", "203.0.113.0/24"}, onlyNamespaces(ns))
	createMany(t, c, ns, "s", standing)
	poll.Eventually(t, 50*time.Millisecond, 60*time.Second, "every standing Service to have an address", allHaveIPs(t, c, ns, standing))
	// Free a few low addresses, so that a controller that forgot what is
	// held would hand them out again.
	for i := range 5 {
		s := &corev1.Service{}
		s.Namespace, s.Name = ns, fmt.Sprintf("s-%d", i*(standing/5))
		if err := c.Delete(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	poll.Eventually(t, 50*time.Millisecond, 10*time.Second, "deletions", func() (bool, string) {
		n := len(snapshot(t, c, ns))
		return n == standing-5, fmt.Sprint(n)
	})
	poll.Eventually(t, 50*time.Millisecond, 10*time.Second, "one Allocated event per Service", func() (bool, string) {
		n := occurrences(t, c, ns, v1alpha1.ReasonAllocated)
		return n == standing, fmt.Sprint(n)
	})
	// Every Service records its answer (condition and pool annotation),
	// the waiting one too: the restart must write none of them again.
	const waitNS = "restart-wait"
	ensureNamespace(t, c, waitNS, nil)
	createPool(t, c, "restart-wait", []string{"192.0.2.0/32"}, onlyNamespaces(waitNS))
	lbService(t, c, waitNS, "has")
	lbService(t, c, waitNS, "waits")
	waitStanding(t, c, waitNS, "waits", metav1.ConditionFalse, v1alpha1.ReasonPoolExhausted, "-", "restart-wait")
	waitStanding(t, c, waitNS, "has", metav1.ConditionTrue, v1alpha1.ReasonAllocated, "restart-wait")
	poll.Eventually(t, 50*time.Millisecond, 10*time.Second, "every standing Service's condition and annotation", recorded(t, c, ns, "restart"))
	first.Stop()
	before := snapshot(t, c, ns)
	beforeWait := snapshot(t, c, waitNS)

	createMany(t, c, ns, "new", whileDown)
	writesBefore := serviceWrites(t, env)
	startController(t, env, controller.Options{Workers: 4}, false)
	poll.Eventually(t, 50*time.Millisecond, 30*time.Second, "the Services created while down to have addresses", allHaveIPs(t, c, ns, standing-5+whileDown))
	poll.Eventually(t, 50*time.Millisecond, 10*time.Second, "the new Services' condition and annotation", recorded(t, c, ns, "restart"))
	after := snapshot(t, c, ns)
	for name, was := range before {
		if after[name] != was {
			t.Errorf("%s changed across the restart: address+version %v -> %v", name, was, after[name])
		}
	}
	// The waiting Service is woken at start and still waits, for the same
	// reason: nothing to write.
	for name, was := range beforeWait {
		if now := snapshot(t, c, waitNS)[name]; now != was {
			t.Errorf("%s/%s changed across the restart: address+version %v -> %v", waitNS, name, was, now)
		}
	}
	// Nor a write that changes nothing (the API server keeps no trace of
	// it in the object): counted by the API server, one status write per
	// new Service and none else.
	time.Sleep(time.Second)
	if n := serviceWrites(t, env) - writesBefore; n != whileDown {
		t.Errorf("%d Service writes after the restart, want %d (one per Service created while down): standing Services were written again", n, whileDown)
	}
	// Events only on change: the new Services get one each, the standing
	// ones none. Events are sent asynchronously, so the count must also
	// stay put for a while.
	want := standing + whileDown
	poll.Eventually(t, 50*time.Millisecond, 10*time.Second, "Allocated events for the new Services", func() (bool, string) {
		n := occurrences(t, c, ns, v1alpha1.ReasonAllocated)
		return n >= want, fmt.Sprint(n)
	})
	time.Sleep(2 * time.Second)
	if n := occurrences(t, c, ns, v1alpha1.ReasonAllocated); n != want {
		t.Errorf("%d Allocated events after the restart, want %d: standing Services were told again", n, want)
	}
}

// recorded checks that every Service of ns has an address, the condition
// AddressAssigned=True and the pool annotation naming pool.
func recorded(t *testing.T, c client.Client, ns, pool string) func() (bool, string) {
	return func() (bool, string) {
		var list corev1.ServiceList
		if err := c.List(t.Context(), &list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		for _, s := range list.Items {
			cond := meta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionAddressAssigned)
			if len(s.Status.LoadBalancer.Ingress) == 0 || cond == nil || cond.Status != metav1.ConditionTrue || s.Annotations[v1alpha1.AnnotationIPAllocatedFromPool] != pool {
				return false, fmt.Sprintf("%s: %v, %s", s.Name, s.Status, s.Annotations)
			}
		}
		return true, ""
	}
}

// serviceWrites is how many write requests (create, update, patch, apply,
// delete; the Service or its status) the API server has answered for
// Services since it started, by its own metrics.
func serviceWrites(t *testing.T, env *envtest.Env) int {
	t.Helper()
	body, err := env.Kubectl(t.Context(), "get", "--raw", "/metrics")
	if err != nil {
		t.Fatalf("read the API server's metrics: %v: %s", err, body)
	}
	n := 0
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, "apiserver_request_total{") || !strings.Contains(line, `resource="services"`) {
			continue
		}
		for _, verb := range []string{"POST", "PUT", "PATCH", "APPLY", "DELETE"} {
			if strings.Contains(line, `verb="`+verb+`"`) {
				var v float64
				if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err != nil {
					t.Fatalf("metrics line %q: %v", line, err)
				}
				n += int(v)
			}
		}
	}
	return n
}

// occurrences counts the times an event with this reason was recorded in
// ns, series included.
func occurrences(t *testing.T, c client.Client, ns, reason string) int {
	t.Helper()
	var list eventsv1.EventList
	if err := c.List(t.Context(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range list.Items {
		if e.Reason != reason {
			continue
		}
		n++
		if e.Series != nil && e.Series.Count > 1 {
			n += int(e.Series.Count) - 1
		}
	}
	return n
}

// TestPoolEditNeverRenumbers: shrinking a pool so that a held address falls
// outside it keeps the address (with one warning event), and nobody else
// gets it.
func TestPoolEditNeverRenumbers(t *testing.T) {
	env := envtest.Start(t)
	c := env.Client
	ensureNamespace(t, c, pylonNS, nil)
	startController(t, env, controller.Options{}, false)
	const ns = "shrink"
	ensureNamespace(t, c, ns, nil)
	p := createPool(t, c, "shrink", []string{"198.51.100.0/29"}, onlyNamespaces(ns))
	lbService(t, c, ns, "a", gen.Annotated(controller.AnnotationIPs, "198.51.100.6"))
	waitIngress(t, c, ns, "a", "198.51.100.6")

	patch := client.MergeFrom(p.DeepCopy())
	p.Spec.Addresses = []v1alpha1.AddressRange{"198.51.100.0/30"}
	if err := c.Patch(t.Context(), p, patch); err != nil {
		t.Fatal(err)
	}
	// Another pass over the Service (a label change) must not renumber it.
	var s corev1.Service
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "a"}, &s); err != nil {
		t.Fatal(err)
	}
	sp := client.MergeFrom(s.DeepCopy())
	s.Labels = map[string]string{"touched": "yes"}
	if err := c.Patch(t.Context(), &s, sp); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, c, ns, "Service", "a", v1alpha1.ReasonOrphaned, "198.51.100.6 is no longer in any IPPool")
	consistently(t, 500*time.Millisecond, "a keeps 198.51.100.6", func() (bool, string) {
		got := ingress(t, c, ns, "a")
		return len(got) == 1 && got[0] == "198.51.100.6", fmt.Sprint(got)
	})
	if n := countEvents(t, c, ns, "Service", "a", v1alpha1.ReasonOrphaned); n != 1 {
		t.Errorf("%d orphan warnings, want exactly 1 (events on change only)", n)
	}
	if n := countEvents(t, c, ns, "Service", "a", v1alpha1.ReasonAllocated); n != 1 {
		t.Errorf("%d Allocated events, want 1", n)
	}
}

// TestLeaderChangeKeepsAddresses: of two replicas one works; when it stops,
// the other takes over with every address where it was.
func TestLeaderChangeKeepsAddresses(t *testing.T) {
	env := envtest.Start(t)
	c := env.Client
	ensureNamespace(t, c, pylonNS, nil)
	const ns = "ha"
	ensureNamespace(t, c, ns, nil)
	a := startController(t, env, controller.Options{}, true)
	<-a.Elected
	b := startController(t, env, controller.Options{}, true)
	createPool(t, c, "ha", []string{"198.51.100.0/29"}, onlyNamespaces(ns))
	lbService(t, c, ns, "one")
	waitIngress(t, c, ns, "one", "198.51.100.0")
	select {
	case <-b.Elected:
		t.Fatal("both replicas lead at once")
	default:
	}
	rv := snapshot(t, c, ns)["one"]

	a.Stop()
	select {
	case <-b.Elected:
	case <-time.After(15 * time.Second):
		t.Fatal("the standby did not take the lease")
	}
	lbService(t, c, ns, "two")
	waitIngress(t, c, ns, "two", "198.51.100.1")
	if got := snapshot(t, c, ns)["one"]; got != rv {
		t.Errorf("the first Service changed on leader change: %v -> %v", rv, got)
	}
}
