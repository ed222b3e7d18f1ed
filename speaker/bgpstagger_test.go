package speaker

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/pylonlb/pylon/api/v1alpha1"
	"github.com/pylonlb/pylon/speaker/bgp"
)

func speakerWith(node string, sessions ...string) v1alpha1.SpeakerStatus {
	s := v1alpha1.SpeakerStatus{}
	s.Name = node
	for i := 0; i+1 < len(sessions); i += 2 {
		s.Status.BGPSessions = append(s.Status.BGPSessions, v1alpha1.BGPSessionStatus{Peer: sessions[i], State: sessions[i+1]})
	}
	return s
}

func TestResetGate(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	running := bgp.Peer{Name: "router", Address: netip.MustParseAddr("198.18.0.1"), MyASN: 64512, PeerASN: 64513, Password: "old"}
	newPassword := running
	newPassword.Password = "new"
	newTimers := running
	newTimers.HoldTime = 30 * time.Second
	have := func(name string) (bgp.Peer, bool) { return running, name == "router" }
	up := map[string]string{"router": bgp.StateEstablished}
	othersUp := []v1alpha1.SpeakerStatus{speakerWith("n1", "router", "Established"), speakerWith("n3", "router", "Established")}
	n1Down := []v1alpha1.SpeakerStatus{speakerWith("n1", "router", "Active"), speakerWith("n3", "router", "Established")}

	type step struct {
		at       time.Duration
		speakers []v1alpha1.SpeakerStatus
		states   map[string]string
		applied  bool // the new settings go to the speaker
	}
	tests := []struct {
		name  string
		node  string
		want  bgp.Peer
		steps []step
	}{
		{"timers: in place, at once", "n2", newTimers, []step{{0, othersUp, up, true}}},
		{"a session that is down takes the change at once", "n2", newPassword, []step{{0, othersUp, map[string]string{"router": "Active"}, true}}},
		{"first in name order goes at once", "n1", newPassword, []step{{0, []v1alpha1.SpeakerStatus{speakerWith("n2", "router", "Established")}, up, true}}},
		{"second waits one step", "n2", newPassword, []step{
			{0, othersUp, up, false},
			{staggerStep - time.Millisecond, othersUp, up, false},
			{staggerStep, othersUp, up, true},
		}},
		{"and for the first to be back", "n2", newPassword, []step{
			{0, n1Down, up, false},
			{staggerStep, n1Down, up, false},
			{staggerStep + 2*time.Second, othersUp, up, true},
		}},
		{"never longer than staggerMax", "n2", newPassword, []step{
			{0, n1Down, up, false},
			{staggerMax - time.Second, n1Down, up, false},
			{staggerMax, n1Down, up, true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g resetGate
			for _, s := range tt.steps {
				peers, held, again := g.apply(gateInput{node: tt.node, want: []bgp.Peer{tt.want}, have: have, states: s.states, speakers: s.speakers, now: t0.Add(s.at)})
				if len(peers) != 1 {
					t.Fatalf("at +%v: peers %v", s.at, peers)
				}
				if got := peers[0] == tt.want; got != s.applied {
					t.Fatalf("at +%v: applied = %v, want %v (held %v)", s.at, got, s.applied, held)
				}
				if !s.applied && (peers[0] != running || !slices.Equal(held, []string{"router"}) || again == 0) {
					t.Fatalf("at +%v: held back wrongly: %v %v %v", s.at, peers, held, again)
				}
			}
		})
	}
	t.Run("a new peer goes at once", func(t *testing.T) {
		var g resetGate
		other := running
		other.Name = "r2"
		peers, held, _ := g.apply(gateInput{node: "n2", want: []bgp.Peer{other}, have: have, states: up, speakers: othersUp, now: t0})
		if len(held) != 0 || peers[0] != other {
			t.Fatalf("peers %v held %v", peers, held)
		}
	})
}
