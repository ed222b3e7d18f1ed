package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/test/knob"
	"github.com/pylonlb/pylon/test/lab"
)

// BenchmarkBGPRoutes measures, on three nodes peering with the lab's FRR:
//
//   - latency: Services created one at a time (with a ready endpoint on
//     every node); the time from the create call until the router's kernel
//     routes the address over all three nodes, controller allocation
//     included. Reported as p50-ms and p99-ms.
//   - scale: 5,000 Services created at once (PYLON_BENCH_SERVICES to
//     change); the time from the last address assignment until the router
//     routes every one over all three nodes (routes-after-last-ip-s), and
//     the speakers' peak RSS (speaker-peak-MiB).
//
// Run as root: go test -run '^$' -bench BGPRoutes -benchtime 1x ./test/e2e/
func BenchmarkBGPRoutes(b *testing.B) {
	n := knob.Get(b, "PYLON_BENCH_SERVICES", 5000)
	for b.Loop() {
		l := lab.Start(b, lab.Options{NodeASN: nodeASN})
		p := startPylon(b, l)
		bgpConfig(b, l)
		waitSessions(b, l, 2)
		lat := latency(b, l, 40)
		b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99-ms")
		after := scale(b, l, n)
		b.ReportMetric(after.Seconds(), "routes-after-last-ip-s")
		var peak int
		var cpu float64
		for _, sp := range p.speakers {
			peak = max(peak, vmHWM(b, sp.PID()))
			cpu = max(cpu, cpuSeconds(b, sp.PID()))
		}
		b.ReportMetric(float64(peak)/1024, "speaker-peak-MiB")
		b.ReportMetric(cpu, "speaker-cpu-s")
		b.Logf("create to route p50 %v, p99 %v; %d Services routed %v after the last assignment; speaker peak RSS %.1f MiB, CPU %.1f s",
			lat[len(lat)/2], lat[len(lat)*99/100], n, after, float64(peak)/1024, cpu)
	}
}

// latency creates count Services one after the other and returns the
// sorted create-to-route times.
func latency(b *testing.B, l *lab.Lab, count int) []time.Duration {
	var out []time.Duration
	for i := range count {
		began := time.Now()
		_, ips := service(b, l, fmt.Sprintf("lat-%d", i), false)
		waitNextHops(b, l, ips[0], 10*time.Second, "n1", "n2", "n3")
		out = append(out, time.Since(began))
	}
	slices.Sort(out)
	return out
}

// scale creates n single-stack IPv6 Services advertised over BGP and
// returns how long after the last address assignment every address is
// routed over all three nodes.
func scale(b *testing.B, l *lab.Lab, n int) time.Duration {
	create(b, l.Client, &v1alpha1.BGPAdvertisement{
		ObjectMeta: metav1.ObjectMeta{Name: "scale"},
		Spec:       v1alpha1.BGPAdvertisementSpec{IPPools: []v1alpha1.ObjectName{"scale"}},
	})
	lastIP := massServices(b, l, n)
	deadline := time.Now().Add(5 * time.Minute)
	for {
		if routed := routedOverAll(b, l, 3); routed >= n {
			after := time.Since(lastIP)
			b.Logf("%d addresses assigned; all routed %v after the last assignment", n, after)
			return after
		}
		if time.Now().After(deadline) {
			b.Fatalf("after 5 minutes: %d of %d routed", routedOverAll(b, l, 3), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// massServices creates an IPPool "scale" and n single-stack IPv6
// LoadBalancer Services in namespace "scale" from 32 clients, each with a
// ready endpoint on every node; it waits until every one has an address
// and returns when the last was assigned.
func massServices(b *testing.B, l *lab.Lab, n int) time.Time {
	ctx := b.Context()
	cs, err := kubernetes.NewForConfig(l.API.Config)
	if err != nil {
		b.Fatal(err)
	}
	const ns = "scale"
	create(b, l.Client, &v1alpha1.IPPool{
		ObjectMeta: metav1.ObjectMeta{Name: "scale"},
		Spec:       v1alpha1.IPPoolSpec{Addresses: []v1alpha1.AddressRange{"2001:db8:51:0:1::/80"}},
	})
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	// Watch for assignments: the time each Service first shows an address.
	w, err := cs.CoreV1().Services(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	assigned := map[string]netip.Addr{}
	var last time.Time
	go func() {
		for ev := range w.ResultChan() {
			svc, ok := ev.Object.(*corev1.Service)
			if !ok || ev.Type == watch.Deleted || len(svc.Status.LoadBalancer.Ingress) == 0 {
				continue
			}
			mu.Lock()
			if _, seen := assigned[svc.Name]; !seen {
				assigned[svc.Name] = netip.MustParseAddr(svc.Status.LoadBalancer.Ingress[0].IP)
				last = time.Now()
			}
			mu.Unlock()
		}
	}()
	defer w.Stop()

	var nodes []string
	for _, nd := range l.Nodes {
		nodes = append(nodes, nd.Name)
	}
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			svc := lab.LoadBalancerService(ns, fmt.Sprintf("s-%05d", i), 80)
			single, noNodePorts := corev1.IPFamilyPolicySingleStack, false
			svc.Spec.IPFamilyPolicy, svc.Spec.IPFamilies = &single, []corev1.IPFamily{corev1.IPv6Protocol}
			svc.Spec.AllocateLoadBalancerNodePorts = &noNodePorts // the NodePort range holds fewer
			if err := l.Client.Create(ctx, svc); err != nil {
				errs <- err
				return
			}
			if err := l.SetEndpoints(ctx, svc, lab.ReadyOn(nodes...)...); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.Logf("%d Services and EndpointSlices created", n)
	deadline := time.Now().Add(5 * time.Minute)
	for {
		mu.Lock()
		done, lastIP := len(assigned), last
		mu.Unlock()
		if done == n {
			return lastIP
		}
		if time.Now().After(deadline) {
			b.Fatalf("after 5 minutes: %d of %d assigned", done, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// routedOverAll counts the router's IPv6 host routes in the lab pool with
// ways next hops.
func routedOverAll(b *testing.B, l *lab.Lab, ways int) int {
	ctx, cancel := context.WithTimeout(b.Context(), 30*time.Second)
	defer cancel()
	routes, err := l.Router.KernelRoutes(ctx)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for p, hops := range routes {
		if p.Addr().Is6() && p.IsSingleIP() && lab.PoolV6.Contains(p.Addr()) && len(hops) == ways {
			n++
		}
	}
	return n
}

// vmHWM reads a process's peak resident set in KiB.
func vmHWM(b *testing.B, pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, err := strconv.Atoi(f[1])
			if err != nil {
				b.Fatal(err)
			}
			return kb
		}
	}
	b.Fatalf("no VmHWM for pid %d", pid)
	return 0
}

// cpuSeconds reads the CPU time (user and system) a process has used.
func cpuSeconds(b *testing.B, pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command name, which is in parentheses and may
	// hold spaces: state is the first, utime the 12th, stime the 13th.
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(f) < 13 {
		b.Fatalf("short /proc/%d/stat", pid)
	}
	var ticks float64
	for _, s := range f[11:13] {
		n, err := strconv.ParseFloat(s, 64)
		if err != nil {
			b.Fatal(err)
		}
		ticks += n
	}
	return ticks / 100 // USER_HZ
}
