package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// limitPool is where the plain client's addresses come from: outside the
// benchmark pool, so they can never be mistaken for the controller's.
const limitPool = "2001:db8:b1::"

// phaseAPILimit measures the API server's own pace for the writes the
// controller makes when it serves a backlog: with no controller running,
// a plain client sends each Service the status patch the controller sends
// (address, condition, pool annotation in one strategic merge patch to the
// status endpoint), at each concurrency in o.limitLevels, then at the best
// one again with an Event for each Service as well (the controller's second
// write). Each level patches every Service with new addresses, so every
// request is a real write.
func (b *bench) phaseAPILimit(ctx context.Context, rep *report) error {
	const ph = "API limit"
	ns, mk := b.fresh(b.o.n)
	logf("API limit: creating %d Services with no controller running", len(ns))
	times, err := b.load.apply(ctx, mk)
	if err != nil {
		return err
	}
	rep.info(ph, fmt.Sprintf("%d creates, %d clients", len(ns), b.o.clients), secs(lastEnd(times).Sub(firstStart(times))))
	best, bestRate := 0, 0.0
	for i, c := range b.o.limitLevels {
		rate, err := b.patchAll(ctx, ns, i, c, false, rep)
		if err != nil {
			return err
		}
		if rate > bestRate {
			best, bestRate = c, rate
		}
	}
	rep.info(ph, "best concurrency, status patches alone", fmt.Sprintf("%d: %.0f Services a second", best, bestRate))
	if _, err := b.patchAll(ctx, ns, len(b.o.limitLevels), best, true, rep); err != nil {
		return err
	}
	return nil
}

// patchAll patches every Service in ns from c concurrent clients with the
// addresses of round and reports the rate.
func (b *bench) patchAll(ctx context.Context, ns []string, round, c int, events bool, rep *report) (float64, error) {
	s0, err := b.measure(ctx)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	err = fanOut(ctx, c, len(ns), func(ctx context.Context, i int) error {
		return b.patchOne(ctx, ns[i], limitAddr(round, i), events)
	})
	took := time.Since(start)
	if err != nil {
		return 0, err
	}
	s1, err := b.measure(ctx)
	if err != nil {
		return 0, err
	}
	if wrong := b.notPatched(ctx, ns, round); len(wrong) > 0 {
		rep.check("API limit", fmt.Sprintf("round %d: every Service shows the address it was sent", round), wrong)
		return 0, errStop
	}
	rate := float64(len(ns)) / took.Seconds()
	what := "status patch"
	if events {
		what = "status patch + Event"
	}
	rep.info("API limit", fmt.Sprintf("%s, %d concurrent: Services a second (%d in %s)", what, c, len(ns), secs(took)), fmt.Sprintf("%.0f; CPU %s", rate, cpu(s0, s1)))
	logf("API limit: %s at concurrency %d: %.0f a second", what, c, rate)
	return rate, nil
}

// limitAddr is Service i's address in round: distinct for every pair, and
// never the prefix's first address.
func limitAddr(round, i int) netip.Addr {
	i++
	a := netip.MustParseAddr(limitPool).As16()
	a[8], a[9] = byte(round>>8), byte(round)
	a[12], a[13], a[14], a[15] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
	return netip.AddrFrom16(a)
}

// patchOne sends Service name the controller's status patch, and an Event
// when events is set.
func (b *bench) patchOne(ctx context.Context, name string, ip netip.Addr, events bool) error {
	patch := map[string]any{
		"metadata": map[string]any{"annotations": map[string]string{v1alpha1.AnnotationIPAllocatedFromPool: "bench"}},
		"status": map[string]any{
			"loadBalancer": map[string]any{"ingress": []map[string]string{{"ip": ip.String()}}},
			"conditions": []metav1.Condition{{
				Type: v1alpha1.ConditionAddressAssigned, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonAllocated,
				Message: "bench", LastTransitionTime: metav1.Now(),
			}},
		},
	}
	body, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	svc, err := b.cs.CoreV1().Services(benchNS).Patch(ctx, name, types.StrategicMergePatchType, body, metav1.PatchOptions{}, "status")
	if err != nil {
		return fmt.Errorf("patch status of Service %s: %w", name, err)
	}
	if !events {
		return nil
	}
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{GenerateName: name + ".", Namespace: benchNS},
		InvolvedObject: corev1.ObjectReference{Kind: "Service", APIVersion: "v1", Namespace: benchNS, Name: name, UID: svc.UID, ResourceVersion: svc.ResourceVersion},
		Reason:         v1alpha1.ReasonAllocated, Message: "bench " + ip.String(), Type: corev1.EventTypeNormal,
		Source:         corev1.EventSource{Component: "pylon-bench-alloc"},
		FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now(), Count: 1,
	}
	if _, err := b.cs.CoreV1().Events(benchNS).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create Event for Service %s: %w", name, err)
	}
	return nil
}

// notPatched lists the Services of ns that do not show round's address:
// the rate counts only writes that took.
func (b *bench) notPatched(ctx context.Context, ns []string, round int) []string {
	list, err := b.cs.CoreV1().Services(benchNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		return []string{"list Services: " + err.Error()}
	}
	shows := make(map[string]string, len(list.Items))
	for _, svc := range list.Items {
		if in := svc.Status.LoadBalancer.Ingress; len(in) == 1 {
			shows[svc.Name] = in[0].IP
		}
	}
	var wrong []string
	for i, n := range ns {
		if want := limitAddr(round, i).String(); shows[n] != want {
			wrong = append(wrong, fmt.Sprintf("Service %s shows %q, was sent %s", n, shows[n], want))
		}
	}
	return wrong
}
