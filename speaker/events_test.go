package speaker

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/speaker/bgp"
)

// addrN is the n-th test address: 198.51.100.0/24, then 203.0.113.0/24.
func addrN(n int) netip.Addr {
	if n < 256 {
		return netip.AddrFrom4([4]byte{198, 51, 100, byte(n)})
	}
	return netip.AddrFrom4([4]byte{203, 0, 113, byte(n - 256)})
}

// span is the addresses from..to-1 (by number), less those in but.
func span(from, to int, but ...int) []int {
	var out []int
	for n := from; n < to; n++ {
		if !slices.Contains(but, n) {
			out = append(out, n)
		}
	}
	return out
}

// tellPass is one pass of a restarted speaker: at a time since it started,
// settling or not, answering over layer 2 for l2 and announcing over BGP
// bgpOn (address numbers, each address its own Service), with its BGP
// sessions up or not, and the events the pass sends, written as text
// ("Announcing L2 5; StoppedAnnouncing BGP 7", "-" for none), then how
// long StoppedAnnouncing over BGP is still held back ("held 1m29s": a pass
// is due then).
type tellPass struct {
	desc     string
	at       time.Duration
	settling bool
	l2, bgp  []int
	up       bool
	want     string
}

// restartScenario is what the previous process's status listed (nil: no
// SpeakerStatus) and the passes of the process after it.
type restartScenario struct {
	name   string
	before *v1alpha1.SpeakerStatusStatus
	// hold is the BGP peers' hold time.
	hold   time.Duration
	passes []tellPass
}

func l2Plan(ns []int) Plan {
	p := Plan{L2: map[netip.Addr]L2{}, Owners: map[netip.Addr]string{}}
	for _, n := range ns {
		p.L2[addrN(n)] = L2{Services: []string{svcKey(n)}, Interfaces: []string{"eth0"}}
		p.Owners[addrN(n)] = "n1"
	}
	return p
}

func bgpOf(ns []int) map[netip.Addr][]string {
	out := map[netip.Addr][]string{}
	for _, n := range ns {
		out[addrN(n)] = []string{svcKey(n)}
	}
	return out
}

func svcKey(n int) string { return fmt.Sprintf("default/svc-%d", n) }

// statusOf is the status a speaker writes announcing l2 and bgpOn.
func statusOf(l2, bgpOn []int) *v1alpha1.SpeakerStatusStatus {
	st := buildStatus(nil, l2Plan(l2), nil, bgpState{announced: bgpOf(bgpOn)}, &splitBrain{})
	return &st
}

var eventAddr = regexp.MustCompile(`(\d+\.\d+\.\d+\.\d+)`)

func runRestart(t *testing.T, sc restartScenario) {
	t.Helper()
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	start := clk.Now()
	rec := events.NewFakeRecorder(4096)
	r := &Reconciler{Node: "n1", Recorder: rec, Clock: clk, startedAt: start}
	snap := &snapshot{byKey: map[string]*corev1.Service{}}
	number := map[netip.Addr]int{}
	for n := range 512 {
		number[addrN(n)] = n
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("svc-%d", n)}}
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: addrN(n).String()}}
		snap.byKey[svcKey(n)] = svc
	}
	if sc.before != nil {
		own := v1alpha1.SpeakerStatus{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: *sc.before}
		snap.speakers = []v1alpha1.SpeakerStatus{own}
	}
	for i, p := range sc.passes {
		clk.SetTime(start.Add(p.at))
		state := bgp.StateActive
		if p.up {
			state = bgp.StateEstablished
		}
		bs := bgpState{announced: bgpOf(p.bgp), sessions: []bgp.Session{{Peer: "r1", State: state}},
			holdTime: bgpHoldTime([]bgp.Peer{{Name: "r1", HoldTime: sc.hold}})}
		plan := l2Plan(p.l2)
		for n := range 512 {
			if _, ok := plan.Owners[addrN(n)]; !ok {
				plan.Owners[addrN(n)] = "n2"
			}
		}
		if !r.seeded {
			r.seedTold(snap)
		}
		r.tellChanges(snap, plan, p.settling)
		hold := r.tellBGPChanges(snap, bs)
		var got []string
		for len(rec.Events) > 0 {
			e := <-rec.Events
			f := strings.Fields(e)
			if f[1] == ReasonRestarted {
				got = append(got, ReasonRestarted)
				continue
			}
			proto := "L2"
			if strings.Contains(e, "over BGP") {
				proto = "BGP"
			}
			got = append(got, fmt.Sprintf("%s %s %d", f[1], proto, number[netip.MustParseAddr(eventAddr.FindString(e))]))
		}
		if hold > 0 {
			got = append(got, fmt.Sprintf("held %v", hold))
		}
		if s := joined(got); s != p.want {
			t.Fatalf("pass %d at %v, %s: events %q, want %q", i, p.at, p.desc, s, p.want)
		}
	}
}

