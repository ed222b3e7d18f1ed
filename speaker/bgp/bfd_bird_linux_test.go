package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/pylonlb/pylon/speaker/bfd"
	"github.com/pylonlb/pylon/test/netlab"
	"github.com/pylonlb/pylon/test/poll"
)

// speaker/bfd against BIRD 2's bfd protocol: TestBFDFRR's lab and
// sessions with BIRD as the router (birdConfig.BFD: the same three peers,
// 300 ms x 3). BIRD 2.0's `show bfd sessions` gives a session's state,
// since, BIRD's transmit interval and its detection time for the node,
// and nothing else; bfdWithBIRD says which of TestBFDFRR's checks that
// leaves out and what stands in for them.
var bfdWithBIRD = map[string]string{
	"negotiated intervals":       "BIRD does not show what it learnt of the node's intervals and multiplier: its detection time for the node (the node's multiplier x the node's TX) stands in",
	"session-up/-down counters":  "BIRD does not count: an unchanged since time stands in (no flap)",
	"remote diagnostic on Close": "BIRD does not show diagnostics: Close is checked as BIRD's session going Down",
	"local diagnostic on a kill": "BIRD does not show diagnostics: the node's kill is checked as Down no sooner than a detection allows",
}

var bfdScenariosBIRD = []struct {
	name   string
	run    func(t *testing.T, lab *labInfo)
	killed bool
}{
	{"Sessions", scenarioBFDSessionsBIRD, false},
	{"NodeStops", scenarioBFDNodeStops, true},
	{"RouterStops", scenarioBFDRouterStopsBIRD, false},
}

// TestBFDBIRD runs speaker/bfd against BIRD's bfd protocol.
func TestBFDBIRD(t *testing.T) {
	if lab := childLab(t); lab != nil {
		inNodeNamespace(t)
		for _, sc := range bfdScenariosBIRD {
			t.Run(sc.name, func(t *testing.T) { sc.run(t, lab) })
		}
		return
	}
	lab := newLab(t, routerBIRD)
	lab.BFD = true
	c := birdLabRouter()
	c.BFD, c.BFDRx = true, 300
	if err := lab.router(t).bird().Configure(context.Background(), c.render()); err != nil {
		t.Fatal(err)
	}
	for what, why := range bfdWithBIRD {
		t.Logf("not checked against BIRD: %s (%s)", what, why)
	}
	for _, sc := range bfdScenariosBIRD {
		if sc.killed {
			t.Run(sc.name, func(t *testing.T) { killedInLab(t, lab, "TestBFDBIRD", sc.name) })
			continue
		}
		t.Run(sc.name, func(t *testing.T) { inLab(t, lab, "TestBFDBIRD", sc.name) })
	}
}

// birdSees waits until BIRD shows its session with peer (multihop or not)
// in status ("up", "down") and check accepts it.
func birdSees(t *testing.T, r router, within time.Duration, peer string, multihop bool, status string, check func(netlab.BFDPeer) error) time.Duration {
	t.Helper()
	return poll.Eventually(t, 20*time.Millisecond, within, "BIRD: "+peer+" "+status, func() error {
		p, err := r.bird().BFDPeer(context.Background(), netip.MustParseAddr(peer), multihop)
		if err != nil {
			return err
		}
		if p.Status != status {
			return fmt.Errorf("status %s: %+v", p.Status, p)
		}
		if check != nil {
			return check(p)
		}
		return nil
	})
}

// detects checks BIRD's detection time for the node: the node's
// multiplier (3) times the node's TX, in ms.
func detects(ms int) func(netlab.BFDPeer) error {
	return func(p netlab.BFDPeer) error {
		if p.DetectTime != ms {
			return fmt.Errorf("BIRD's detection time %d ms, want %d (it learnt the node's TX and multiplier)", p.DetectTime, ms)
		}
		return nil
	}
}

// scenarioBFDSessionsBIRD: scenarioBFDSessions against BIRD: single hop
// IPv4 and IPv6 and a passive multihop session come Up on both sides; a TX
// change is taken without a flap on BIRD's side; BIRD asking for a slower
// RX is followed without a state change on ours; Close takes BIRD's
// sessions Down.
func scenarioBFDSessionsBIRD(t *testing.T, lab *labInfo) {
	r := lab.router(t)
	v4, v6, mh := bfdLabSessions()
	s, ch := newBFD(t, v4, v6, mh)
	t.Logf("Set -> all 3 Up on our side: %v", allUp(t, s, 3))
	upChanges := upRecorded(t, ch, 3)
	for _, p := range []struct {
		addr     string
		multihop bool
	}{{nodeEBGP, false}, {nodeV6, false}, {nodeIBGP, true}} {
		birdSees(t, r, 5*time.Second, p.addr, p.multihop, "up", detects(900))
	}

	// TX 300 -> 600 ms on the IPv4 session: BIRD's detection time follows,
	// its session does not change state.
	before, err := r.bird().BFDPeer(context.Background(), netip.MustParseAddr(nodeEBGP), false)
	if err != nil {
		t.Fatal(err)
	}
	slower := v4
	slower.MinTx = 600 * time.Millisecond
	if err := s.Set([]bfd.Config{slower, v6, mh}); err != nil {
		t.Fatal(err)
	}
	took := birdSees(t, r, 5*time.Second, nodeEBGP, false, "up", detects(1800))
	t.Logf("Set with MinTx 600ms -> BIRD's detection time 1.8 s: %v", took)
	time.Sleep(time.Second)
	if after, err := r.bird().BFDPeer(context.Background(), netip.MustParseAddr(nodeEBGP), false); err != nil || !sameSince(after.Since, before.Since) || after.Status != "up" {
		t.Errorf("BIRD's session went from %+v to %+v (%v): the timer change flapped it", before, after, err)
	}

	// BIRD asks for a slower RX (900 ms) on the interface: our TX
	// follows, no state change on our side; then back to 300 ms.
	rxFollowed(t, s, ch, upChanges, v4.Local, func(rx int) {
		c := birdLabRouter()
		c.BFD, c.BFDRx = true, rx
		if err := r.bird().Configure(context.Background(), c.render()); err != nil {
			t.Fatal(err)
		}
	})

	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		addr     string
		multihop bool
	}{{nodeEBGP, false}, {nodeV6, false}, {nodeIBGP, true}} {
		birdSees(t, r, 5*time.Second, p.addr, p.multihop, "down", nil)
	}
	t.Logf("Close -> BIRD shows all 3 down: %v", time.Since(start))
}

// scenarioBFDRouterStopsBIRD: bird is killed (SIGKILL by its pid file):
// our session goes Down with "control detection time expired". Last
// scenario: BIRD stays dead.
func scenarioBFDRouterStopsBIRD(t *testing.T, lab *labInfo) {
	r := lab.router(t)
	s, ch := newBFD(t, bfdCfg(nodeEBGP, routerV4))
	allUp(t, s, 1)
	birdSees(t, r, 5*time.Second, nodeEBGP, false, "up", detects(900))
	if err := r.bird().Kill(); err != nil {
		t.Fatal(err)
	}
	routerKilled(t, ch, time.Now())
}
