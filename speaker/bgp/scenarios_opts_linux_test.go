package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	api "github.com/osrg/gobgp/v3/api"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/config"
	"github.com/pylonlb/pylon/test/poll"
)

// scenarioServiceSelectors: the chain from resources (config.Parse, PlanFor
// with the Services' labels, SetPaths): FRR gets the address of the Service
// the advertisement's serviceSelectors select and not the other's; when the
// labels change, the announcement follows.
func scenarioServiceSelectors(t *testing.T, r router) {
	ctx := context.Background()
	cfg := parse(t, config.Resources{
		Pools:    []v1alpha1.IPPool{pool("sel", "198.51.100.64/28")},
		BGPPeers: []v1alpha1.BGPPeer{bgpPeer("router", nodeASN, routerASN, routerV4, func(s *v1alpha1.BGPPeerSpec) { s.SourceAddress = nodeEBGP })},
		BGPAdvertisements: []v1alpha1.BGPAdvertisement{bgpAd("web", func(s *v1alpha1.BGPAdvertisementSpec) {
			s.ServiceSelectors = []v1alpha1.LabelSelector{*selector("app", "web")}
		})},
	})
	web, db := netip.MustParseAddr("198.51.100.65"), netip.MustParseAddr("198.51.100.66")
	ips := []netip.Addr{web, db}
	plan := PlanFor(cfg, labels.Set{}, ips, ServiceLabels{web: {{"app": "web"}}, db: {{"app": "db"}}})
	s := newSpeaker(t, nodeEBGP)
	if err := s.SetPeers(ctx, plan.Peers); err != nil {
		t.Fatal(err)
	}
	established(t, r, s, "router", nodeEBGP)
	if err := s.SetPaths(ctx, plan.Paths); err != nil {
		t.Fatal(err)
	}
	hasPath(t, r, "198.51.100.65/32", nodeEBGP, nextHop(nodeEBGP))
	time.Sleep(300 * time.Millisecond) // one SetPaths: an UPDATE for .66 would have come with .65's
	if ps, err := r.paths("198.51.100.66/32", ""); err != nil || len(ps) > 0 {
		t.Errorf("FRR has the unselected Service's address: %+v, %v", ps, err)
	}

	// The labels swap: the announcements follow.
	plan = PlanFor(cfg, labels.Set{}, ips, ServiceLabels{web: {{"app": "db"}}, db: {{"app": "web"}}})
	if err := s.SetPaths(ctx, plan.Paths); err != nil {
		t.Fatal(err)
	}
	hasPath(t, r, "198.51.100.66/32", nodeEBGP, nextHop(nodeEBGP))
	noPath(t, r, time.Second, "198.51.100.65/32", nodeEBGP)
}

