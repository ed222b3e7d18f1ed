package e2e

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/test/knob"
	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// BenchmarkBFDCPUHog keeps every core busy for 5 minutes
// (PYLON_BENCH_HOG_SECONDS to change), as BenchmarkLayer2CPUHog does,
// while three speakers run BGP with BFD at 300 ms x 3 against the lab
// router (FRR's bfdd), over IPv4 and IPv6. Every 250 ms it reads the
// router's BFD sessions and BGP sessions and the speakers' SpeakerStatuses
// and counts false drops: a BFD session seen not up, or a BGP session seen
// not Established, on the router or on a speaker (a drop lasts seconds:
// BFD needs packets both ways to come back, BGP its connect-retry
// interval); and the speakers' own count of BFD sessions that went down
// (their "BFD session down" log lines). The target is 0.
//
// Run as root: go test -run '^$' -bench BFDCPUHog -benchtime 1x ./test/e2e/
func BenchmarkBFDCPUHog(b *testing.B) {
	hold := time.Duration(knob.Get(b, "PYLON_BENCH_HOG_SECONDS", 300)) * time.Second
	for b.Loop() {
		l := lab.Start(b, lab.Options{NodeASN: nodeASN, BFD: &lab.BFD{}})
		p := startPylon(b, l)
		bgpConfig(b, l)
		bfdSet(b.Context(), b, l, true, "router", "router-v6")
		_, ips := service(b, l, "hog", true)
		for _, ip := range ips {
			waitNextHops(b, l, ip, 60*time.Second, nodeNames(l)...)
		}
		poll.Eventually(b, 50*time.Millisecond, 60*time.Second, "every BFD and BGP session up", func() (bool, string) {
			bad := sessionsNotUp(b.Context(), l, 4*len(l.Nodes))
			return len(bad) == 0, strings.Join(bad, "; ")
		})
		logSizes := map[string]int{}
		for name, sp := range p.speakers {
			logSizes[name] = len(sp.Log())
		}

		stop := startHogs(b, runtime.NumCPU())
		began := time.Now()
		var drops []string
		polls := 0
		for time.Since(began) < hold {
			for _, d := range sessionsNotUp(b.Context(), l, 4*len(l.Nodes)) {
				drops = append(drops, fmt.Sprintf("%v: %s", time.Since(began).Round(time.Second), d))
			}
			polls++
			time.Sleep(250 * time.Millisecond)
		}
		load := stop()
		speakerDowns := 0
		for name, sp := range p.speakers {
			speakerDowns += strings.Count(sp.Log()[logSizes[name]:], "BFD session down")
		}
		b.ReportMetric(float64(len(drops)), "sessions-seen-down")
		b.ReportMetric(float64(speakerDowns), "speaker-bfd-downs")
		b.Logf("%v with %d CPU hogs (load average at the end %s), %d polls: %d sessions seen down, %d BFD downs in the speakers' logs; first: %v",
			hold, runtime.NumCPU(), load, polls, len(drops), speakerDowns, drops[:min(len(drops), 10)])
	}
}

// sessionsNotUp lists what is not up: each node's BFD and BGP sessions with
// the router (IPv4 and IPv6) on the router, and on each speaker every
// BGP session not Established or its BFD session not Up. want is how many
// sessions the router must have (BFD and BGP, both families).
func sessionsNotUp(ctx context.Context, l *lab.Lab, want int) []string {
	var bad []string
	peers, err := l.Router.BFDPeers(ctx)
	if err != nil {
		return []string{err.Error()}
	}
	sessions, err := l.Router.Sessions(ctx)
	if err != nil {
		return []string{err.Error()}
	}
	got := 0
	for _, p := range peers {
		got++
		if p.Status != "up" {
			bad = append(bad, fmt.Sprintf("router BFD %s %s (%s)", p.Peer, p.Status, p.Diagnostic))
		}
	}
	for _, s := range sessions {
		got++
		if !s.Established() {
			bad = append(bad, fmt.Sprintf("router BGP %s %s", s.Peer, s.State))
		}
	}
	if got != want {
		bad = append(bad, fmt.Sprintf("router: %d BFD and BGP sessions, want %d", got, want))
	}
	var list v1alpha1.SpeakerStatusList
	if err := l.Client.List(ctx, &list); err != nil {
		return append(bad, err.Error())
	}
	for _, st := range list.Items {
		for _, s := range st.Status.BGPSessions {
			if s.State != "Established" || s.BFD == nil || s.BFD.State != "Up" {
				bad = append(bad, fmt.Sprintf("speaker %s: %s %s, BFD %+v", st.Name, s.Peer, s.State, s.BFD))
			}
		}
	}
	return bad
}
