package e2e

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/pylonlb/pylon/controller"
	"github.com/pylonlb/pylon/test/gen"
	"github.com/pylonlb/pylon/test/knob"
	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// churnEvery is how often the churn creates a Service; churnLive is how
// many of them live at once (the oldest is deleted beyond).
const (
	churnEvery = 70 * time.Millisecond
	churnLive  = 50
)

// controllerKillLoop: 10 SIGKILLs of the controller while Services come
// and go (killLoop). No Service's address may change, no address be held
// by two Services, and every Service gets one once the loop ends.
func (f *faultLab) controllerKillLoop(t *testing.T) {
	r := killLoop(t, f.l, f.p, 10)
	t.Logf("controller SIGKILLed %d times during churn (%d Services created, %d deleted, %d standing): %d addresses changed, %d duplicates; every Service addressed %v after the last start",
		r.kills, r.created, r.deleted, r.standing, len(r.changed), len(r.dups), r.recovered.Round(time.Millisecond))
	r.check(t)
}

// BenchmarkControllerKillLoop SIGKILLs the controller PYLON_BENCH_KILLS
// times (default 100), each 0.3–2.5 s after it started, while 5,000
// Services stand (PYLON_BENCH_SERVICES) and others are created every
// 70 ms and deleted (50 live at once). It reports the addresses changed
// and duplicated (both must be 0; the benchmark fails otherwise), the
// Services churned, and how long after the last start every Service had an
// address.
//
// Run as root: go test -run '^$' -bench ControllerKillLoop -benchtime 1x -timeout 60m ./test/e2e/
func BenchmarkControllerKillLoop(b *testing.B) {
	kills := knob.Get(b, "PYLON_BENCH_KILLS", 100)
	n := knob.Get(b, "PYLON_BENCH_SERVICES", 5000)
	for b.Loop() {
		l := lab.Start(b, lab.Options{})
		p := startPylon(b, l)
		massServices(b, l, n)
		r := killLoop(b, l, p, kills)
		b.ReportMetric(float64(len(r.changed)), "addresses-changed")
		b.ReportMetric(float64(len(r.dups)), "duplicates")
		b.ReportMetric(float64(r.created), "churned")
		b.ReportMetric(r.recovered.Seconds(), "all-addressed-after-last-start-s")
		b.Logf("controller SIGKILLed %d times during churn (%d Services created, %d deleted, %d standing): %d addresses changed, %d duplicates; every Service addressed %v after the last start",
			r.kills, r.created, r.deleted, r.standing, len(r.changed), len(r.dups), r.recovered.Round(time.Millisecond))
		r.check(b)
	}
}

// killResult is what a kill loop saw.
type killResult struct {
	kills, created, deleted, standing int
	// changed lists Services whose address changed while they lived;
	// dups, addresses held by two Services at once.
	changed, dups []string
	recovered     time.Duration
	errs          []error
}

func (r killResult) check(t testing.TB) {
	t.Helper()
	if len(r.errs) > 0 {
		t.Errorf("errors during the churn: %v", r.errs[:min(5, len(r.errs))])
	}
	if len(r.changed) > 0 {
		t.Errorf("%d Services' addresses changed: %v", len(r.changed), r.changed[:min(10, len(r.changed))])
	}
	if len(r.dups) > 0 {
		t.Errorf("%d duplicate addresses: %v", len(r.dups), r.dups[:min(10, len(r.dups))])
	}
}

// killLoop SIGKILLs the controller kills times, each 0.3–2.5 s after it
// was started, while Services in namespace "churn" (IPv6, pool "churn")
// are created every churnEvery and deleted beyond churnLive. After each
// kill the leader Lease is deleted, as if it had expired: the new process
// takes it at once instead of after its 15 s (the dead holder cannot
// renew it). A watch on every Service records each address assigned: a
// Service whose address changes while it lives, or an address assigned
// while another Service holds it, is reported.
func killLoop(t testing.TB, l *lab.Lab, p *pylon, kills int) killResult {
	ctx := t.Context()
	create(t, l.Client, gen.IPPool("churn", gen.Addresses("2001:db8:51:0:2::/80")))
	create(t, l.Client, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "churn"}})
	w := watchAddresses(t, l)
	var res killResult
	w.mu.Lock()
	res.standing = len(w.cur)
	w.mu.Unlock()

	stop := make(chan struct{})
	var churn sync.WaitGroup
	churn.Add(1)
	go func() {
		defer churn.Done()
		var live []*corev1.Service
		tick := time.NewTicker(churnEvery)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			svc := lab.LoadBalancerService("churn", fmt.Sprintf("c-%05d", i), 80)
			single, noNodePorts := corev1.IPFamilyPolicySingleStack, false
			svc.Spec.IPFamilyPolicy, svc.Spec.IPFamilies = &single, []corev1.IPFamily{corev1.IPv6Protocol}
			svc.Spec.AllocateLoadBalancerNodePorts = &noNodePorts
			svc.Annotations = map[string]string{controller.AnnotationPool: "churn"}
			if err := l.Client.Create(ctx, svc); err != nil {
				res.errs = append(res.errs, err)
				continue
			}
			res.created++
			live = append(live, svc)
			if len(live) > churnLive {
				if err := l.Client.Delete(ctx, live[0]); err != nil {
					res.errs = append(res.errs, err)
				}
				res.deleted++
				live = live[1:]
			}
		}
	}()

	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: pylonNS, Name: "pylon-controller.pylonlb.io"}}
	var started time.Time
	for range kills {
		time.Sleep(time.Duration(300+rand.IntN(2200)) * time.Millisecond)
		if err := p.controller.Kill(); err != nil {
			t.Fatal(err)
		}
		res.kills++
		if err := l.Client.Delete(ctx, lease); err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		if err := p.controller.Start(); err != nil {
			t.Fatal(err)
		}
		started = time.Now()
	}
	close(stop)
	churn.Wait()
	poll.Eventually(t, 50*time.Millisecond, 3*time.Minute, "every Service to have an address", func() (bool, string) {
		var list corev1.ServiceList
		if err := l.Client.List(ctx, &list); err != nil {
			return false, err.Error()
		}
		var waiting []string
		for _, s := range list.Items {
			if s.Spec.Type == corev1.ServiceTypeLoadBalancer && len(s.Status.LoadBalancer.Ingress) == 0 {
				waiting = append(waiting, s.Namespace+"/"+s.Name)
			}
		}
		return len(waiting) == 0, fmt.Sprintf("%d waiting: %v", len(waiting), waiting[:min(5, len(waiting))])
	})
	res.recovered = time.Since(started)
	time.Sleep(time.Second) // the last events
	res.changed, res.dups = w.stop(t)
	return res
}

