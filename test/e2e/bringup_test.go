package e2e

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/pylonlb/pylon/test/envtest"
	"github.com/pylonlb/pylon/test/images"
	"github.com/pylonlb/pylon/test/lab"
)

// BenchmarkLabBringUp measures lab.New (three nodes, binaries already
// built) and reports its time as "bringup-s" (mean) and "worst-s", and
// Close's as "teardown-s". ns/op equals bringup-s: teardown runs with the
// timer stopped, and BringUp excludes any wait for another lab.
// docs/benchmarks.md has the figure.
//
//	go test -run '^$' -bench LabBringUp -benchtime 5x ./test/e2e/
func BenchmarkLabBringUp(b *testing.B) {
	if err := lab.Preflight(); errors.Is(err, lab.ErrNotRoot) {
		b.Skipf("SKIPPED: %v", err)
	} else if err != nil {
		b.Fatal(err)
	}
	if os.Getenv(envtest.AssetsEnv) == "" {
		b.Skip("SKIPPED: no test API server: set KUBEBUILDER_ASSETS=$(hack/envtest-assets.sh)")
	}
	// Build the backend once, outside the timing, as `make test` would
	// have done already.
	bin, err := images.BuildStatic(b.Context(), "./test/lab/backend", b.TempDir(), "")
	if err != nil {
		b.Fatal(err)
	}
	var total, worst, teardown time.Duration
	for b.Loop() {
		l, err := lab.New(b.Context(), lab.Options{BackendBinary: bin})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		total += l.BringUp
		worst = max(worst, l.BringUp)
		b.Logf("lab up in %v (API server %v)", l.BringUp.Round(time.Millisecond), l.API.StartupTime.Round(time.Millisecond))
		began := time.Now()
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
		teardown += time.Since(began)
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "bringup-s")
	b.ReportMetric(worst.Seconds(), "worst-s")
	b.ReportMetric(teardown.Seconds()/float64(b.N), "teardown-s")
}
