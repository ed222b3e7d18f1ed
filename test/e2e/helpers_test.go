package e2e

import (
	"testing"
	"time"
)

// waitFor polls cond every 50 ms until it returns nil, failing t with the
// last error after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s: %v", timeout, what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