func TestRestartTellsOnlyChanges(t *testing.T) {
	for _, sc := range []restartScenario{
		{name: "no previous SpeakerStatus: every announcement is told", passes: []tellPass{
			{"settling: answers for nothing, tells nothing", 0, true, nil, nil, false, "-"},
			{"settled", time.Second, false, []int{1, 2}, nil, false, "Announcing L2 1; Announcing L2 2"},
		}},
		{name: "layer 2: announcing what it announced before tells nothing, a change tells exactly itself", before: statusOf([]int{1, 2, 3}, nil), passes: []tellPass{
			{"settling", 0, true, nil, nil, false, "-"},
			{"settled, the same addresses", 500 * time.Millisecond, false, []int{1, 2, 3}, nil, false, "-"},
			{"one moved away, one new", time.Second, false, []int{1, 3, 4}, nil, false, "StoppedAnnouncing L2 2; Announcing L2 4"},
		}},
		{name: "layer 2: what moved away while it was down is told", before: statusOf([]int{1, 2, 3}, nil), passes: []tellPass{
			{"settled", 0, false, []int{1, 3}, nil, false, "StoppedAnnouncing L2 2"},
		}},
		{name: "BGP: sessions down for a moment after the restart tell nothing", before: statusOf(nil, []int{1, 2}), passes: []tellPass{
			{"sessions not up yet", 0, false, nil, nil, false, "held 1m30s"},
			{"still down", time.Second, false, nil, nil, false, "held 1m29s"},
			{"up, the same addresses", 2 * time.Second, false, nil, []int{1, 2}, true, "-"},
			{"a session drops later: told", 40 * time.Second, false, nil, nil, false, "StoppedAnnouncing BGP 1; StoppedAnnouncing BGP 2"},
		}},
		{name: "BGP: up with fewer addresses ends the hold at once", before: statusOf(nil, []int{1, 2}), passes: []tellPass{
			{"down", 0, false, nil, nil, false, "held 1m30s"},
			{"up without 2", time.Second, false, nil, []int{1, 3}, true, "StoppedAnnouncing BGP 2; Announcing BGP 3"},
		}},
		{name: "BGP: sessions that never come back are told after 30 s (a hold time under 30 s)", before: statusOf(nil, []int{1}), hold: 9 * time.Second, passes: []tellPass{
			{"down", 0, false, nil, nil, false, "held 30s"},
			{"down at 29 s", 29 * time.Second, false, nil, nil, false, "held 1s"},
			{"down at 30 s", 30 * time.Second, false, nil, nil, false, "StoppedAnnouncing BGP 1"},
			{"no repeat", 31 * time.Second, false, nil, nil, false, "-"},
		}},
		{name: "BGP: a peer hold time over 30 s holds that long", before: statusOf(nil, []int{1}), hold: 90 * time.Second, passes: []tellPass{
			{"down at 31 s", 31 * time.Second, false, nil, nil, false, "held 59s"},
			{"down at 90 s", 90 * time.Second, false, nil, nil, false, "StoppedAnnouncing BGP 1"},
		}},
		{name: "both: layer 2 told at once, BGP after its sessions", before: statusOf([]int{1}, []int{1, 2}), passes: []tellPass{
			{"settled, sessions down", 0, false, []int{1}, nil, false, "held 1m30s"},
			{"up", time.Second, false, []int{1}, []int{1, 2}, true, "-"},
		}},
		{
			// 299 addresses before (0..299 without 5), one Service each:
			// the status lists 0..256 (without 5), the 256th entry being
			// 203.0.113.0 (256); 257..299 are unlisted.
			name: "a status that listed only the first 256: the unlisted addresses announce silently, once", before: statusOf(span(0, 300, 5), nil), passes: []tellPass{
				{"settled: 5 is new (below the cut, not listed), 10 gone (listed), 280 gone (unlisted: unknown), 300 new (unlisted: unknown)",
					0, false, append(span(0, 301, 10, 280), 5), nil, false, "Restarted; Announcing L2 5; StoppedAnnouncing L2 10; held 1m30s"},
				{"after the first pass everything is known", time.Second, false, span(0, 302, 10, 280), nil, false, "Announcing L2 301; held 1m29s"},
			}},
		{
			name: "a status cut in its BGP part: layer 2 fully known", before: statusOf([]int{1, 2}, span(0, 300)), passes: []tellPass{
				{"layer 2 changes told, BGP held", 0, false, []int{2}, nil, false, "Restarted; StoppedAnnouncing L2 1; held 1m30s"},
				{"BGP up: listed ones matched, unlisted silent, one dropped listed told", time.Second, false, []int{2}, span(1, 300), true, "StoppedAnnouncing BGP 0"},
			}},
	} {
		t.Run(sc.name, func(t *testing.T) { runRestart(t, sc) })
	}
}
