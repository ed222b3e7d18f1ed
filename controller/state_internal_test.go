package controller

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// TestWakeUpsAreNeverDropped: however many Services wait for an address, a
// configuration change wakes every one of them (a bounded channel used to
// drop all beyond 1,024).
func TestWakeUpsAreNeverDropped(t *testing.T) {
	s := NewState()
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	if err := s.wakeSource().Start(t.Context(), q); err != nil {
		t.Fatal(err)
	}
	const waiting = 5000
	for i := range waiting {
		s.pending[types.NamespacedName{Namespace: "ns", Name: fmt.Sprintf("s%d", i)}] = i%2 == 0
	}
	s.mu.Lock()
	s.wakePendingLocked(false)
	s.mu.Unlock()
	if got := q.Len(); got != waiting {
		t.Fatalf("woken %d of %d waiting Services", got, waiting)
	}
	// A release wakes only those a free address can help; the queue folds
	// them into the ones already queued.
	s.mu.Lock()
	s.wakePendingLocked(true)
	s.mu.Unlock()
	if got := q.Len(); got != waiting {
		t.Fatalf("queue holds %d, want %d (no duplicates)", got, waiting)
	}
}
