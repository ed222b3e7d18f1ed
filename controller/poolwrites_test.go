package controller_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/fields"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/controller"
	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/poll"
)

// TestPoolStatusWritesCoalesced: through a burst of new Services the pool's
// counts are written at most once per coalescing delay (250 ms), not once
// per allocation, and the controller's own status write does not wake
// another pass (it used to: a write every 10–30 ms, as fast as the API
// server answered, beside the Services' own writes).
func TestPoolStatusWritesCoalesced(t *testing.T) {
	env := envtest.Start(t)
	c := env.Client
	ensureNamespace(t, c, pylonNS, nil)
	const ns, n = "coalesce", 300
	ensureNamespace(t, c, ns, nil)
	startController(t, env, controller.Options{Workers: 4}, false)
	createPool(t, c, "coalesce", []string{"198.51.100.0/24", "203.0.113.0/24"}, onlyNamespaces(ns))

	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	w, err := wc.Watch(t.Context(), &v1alpha1.IPPoolList{}, client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("metadata.name", "coalesce")})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var writes atomic.Int64
	go func() {
		for range w.ResultChan() {
			writes.Add(1)
		}
	}()
	time.Sleep(300 * time.Millisecond) // the watch's initial ADDED comes and goes
	writes.Store(0)

	start := time.Now()
	createMany(t, c, ns, "s", n)
	poll.Eventually(t, 50*time.Millisecond, 60*time.Second, "every Service to have an address", allHaveIPs(t, c, ns, n))
	poll.Eventually(t, 50*time.Millisecond, 10*time.Second, "the pool's status to count every address", func() (bool, string) {
		var p v1alpha1.IPPool
		if err := c.Get(t.Context(), client.ObjectKey{Name: "coalesce"}, &p); err != nil {
			return false, err.Error()
		}
		return p.Status.Allocated == n, fmt.Sprintf("allocated %d", p.Status.Allocated)
	})
	took := time.Since(start)
	// One write per 250 ms of the burst, and a few for its edges.
	bound := int64(took/(250*time.Millisecond)) + 4
	if got := writes.Load(); got > bound {
		t.Errorf("%d writes of the pool's status in the %v the burst of %d Services took; want at most %d (one per 250 ms)", got, took.Round(time.Millisecond), n, bound)
	} else {
		t.Logf("%d writes of the pool's status in %v (bound %d)", got, took.Round(time.Millisecond), bound)
	}
}
