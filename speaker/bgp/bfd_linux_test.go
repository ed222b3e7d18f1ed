package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"

	"github.com/pylonlb/pylon/speaker/bfd"
	"github.com/pylonlb/pylon/test/netlab"
	"github.com/pylonlb/pylon/test/poll"
)

// speaker/bfd against FRR's bfdd, in this package's lab (lab_linux_test.go):
// bfdd runs in the router namespace next to bgpd, with three peers of
// 300 ms x 3, and the node's side is a bfd.Sessions in the re-executed
// child, as the BGP scenarios are.
//
//	198.18.2.1    <-> 198.18.2.254   single hop IPv4, bound to eth0 on both sides
//	2001:db8:2::1 <-> 2001:db8:2::fe single hop IPv6
//	198.18.2.2    <-> 198.18.2.254   multihop (RFC 5883); passive on the node

const bfddConf = `frr defaults traditional
hostname pylon-lab-router
log file %[1]s/bfdd.log
!
bfd
 peer 198.18.2.1 local-address 198.18.2.254 interface eth0
  receive-interval 300
  transmit-interval 300
  detect-multiplier 3
 exit
 !
 peer 2001:db8:2::1 local-address 2001:db8:2::fe interface eth0
  receive-interval 300
  transmit-interval 300
  detect-multiplier 3
 exit
 !
 peer 198.18.2.2 multihop local-address 198.18.2.254
  receive-interval 300
  transmit-interval 300
  detect-multiplier 3
 exit
 !
exit
!
`

// bfdScenarios run in the node namespace; killed ones are ended by the
// parent with SIGKILL once they print bfdUpMarker.
var bfdScenarios = []struct {
	name   string
	run    func(t *testing.T, lab *labInfo)
	killed bool
}{
	{"Sessions", scenarioBFDSessions, false},
	{"NodeStops", scenarioBFDNodeStops, true},
	{"RouterStops", scenarioBFDRouterStops, false},
}

const bfdUpMarker = "PYLON-BFD-UP-ON-BOTH-SIDES"

// TestBFDFRR runs speaker/bfd against FRR's bfdd.
func TestBFDFRR(t *testing.T) {
	if lab := childLab(t); lab != nil {
		inNodeNamespace(t)
		for _, sc := range bfdScenarios {
			t.Run(sc.name, func(t *testing.T) { sc.run(t, lab) })
		}
		return
	}
	lab := newLab(t, routerFRR)
	startBFDD(t, lab)
	for _, sc := range bfdScenarios {
		if sc.killed {
			t.Run(sc.name, func(t *testing.T) { killedInLab(t, lab, "TestBFDFRR", sc.name) })
			continue
		}
		t.Run(sc.name, func(t *testing.T) { inLab(t, lab, "TestBFDFRR", sc.name) })
	}
}

// startBFDD runs bfdd in the router namespace next to zebra and bgpd
// (netlab.FRR.Start) and waits until it shows its peers; the router's logs
// are logged if the test fails (startRouter).
func startBFDD(t *testing.T, lab *labInfo) {
	t.Helper()
	ctx := context.Background()
	if _, err := lab.rtr.Start(ctx, "bfdd", fmt.Sprintf(bfddConf, lab.Dir)); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 20*time.Millisecond, 15*time.Second, "bfdd shows its 3 peers", func() error {
		peers, err := lab.rtr.BFDPeers(ctx)
		if err != nil {
			return err
		}
		if len(peers) != 3 {
			return fmt.Errorf("%d peers: %+v", len(peers), peers)
		}
		return nil
	})
}

// frrBFDCounters is a peer of `show bfd peers counters json`.
type frrBFDCounters struct {
	Peer        string `json:"peer"`
	Multihop    bool   `json:"multihop"`
	SessionUp   *int   `json:"session-up"`
	SessionDown *int   `json:"session-down"`
}

func bfdPeer(r router, peer string) (netlab.BFDPeer, error) {
	return r.frr().BFDPeer(context.Background(), netip.MustParseAddr(peer))
}

func bfdCounters(r router, peer string) (up, down int, err error) {
	var peers []frrBFDCounters
	if err := r.vtysh("show bfd peers counters json", &peers); err != nil {
		return 0, 0, err
	}
	for _, p := range peers {
		if p.Peer == peer {
			if p.SessionUp == nil || p.SessionDown == nil {
				return 0, 0, fmt.Errorf("no session-up/-down counters in %+v", p)
			}
			return *p.SessionUp, *p.SessionDown, nil
		}
	}
	return 0, 0, fmt.Errorf("bfdd has no counters for %s", peer)
}

