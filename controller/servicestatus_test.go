package controller_test

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/controller"
	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/gen"
	"github.com/pylonlb/pylon/test/poll"
)

// standing reads what a Service's object records of pylon's answer: its
// condition (nil when absent) and its pool annotation ("-" when absent).
func standing(t *testing.T, c client.Client, ns, name string) (*metav1.Condition, string) {
	t.Helper()
	var s corev1.Service
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		t.Fatalf("get Service %s/%s: %v", ns, name, err)
	}
	pools, ok := s.Annotations[v1alpha1.AnnotationIPAllocatedFromPool]
	if !ok {
		pools = "-"
	}
	return meta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionAddressAssigned), pools
}

// describeStanding writes a condition and annotation for a failure message.
func describeStanding(cond *metav1.Condition, pools string) string {
	if cond == nil {
		return "no condition, annotation " + pools
	}
	return fmt.Sprintf("%s %s %q, annotation %s", cond.Status, cond.Reason, cond.Message, pools)
}

// waitStanding waits until the Service's condition has this status and
// reason and a message holding every fragment, and its pool annotation is
// pools ("-": absent).
func waitStanding(t *testing.T, c client.Client, ns, name string, status metav1.ConditionStatus, reason, pools string, fragments ...string) {
	t.Helper()
	poll.Eventually(t, 50*time.Millisecond, 10*time.Second, fmt.Sprintf("%s/%s to stand %s %s, annotation %s", ns, name, status, reason, pools), func() (bool, string) {
		cond, got := standing(t, c, ns, name)
		if cond == nil || cond.Status != status || cond.Reason != reason || got != pools {
			return false, describeStanding(cond, got)
		}
		for _, f := range fragments {
			if !strings.Contains(cond.Message, f) {
				return false, describeStanding(cond, got)
			}
		}
		return true, ""
	})
}

// waitNoStanding waits until the Service carries neither pylon's condition
// nor its pool annotation.
func waitNoStanding(t *testing.T, c client.Client, ns, name string) {
	t.Helper()
	poll.Eventually(t, 50*time.Millisecond, 10*time.Second, ns+"/"+name+" to lose pylon's condition and annotation", func() (bool, string) {
		cond, pools := standing(t, c, ns, name)
		return cond == nil && pools == "-", describeStanding(cond, pools)
	})
}

// updates counts the updates of one Service that the API server tells a
// watch from now on (its creation not included).
func updates(t *testing.T, env *envtest.Env, ns, name string) func() int {
	t.Helper()
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	w, err := wc.Watch(t.Context(), &corev1.ServiceList{}, client.InNamespace(ns), client.MatchingFields{"metadata.name": name})
	if err != nil {
		t.Fatalf("watch Service %s/%s: %v", ns, name, err)
	}
	t.Cleanup(w.Stop)
	var n atomic.Int32
	go func() {
		for ev := range w.ResultChan() {
			if ev.Type == watch.Modified {
				n.Add(1)
			}
		}
	}()
	return func() int { return int(n.Load()) }
}

// setCondition writes pylon's condition on a Service as another writer
// would (True, Allocated, with this message).
func setCondition(t *testing.T, c client.Client, ns, name, message string) {
	t.Helper()
	var s corev1.Service
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(s.DeepCopy())
	meta.SetStatusCondition(&s.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionAddressAssigned, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonAllocated, Message: message})
	if err := c.Status().Patch(t.Context(), &s, patch); err != nil {
		t.Fatalf("write the condition of Service %s/%s: %v", ns, name, err)
	}
}

// patchPool sets an IPPool's addresses.
func patchPool(t *testing.T, c client.Client, name string, addrs ...string) {
	t.Helper()
	var p v1alpha1.IPPool
	if err := c.Get(t.Context(), client.ObjectKey{Name: name}, &p); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(p.DeepCopy())
	p.Spec.Addresses = nil
	for _, a := range addrs {
		p.Spec.Addresses = append(p.Spec.Addresses, v1alpha1.AddressRange(a))
	}
	if err := c.Patch(t.Context(), &p, patch); err != nil {
		t.Fatalf("patch IPPool %s: %v", name, err)
	}
}

