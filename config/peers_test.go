package config

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

func dur(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

func TestPeerDefaultsAndFields(t *testing.T) {
	full := peer("full", 0, 64512, 64513, "2001:db8:18::1")
	port := int32(1179)
	yes := true
	full.Spec.PeerPort = &port
	full.Spec.SourceAddress = "2001:db8:18::11"
	full.Spec.HoldTime = dur(9 * time.Second)
	full.Spec.KeepaliveTime = dur(2 * time.Second)
	full.Spec.EBGPMultiHop = &yes
	full.Spec.GracefulRestart = &v1alpha1.GracefulRestart{}
	full.Spec.NodeSelector = &v1alpha1.LabelSelector{}
	full.Spec.NodeSelector.MatchLabels = map[string]v1alpha1.LabelValue{"rack": "a"}
	full.Spec.PasswordSecretRef = &v1alpha1.SecretKeyReference{Name: "bgp"}

	c := Parse(Resources{
		BGPPeers:  []v1alpha1.BGPPeer{full, peer("plain", 1, 64512, 64512, "198.18.0.1")},
		Secrets:   []corev1.Secret{secret("pylon-system", "bgp", map[string]string{"password": "s3cret"})},
		Namespace: "pylon-system",
	})
	wantNoProblems(t, c)
	if got := names(c.BGPPeers, func(p *BGPPeer) string { return p.Name }); !slices.Equal(got, []string{"full", "plain"}) {
		t.Fatalf("peers = %v", got)
	}
	f, p := c.BGPPeers[0], c.BGPPeers[1]
	if f.Port != 1179 || f.HoldTime != 9*time.Second || f.KeepaliveTime != 2*time.Second || !f.EBGPMultiHop ||
		f.RestartTime != DefaultRestartTime || f.Password != "s3cret" || f.IBGP() ||
		f.SourceAddress != netip.MustParseAddr("2001:db8:18::11") {
		t.Errorf("full peer parsed wrongly: %+v", *f)
	}
	if !f.NodeSelector.Matches(labels.Set{"rack": "a"}) || f.NodeSelector.Matches(labels.Set{"rack": "b"}) {
		t.Errorf("node selector %v", f.NodeSelector)
	}
	if p.Port != 179 || p.HoldTime != 90*time.Second || p.KeepaliveTime != 30*time.Second || !p.IBGP() ||
		p.RestartTime != 0 || p.SourceAddress.IsValid() || !p.NodeSelector.Empty() {
		t.Errorf("defaults wrong: %+v", *p)
	}
	if strings.Contains(f.String(), "s3cret") {
		t.Errorf("String() leaks the password: %s", f)
	}
}

func TestPeerInvalidSpec(t *testing.T) {
	yes := true
	port := int32(70000)
	tests := []struct {
		name string
		edit func(*v1alpha1.BGPPeerSpec)
		path string
	}{
		{"asn zero", func(s *v1alpha1.BGPPeerSpec) { s.MyASN = 0 }, "spec.myASN"},
		{"asn too big", func(s *v1alpha1.BGPPeerSpec) { s.PeerASN = 4294967296 }, "spec.peerASN"},
		{"address", func(s *v1alpha1.BGPPeerSpec) { s.PeerAddress = "router.example" }, "spec.peerAddress"},
		{"address with zone", func(s *v1alpha1.BGPPeerSpec) { s.PeerAddress = "fe80::1%eth0" }, "spec.peerAddress"},
		{"port", func(s *v1alpha1.BGPPeerSpec) { s.PeerPort = &port }, "spec.peerPort"},
		{"source family", func(s *v1alpha1.BGPPeerSpec) { s.SourceAddress = "2001:db8::1" }, "spec.sourceAddress"},
		{"hold 2s", func(s *v1alpha1.BGPPeerSpec) { s.HoldTime = dur(2 * time.Second) }, "spec.holdTime"},
		{"keepalive not below hold", func(s *v1alpha1.BGPPeerSpec) { s.HoldTime, s.KeepaliveTime = dur(9*time.Second), dur(9*time.Second) }, "spec.keepaliveTime"},
		{"keepalive above default hold", func(s *v1alpha1.BGPPeerSpec) { s.KeepaliveTime = dur(91 * time.Second) }, "spec.keepaliveTime"},
		// GoBGP cannot propose "no hold timer": 0s would silently be 90s.
		{"hold 0s", func(s *v1alpha1.BGPPeerSpec) { s.HoldTime = dur(0) }, "spec.holdTime"},
		{"hold 0s with keepalive 0s", func(s *v1alpha1.BGPPeerSpec) { s.HoldTime, s.KeepaliveTime = dur(0), dur(0) }, "spec.holdTime"},
		{"multihop on iBGP", func(s *v1alpha1.BGPPeerSpec) { s.PeerASN = s.MyASN; s.EBGPMultiHop = &yes }, "spec.ebgpMultiHop"},
		{"restart time", func(s *v1alpha1.BGPPeerSpec) {
			s.GracefulRestart = &v1alpha1.GracefulRestart{RestartTime: dur(5000 * time.Second)}
		}, "spec.gracefulRestart.restartTime"},
		{"node selector", func(s *v1alpha1.BGPPeerSpec) {
			s.NodeSelector = &v1alpha1.LabelSelector{}
			s.NodeSelector.MatchExpressions = append(s.NodeSelector.MatchExpressions, selectorReq("rack", "In"))
		}, "spec.nodeSelector"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := peer("p", 0, 64512, 64513, "198.18.0.1")
			tt.edit(&p.Spec)
			c := Parse(Resources{BGPPeers: []v1alpha1.BGPPeer{p}})
			wantProblem(t, c, KindBGPPeer, "p", ReasonInvalidSpec, true, tt.path)
			if len(c.BGPPeers) != 0 {
				t.Errorf("an invalid peer must be left out")
			}
		})
	}
}