// frrSees waits until bfdd shows the peer in status ("up", "down") and
// check accepts it; it returns how long that took.
func frrSees(t *testing.T, r router, within time.Duration, peer, status string, check func(netlab.BFDPeer) error) time.Duration {
	t.Helper()
	return poll.Eventually(t, 20*time.Millisecond, within, "bfdd: "+peer+" "+status, func() error {
		p, err := bfdPeer(r, peer)
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

// bfdChanges collects a Sessions' changes.
type bfdChanges struct {
	mu sync.Mutex
	cs []bfd.Change
}

func (c *bfdChanges) on(ch bfd.Change) {
	c.mu.Lock()
	c.cs = append(c.cs, ch)
	c.mu.Unlock()
}

func (c *bfdChanges) all() []bfd.Change {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]bfd.Change(nil), c.cs...)
}

func newBFD(t *testing.T, cfgs ...bfd.Config) (*bfd.Sessions, *bfdChanges) {
	t.Helper()
	ch := &bfdChanges{}
	s := bfd.New(bfd.Options{Log: testr.New(t), OnChange: ch.on})
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Set(cfgs); err != nil {
		t.Fatal(err)
	}
	return s, ch
}

func bfdCfg(local, remote string) bfd.Config {
	return bfd.Config{Local: netip.MustParseAddr(local), Remote: netip.MustParseAddr(remote),
		MinTx: 300 * time.Millisecond, MinRx: 300 * time.Millisecond, Multiplier: 3}
}

// allUp waits until every session of s is Up.
func allUp(t *testing.T, s *bfd.Sessions, n int) time.Duration {
	t.Helper()
	return poll.Eventually(t, 20*time.Millisecond, 15*time.Second, "our sessions Up", func() error {
		st := s.Status()
		if len(st) != n {
			return fmt.Errorf("%d sessions", len(st))
		}
		for _, x := range st {
			if x.State != bfd.Up {
				return fmt.Errorf("%s: %s (remote %s, received %d, dropped %d)", x.Config.Remote, x.State, x.RemoteState, x.Received, x.Dropped)
			}
		}
		return nil
	})
}

// upRecorded waits until ch's latest change of each of n sessions is to Up
// and returns how many changes it holds then. The changes are told through
// OnChange, which can come a few milliseconds after Status says Up: a
// count taken at allUp's return could miss the last one, and a later
// check of "no more changes" would then count it against what came after.
func upRecorded(t *testing.T, ch *bfdChanges, n int) int {
	t.Helper()
	var count int
	poll.Eventually(t, 5*time.Millisecond, 5*time.Second, "every session's Up told", func() error {
		cs := ch.all()
		last := map[string]bfd.State{}
		for _, c := range cs {
			last[c.Local.String()+" "+c.Remote.String()] = c.To
		}
		if len(last) != n {
			return fmt.Errorf("changes of %d sessions told: %+v", len(last), cs)
		}
		for k, st := range last {
			if st != bfd.Up {
				return fmt.Errorf("%s: last told %s", k, st)
			}
		}
		count = len(cs)
		return nil
	})
	return count
}

// negotiated checks what bfdd learnt from our packets.
func negotiated(tx int) func(netlab.BFDPeer) error {
	return func(p netlab.BFDPeer) error {
		if p.RemoteTransmit != tx || p.RemoteReceive != 300 || p.RemoteMultiplier != 3 || p.RemoteID == 0 {
			return fmt.Errorf("bfdd learnt TX %d, RX %d, multiplier %d, discriminator %d; want %d, 300, 3, set",
				p.RemoteTransmit, p.RemoteReceive, p.RemoteMultiplier, p.RemoteID, tx)
		}
		return nil
	}
}

// bfdLabSessions are the node's three sessions with the router: single
// hop IPv4 bound to eth0, single hop IPv6, passive multihop IPv4.
func bfdLabSessions() (v4, v6, mh bfd.Config) {
	v4 = bfdCfg(nodeEBGP, routerV4)
	v4.Interface = "eth0"
	v6 = bfdCfg(nodeV6, routerV6)
	mh = bfdCfg(nodeIBGP, routerV4)
	mh.Multihop, mh.Passive = true, true
	return v4, v6, mh
}

// rxFollowed has the router ask for a slower RX on the session from local
// (setRX 900 ms), then for 300 ms again: each time our TX follows (to the
// larger of its RX and our 600 ms), and none of our sessions changes state
// (ch had upChanges changes before).
func rxFollowed(t *testing.T, s *bfd.Sessions, ch *bfdChanges, upChanges int, local netip.Addr, setRX func(rx int)) {
	t.Helper()
	for _, rx := range []int{900, 300} {
		setRX(rx)
		want := time.Duration(max(rx, 600)) * time.Millisecond
		took := poll.Eventually(t, 20*time.Millisecond, 5*time.Second, "our TX follows the router's RX", func() error {
			for _, st := range s.Status() {
				if st.Config.Local == local && (st.TxInterval != want || st.State != bfd.Up) {
					return fmt.Errorf("%s, TX %v; want Up, %v", st.State, st.TxInterval, want)
				}
			}
			return nil
		})
		t.Logf("the router's receive interval %d ms -> our TX interval %v: %v", rx, want, took)
	}
	if cs := ch.all(); len(cs) != upChanges {
		t.Errorf("timer changes changed our states: %+v", cs[upChanges:])
	}
}

// scenarioBFDSessions: single hop IPv4 and IPv6 and a passive multihop
// session come Up on both sides; a TX change is taken without a flap on
// bfdd's side; Close tells bfdd (AdminDown).
func scenarioBFDSessions(t *testing.T, lab *labInfo) {
	r := router{kind: routerFRR, t: t, dir: lab.Dir}
	v4, v6, mh := bfdLabSessions()
	s, ch := newBFD(t, v4, v6, mh)
	t.Logf("Set -> all 3 Up on our side: %v", allUp(t, s, 3))
	upChanges := upRecorded(t, ch, 3)
	for _, peer := range []string{nodeEBGP, nodeV6, nodeIBGP} {
		frrSees(t, r, 5*time.Second, peer, "up", negotiated(300))
		p, _ := bfdPeer(r, peer)
		t.Logf("bfdd: %+v", p)
	}
	for _, st := range s.Status() {
		if st.TxInterval != 300*time.Millisecond || st.DetectTime != 900*time.Millisecond || st.Dropped != 0 {
			t.Errorf("%s: TX %v, detection %v, dropped %d; want 300ms, 900ms, 0", st.Config.Remote, st.TxInterval, st.DetectTime, st.Dropped)
		}
	}

	// TX 300 -> 600 ms on the IPv4 session: a Poll Sequence, no flap.
	up, down, err := bfdCounters(r, nodeEBGP)
	if err != nil {
		t.Fatal(err)
	}
	slower := v4
	slower.MinTx = 600 * time.Millisecond
	if err := s.Set([]bfd.Config{slower, v6, mh}); err != nil {
		t.Fatal(err)
	}
	took := frrSees(t, r, 5*time.Second, nodeEBGP, "up", negotiated(600))
	t.Logf("Set with MinTx 600ms -> bfdd uses it: %v", took)
	time.Sleep(time.Second)
	if up2, down2, err := bfdCounters(r, nodeEBGP); err != nil || up2 != up || down2 != down {
		t.Errorf("bfdd's session-up/-down went %d/%d -> %d/%d (%v): the timer change flapped the session", up, down, up2, down2, err)
	}
	if p, _ := bfdPeer(r, nodeEBGP); p.Status != "up" {
		t.Errorf("bfdd: %+v", p)
	}

	// bfdd asks for a slower RX (900 ms): its Poll is answered, our TX
	// follows, no state changes on our side; then back to 300 ms.
	rxFollowed(t, s, ch, upChanges, v4.Local, func(rx int) {
		bfddPeerConfig(t, lab, "peer 198.18.2.1 local-address 198.18.2.254 interface eth0", fmt.Sprintf("receive-interval %d", rx))
	})

	// Close: bfdd learns we went down on purpose.
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, peer := range []string{nodeEBGP, nodeV6, nodeIBGP} {
		frrSees(t, r, 5*time.Second, peer, "down", func(p netlab.BFDPeer) error {
			if p.RemoteDiagnostic != "administratively down" {
				return fmt.Errorf("remote diagnostic %q, want administratively down", p.RemoteDiagnostic)
			}
			return nil
		})
	}
	t.Logf("Close -> bfdd shows all 3 down, remote diagnostic administratively down: %v", time.Since(start))
}

// bfddPeerConfig changes one setting of a bfdd peer through vtysh.
func bfddPeerConfig(t *testing.T, lab *labInfo, peer, setting string) {
	t.Helper()
	r := netlab.FRR{Netns: lab.Router, Dir: lab.Dir}
	if err := r.Configure(context.Background(), "bfd", peer, setting); err != nil {
		t.Fatalf("%s / %s: %v", peer, setting, err)
	}
}

// scenarioBFDNodeStops brings a session Up, says so and waits to be
// killed (the parent measures bfdd's detection).
func scenarioBFDNodeStops(t *testing.T, lab *labInfo) {
	r := lab.router(t)
	s, _ := newBFD(t, bfdCfg(nodeEBGP, routerV4))
	allUp(t, s, 1)
	if lab.Kind == routerBIRD {
		birdSees(t, r, 5*time.Second, nodeEBGP, false, "up", detects(900))
	} else {
		frrSees(t, r, 5*time.Second, nodeEBGP, "up", negotiated(300))
	}
	fmt.Println(bfdUpMarker)
	time.Sleep(2 * time.Minute)
	t.Error("not killed within 2 minutes")
}

// killedInLab runs a scenario in the node namespace like inLab, and kills
// the process with SIGKILL (no AdminDown, sockets gone: a node losing
// power) once it prints bfdUpMarker; then bfdd must detect it.
func killedInLab(t *testing.T, lab *labInfo, test, scenario string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := childCmd(ctx, lab, test, scenario)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	sc := startChild(t, cmd)
	up := make(chan struct{})
	go func() {
		seen := false
		for sc.Scan() {
			line := sc.Text()
			t.Log("node| " + line)
			if !seen && strings.Contains(line, bfdUpMarker) {
				seen = true
				close(up)
			}
		}
	}()
	select {
	case <-up:
	case <-time.After(60 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		t.Fatalf("scenario %s did not report its session up", scenario)
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	_ = cmd.Wait()
	r := lab.router(t)
	var took time.Duration
	if lab.Kind == routerBIRD {
		// BIRD shows no diagnostic: the time since the kill (below) says
		// it was a detection.
		took = birdSees(t, r, 5*time.Second, nodeEBGP, false, "down", nil)
	} else {
		took = frrSees(t, r, 5*time.Second, nodeEBGP, "down", func(p netlab.BFDPeer) error {
			if p.Diagnostic != "control detection time expired" {
				return fmt.Errorf("diagnostic %q", p.Diagnostic)
			}
			return nil
		})
	}
	t.Logf("node process killed -> %s down, 300ms x 3, polling in 20 ms steps: %v", r.kind, took)
	if d := time.Since(killed); d < 500*time.Millisecond {
		t.Errorf("bfdd went down %v after the kill, sooner than its Detection Time allows: not a detection", d)
	}
}

// scenarioBFDRouterStops: bfdd is killed (SIGKILL, by the PID in its pid
// file: netlab.FRR.Kill): our session goes Down with "control detection time expired".
// Last scenario: bfdd stays dead.
func scenarioBFDRouterStops(t *testing.T, lab *labInfo) {
	r := router{kind: routerFRR, t: t, dir: lab.Dir}
	s, ch := newBFD(t, bfdCfg(nodeEBGP, routerV4))
	allUp(t, s, 1)
	frrSees(t, r, 5*time.Second, nodeEBGP, "up", negotiated(300))
	if err := r.frr().Kill("bfdd"); err != nil {
		t.Fatal(err)
	}
	routerKilled(t, ch, time.Now())
}

// routerKilled waits until our session goes Down after the router's BFD
// was killed at killed, and checks it was a detection: Up -> Down with
// "control detection time expired", 0.5 s to 2 s after the kill.
func routerKilled(t *testing.T, ch *bfdChanges, killed time.Time) {
	t.Helper()
	var down bfd.Change
	poll.Eventually(t, 20*time.Millisecond, 5*time.Second, "our session Down", func() error {
		for _, c := range ch.all() {
			if c.To == bfd.Down {
				down = c
				return nil
			}
		}
		return fmt.Errorf("changes %+v", ch.all())
	})
	took := down.At.Sub(killed)
	t.Logf("router's BFD killed -> our session Down (%s), 300ms x 3: %v", down.Diag, took)
	if down.Diag != bfd.DiagDetectionExpired || down.From != bfd.Up {
		t.Errorf("change %+v, want Up -> Down with %q", down, bfd.DiagDetectionExpired)
	}
	if took < 500*time.Millisecond || took > 2*time.Second {
		t.Errorf("detected after %v; the Detection Time is 900ms after the router's last packet (600-900ms after the kill)", took)
	}
}
