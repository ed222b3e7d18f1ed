package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// tracker watches the benchmark's Services and records, as the watch
// delivers them, when each first shows an address, when each is seen
// deleted, and any address that moves, is held by two Services at once, or
// first shows without pylon's condition and pool annotation.
//
// One watch carries every Service in resourceVersion order, and the
// controller only gives out an address after it has seen its previous
// holder's deletion, so at no point of this view may two live Services
// show the same address.
type tracker struct {
	mu sync.Mutex
	// svcs are the live Services by name.
	svcs map[string]*tracked
	// owner is the Service showing each address.
	owner map[string]string
	// gone is when each deleted Service's deletion was seen.
	gone map[string]time.Time
	// problems are correctness failures, in the order seen.
	problems []string
}

// tracked is one live Service.
type tracked struct {
	// ips are its status.loadBalancer.ingress addresses, comma-joined.
	ips string
	// firstIP is when it was first seen with an address.
	firstIP time.Time
}

func newTracker() *tracker {
	return &tracker{svcs: map[string]*tracked{}, owner: map[string]string{}, gone: map[string]time.Time{}}
}

// run watches the Services of namespace until ctx ends; it returns once the
// watch's first list is in.
func (t *tracker) run(ctx context.Context, cs kubernetes.Interface, namespace string) error {
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(namespace))
	inf := f.Core().V1().Services().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { t.observe(obj) },
		UpdateFunc: func(_, obj any) { t.observe(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if svc, ok := obj.(*corev1.Service); ok {
				t.deleted(svc.Name)
			}
		},
	}); err != nil {
		return err
	}
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return errors.New("the Service watch did not sync")
	}
	return nil
}

func (t *tracker) observe(obj any) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return
	}
	now := time.Now()
	var ips []string
	for _, in := range svc.Status.LoadBalancer.Ingress {
		ips = append(ips, in.IP)
	}
	joined := strings.Join(ips, ",")

	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.svcs[svc.Name]
	if s == nil {
		s = &tracked{}
		t.svcs[svc.Name] = s
	}
	if s.ips == joined {
		return
	}
	if s.ips != "" {
		t.problemf("Service %s's address moved from %q to %q", svc.Name, s.ips, joined)
		t.releaseLocked(svc.Name, s.ips)
	}
	for _, ip := range ips {
		if o, held := t.owner[ip]; held && o != svc.Name {
			t.problemf("address %s shown by Service %s while Service %s still shows it", ip, svc.Name, o)
		}
		t.owner[ip] = svc.Name
	}
	if joined != "" && s.firstIP.IsZero() {
		s.firstIP = now
		// The address, pylon's condition and the pool annotation come in
		// one status write.
		if !meta.IsStatusConditionTrue(svc.Status.Conditions, v1alpha1.ConditionAddressAssigned) || svc.Annotations[v1alpha1.AnnotationIPAllocatedFromPool] == "" {
			t.problemf("Service %s showed its address %s without condition %s=True and annotation %s", svc.Name, joined, v1alpha1.ConditionAddressAssigned, v1alpha1.AnnotationIPAllocatedFromPool)
		}
	}
	s.ips = joined
}

func (t *tracker) deleted(name string) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.svcs[name]; s != nil {
		t.releaseLocked(name, s.ips)
	}
	delete(t.svcs, name)
	t.gone[name] = now
}

func (t *tracker) releaseLocked(name, ips string) {
	for ip := range strings.SplitSeq(ips, ",") {
		if t.owner[ip] == name {
			delete(t.owner, ip)
		}
	}
}

func (t *tracker) problemf(format string, args ...any) {
	t.problems = append(t.problems, fmt.Sprintf(format, args...))
}

// Problems returns the correctness failures seen so far.
func (t *tracker) Problems() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.problems...)
}

// snapshot returns the addresses each live Service shows now.
func (t *tracker) snapshot() map[string]string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]string, len(t.svcs))
	for name, s := range t.svcs {
		out[name] = s.ips
	}
	return out
}

// firstIPs returns, for each name, when it was first seen with an address
// (zero: not yet).
func (t *tracker) firstIPs(names []string) []time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]time.Time, len(names))
	for i, n := range names {
		if s := t.svcs[n]; s != nil {
			out[i] = s.firstIP
		}
	}
	return out
}

// converged is the outcome of waiting for a set of Services.
type converged struct {
	// at is when the last of them was seen converged (zero when some
	// never were).
	at time.Time
	// first is when the first Service in withIP got its address.
	first time.Time
	// missing counts those that did not converge.
	missing int
}

// wait polls until every Service in withIP shows an address and every one
// in goneNames is seen deleted, or until deadline. The times it reports are
// the watch's, not the poll's.
func (t *tracker) wait(ctx context.Context, withIP, goneNames []string, deadline time.Time) converged {
	for {
		c := t.check(withIP, goneNames)
		if c.missing == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return c
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (t *tracker) check(withIP, goneNames []string) converged {
	t.mu.Lock()
	defer t.mu.Unlock()
	var c converged
	seen := func(at time.Time) {
		if at.After(c.at) {
			c.at = at
		}
	}
	for _, n := range withIP {
		s := t.svcs[n]
		if s == nil || s.firstIP.IsZero() {
			c.missing++
			continue
		}
		seen(s.firstIP)
		if c.first.IsZero() || s.firstIP.Before(c.first) {
			c.first = s.firstIP
		}
	}
	for _, n := range goneNames {
		at, ok := t.gone[n]
		if !ok {
			c.missing++
			continue
		}
		seen(at)
	}
	if c.missing > 0 {
		c.at = time.Time{}
	}
	return c
}

// duplicates scans the live Services for an address shown by two.
func (t *tracker) duplicates() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	by := map[string]string{}
	var out []string
	for name, s := range t.svcs {
		if s.ips == "" {
			continue
		}
		for ip := range strings.SplitSeq(s.ips, ",") {
			if o, ok := by[ip]; ok {
				out = append(out, fmt.Sprintf("address %s shown by Services %s and %s", ip, o, name))
			}
			by[ip] = name
		}
	}
	return out
}

// moved compares the live Services named in before with what they showed
// then.
func (t *tracker) moved(before map[string]string, names []string) []string {
	now := t.snapshot()
	var out []string
	for _, n := range names {
		if got, ok := now[n]; !ok {
			out = append(out, fmt.Sprintf("standing Service %s is gone", n))
		} else if got != before[n] {
			out = append(out, fmt.Sprintf("standing Service %s: address %q, was %q", n, got, before[n]))
		}
	}
	return out
}
