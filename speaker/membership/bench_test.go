package membership

import (
	"testing"
	"time"

	"github.com/pylonlb/pylon/memberlistkey"
)

// BenchmarkDetection measures, with LANProfile on loopback, how long the
// survivors of a three-member list take to drop a member that crashed
// (Shutdown without Leave) and one that left (Leave): reported as
// crash-ms/op and leave-ms/op, the time until the slower of the two
// survivors no longer counts it live.
func BenchmarkDetection(b *testing.B) {
	var crash, leave time.Duration
	for b.Loop() {
		ls := cluster(b, 3, &memberlistkey.Keys{Primary: memberlistkey.New()})
		crash += gone(b, ls, func() { _ = ls[2].Shutdown() })
		ls = cluster(b, 3, &memberlistkey.Keys{Primary: memberlistkey.New()})
		leave += gone(b, ls, func() { _ = ls[2].Leave(time.Second); _ = ls[2].Shutdown() })
	}
	b.ReportMetric(float64(crash.Milliseconds())/float64(b.N), "crash-ms/op")
	b.ReportMetric(float64(leave.Milliseconds())/float64(b.N), "leave-ms/op")
}

func gone(b *testing.B, ls []*List, stop func()) time.Duration {
	began := time.Now()
	stop()
	for _, l := range ls[:2] {
		waitLive(b, l, "n1", "n2")
	}
	return time.Since(began)
}
