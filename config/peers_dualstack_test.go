package config

import (
	"testing"

	"github.com/pylonlb/pylon/api/v1alpha1"
)

// TestPeerDualStackAddressFamily: the option is off unless set to true, on
// IPv4 and IPv6 peers alike, and is valid with every other field.
func TestPeerDualStackAddressFamily(t *testing.T) {
	yes, no := true, false
	on4 := peer("on4", 0, 64512, 64513, "198.18.0.1")
	on4.Spec.DualStackAddressFamily = &yes
	on6 := peer("on6", 1, 64512, 64512, "2001:db8:18::1")
	on6.Spec.DualStackAddressFamily = &yes
	on6.Spec.SourceAddress = "2001:db8:18::11"
	off := peer("off", 2, 64512, 64513, "198.18.0.2")
	off.Spec.DualStackAddressFamily = &no
	unset := peer("unset", 3, 64512, 64513, "198.18.0.3")
	c := Parse(Resources{BGPPeers: []v1alpha1.BGPPeer{on4, on6, off, unset}})
	wantNoProblems(t, c)
	want := map[string]bool{"on4": true, "on6": true, "off": false, "unset": false}
	for name, w := range want {
		p := c.Peer(name)
		if p == nil {
			t.Fatalf("peer %s missing", name)
		}
		if p.DualStackAddressFamily != w {
			t.Errorf("peer %s: DualStackAddressFamily = %v, want %v", name, p.DualStackAddressFamily, w)
		}
	}
}
