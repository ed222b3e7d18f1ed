package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/pylonlb/pylon/test/knob"
	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// bgpdRestart restarts the router's bgpd (SIGTERM, started again): zebra
// withdraws every BGP route at once, the nodes reconnect (connect retry
// 2 s). Measured from the moment every session is Established again: the
// routes back in bgpd (prefixes received on every session) and in the
// router's kernel (ECMP over every node), which must follow within
// routesAfterSession.
func (f *faultLab) bgpdRestart(t *testing.T) {
	const routesAfterSession = 10 * time.Second
	l := f.l
	pr := f.probe(t)
	began := time.Now()
	if err := l.Router.RestartBGPd(t.Context()); err != nil {
		t.Fatal(err)
	}
	started := time.Since(began)
	var established, inBGP, inKernel time.Duration
	prefix := netip.PrefixFrom(f.bgp, 32)
	want := nodeAddrs(l, f.bgp, f.nodes...)
	poll.Eventually(t, 50*time.Millisecond, 60*time.Second, "sessions, bgpd's routes and the kernel's next hops back", func() (bool, string) {
		sessions, err := l.Router.Sessions(t.Context())
		if err != nil {
			return false, err.Error()
		}
		at := time.Since(began)
		up, received := 0, 0
		for _, s := range sessions {
			if s.Established() {
				up++
				if s.PrefixesReceived["ipv4"] > 0 {
					received++
				}
			}
		}
		if established == 0 && up == len(f.nodes) {
			established = at
		}
		if inBGP == 0 && received == len(f.nodes) {
			inBGP = at
		}
		routes, err := l.Router.KernelRoutes(t.Context())
		if err != nil {
			return false, err.Error()
		}
		if inKernel == 0 && len(routes[prefix]) == len(want) {
			inKernel = time.Since(began)
		}
		return established > 0 && inBGP > 0 && inKernel > 0,
			fmt.Sprintf("%d sessions up, %d with routes, kernel next hops %v", up, received, routes[prefix])
	})
	waitNextHops(t, l, f.bgp, 5*time.Second, f.nodes...)
	time.Sleep(500 * time.Millisecond)
	run := pr.stop()
	t.Log(run.line("router's bgpd restarted", began, time.Time{},
		fmt.Sprintf("bgpd up again %v after the SIGTERM, every session Established at %v, routes in bgpd at %v, in the kernel at %v (%v after the sessions)",
			started.Round(time.Millisecond), established.Round(time.Millisecond), inBGP.Round(time.Millisecond), inKernel.Round(time.Millisecond),
			(inKernel-established).Round(time.Millisecond))))
	if inKernel-established > routesAfterSession {
		t.Errorf("routes back in the kernel %v after every session was Established, want within %v", inKernel-established, routesAfterSession)
	}
	if a := lab.Summarize(run.l2); a.Failures > 0 {
		t.Errorf("the layer-2 address lost %d probes when the router's bgpd restarted", a.Failures)
	}
}

// partition cuts the layer-2 owner off the segment silently (lab.Cut: its
// link stays up, so it cannot tell), then heals: the others take over
// while it is cut, and once healed exactly one node answers, the
// election's owner, and the router routes over every node again.
func (f *faultLab) partition(t *testing.T) {
	l := f.l
	owner := waitOwner(t, l, f.l2, 20*time.Second)
	pr := f.probe(t)
	cut := time.Now()
	if err := l.Cut(t.Context(), l.Node(owner)); err != nil {
		t.Fatal(err)
	}
	next := waitOwner(t, l, f.l2, 15*time.Second, owner)
	tookOver := time.Since(cut)
	time.Sleep(3 * time.Second)
	if err := l.Heal(t.Context(), l.Node(owner)); err != nil {
		t.Fatal(err)
	}
	healed := time.Now()
	waitMembers(t, f.p)
	final := waitOwner(t, l, f.l2, 20*time.Second)
	if want := f.electionOwner(f.l2); final != want {
		t.Errorf("after healing %s answers for %s, the election says %s", final, f.l2, want)
	}
	oneAnswer(t, l, f.l2, final, 10)
	waitNextHops(t, l, f.bgp, 30*time.Second, f.nodes...)
	run := pr.stop()
	t.Log(run.line(fmt.Sprintf("%s cut off the segment for %v", owner, healed.Sub(cut).Round(time.Second)), cut, healed,
		fmt.Sprintf("%s answered %v after the cut", next, tookOver.Round(time.Millisecond))))
	t.Log(run.line("after healing", healed, time.Time{}, fmt.Sprintf("one MAC answers, %s's", final)))
}

// speakerKillLoop SIGKILLs the layer-2 owner's speaker again and again for
// PYLON_FAULT_SPEAKER_LOOP (15 s), each time starting it again at once and
// killing it 0.2–2 s later, as a crash loop would. Afterwards exactly one
// node answers, the owner, and the router routes over every node.
func (f *faultLab) speakerKillLoop(t *testing.T) {
	l, p := f.l, f.p
	d := knob.Get(t, "PYLON_FAULT_SPEAKER_LOOP", 15*time.Second)
	owner := waitOwner(t, l, f.l2, 20*time.Second)
	sp := p.speakers[owner]
	pr := f.probe(t)
	began := time.Now()
	kills, doubled := 0, 0
	for time.Since(began) < d {
		if err := sp.Kill(); err != nil {
			t.Fatal(err)
		}
		kills++
		if err := sp.Start(); err != nil {
			t.Fatal(err)
		}
		wait := time.Duration(200+rand.IntN(1800)) * time.Millisecond
		end := time.Now().Add(wait)
		// Two nodes answering at once while the loop runs: counted.
		if len(answering(t, l, f.l2)) > 1 {
			doubled++
		}
		time.Sleep(time.Until(end))
	}
	ended := time.Now()
	waitMembers(t, p)
	if got := waitOwner(t, l, f.l2, 20*time.Second); got != owner {
		t.Errorf("after the loop %s answers for %s, want its owner %s", got, f.l2, owner)
	}
	oneAnswer(t, l, f.l2, owner, 10)
	waitNextHops(t, l, f.bgp, 30*time.Second, f.nodes...)
	settled := time.Since(ended)
	run := pr.stop()
	t.Log(run.line(fmt.Sprintf("%s's speaker SIGKILLed %d times in %v", owner, kills, d), began, time.Time{},
		fmt.Sprintf("two nodes answered ARP in %d of %d checks during the loop; settled %v after it", doubled, kills, settled.Round(time.Millisecond))))
}
