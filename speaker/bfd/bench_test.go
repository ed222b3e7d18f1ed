package bfd

import (
	"fmt"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/pylonlb/pylon/test/poll"
)

// BenchmarkBFDSessions: n sessions Up over the loopback at 300 ms x 3
// (both ends in this process, so 2n state machines), run for 2 s per
// iteration; reports the process's CPU time per session-second (user +
// system, both ends counted) and the packets per session-second.
func BenchmarkBFDSessions(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			hub, _, _ := loopback(b)
			a := New(Options{})
			defer a.Close()
			far := New(Options{})
			defer far.Close()
			var mine, theirs []Config
			base := hub.As4()
			for i := range n {
				peer := netip.AddrFrom4([4]byte{127, base[1], base[2] + 1, byte(1 + i)})
				mine = append(mine, Config{Local: hub, Remote: peer, MinTx: 300 * time.Millisecond, MinRx: 300 * time.Millisecond, Multiplier: 3})
				theirs = append(theirs, Config{Local: peer, Remote: hub, MinTx: 300 * time.Millisecond, MinRx: 300 * time.Millisecond, Multiplier: 3})
			}
			if err := a.Set(mine); err != nil {
				b.Fatal(err)
			}
			if err := far.Set(theirs); err != nil {
				b.Fatal(err)
			}
			poll.Eventually(b, 50*time.Millisecond, 30*time.Second, "sessions Up", func() bool { return allStatesUp(a) && allStatesUp(far) })
			sent0 := sentTotal(a)
			cpu0 := cpuTime(b)
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				time.Sleep(2 * time.Second)
			}
			wall := time.Since(start)
			cpu := cpuTime(b) - cpu0
			sessionSeconds := float64(n) * wall.Seconds()
			b.ReportMetric(float64(cpu.Microseconds())/sessionSeconds, "cpu-µs/session-s")
			b.ReportMetric(float64(sentTotal(a)-sent0)/sessionSeconds, "pkts/session-s")
			if !allStatesUp(a) || !allStatesUp(far) {
				b.Error("a session went down during the run")
			}
		})
	}
}

func allStatesUp(s *Sessions) bool {
	for _, st := range s.Status() {
		if st.State != Up {
			return false
		}
	}
	return true
}

func sentTotal(s *Sessions) uint64 {
	var n uint64
	for _, st := range s.Status() {
		n += st.Sent
	}
	return n
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