// nft runs nft in the router's namespace.
func (r router) nft(args ...string) error {
	out, err := exec.Command("ip", append([]string{"netns", "exec", r.ns, "nft"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("nft %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

var packetsRE = regexp.MustCompile(`packets (\d+)`)

// synCount reads the router namespace's counter of the node's SYNs.
func (r router) synCount() (int, error) {
	out, err := exec.Command("ip", "netns", "exec", r.ns, "nft", "list", "counter", "inet", "pylonopts", "syns").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("nft list counter: %w: %s", err, out)
	}
	m := packetsRE.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no packet count in %q", out)
	}
	return strconv.Atoi(string(m[1]))
}

// refuseNodeSYNs makes the router's namespace answer every SYN from
// nodeEBGP to port 179 with a reset, counting them (synCount), until the
// test ends or the table is deleted.
func (r router) refuseNodeSYNs(t *testing.T) {
	t.Helper()
	for _, cmd := range [][]string{
		{"add", "table", "inet", "pylonopts"},
		{"add", "chain", "inet", "pylonopts", "in", "{ type filter hook input priority -10 ; }"},
		{"add", "counter", "inet", "pylonopts", "syns"},
		{"add", "rule", "inet", "pylonopts", "in", "ip", "saddr", nodeEBGP, "tcp", "dport", "179", "tcp", "flags", "syn", "counter", "name", "syns", "reject", "with", "tcp", "reset"},
	} {
		if err := r.nft(cmd...); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = r.nft("delete", "table", "inet", "pylonopts") })
}

// scenarioPassive: a passive peer never dials (the router's namespace
// refuses and counts the node's SYNs: none come in the time an active
// peer's first attempt takes); the speaker listens on the node's address,
// and FRR, then no longer passive for the node, connects to it: FRR's end
// of the session is the one with the ephemeral port.
func scenarioPassive(t *testing.T, r router) {
	ctx := context.Background()
	r.refuseNodeSYNs(t)
	s := newSpeakerWith(t, Options{RouterID: netip.MustParseAddr(nodeEBGP), ListenPort: 179,
		ListenAddresses: []netip.Addr{netip.MustParseAddr(nodeEBGP)}})
	p := ebgpPeer()
	p.Passive = true
	if err := s.SetPeers(ctx, []Peer{p}); err != nil {
		t.Fatal(err)
	}
	// An active peer's first attempt comes 1 s to 2 s after it is added.
	time.Sleep(2500 * time.Millisecond)
	if n, err := r.synCount(); err != nil || n != 0 {
		t.Fatalf("the passive speaker dialed: %d SYNs to the router's port 179 (%v)", n, err)
	}
	r.dialNode(t, s, 179)
	if err := s.SetPaths(ctx, []Path{{Prefix: pfx("198.51.100.71/32")}}); err != nil {
		t.Fatal(err)
	}
	hasPath(t, r, "198.51.100.71/32", nodeEBGP, nextHop(nodeEBGP))
}

// dialNode makes the router dial the node's 198.18.2.1 on port (no longer
// passive, retrying every second) until the test ends, and waits until it
// has: the session is up and the router's end has the ephemeral port.
func (r router) dialNode(t *testing.T, s *Speaker, port int) {
	t.Helper()
	if r.kind == routerBIRD {
		r.birdConfigure(t, func(c *birdConfig) {
			c.neighbour(nodeEBGP, func(n *birdNeighbour) { n.Active, n.Port = true, port })
		})
	} else {
		do := []string{"no neighbor " + nodeEBGP + " passive", "neighbor " + nodeEBGP + " timers connect 1"}
		undo := []string{"neighbor " + nodeEBGP + " passive", "no neighbor " + nodeEBGP + " timers connect 1"}
		if port != 179 {
			do = append(do, fmt.Sprintf("neighbor %s port %d", nodeEBGP, port))
			undo = append(undo, fmt.Sprintf("no neighbor %s port %d", nodeEBGP, port))
		}
		r.configure(t, do, undo)
	}
	established(t, r, s, "router", nodeEBGP)
	local, foreign, err := r.sessionPorts(nodeEBGP)
	if err != nil {
		t.Fatal(err)
	}
	if foreign != port || local == 179 {
		t.Errorf("%s's session ports: local %d, foreign %d; want %s to have dialed the node's port %d", r.kind, local, foreign, r.kind, port)
	}
}

// sessionPorts are the router's local and foreign TCP ports of its
// session with addr: FRR's neighbour JSON; BIRD does not show them, so the
// router namespace's established sockets to addr (ss), of which there must
// be one.
func (r router) sessionPorts(addr string) (local, foreign int, err error) {
	if r.kind == routerFRR {
		var n map[string]struct {
			PortLocal   int `json:"portLocal"`
			PortForeign int `json:"portForeign"`
		}
		if err := r.vtysh("show bgp neighbors "+addr+" json", &n); err != nil {
			return 0, 0, err
		}
		return n[addr].PortLocal, n[addr].PortForeign, nil
	}
	out, err := exec.Command("ip", "netns", "exec", r.ns, "ss", "-Htn", "state", "established", "dst", addr).CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("ss: %w: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 || lines[0] == "" {
		return 0, 0, fmt.Errorf("%d established sockets to %s in %s: %q", len(lines), addr, r.ns, out)
	}
	// Recv-Q Send-Q Local:Port Peer:Port
	f := strings.Fields(lines[0])
	if len(f) < 4 {
		return 0, 0, fmt.Errorf("ss: %q", lines[0])
	}
	port := func(s string) (int, error) { return strconv.Atoi(s[strings.LastIndex(s, ":")+1:]) }
	if local, err = port(f[2]); err == nil {
		foreign, err = port(f[3])
	}
	return local, foreign, err
}

// scenarioConnectTime: while the router refuses the connection (its
// namespace answers the node's SYNs to port 179 with a reset, and counts
// them), the speaker retries every connectTime to twice it, as GoBGP
// draws it: 3s gives a gap of 3s to 6s between attempts, where the
// speaker's retry (1s here) would give 1s to 2s.
func scenarioConnectTime(t *testing.T, r router) {
	ctx := context.Background()
	r.refuseNodeSYNs(t)

	p := ebgpPeer()
	p.ConnectTime = 3 * time.Second
	s := newSpeakerWith(t, Options{RouterID: netip.MustParseAddr(nodeEBGP), ConnectRetry: time.Second})
	if err := s.SetPeers(ctx, []Peer{p}); err != nil {
		t.Fatal(err)
	}
	var attempts []time.Time
	poll.Eventually(t, 20*time.Millisecond, 15*time.Second, "two connection attempts", func() error {
		n, err := r.synCount()
		if err != nil {
			return err
		}
		for len(attempts) < n {
			attempts = append(attempts, time.Now())
		}
		if len(attempts) < 2 {
			return fmt.Errorf("%d attempts", len(attempts))
		}
		return nil
	})
	// Polled every 20 ms: each time is that late, plus the nft call, which
	// may take a while on a busy machine: 0.5 s of margin either side.
	gap := attempts[1].Sub(attempts[0])
	t.Logf("connectTime 3s: %v between the first two attempts", gap)
	if gap < 2500*time.Millisecond || gap > 6500*time.Millisecond {
		t.Errorf("%v between attempts, want 3s to 6s (connectTime 3s; the speaker's 1s retry gives 1s to 2s)", gap)
	}
	if st := session(t, s, "router"); st.State == StateEstablished {
		t.Fatalf("session up while the router refuses: %+v", st)
	}
}

// scenarioRouterHoldTimeZero: pylon cannot propose a hold time of 0 (GoBGP
// v3 turns it into 90 s), but a router that proposes 0 gets a session
// without hold timer: the smaller proposal wins on both ends.
func scenarioRouterHoldTimeZero(t *testing.T, r router) {
	ctx := context.Background()
	if r.kind == routerBIRD {
		r.birdConfigure(t, func(c *birdConfig) { c.neighbour(nodeEBGP, func(n *birdNeighbour) { n.HoldTimeZero = true }) })
	} else {
		if err := r.bgpdConfig("neighbor " + nodeEBGP + " timers 0 0"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := r.bgpdConfig("no neighbor " + nodeEBGP + " timers 0 0"); err != nil {
				t.Error(err)
			}
		})
	}
	s := newSpeaker(t, nodeEBGP)
	if err := s.SetPeers(ctx, []Peer{ebgpPeer()}); err != nil { // proposes 9 s
		t.Fatal(err)
	}
	established(t, r, s, "router", nodeEBGP)
	if r.kind == routerBIRD {
		// BIRD shows "Hold timer: <left>/<negotiated>".
		if out, err := r.birdProtocol(nodeEBGP); err != nil || !regexp.MustCompile(`Hold timer:\s+[0-9.]+/0\n`).MatchString(out) || !strings.Contains(out, "Established") {
			t.Errorf("BIRD's negotiated hold time is not 0 (%v):\n%s", err, out)
		}
	} else {
		var n map[string]struct {
			HoldTimeMsecs int `json:"bgpTimerHoldTimeMsecs"`
		}
		if err := r.vtysh("show bgp neighbors "+nodeEBGP+" json", &n); err != nil || n[nodeEBGP].HoldTimeMsecs != 0 {
			t.Errorf("FRR's hold time %d ms (%v), want 0", n[nodeEBGP].HoldTimeMsecs, err)
		}
	}
	var negotiated []uint64
	err := s.srv.ListPeer(ctx, &api.ListPeerRequest{}, func(p *api.Peer) {
		negotiated = append(negotiated, p.GetTimers().GetState().GetNegotiatedHoldTime())
	})
	if err != nil || len(negotiated) != 1 || negotiated[0] != 0 {
		t.Errorf("GoBGP's negotiated hold time %v (%v), want [0]", negotiated, err)
	}
}

// scenarioDynamicASN: from resources, dynamicASN external peers with a
// router of any AS and learns it from the OPEN; internal peers iBGP with
// a router of myASN, and refuses a router of another AS.
func scenarioDynamicASN(t *testing.T, r router) {
	ctx := context.Background()
	hold := func(s *v1alpha1.BGPPeerSpec) { s.HoldTime = duration(9 * time.Second) }
	cfg := parse(t, config.Resources{BGPPeers: []v1alpha1.BGPPeer{
		bgpPeer("ext", nodeASN, 0, routerV4, hold, func(s *v1alpha1.BGPPeerSpec) {
			s.DynamicASN, s.SourceAddress = v1alpha1.DynamicASNExternal, nodeEBGP
		}),
		bgpPeer("int", routerASN, 0, routerV4b, hold, func(s *v1alpha1.BGPPeerSpec) {
			s.DynamicASN, s.SourceAddress = v1alpha1.DynamicASNInternal, nodeIBGP
		}),
	}})
	plan := PlanFor(cfg, labels.Set{}, nil, nil)
	s := newSpeaker(t, nodeEBGP)
	if err := s.SetPeers(ctx, plan.Peers); err != nil {
		t.Fatal(err)
	}
	established(t, r, s, "ext", nodeEBGP)
	established(t, r, s, "int", nodeIBGP)
	if got := session(t, s, "ext").PeerASN; got != routerASN {
		t.Errorf("ext learnt AS %d, want %d", got, routerASN)
	}
	if r.kind == routerBIRD {
		if out, err := r.birdProtocol(nodeIBGP); err != nil || !regexp.MustCompile(`Session:\s+internal`).MatchString(out) {
			t.Errorf("BIRD does not see %s as internal (%v):\n%s", nodeIBGP, err, out)
		}
	} else {
		var n map[string]struct {
			NbrInternalLink bool `json:"nbrInternalLink"`
		}
		if err := r.vtysh("show bgp neighbors "+nodeIBGP+" json", &n); err != nil || !n[nodeIBGP].NbrInternalLink {
			t.Errorf("FRR does not see %s as an internal link: %+v, %v", nodeIBGP, n, err)
		}
	}

	// internal with myASN 64512: FRR takes the node's OPEN (it knows
	// 198.18.2.1 in AS 64512), and the speaker refuses FRR's, which says
	// 64513.
	cfg = parse(t, config.Resources{BGPPeers: []v1alpha1.BGPPeer{
		bgpPeer("int-wrong", nodeASN, 0, routerV4, hold, func(s *v1alpha1.BGPPeerSpec) {
			s.DynamicASN, s.SourceAddress = v1alpha1.DynamicASNInternal, nodeEBGP
		}),
	}})
	if err := s.SetPeers(ctx, PlanFor(cfg, labels.Set{}, nil, nil).Peers); err != nil {
		t.Fatal(err)
	}
	failsWith(t, s, "int-wrong", "as number mismatch expected 64512, received 64513")
}

// scenarioBindInterface: a session bound to a device that is missing fails
// each attempt, with the reason in its state (no crash, no session); bound
// to the node's uplink, it comes up over it. (The lab kernel has no VRF
// support, so a real VRF device cannot be made here.)
func scenarioBindInterface(t *testing.T, r router) {
	ctx := context.Background()
	s := newSpeaker(t, nodeEBGP)
	p := ebgpPeer()
	p.BindInterface = "pylonnone0"
	if err := s.SetPeers(ctx, []Peer{p}); err != nil {
		t.Fatal(err)
	}
	failsWith(t, s, "router", "no such device")
	p.BindInterface = "eth0"
	if err := s.SetPeers(ctx, []Peer{p}); err != nil {
		t.Fatal(err)
	}
	established(t, r, s, "router", nodeEBGP)
	if err := s.SetPaths(ctx, []Path{{Prefix: pfx("198.51.100.70/32")}}); err != nil {
		t.Fatal(err)
	}
	hasPath(t, r, "198.51.100.70/32", nodeEBGP, nextHop(nodeEBGP))
}

// failsWith waits until the peer's session reports an error containing
// want, failing at once should it come up instead.
func failsWith(t *testing.T, s *Speaker, peer, want string) {
	t.Helper()
	poll.Eventually(t, 20*time.Millisecond, 10*time.Second, peer+" failing with "+want, func() error {
		st := session(t, s, peer)
		if st.State == StateEstablished {
			t.Fatalf("session %s established: %+v", peer, st)
		}
		if !strings.Contains(st.LastError, want) {
			return fmt.Errorf("last error %q", st.LastError)
		}
		return nil
	})
	t.Logf("%s: %s", peer, session(t, s, peer).LastError)
}