// TestServiceStatusLasts: against a real API server, the controller records
// on each Service it serves whether it has its addresses, from which pool,
// and if not why (condition pylonlb.io/AddressAssigned, annotation
// pylonlb.io/ip-allocated-from-pool), in the status write that sets the
// addresses; the record follows pool edits and the Service's own changes,
// and comes back when someone removes it.
func TestServiceStatusLasts(t *testing.T) {
	env := envtest.Start(t)
	c := env.Client
	ensureNamespace(t, c, pylonNS, nil)
	startController(t, env, controller.Options{}, false)

	t.Run("assigned: address, condition and annotation in one write", func(t *testing.T) {
		ns := "rec-one"
		ensureNamespace(t, c, ns, nil)
		createPool(t, c, "rec-one", []string{"198.51.100.0/30"}, onlyNamespaces(ns))
		n := updates(t, env, ns, "a")
		lbService(t, c, ns, "a")
		waitIngress(t, c, ns, "a", "198.51.100.0")
		waitStanding(t, c, ns, "a", metav1.ConditionTrue, v1alpha1.ReasonAllocated, "rec-one", "assigned 198.51.100.0 (IPPool rec-one)")
		poll.Eventually(t, 50*time.Millisecond, 5*time.Second, "the watch to see the write", func() (bool, string) { return n() >= 1, fmt.Sprint(n()) })
		consistently(t, time.Second, "one update of the Service", func() (bool, string) { return n() == 1, fmt.Sprint(n()) })
	})

	t.Run("waiting: the condition says why; a pool edit that makes room assigns it", func(t *testing.T) {
		ns := "rec-wait"
		ensureNamespace(t, c, ns, nil)
		createPool(t, c, "rec-wait", []string{"198.51.100.8/32"}, onlyNamespaces(ns))
		lbService(t, c, ns, "first")
		waitIngress(t, c, ns, "first", "198.51.100.8")
		lbService(t, c, ns, "second")
		waitStanding(t, c, ns, "second", metav1.ConditionFalse, v1alpha1.ReasonPoolExhausted, "-", "rec-wait")
		waitEvent(t, c, ns, "Service", "second", v1alpha1.ReasonPoolExhausted, "rec-wait")
		cond, _ := standing(t, c, ns, "second")
		if evs := events(t, c, ns, "Service", "second"); !slices.Contains(evs, cond.Reason+": "+cond.Message) {
			t.Errorf("the condition says %q, the events %q: they must agree", cond.Message, evs)
		}
		patchPool(t, c, "rec-wait", "198.51.100.8/31")
		waitIngress(t, c, ns, "second", "198.51.100.9")
		waitStanding(t, c, ns, "second", metav1.ConditionTrue, v1alpha1.ReasonAllocated, "rec-wait", "198.51.100.9 (IPPool rec-wait)")
	})

	t.Run("asking for a full pool: the address goes and the condition follows", func(t *testing.T) {
		ns := "rec-move"
		ensureNamespace(t, c, ns, nil)
		createPool(t, c, "rec-move-a", []string{"198.51.100.16/31"}, onlyNamespaces(ns))
		createPool(t, c, "rec-move-b", []string{"198.51.100.20/32"}, onlyNamespaces(ns), func(p *v1alpha1.IPPool) { p.Spec.AutoAssign = new(bool) })
		lbService(t, c, ns, "holder", gen.Annotated(controller.AnnotationPool, "rec-move-b"))
		waitIngress(t, c, ns, "holder", "198.51.100.20")
		lbService(t, c, ns, "mover")
		waitStanding(t, c, ns, "mover", metav1.ConditionTrue, v1alpha1.ReasonAllocated, "rec-move-a")
		editService(t, c, ns, "mover", gen.Annotated(controller.AnnotationPool, "rec-move-b"))
		waitIngress(t, c, ns, "mover")
		waitStanding(t, c, ns, "mover", metav1.ConditionFalse, v1alpha1.ReasonPoolExhausted, "-", "rec-move-b")
		// Another full pool: the same reason, a new message.
		createPool(t, c, "rec-move-c", []string{"198.51.100.21/32"}, onlyNamespaces(ns), func(p *v1alpha1.IPPool) { p.Spec.AutoAssign = new(bool) })
		lbService(t, c, ns, "holder-c", gen.Annotated(controller.AnnotationPool, "rec-move-c"))
		waitIngress(t, c, ns, "holder-c", "198.51.100.21")
		editService(t, c, ns, "mover", gen.Annotated(controller.AnnotationPool, "rec-move-c"))
		waitStanding(t, c, ns, "mover", metav1.ConditionFalse, v1alpha1.ReasonPoolExhausted, "-", "rec-move-c")
	})

	t.Run("a pool edit leaves the address outside every pool: condition and annotation follow, the address stays", func(t *testing.T) {
		ns := "rec-orphan"
		ensureNamespace(t, c, ns, nil)
		createPool(t, c, "rec-orphan", []string{"198.51.100.24/30"}, onlyNamespaces(ns))
		lbService(t, c, ns, "o", gen.Annotated(controller.AnnotationIPs, "198.51.100.27"))
		waitStanding(t, c, ns, "o", metav1.ConditionTrue, v1alpha1.ReasonAllocated, "rec-orphan")
		// Nothing touches the Service: the pool edit alone must bring the
		// record up to date.
		patchPool(t, c, "rec-orphan", "198.51.100.24/31")
		waitStanding(t, c, ns, "o", metav1.ConditionTrue, v1alpha1.ReasonOrphaned, "-", "198.51.100.27 is no longer in any IPPool")
		waitIngress(t, c, ns, "o", "198.51.100.27")
		patchPool(t, c, "rec-orphan", "198.51.100.24/30")
		waitStanding(t, c, ns, "o", metav1.ConditionTrue, v1alpha1.ReasonAllocated, "rec-orphan", "198.51.100.27 (IPPool rec-orphan)")
	})

	t.Run("a removed or edited annotation is put back, with no event", func(t *testing.T) {
		ns := "rec-restore"
		ensureNamespace(t, c, ns, nil)
		createPool(t, c, "rec-restore", []string{"198.51.100.32/30"}, onlyNamespaces(ns))
		lbService(t, c, ns, "r")
		waitStanding(t, c, ns, "r", metav1.ConditionTrue, v1alpha1.ReasonAllocated, "rec-restore")
		editService(t, c, ns, "r", func(s *corev1.Service) { delete(s.Annotations, v1alpha1.AnnotationIPAllocatedFromPool) })
		waitStanding(t, c, ns, "r", metav1.ConditionTrue, v1alpha1.ReasonAllocated, "rec-restore")
		editService(t, c, ns, "r", gen.Annotated(v1alpha1.AnnotationIPAllocatedFromPool, "elsewhere"))
		waitStanding(t, c, ns, "r", metav1.ConditionTrue, v1alpha1.ReasonAllocated, "rec-restore")
		waitIngress(t, c, ns, "r", "198.51.100.32")
		if n := countEvents(t, c, ns, "Service", "r", v1alpha1.ReasonAllocated); n != 1 {
			t.Errorf("%d Allocated events, want 1", n)
		}
	})

	t.Run("a malformed request: condition False, the address kept", func(t *testing.T) {
		ns := "rec-bad"
		ensureNamespace(t, c, ns, nil)
		createPool(t, c, "rec-bad", []string{"198.51.100.36/30"}, onlyNamespaces(ns))
		lbService(t, c, ns, "b")
		waitStanding(t, c, ns, "b", metav1.ConditionTrue, v1alpha1.ReasonAllocated, "rec-bad")
		editService(t, c, ns, "b", gen.Annotated(controller.AnnotationIPs, "198.51.100.300"))
		waitStanding(t, c, ns, "b", metav1.ConditionFalse, v1alpha1.ReasonInvalidRequest, "rec-bad", controller.AnnotationIPs, "it keeps [198.51.100.36]")
		waitIngress(t, c, ns, "b", "198.51.100.36")
		editService(t, c, ns, "b", func(s *corev1.Service) { delete(s.Annotations, controller.AnnotationIPs) })
		waitStanding(t, c, ns, "b", metav1.ConditionTrue, v1alpha1.ReasonAllocated, "rec-bad", "198.51.100.36")
	})

	t.Run("no longer a LoadBalancer: condition, annotation and address go", func(t *testing.T) {
		ns := "rec-release"
		ensureNamespace(t, c, ns, nil)
		createPool(t, c, "rec-release", []string{"198.51.100.40/32"}, onlyNamespaces(ns))
		lbService(t, c, ns, "x")
		waitStanding(t, c, ns, "x", metav1.ConditionTrue, v1alpha1.ReasonAllocated, "rec-release")
		lbService(t, c, ns, "waiting")
		waitStanding(t, c, ns, "waiting", metav1.ConditionFalse, v1alpha1.ReasonPoolExhausted, "-")
		other := "example.com/other"
		// "waiting" first: x's release would hand it the address.
		for _, name := range []string{"waiting", "x"} {
			editService(t, c, ns, name, func(s *corev1.Service) {
				s.Spec.Type = corev1.ServiceTypeClusterIP
				s.Spec.AllocateLoadBalancerNodePorts = nil
			})
		}
		waitIngress(t, c, ns, "x")
		waitNoStanding(t, c, ns, "x")
		waitNoStanding(t, c, ns, "waiting")
		// A record left on a Service that is no LoadBalancer (say, changed
		// while no controller ran) goes: no class serves it.
		clusterIP := func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeClusterIP
			s.Spec.AllocateLoadBalancerNodePorts = nil
		}
		lbService(t, c, ns, "stale", clusterIP, gen.Annotated(v1alpha1.AnnotationIPAllocatedFromPool, "rec-release"))
		setCondition(t, c, ns, "stale", "left by an earlier controller")
		waitNoStanding(t, c, ns, "stale")
		// A LoadBalancer of another class may be another pylon's: its
		// record is left alone.
		lbService(t, c, ns, "theirs", func(s *corev1.Service) { s.Spec.LoadBalancerClass = &other })
		setCondition(t, c, ns, "theirs", "the other controller's")
		consistently(t, 500*time.Millisecond, "the other class's condition stays", func() (bool, string) {
			cond, pools := standing(t, c, ns, "theirs")
			return cond != nil && cond.Message == "the other controller's", describeStanding(cond, pools)
		})
	})
}
