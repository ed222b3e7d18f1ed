package speaker

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/config"
	"github.com/pylonlb/pylon/speaker/bfd"
	"github.com/pylonlb/pylon/speaker/bgp"
	"github.com/pylonlb/pylon/test/poll"
)

// bfdTestConfig has four peers: with BFD from a source address, with BFD
// multi-hop found by route, with BFD and no route, and without BFD.
func bfdTestConfig(t *testing.T) (*config.Config, []bgp.Peer) {
	t.Helper()
	yes, multiplier := true, int32(4)
	mk := func(name, addr string, edit func(*v1alpha1.BGPPeerSpec)) v1alpha1.BGPPeer {
		p := v1alpha1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.BGPPeerSpec{MyASN: 64512, PeerASN: 64513, PeerAddress: addr}}
		edit(&p.Spec)
		return p
	}
	cfg := config.Parse(config.Resources{BGPPeers: []v1alpha1.BGPPeer{
		mk("sourced", "198.18.0.2", func(s *v1alpha1.BGPPeerSpec) {
			s.SourceAddress = "198.18.0.11"
			s.BFD = &v1alpha1.BFDProfile{TransmitInterval: &metav1.Duration{Duration: 100 * time.Millisecond}, PassiveMode: &yes}
		}),
		mk("routed", "203.0.113.1", func(s *v1alpha1.BGPPeerSpec) {
			s.EBGPMultiHop = &yes
			s.BFD = &v1alpha1.BFDProfile{DetectMultiplier: &multiplier}
		}),
		mk("unreachable", "192.0.2.1", func(s *v1alpha1.BGPPeerSpec) { s.BFD = &v1alpha1.BFDProfile{} }),
		mk("plain", "2001:db8:18::2", func(*v1alpha1.BGPPeerSpec) {}),
	}})
	if len(cfg.Problems) > 0 {
		t.Fatalf("config problems: %+v", cfg.Problems)
	}
	return cfg, bgp.PlanFor(cfg, nil, nil, nil).Peers
}

// TestBFDConfigs: a session per peer with a bfd profile, from the peer's
// sourceAddress or else the route's source, multi-hop with ebgpMultiHop,
// with the profile's timers; a peer with no route is named in a problem.
func TestBFDConfigs(t *testing.T) {
	cfg, peers := bfdTestConfig(t)
	var asked []netip.Addr
	source := func(remote netip.Addr) (netip.Addr, error) {
		asked = append(asked, remote)
		if remote == netip.MustParseAddr("192.0.2.1") {
			return netip.Addr{}, errors.New("network is unreachable")
		}
		return netip.MustParseAddr("198.18.0.12"), nil
	}
	got, problems := BFDConfigs(cfg, peers, source)
	want := []bfd.Config{
		{Local: netip.MustParseAddr("198.18.0.12"), Remote: netip.MustParseAddr("203.0.113.1"), Multihop: true,
			MinTx: 300 * time.Millisecond, MinRx: 300 * time.Millisecond, Multiplier: 4},
		{Local: netip.MustParseAddr("198.18.0.11"), Remote: netip.MustParseAddr("198.18.0.2"),
			MinTx: 100 * time.Millisecond, MinRx: 300 * time.Millisecond, Multiplier: 3, Passive: true},
	}
	if !slices.Equal(got, want) {
		t.Errorf("configs:\n got %+v\nwant %+v", got, want)
	}
	if !slices.Equal(asked, []netip.Addr{netip.MustParseAddr("203.0.113.1"), netip.MustParseAddr("192.0.2.1")}) {
		t.Errorf("route lookups for %v; want only the peers with BFD and no sourceAddress", asked)
	}
	if len(problems) != 1 || !strings.Contains(problems[0], "BGPPeer unreachable") || !strings.Contains(problems[0], "network is unreachable") {
		t.Errorf("problems = %q; want one naming BGPPeer unreachable and why", problems)
	}
}

// TestRouteSource: the kernel's source towards a loopback address is the
// loopback address (no packet is sent).
func TestRouteSource(t *testing.T) {
	got, err := RouteSource(netip.MustParseAddr("127.0.0.2"))
	if err != nil || !got.IsLoopback() {
		t.Errorf("RouteSource(127.0.0.2) = %v, %v; want a loopback address", got, err)
	}
}

