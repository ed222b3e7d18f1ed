package config

import (
	"testing"
	"time"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// TestPeerConnectTimeAndDynamicASN: connectTime in whole seconds (0 when
// unset); dynamicASN internal makes an iBGP peer with peerASN = myASN,
// external one with no peerASN that takes any; vrf is kept as given.
func TestPeerConnectTimeAndDynamicASN(t *testing.T) {
	yes := true
	connect := peer("connect", 0, 64512, 64513, "198.18.0.1")
	connect.Spec.ConnectTime = dur(5700 * time.Millisecond)
	internal := peer("internal", 1, 64512, 0, "198.18.0.2")
	internal.Spec.DynamicASN = v1alpha1.DynamicASNInternal
	external := peer("external", 2, 64512, 0, "198.18.0.3")
	external.Spec.DynamicASN = v1alpha1.DynamicASNExternal
	external.Spec.EBGPMultiHop = &yes
	connect.Spec.VRF = "blue"
	connect.Spec.Passive = &yes
	c := Parse(Resources{BGPPeers: []v1alpha1.BGPPeer{connect, internal, external, peer("plain", 3, 64512, 64513, "198.18.0.4")}})
	wantNoProblems(t, c)
	if p := c.Peer("connect"); p.ConnectTime != 5*time.Second || p.DynamicASN != "" || p.AnyPeerASN() || p.VRF != "blue" || !p.Passive {
		t.Errorf("connect: %+v", *p)
	}
	if p := c.Peer("plain"); p.ConnectTime != 0 || p.VRF != "" || p.Passive {
		t.Errorf("plain: connect time %v (want 0, the speaker's default), VRF %q", p.ConnectTime, p.VRF)
	}
	if p := c.Peer("internal"); p.PeerASN != 64512 || !p.IBGP() || p.AnyPeerASN() || p.DynamicASN != v1alpha1.DynamicASNInternal {
		t.Errorf("internal: %+v", *p)
	}
	if p := c.Peer("external"); p.PeerASN != 0 || p.IBGP() || !p.AnyPeerASN() || !p.EBGPMultiHop {
		t.Errorf("external: %+v", *p)
	}
	if got := c.Peer("external").String(); got != "external (AS64512 -> AS external at 198.18.0.3:179)" {
		t.Errorf("String() = %q", got)
	}

	bad := []struct {
		name string
		edit func(*v1alpha1.BGPPeerSpec)
		path string
	}{
		{"connectTime 500ms", func(s *v1alpha1.BGPPeerSpec) { s.ConnectTime = dur(500 * time.Millisecond) }, "spec.connectTime"},
		{"connectTime 70000s", func(s *v1alpha1.BGPPeerSpec) { s.ConnectTime = dur(70000 * time.Second) }, "spec.connectTime"},
		{"peerASN and dynamicASN", func(s *v1alpha1.BGPPeerSpec) { s.DynamicASN = v1alpha1.DynamicASNExternal }, "spec.dynamicASN"},
		{"neither", func(s *v1alpha1.BGPPeerSpec) { s.PeerASN = 0 }, "spec.peerASN"},
		{"dynamicASN sideways", func(s *v1alpha1.BGPPeerSpec) { s.PeerASN, s.DynamicASN = 0, "sideways" }, "spec.dynamicASN"},
		{"vrf a/b", func(s *v1alpha1.BGPPeerSpec) { s.VRF = "a/b" }, "spec.vrf"},
		{"multihop with dynamicASN internal", func(s *v1alpha1.BGPPeerSpec) {
			s.PeerASN, s.DynamicASN, s.EBGPMultiHop = 0, v1alpha1.DynamicASNInternal, &yes
		}, "spec.ebgpMultiHop"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			p := peer("p", 0, 64512, 64513, "198.18.0.1")
			tt.edit(&p.Spec)
			c := Parse(Resources{BGPPeers: []v1alpha1.BGPPeer{p}})
			wantProblem(t, c, KindBGPPeer, "p", ReasonInvalidSpec, true, tt.path)
		})
	}
}
