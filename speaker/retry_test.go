package speaker

import (
	"testing"
	"time"
)

// TestApplyBackoff: failed passes in a row wait 100 ms, 200 ms, 400 ms, ...
// up to 5 s, and stay there; one pass that applied everything starts over.
func TestApplyBackoff(t *testing.T) {
	b := backoff{min: applyRetryMin, max: applyRetryMax}
	want := []time.Duration{100, 200, 400, 800, 1600, 3200, 5000, 5000}
	for i, w := range want {
		if got := b.next(true); got != w*time.Millisecond {
			t.Errorf("failure %d: wait %v, want %v", i+1, got, w*time.Millisecond)
		}
	}
	for range 100 {
		if got := b.next(true); got != applyRetryMax {
			t.Fatalf("after many failures: wait %v, want %v", got, applyRetryMax)
		}
	}
	if got := b.next(false); got != 0 {
		t.Errorf("after a pass that applied everything: wait %v, want 0", got)
	}
	if got := b.next(true); got != applyRetryMin {
		t.Errorf("first failure after a success: wait %v, want %v", got, applyRetryMin)
	}
}
