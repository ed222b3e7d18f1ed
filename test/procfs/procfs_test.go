package procfs

import (
	"os"
	"slices"
	"testing"
	"time"
)

// TestParseStat: the fields after a command name that holds spaces and
// parentheses, and the CPU time in clock ticks.
func TestParseStat(t *testing.T) {
	line := "4242 (a (b) c) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 1 0 987654 1000 10 18446744073709551615\n"
	got, err := ParseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := Stat{PID: 4242, Comm: "a (b) c", State: "S", PPID: 17, CPU: 4 * time.Second, StartTime: 987654}
	if got != want {
		t.Errorf("ParseStat = %+v, want %+v", got, want)
	}
	for _, bad := range []string{"", "4242 a S 17", "4242 (x) S 17 1 2"} {
		if s, err := ParseStat([]byte(bad)); err == nil {
			t.Errorf("ParseStat(%q) = %+v, want an error", bad, s)
		}
	}
}

// TestThisProcess: the test's own process, as /proc shows it.
func TestThisProcess(t *testing.T) {
	self, err := ReadStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if self.PID != os.Getpid() || self.PPID != os.Getppid() || self.State != "R" && self.State != "S" || self.StartTime == 0 {
		t.Errorf("ReadStat(self) = %+v, want PID %d, parent %d, running or sleeping, a start time", self, os.Getpid(), os.Getppid())
	}
	rss, err := PeakRSS(os.Getpid())
	if err != nil || rss < 1<<20 {
		t.Errorf("PeakRSS(self) = %d, %v, want at least 1 MiB", rss, err)
	}
	if _, err := PeakRSS(-1); err == nil {
		t.Error("PeakRSS(-1): no error")
	}
	children, err := Processes(func(s Stat) bool { return s.PID == os.Getpid() || s.PPID == os.Getpid() })
	if err != nil || !slices.ContainsFunc(children, func(s Stat) bool { return s.PID == os.Getpid() && s.Comm == self.Comm }) {
		t.Errorf("Processes: %+v, %v; want this process among them", children, err)
	}
}
