package speaker

import (
	"testing"
	"time"
)

func TestPace(t *testing.T) {
	for _, tc := range []struct {
		name          string
		lastPass, ago time.Duration
		least, atMost time.Duration
	}{
		{"first pass", 0, 0, 0, 20 * time.Millisecond},
		{"quiet: the last pass ended long ago", 50 * time.Millisecond, time.Second, 0, 20 * time.Millisecond},
		{"burst: wait as long as the last pass took", 80 * time.Millisecond, 0, 75 * time.Millisecond, 300 * time.Millisecond},
		{"part of it already waited", 80 * time.Millisecond, 50 * time.Millisecond, 20 * time.Millisecond, 200 * time.Millisecond},
		{"capped", 5 * time.Second, 0, maxPace - 5*time.Millisecond, maxPace + 300*time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Reconciler{lastPass: tc.lastPass}
			if tc.lastPass > 0 {
				r.lastEnd = time.Now().Add(-tc.ago)
			}
			began := time.Now()
			r.pace(t.Context())
			if took := time.Since(began); took < tc.least || took > tc.atMost {
				t.Fatalf("waited %v, want between %v and %v", took, tc.least, tc.atMost)
			}
		})
	}
}
