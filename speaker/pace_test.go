package speaker

import (
	"context"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

// TestPace: before a pass the reconciler waits what is left of the
// previous pass's duration since it ended, at most maxPace, on its
// WorkClock: it is still waiting a nanosecond before that and returns at
// it.
func TestPace(t *testing.T) {
	for _, tc := range []struct {
		name          string
		lastPass, ago time.Duration
		want          time.Duration
	}{
		{"first pass", 0, 0, 0},
		{"quiet: the last pass ended long ago", 50 * time.Millisecond, time.Second, 0},
		{"burst: wait as long as the last pass took", 80 * time.Millisecond, 0, 80 * time.Millisecond},
		{"part of it already waited", 80 * time.Millisecond, 50 * time.Millisecond, 30 * time.Millisecond},
		{"capped", 5 * time.Second, 0, maxPace},
		{"capped, part waited", 5 * time.Second, 150 * time.Millisecond, maxPace - 150*time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Date(2026, 12, 5, 4, 0, 0, 0, time.UTC)
			fc := clocktesting.NewFakeClock(now)
			r := &Reconciler{WorkClock: fc, lastPass: tc.lastPass}
			if tc.lastPass > 0 {
				r.lastEnd = now.Add(-tc.ago)
			}
			done := make(chan struct{})
			go func() { r.pace(t.Context()); close(done) }()
			if tc.want <= 0 {
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					t.Fatal("pace waits with nothing to wait for")
				}
				if fc.HasWaiters() {
					t.Fatal("pace set a timer with nothing to wait for")
				}
				return
			}
			for !fc.HasWaiters() {
				select {
				case <-done:
					t.Fatalf("pace returned at once; want a wait of %v", tc.want)
				case <-time.After(time.Millisecond):
				}
			}
			fc.Step(tc.want - time.Nanosecond)
			if !fc.HasWaiters() {
				t.Fatalf("pace's timer fired before %v", tc.want)
			}
			fc.Step(time.Nanosecond)
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("pace still waits after %v", tc.want)
			}
		})
	}
}

// TestPaceEndsWithTheContext: a cancelled context ends the wait.
func TestPaceEndsWithTheContext(t *testing.T) {
	now := time.Date(2026, 12, 5, 4, 0, 0, 0, time.UTC)
	r := &Reconciler{WorkClock: clocktesting.NewFakeClock(now), lastPass: time.Second, lastEnd: now}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r.pace(ctx)
}
