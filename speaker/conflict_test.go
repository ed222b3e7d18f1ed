package speaker

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pylonlb/pylon/speaker/layer2"
)

// conflictStep is one pass of the split-brain policy: at a time since the
// scenario's start, with conflicting packets heard just before it, with
// this node seeing a majority or not and answering for ours, and what the
// pass decides, written as text ("tell A; reclaim A; yield B; remember A
// B", empty parts left out, "-" for nothing at all).
type conflictStep struct {
	desc     string
	at       time.Duration
	heard    []string
	majority bool
	ours     []string
	want     string
}

func runConflictSteps(t *testing.T, steps []conflictStep) {
	t.Helper()
	start := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	var s splitBrain
	for i, st := range steps {
		now := start.Add(st.at)
		for _, ip := range st.heard {
			s.record(layer2.Conflict{IP: netip.MustParseAddr(ip), MAC: net.HardwareAddr{2, 0, 0, 0, 0, 9}, Interface: "eth0"}, now)
		}
		act := s.decide(now, st.majority, func(ip netip.Addr) bool { return slices.Contains(st.ours, ip.String()) })
		var parts []string
		add := func(what string, ips []netip.Addr) {
			if len(ips) == 0 {
				return
			}
			slices.SortFunc(ips, netip.Addr.Compare)
			var ss []string
			for _, ip := range ips {
				ss = append(ss, ip.String())
			}
			parts = append(parts, what+" "+strings.Join(ss, " "))
		}
		var told, yield, remember []netip.Addr
		for _, c := range act.tell {
			told = append(told, c.IP)
		}
		for ip := range s.yield {
			yield = append(yield, ip)
		}
		for ip := range s.conflicts {
			remember = append(remember, ip)
		}
		add("tell", told)
		add("reclaim", act.reclaim)
		add("yield", yield)
		add("remember", remember)
		if got := joined(parts); got != st.want {
			t.Fatalf("step %d at %v, %s: got %q, want %q", i, st.at, st.desc, got, st.want)
		}
	}
}

// joined writes a step's outcome: its parts, or "-" for none.
func joined(parts []string) string {
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, "; ")
}

func TestSplitBrainPolicy(t *testing.T) {
	const a, b = "198.51.100.1", "198.51.100.2"
	for _, sc := range []struct {
		name  string
		steps []conflictStep
	}{
		{"majority reclaims in bursts at most every 2 s and forgets 10 s after the last packet", []conflictStep{
			{"conflict heard: told once, reclaimed", 0, []string{a}, true, []string{a}, "tell " + a + "; reclaim " + a + "; remember " + a},
			{"heard again 1 s later: same episode, no burst yet", time.Second, []string{a}, true, []string{a}, "remember " + a},
			{"3 s after the first burst: another burst", 3 * time.Second, nil, true, []string{a}, "reclaim " + a + "; remember " + a},
			{"1 s later: no burst", 4 * time.Second, nil, true, []string{a}, "remember " + a},
			{"10 s after the last packet: still remembered", 11 * time.Second, nil, true, []string{a}, "reclaim " + a + "; remember " + a},
			{"over 10 s after the last packet: forgotten", 11*time.Second + time.Millisecond, nil, true, []string{a}, "-"},
			{"heard again: a new episode, told again", 12 * time.Second, []string{a}, true, []string{a}, "tell " + a + "; reclaim " + a + "; remember " + a},
		}},
		{"minority yields the address, majority again takes it back", []conflictStep{
			{"conflict heard in the minority: told, yielded, no burst", 0, []string{a}, false, []string{a, b}, "tell " + a + "; yield " + a + "; remember " + a},
			{"the plan dropped it: still yielded, no burst", time.Second, []string{a}, false, []string{b}, "yield " + a + "; remember " + a},
			{"majority again: the yield is cleared", 2 * time.Second, nil, true, []string{b}, "remember " + a},
			{"answering for it again: reclaimed, not told again", 3 * time.Second, []string{a}, true, []string{a, b}, "reclaim " + a + "; remember " + a},
		}},
		{"a conflict on an address this node does not answer for does nothing", []conflictStep{
			{"heard for another node's address", 0, []string{b}, true, []string{a}, "remember " + b},
			{"nor in the minority", time.Second, []string{b}, false, []string{a}, "remember " + b},
		}},
	} {
		t.Run(sc.name, func(t *testing.T) { runConflictSteps(t, sc.steps) })
	}
}
