package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/config"
	"github.com/pylonlb/pylon/test/gen"
	"github.com/pylonlb/pylon/test/knob"
	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
	"github.com/pylonlb/pylon/test/procfs"
)

// BenchmarkBGPRoutes measures, on three nodes peering with the lab's FRR
// (BIRD 2 with PYLON_BENCH_ROUTER=bird, benchRouter):
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
	name, router := benchRouter(b)
	for b.Loop() {
		l := lab.Start(b, lab.Options{NodeASN: nodeASN, Router: router})
		p := startPylon(b, l)
		bgpConfig(b, l)
		waitSessions(b, l, 2)
		lat := latency(b, l, 40)
		b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99-ms")
		after := scale(b, l, n)
		b.ReportMetric(after.Seconds(), "routes-after-last-ip-s")
		peak, cpu := speakersUsage(b, p)
		b.ReportMetric(peak, "speaker-peak-MiB")
		b.ReportMetric(cpu, "speaker-cpu-s")
		b.Logf("router %s: create to route p50 %v, p99 %v; %d Services routed %v after the last assignment; speaker peak RSS %.1f MiB, CPU %.1f s",
			name, lat[len(lat)/2], lat[len(lat)*99/100], n, after, peak, cpu)
	}
}

// benchRouter reads PYLON_BENCH_ROUTER, the lab router of the BGP
// benchmarks: "frr" (the default) or "bird". It returns the name and
// lab.Options.Router for it.
func benchRouter(b *testing.B) (name, router string) {
	name = knob.Choice(b, "PYLON_BENCH_ROUTER", "frr", lab.RouterBIRD)
	if name == lab.RouterBIRD {
		router = lab.RouterBIRD
	}
	return name, router
}

// latency creates count Services one after the other, each with a ready
// endpoint on every node, and returns the sorted create-to-route times:
// the Service's address read from the API server and the router's kernel
// routes in turn every 10 ms until the address is routed over every node.
// It does not wait for kube-proxy as service does (WaitProgrammed: about
// a second), which the route does not depend on.
func latency(b *testing.B, l *lab.Lab, count int) []time.Duration {
	var out []time.Duration
	for i := range count {
		svc := lab.LoadBalancerService("default", fmt.Sprintf("lat-%d", i), 80)
		began := time.Now()
		create(b, l.Client, svc)
		if err := l.SetEndpoints(b.Context(), svc, lab.ReadyOn(nodeNames(l)...)...); err != nil {
			b.Fatal(err)
		}
		poll.Eventually(b, 10*time.Millisecond, 10*time.Second, svc.Name+" routed over every node", func() (bool, string) {
			if err := l.Client.Get(b.Context(), client.ObjectKeyFromObject(svc), svc); err != nil {
				return false, err.Error()
			}
			ips := config.IngressIPs(svc)
			if len(ips) == 0 {
				return false, "no address yet"
			}
			routes, err := l.Router.KernelRoutes(b.Context())
			if err != nil {
				return false, err.Error()
			}
			hops := routes[netip.PrefixFrom(ips[0], ips[0].BitLen())]
			return len(hops) == len(l.Nodes), fmt.Sprint(ips[0], " via ", hops)
		})
		out = append(out, time.Since(began))
	}
	slices.Sort(out)
	return out
}

// scale creates n single-stack IPv6 Services advertised over BGP and
// returns how long after the last address assignment every address is
// routed over all three nodes.
func scale(b *testing.B, l *lab.Lab, n int) time.Duration {
	create(b, l.Client, gen.BGPAdvertisement("scale", gen.BGPPools("scale")))
	lastIP := massServices(b, l, n)
	poll.Eventually(b, 100*time.Millisecond, 5*time.Minute, fmt.Sprintf("all %d addresses routed", n), func() (bool, string) {
		routed := routedOverAll(b, l, 3)
		return routed >= n, fmt.Sprintf("%d of %d routed", routed, n)
	})
	after := time.Since(lastIP)
	b.Logf("%d addresses assigned; all routed %v after the last assignment", n, after)
	return after
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
	create(b, l.Client, gen.IPPool("scale", gen.Addresses("2001:db8:51:0:1::/80")))
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
	var g errgroup.Group
	g.SetLimit(32)
	for i := range n {
		g.Go(func() error {
			svc := lab.LoadBalancerService(ns, fmt.Sprintf("s-%05d", i), 80)
			gen.SingleStack(corev1.IPv6Protocol)(svc)
			gen.NoNodePorts()(svc) // the NodePort range holds fewer
			if err := l.Client.Create(ctx, svc); err != nil {
				return err
			}
			return l.SetEndpoints(ctx, svc, lab.ReadyOn(nodes...)...)
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d Services and EndpointSlices created", n)
	var lastIP time.Time
	poll.Eventually(b, 100*time.Millisecond, 5*time.Minute, fmt.Sprintf("all %d Services assigned", n), func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		lastIP = last
		return len(assigned) == n, fmt.Sprintf("%d of %d assigned", len(assigned), n)
	})
	return lastIP
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

// speakersUsage reads the largest peak RSS (MiB) and CPU time (seconds)
// among pylon's speakers.
func speakersUsage(b *testing.B, p *pylon) (peakMiB, cpuSeconds float64) {
	for _, sp := range p.speakers {
		rss, err := procfs.PeakRSS(sp.PID())
		if err != nil {
			b.Fatal(err)
		}
		st, err := procfs.ReadStat(sp.PID())
		if err != nil {
			b.Fatal(err)
		}
		peakMiB, cpuSeconds = max(peakMiB, float64(rss)/(1<<20)), max(cpuSeconds, st.CPU.Seconds())
	}
	return peakMiB, cpuSeconds
}