// addrWatch follows every Service's load-balancer addresses.
type addrWatch struct {
	w      watch.Interface
	done   chan struct{}
	mu     sync.Mutex
	cur    map[string][]string        // Service → its addresses now
	holder map[string]string          // address → the Service holding it
	seen   map[string]map[string]bool // Service → every address it ever had
	dups   []string
	broken string // the unexpected event that ended the watch
	// stopping is set before Stop.
	stopping atomic.Bool
}

// watchAddresses lists every Service and watches from there.
func watchAddresses(t testing.TB, l *lab.Lab) *addrWatch {
	cs, err := kubernetes.NewForConfig(l.API.Config)
	if err != nil {
		t.Fatal(err)
	}
	list, err := cs.CoreV1().Services("").List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a := &addrWatch{done: make(chan struct{}), cur: map[string][]string{}, holder: map[string]string{}, seen: map[string]map[string]bool{}}
	for i := range list.Items {
		a.apply(&list.Items[i], false)
	}
	if a.w, err = cs.CoreV1().Services("").Watch(t.Context(), metav1.ListOptions{ResourceVersion: list.ResourceVersion}); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(a.done)
		for ev := range a.w.ResultChan() {
			svc, ok := ev.Object.(*corev1.Service)
			if !ok {
				if a.stopping.Load() { // Stop ends the stream with an error event
					continue
				}
				a.mu.Lock()
				a.broken = fmt.Sprintf("%s %+v", ev.Type, ev.Object)
				a.mu.Unlock()
				continue
			}
			a.apply(svc, ev.Type == watch.Deleted)
		}
	}()
	return a
}

func (a *addrWatch) apply(svc *corev1.Service, deleted bool) {
	key := svc.Namespace + "/" + svc.Name
	var ips []string
	if !deleted {
		for _, in := range svc.Status.LoadBalancer.Ingress {
			ips = append(ips, in.IP)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ip := range a.cur[key] {
		if !slices.Contains(ips, ip) && a.holder[ip] == key {
			delete(a.holder, ip)
		}
	}
	if deleted {
		delete(a.cur, key)
		return
	}
	a.cur[key] = ips
	if a.seen[key] == nil {
		a.seen[key] = map[string]bool{}
	}
	for _, ip := range ips {
		a.seen[key][ip] = true
		if h, ok := a.holder[ip]; ok && h != key {
			a.dups = append(a.dups, fmt.Sprintf("%s held by %s and %s", ip, h, key))
			continue
		}
		a.holder[ip] = key
	}
}

// stop ends the watch and returns the Services whose address changed
// while they lived (more than one address per family ever) and the
// duplicates seen.
func (a *addrWatch) stop(t testing.TB) (changed, dups []string) {
	a.stopping.Store(true)
	a.w.Stop()
	<-a.done
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.broken != "" {
		t.Errorf("the Service watch ended early (%s): the kill loop's record is incomplete", a.broken)
	}
	for key, ips := range a.seen {
		if len(ips) > 2 || (len(ips) == 2 && sameFamily(ips)) {
			changed = append(changed, fmt.Sprintf("%s: %v", key, keys(ips)))
		}
	}
	slices.Sort(changed)
	return changed, a.dups
}

func sameFamily(ips map[string]bool) bool {
	v6 := 0
	for ip := range ips {
		for _, c := range ip {
			if c == ':' {
				v6++
				break
			}
		}
	}
	return v6 != 1
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
