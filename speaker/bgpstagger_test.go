package speaker

import (
	"net/netip"
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
	up := map[string]string{"router": bgp.StateEstablished}
	othersUp := []v1alpha1.SpeakerStatus{speakerWith("n1", "router", "Established"), speakerWith("n3", "router", "Established")}
	n1Down := []v1alpha1.SpeakerStatus{speakerWith("n1", "router", "Active"), speakerWith("n3", "router", "Established")}

	down := map[string]string{"router": "Active"}
	n1Trying := []v1alpha1.SpeakerStatus{speakerWith("n1", "router", "Established"), speakerWith("n3", "router", "Established")}
	n1Trying[0].Status.BGPSessions[0].Change = ChangeTrying
	n1Reverted := []v1alpha1.SpeakerStatus{speakerWith("n1", "router", "Established"), speakerWith("n3", "router", "Established")}
	n1Reverted[0].Status.BGPSessions[0].Change = ChangeReverted
	type step struct {
		at       time.Duration
		speakers []v1alpha1.SpeakerStatus
		states   map[string]string
		applied  bool   // the new settings go to the speaker
		change   string // BGPSessionStatus.Change
	}
	tests := []struct {
		name  string
		node  string
		want  bgp.Peer
		steps []step
	}{
		{"timers: in place, at once", "n2", newTimers, []step{{0, othersUp, up, true, ""}}},
		{"a session that is down takes the change at once", "n2", newPassword, []step{{0, othersUp, down, true, ""}}},
		{"first in name order tries it at once; its session comes back", "n1", newPassword, []step{
			{0, []v1alpha1.SpeakerStatus{speakerWith("n2", "router", "Established")}, up, true, ChangeTrying},
			{time.Second, nil, down, true, ChangeTrying},
			{3 * time.Second, nil, up, true, ""},
		}},
		{"second waits one step", "n2", newPassword, []step{
			{0, othersUp, up, false, ChangeHeld},
			{staggerStep - time.Millisecond, othersUp, up, false, ChangeHeld},
			{staggerStep, othersUp, up, true, ChangeTrying},
		}},
		{"one step after the others are quiet again", "n2", newPassword, []step{
			{0, n1Down, up, false, ChangeHeld},
			{staggerStep, n1Trying, up, false, ChangeHeld},
			{staggerStep + 2*time.Second, othersUp, up, false, ChangeHeld},
			{2 * staggerStep, othersUp, up, true, ChangeTrying},
		}},
		{"never longer than staggerMax", "n2", newPassword, []step{
			{0, n1Down, up, false, ChangeHeld},
			{staggerMax - time.Second, n1Down, up, false, ChangeHeld},
			{staggerMax, n1Down, up, true, ChangeTrying},
		}},
		{"held while another node reverted, until this session drops", "n2", newPassword, []step{
			{0, n1Reverted, up, false, ChangeHeld},
			{staggerMax + time.Minute, n1Reverted, up, false, ChangeHeld},
			{staggerMax + 2*time.Minute, n1Reverted, down, true, ""},
		}},
		{"a trial that brings no session up goes back, until the old session drops", "n1", newPassword, []step{
			{0, nil, up, true, ChangeTrying},
			{time.Second, nil, down, true, ChangeTrying},
			{trialTimeout, nil, down, false, ChangeReverted},
			{trialTimeout + 2*time.Second, nil, up, false, ChangeReverted},
			{trialTimeout + time.Minute, nil, up, false, ChangeReverted},
			{trialTimeout + time.Minute + time.Second, nil, down, true, ""},
		}},
		{"a trial whose old session never comes back either takes the new settings", "n1", newPassword, []step{
			{0, nil, up, true, ChangeTrying},
			{trialTimeout, nil, down, false, ChangeReverted},
			{2*trialTimeout - time.Second, nil, down, false, ChangeReverted},
			{2 * trialTimeout, nil, down, true, ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g resetGate
			run := running
			have := func(name string) (bgp.Peer, bool) { return run, name == "router" }
			for _, s := range tt.steps {
				res := g.apply(gateInput{node: tt.node, want: []bgp.Peer{tt.want}, have: have, states: s.states, speakers: s.speakers, now: t0.Add(s.at)})
				if len(res.peers) != 1 {
					t.Fatalf("at +%v: peers %v", s.at, res.peers)
				}
				if got := res.peers[0] == tt.want; got != s.applied {
					t.Fatalf("at +%v: applied = %v, want %v (notes %q)", s.at, got, s.applied, res.notes)
				}
				if !s.applied && res.peers[0] != running {
					t.Fatalf("at +%v: held back to %+v, want the running settings", s.at, res.peers[0])
				}
				if got := res.changes["router"]; got != s.change || (got != "") != (len(res.notes) == 1 && res.again > 0) {
					t.Fatalf("at +%v: change %q (notes %q, again %v), want %q", s.at, got, res.notes, res.again, s.change)
				}
				run = res.peers[0] // the speaker now runs what it was given
			}
		})
	}
	t.Run("a new peer goes at once", func(t *testing.T) {
		var g resetGate
		other := running
		other.Name = "r2"
		have := func(name string) (bgp.Peer, bool) { return running, name == "router" }
		res := g.apply(gateInput{node: "n2", want: []bgp.Peer{other}, have: have, states: up, speakers: othersUp, now: t0})
		if len(res.notes) != 0 || res.peers[0] != other {
			t.Fatalf("peers %v notes %v", res.peers, res.notes)
		}
	})
}