// TestOnBFDChangeResetsBGP: Up -> Down tears the peer's BGP session down
// (once, at once, without a pass); other changes do not; each change is
// counted per peer and new state.
func TestOnBFDChangeResetsBGP(t *testing.T) {
	router := netip.MustParseAddr("198.18.0.2")
	fake := NewFakeBGP(netip.MustParseAddr("198.18.0.11"), true)
	var sp BGPSpeaker = fake
	r := &Reconciler{Metrics: NewMetrics()}
	r.liveBGP.Store(&sp)
	r.bfdPeers.set([]bgp.Peer{{Name: "lab-router", Address: router}})
	// The reconciler's lock is held, as during a pass: the reset must not
	// wait for it.
	r.mu.Lock()
	defer r.mu.Unlock()

	for _, c := range []bfd.Change{{From: bfd.Down, To: bfd.Init}, {From: bfd.Init, To: bfd.Up}, {From: bfd.Up, To: bfd.AdminDown}, {From: bfd.Down, To: bfd.Up},
		{From: bfd.Up, To: bfd.Down, Diag: "Neighbor Signaled Session Down", RemoteState: bfd.AdminDown}, {From: bfd.Down, To: bfd.Up}} {
		c.Remote = router
		r.OnBFDChange(c)
	}
	time.Sleep(100 * time.Millisecond)
	if got := fake.Resets(); len(got) != 0 {
		t.Fatalf("resets %v after changes that are not Up -> Down, or Down because the router went AdminDown", got)
	}
	r.OnBFDChange(bfd.Change{Remote: router, From: bfd.Up, To: bfd.Down, Diag: "Control Detection Time Expired", RemoteState: bfd.Up})
	poll.Eventually(t, 5*time.Millisecond, 2*time.Second, "a session reset after Up -> Down", func() bool { return len(fake.Resets()) > 0 })
	if got := fake.Resets(); !slices.Equal(got, []netip.Addr{router}) {
		t.Fatalf("resets = %v after Up -> Down; want [%s]", got, router)
	}
	want := `
# HELP pylon_speaker_bfd_transitions_total State changes of the BFD session with the BGP peer since the speaker started, by new state (Up, Down, Init, AdminDown).
# TYPE pylon_speaker_bfd_transitions_total counter
pylon_speaker_bfd_transitions_total{peer="lab-router",state="AdminDown"} 1
pylon_speaker_bfd_transitions_total{peer="lab-router",state="Down"} 2
pylon_speaker_bfd_transitions_total{peer="lab-router",state="Init"} 1
pylon_speaker_bfd_transitions_total{peer="lab-router",state="Up"} 3
`
	reg := prometheus.NewRegistry()
	if err := r.Metrics.Register(reg); err != nil {
		t.Fatal(err)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "pylon_speaker_bfd_transitions_total"); err != nil {
		t.Error(err)
	}
}

// TestBFDStatusAndMetric: each BGP session with a BFD session shows its
// state, since and diagnostic in SpeakerStatus and as a gauge.
func TestBFDStatusAndMetric(t *testing.T) {
	since := time.Date(2026, 12, 5, 4, 0, 0, 700_000_000, time.UTC)
	bs := bgpState{
		sessions: []bgp.Session{
			{Peer: "a", Address: netip.MustParseAddr("198.18.0.2"), State: bgp.StateEstablished},
			{Peer: "b", Address: netip.MustParseAddr("198.18.0.3"), State: bgp.StateActive},
			{Peer: "c", Address: netip.MustParseAddr("198.18.0.4"), State: bgp.StateEstablished},
		},
		bfd: []bfd.Status{
			{Config: bfd.Config{Remote: netip.MustParseAddr("198.18.0.2")}, State: bfd.Up, Since: since},
			{Config: bfd.Config{Remote: netip.MustParseAddr("198.18.0.3")}, State: bfd.Down, Since: since, LocalDiag: "Control Detection Time Expired"},
		},
	}
	st := buildStatus(nil, Plan{}, nil, bs, &splitBrain{})
	want := map[string]*v1alpha1.BFDSessionStatus{
		"a": {State: "Up", Since: &metav1.Time{Time: since.Truncate(time.Second)}},
		"b": {State: "Down", Since: &metav1.Time{Time: since.Truncate(time.Second)}, Diagnostic: "Control Detection Time Expired"},
		"c": nil,
	}
	for _, s := range st.BGPSessions {
		w := want[s.Peer]
		if (s.BFD == nil) != (w == nil) || (w != nil && (s.BFD.State != w.State || !s.BFD.Since.Equal(w.Since) || s.BFD.Diagnostic != w.Diagnostic)) {
			t.Errorf("session %s: bfd %+v, want %+v", s.Peer, s.BFD, w)
		}
	}

	m := NewMetrics()
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	m.observeBFD(bs.sessions, bs.bfd)
	gauge := `
# HELP pylon_speaker_bfd_session_up 1 when the BFD session with the BGP peer is Up, 0 otherwise; absent for peers without a bfd profile.
# TYPE pylon_speaker_bfd_session_up gauge
pylon_speaker_bfd_session_up{peer="a"} 1
pylon_speaker_bfd_session_up{peer="b"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(gauge), "pylon_speaker_bfd_session_up"); err != nil {
		t.Error(err)
	}
	m.bfdTransition("a", bfd.Down)
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", problems, err)
	}
}

// TestBFDSetErrorReported: BFD sessions that cannot run (here: the local
// address is not this host's, so its socket cannot bind) are an error of
// the pass naming the router, and the other BFD sessions run; no peers, no
// error.
func TestBFDSetErrorReported(t *testing.T) {
	cfg, peers := bfdTestConfig(t)
	sessions := bfd.New(bfd.Options{})
	t.Cleanup(func() { _ = sessions.Close() })
	r := &Reconciler{BFD: sessions,
		RouteSource: func(netip.Addr) (netip.Addr, error) { return netip.MustParseAddr("198.18.0.11"), nil }}
	var st bgpState
	r.applyBFD(cfg, peers, &st)
	if st.err == nil || !strings.Contains(st.err.Error(), "BFD sessions: bfd session ") || !strings.Contains(st.err.Error(), "from 198.18.0.11") {
		t.Errorf("error %v; want one naming the BFD session from 198.18.0.11", st.err)
	}
	st = bgpState{}
	r.applyBFD(nil, nil, &st)
	if st.err != nil {
		t.Errorf("no peers: error %v", st.err)
	}
}
