package speaker

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pylonlb/pylon/speaker/bgp"
)

// TestPassiveListen: a node listens only with a passive peer: on the
// peer's source address, else on its own addresses of the peer's family.
func TestPassiveListen(t *testing.T) {
	node := &corev1.Node{Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: "198.18.0.11"},
		{Type: corev1.NodeInternalIP, Address: "2001:db8:18::11"},
		{Type: corev1.NodeExternalIP, Address: "203.0.113.11"},
		{Type: corev1.NodeHostName, Address: "n1"},
	}}}
	active := bgp.Peer{Name: "a", Address: netip.MustParseAddr("198.18.0.1")}
	v4 := bgp.Peer{Name: "p4", Address: netip.MustParseAddr("198.18.0.2"), Passive: true}
	v6 := bgp.Peer{Name: "p6", Address: netip.MustParseAddr("2001:db8:18::1"), Passive: true}
	sourced := bgp.Peer{Name: "ps", Address: netip.MustParseAddr("198.18.0.3"), Passive: true, SourceAddress: netip.MustParseAddr("198.18.0.12")}
	for name, tc := range map[string]struct {
		peers []bgp.Peer
		want  []string
	}{
		"no passive peer":         {[]bgp.Peer{active}, nil},
		"IPv4 passive peer":       {[]bgp.Peer{active, v4}, []string{"198.18.0.11", "203.0.113.11"}},
		"IPv6 passive peer":       {[]bgp.Peer{v6}, []string{"2001:db8:18::11"}},
		"source address":          {[]bgp.Peer{sourced}, []string{"198.18.0.12"}},
		"both, sorted and unique": {[]bgp.Peer{v6, sourced, v4, v4}, []string{"198.18.0.11", "198.18.0.12", "203.0.113.11", "2001:db8:18::11"}},
	} {
		var got []string
		for _, a := range passiveListen(tc.peers, node) {
			got = append(got, a.String())
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: listen %v, want %v", name, got, tc.want)
		}
	}
}

// TestEnsureBGPRestartsToListen: the speaker is started with the listen
// addresses and replaced when they change (a passive peer comes or goes),
// not otherwise; the condition says where it listens.
func TestEnsureBGPRestartsToListen(t *testing.T) {
	var started []*FakeBGP
	var listens [][]netip.Addr
	r := &Reconciler{Node: "n1", StartBGP: func(_ context.Context, id netip.Addr, listen []netip.Addr) (BGPSpeaker, error) {
		f := NewFakeBGP(id, false)
		started, listens = append(started, f), append(listens, listen)
		return f, nil
	}}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: "198.18.0.11"},
	}}}
	snap := &snapshot{nodes: []*corev1.Node{node}}
	a := []netip.Addr{netip.MustParseAddr("198.18.0.11")}
	steps := []struct {
		listen      []netip.Addr
		wantStarted int
		wantMsg     string
	}{
		{nil, 1, "router ID 198.18.0.11"},
		{nil, 1, "router ID 198.18.0.11"},
		{a, 2, "listening on port 179 of [198.18.0.11] for passive peers"},
		{a, 2, "listening on port 179 of [198.18.0.11]"},
		{nil, 3, "router ID 198.18.0.11"},
	}
	for i, s := range steps {
		_, c := r.ensureBGP(t.Context(), snap, s.listen)
		if len(started) != s.wantStarted || !strings.Contains(c.Message, s.wantMsg) {
			t.Fatalf("step %d: %d started, condition %q; want %d, %q", i, len(started), c.Message, s.wantStarted, s.wantMsg)
		}
		if (s.listen == nil) == strings.Contains(c.Message, "listening") {
			t.Errorf("step %d: condition %q", i, c.Message)
		}
	}
	if !slices.Equal(listens[1], a) || listens[2] != nil || !started[0].Closed() || !started[1].Closed() || started[2].Closed() {
		t.Errorf("started with %v; closed %v %v %v", listens, started[0].Closed(), started[1].Closed(), started[2].Closed())
	}
}

// TestEnsureBGPWithoutListening: a speaker that cannot listen (no
// capability) runs without listening, so the active peers keep working;
// the condition says so, and it is not restarted every pass.
func TestEnsureBGPWithoutListening(t *testing.T) {
	var started []*FakeBGP
	r := &Reconciler{Node: "n1", StartBGP: func(_ context.Context, id netip.Addr, listen []netip.Addr) (BGPSpeaker, error) {
		if len(listen) > 0 {
			return nil, errors.New("listen tcp 198.18.0.11:179: bind: permission denied")
		}
		f := NewFakeBGP(id, false)
		started = append(started, f)
		return f, nil
	}}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: "198.18.0.11"},
	}}}
	snap := &snapshot{nodes: []*corev1.Node{node}}
	a := []netip.Addr{netip.MustParseAddr("198.18.0.11")}
	for i := range 2 {
		sp, c := r.ensureBGP(t.Context(), snap, a)
		if sp == nil || len(started) != 1 || c.Status != metav1.ConditionTrue || c.Reason != ReasonListenFailed ||
			!strings.Contains(c.Message, "permission denied") || !strings.Contains(c.Message, "bgp.passivePeers") {
			t.Fatalf("pass %d: speaker %v, %d started, condition %+v", i, sp, len(started), c)
		}
	}
	// The passive peer goes: the speaker is replaced by a plain one, fine.
	if _, c := r.ensureBGP(t.Context(), snap, nil); len(started) != 2 || c.Reason != ReasonBGPRunning || !started[0].Closed() {
		t.Fatalf("%d started, condition %+v, first closed %v", len(started), c, started[0].Closed())
	}
}