func TestPeerPasswordSecret(t *testing.T) {
	withRef := func(name string, age int, ref v1alpha1.SecretKeyReference) v1alpha1.BGPPeer {
		p := peer(name, age, 64512, 64513, "198.18.0."+string(rune('1'+age)))
		p.Spec.PasswordSecretRef = &ref
		return p
	}
	secrets := []corev1.Secret{
		secret("pylon-system", "bgp", map[string]string{"password": "default-ns"}),
		secret("net", "bgp", map[string]string{"md5": "other-ns", "empty": ""}),
	}
	c := Parse(Resources{Namespace: "pylon-system", Secrets: secrets, BGPPeers: []v1alpha1.BGPPeer{
		withRef("default-ns", 0, v1alpha1.SecretKeyReference{Name: "bgp"}),
		withRef("other-ns", 1, v1alpha1.SecretKeyReference{Name: "bgp", Namespace: "net", Key: "md5"}),
		withRef("missing", 2, v1alpha1.SecretKeyReference{Name: "nope"}),
		withRef("no-key", 3, v1alpha1.SecretKeyReference{Name: "bgp", Namespace: "net"}),
		withRef("empty", 4, v1alpha1.SecretKeyReference{Name: "bgp", Namespace: "net", Key: "empty"}),
		withRef("wrong-ns", 5, v1alpha1.SecretKeyReference{Name: "bgp", Namespace: "kube-system"}),
	}})
	wantProblem(t, c, KindBGPPeer, "missing", ReasonSecretNotUsable, true, "spec.passwordSecretRef.name", "pylon-system/nope")
	wantProblem(t, c, KindBGPPeer, "no-key", ReasonSecretNotUsable, true, "spec.passwordSecretRef.key", "has no key password")
	wantProblem(t, c, KindBGPPeer, "empty", ReasonSecretNotUsable, true, "spec.passwordSecretRef.key", "1 to 80 bytes")
	wantProblem(t, c, KindBGPPeer, "wrong-ns", ReasonSecretNotUsable, true, "kube-system/bgp")
	got := map[string]string{}
	for _, p := range c.BGPPeers {
		got[p.Name] = p.Password
	}
	if len(got) != 2 || got["default-ns"] != "default-ns" || got["other-ns"] != "other-ns" {
		t.Errorf("passwords = %v", got)
	}
}

func TestDuplicatePeers(t *testing.T) {
	rack := func(p v1alpha1.BGPPeer, r string) v1alpha1.BGPPeer {
		p.Spec.NodeSelector = &v1alpha1.LabelSelector{}
		p.Spec.NodeSelector.MatchLabels = map[string]v1alpha1.LabelValue{"rack": v1alpha1.LabelValue(r)}
		return p
	}
	c := Parse(Resources{BGPPeers: []v1alpha1.BGPPeer{
		peer("b-first", 0, 64512, 64513, "198.18.0.1"),
		peer("a-copy", 1, 64512, 64514, "198.18.0.1"),
		rack(peer("rack-a", 2, 64512, 64513, "198.18.0.1"), "a"),
		rack(peer("rack-b", 3, 64512, 64513, "198.18.0.1"), "b"),
		rack(peer("rack-a-copy", 4, 64512, 64513, "198.18.0.1"), "a"),
	}})
	wantProblem(t, c, KindBGPPeer, "a-copy", ReasonDuplicatePeer, true, "spec.peerAddress", "b-first")
	wantProblem(t, c, KindBGPPeer, "rack-a-copy", ReasonDuplicatePeer, true, "rack-a")
	if got := names(c.BGPPeers, func(p *BGPPeer) string { return p.Name }); !slices.Equal(got, []string{"b-first", "rack-a", "rack-b"}) {
		t.Errorf("peers = %v: the older of two duplicates stays, different node sets are not duplicates", got)
	}
}
