package config

import (
	"testing"
	"time"

	"github.com/pylonlb/pylon/api/v1alpha1"

	"k8s.io/utils/ptr"
)

func TestPeerBFD(t *testing.T) {
	yes, no := true, false
	multiplier := int32(5)
	defaults := peer("defaults", 0, 64512, 64513, "198.18.0.1")
	defaults.Spec.BFD = &v1alpha1.BFDProfile{}
	full := peer("full", 1, 64512, 64513, "198.18.0.2")
	full.Spec.BFD = &v1alpha1.BFDProfile{ReceiveInterval: dur(50 * time.Millisecond), TransmitInterval: dur(time.Second),
		DetectMultiplier: &multiplier, EchoMode: &no, PassiveMode: &yes}
	off := peer("off", 2, 64512, 64513, "198.18.0.3")

	c := Parse(Resources{BGPPeers: []v1alpha1.BGPPeer{defaults, full, off}})
	wantNoProblems(t, c)
	want := map[string]*BFD{
		"defaults": {ReceiveInterval: 300 * time.Millisecond, TransmitInterval: 300 * time.Millisecond, DetectMultiplier: 3},
		"full":     {ReceiveInterval: 50 * time.Millisecond, TransmitInterval: time.Second, DetectMultiplier: 5, Passive: true},
		"off":      nil,
	}
	for name, w := range want {
		got := c.Peer(name).BFD
		if (got == nil) != (w == nil) || (got != nil && *got != *w) {
			t.Errorf("peer %s: BFD = %+v, want %+v", name, got, w)
		}
	}
}

func TestPeerBFDInvalid(t *testing.T) {
	yes := true
	tests := []struct {
		name    string
		profile v1alpha1.BFDProfile
		path    string
		msg     string
	}{
		{"receive 9ms", v1alpha1.BFDProfile{ReceiveInterval: dur(9 * time.Millisecond)}, "spec.bfd.receiveInterval", "must be between 10ms and 60s"},
		{"transmit 61s", v1alpha1.BFDProfile{TransmitInterval: dur(61 * time.Second)}, "spec.bfd.transmitInterval", "must be between 10ms and 60s"},
		{"multiplier 1", v1alpha1.BFDProfile{DetectMultiplier: ptr.To(int32(1))}, "spec.bfd.detectMultiplier", "must be between 2 and 255"},
		{"multiplier 256", v1alpha1.BFDProfile{DetectMultiplier: ptr.To(int32(256))}, "spec.bfd.detectMultiplier", "must be between 2 and 255"},
		{"echo", v1alpha1.BFDProfile{EchoMode: &yes}, "spec.bfd.echoMode", "echo mode is not implemented"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := peer("p", 0, 64512, 64513, "198.18.0.1")
			p.Spec.BFD = &tt.profile
			c := Parse(Resources{BGPPeers: []v1alpha1.BGPPeer{p}})
			wantProblem(t, c, KindBGPPeer, "p", ReasonInvalidSpec, true, tt.path, tt.msg)
			if len(c.BGPPeers) != 0 {
				t.Errorf("an invalid peer must be left out")
			}
		})
	}
}
