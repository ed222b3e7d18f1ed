package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pylonlb/pylon/test/gen"

	"golang.org/x/sync/errgroup"
)

// benchNS is the namespace of the benchmark's Services.
const benchNS = "pylon-bench"

// op is one request: create or delete the Service name (of family v4 or
// not).
type op struct {
	name string
	del  bool
	v4   bool
}

// timing is when one request was sent and when its answer came.
type timing struct{ start, end time.Time }

// loader sends requests from a fixed number of concurrent clients.
type loader struct {
	cs      kubernetes.Interface
	clients int
}

// apply sends ops, clients at a time, in order of the slice, and returns
// when each finished. It stops at the first error.
func (l *loader) apply(ctx context.Context, ops []op) (map[string]timing, error) {
	var (
		mu    sync.Mutex
		times = make(map[string]timing, len(ops))
	)
	err := fanOut(ctx, l.clients, len(ops), func(ctx context.Context, i int) error {
		start := time.Now()
		err := l.do(ctx, ops[i])
		end := time.Now()
		mu.Lock()
		times[ops[i].name] = timing{start, end}
		mu.Unlock()
		return err
	})
	return times, err
}

// fanOut calls do for 0 to n-1 in order, at most clients at a time, and
// stops at the first error, which it returns (or ctx's, when ctx ends).
func fanOut(ctx context.Context, clients, n int, do func(ctx context.Context, i int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(clients)
	for i := 0; i < n && gctx.Err() == nil; i++ {
		g.Go(func() error { return do(gctx, i) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

func (l *loader) do(ctx context.Context, o op) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	svcs := l.cs.CoreV1().Services(benchNS)
	if o.del {
		if err := svcs.Delete(ctx, o.name, metav1.DeleteOptions{}); err != nil {
			return fmt.Errorf("delete Service %s: %w", o.name, err)
		}
		return nil
	}
	if _, err := svcs.Create(ctx, service(o.name, o.v4), metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create Service %s: %w", o.name, err)
	}
	return nil
}

// service is a single-stack LoadBalancer Service, IPv6 unless v4, with one
// TCP port and no node ports.
func service(name string, v4 bool) *corev1.Service {
	family := corev1.IPv6Protocol
	if v4 {
		family = corev1.IPv4Protocol
	}
	return gen.Service(benchNS, name, gen.LoadBalancer(), gen.Labelled("app.kubernetes.io/part-of", "pylon-bench"), gen.NoNodePorts(),
		gen.SingleStack(family), gen.WithSelector("app", name), gen.WithPort("http", 80))
}

// names returns count Service names from first on: svc-000000, ... Names
// sort in creation order, so Services made later come last in a LIST and in
// a restarted controller's initial queue (the worst case for them).
func names(first, count int) []string {
	out := make([]string, count)
	for i := range out {
		out[i] = fmt.Sprintf("svc-%06d", first+i)
	}
	return out
}

// fresh names count new Services and returns the requests that create
// them; with -family mixed every fourth Service by number is IPv4.
func (b *bench) fresh(count int) ([]string, []op) {
	ns := names(b.next, count)
	ops := make([]op, len(ns))
	for i, n := range ns {
		ops[i] = op{name: n, v4: b.o.family == "v4" || b.o.family == "mixed" && (b.next+i)%4 == 0}
	}
	b.next += count
	return ns, ops
}

// lastEnd is when the last of times finished.
func lastEnd(times map[string]timing) time.Time {
	var t time.Time
	for _, tm := range times {
		if tm.end.After(t) {
			t = tm.end
		}
	}
	return t
}

// firstStart is when the first of times started.
func firstStart(times map[string]timing) time.Time {
	var t time.Time
	for _, tm := range times {
		if t.IsZero() || tm.start.Before(t) {
			t = tm.start
		}
	}
	return t
}
