package e2e

import (
	"testing"
	"time"

	"github.com/pylonlb/pylon/test/lab"
)

// bgpBFDCut is BFD's row of the BGP interop matrix, the last scenario of
// TestBGP (FRR's bfdd) and TestBGPBIRD (BIRD's bfd protocol), whose lab
// router runs BFD at 300 ms x 3 for the nodes' sessions. It turns BFD on
// (the same, the defaults) for both BGPPeers of bgpConfig, makes the
// dual-stack Service "bfd" and waits until the router routes it over the
// nodes each peer selects ("router": n1 and n2 since the node selector
// scenario; "router-v6": all three), with BFD up on the router and in
// those speakers' SpeakerStatuses; then it cuts n1 off the segment
// silently (lab.Cut: no FIN, no carrier change, so only BFD can tell before
// the router's 9 s hold time) and checks that the router's kernel stops
// routing both addresses via n1 within bfdPowerLossMax. n1 stays cut.
func bgpBFDCut(t *testing.T, l *lab.Lab) {
	bfdSet(t.Context(), t, l, true, "router", "router-v6")
	_, ips := service(t, l, "bfd", true)
	v4Nodes, all := []string{"n1", "n2"}, nodeNames(l)
	waitNextHops(t, l, ips[0], 20*time.Second, v4Nodes...)
	waitNextHops(t, l, ips[1], 20*time.Second, all...)
	began := time.Now()
	waitBFDUp(t.Context(), t, l, bfdPeer{name: "router", nodes: v4Nodes}, bfdPeer{name: "router-v6", ipv6: true, nodes: all})
	t.Logf("BFD Up on the router and the speakers %v after the routes", time.Since(began).Round(time.Millisecond))

	n1 := l.Node("n1")
	cut := time.Now()
	if err := l.Cut(t.Context(), n1); err != nil {
		t.Fatal(err)
	}
	for _, ip := range ips {
		via := nodeAddrs(l, ip, n1.Name)[0]
		took := waitUnrouted(t.Context(), t, l, ip, via, cut, 15*time.Second)
		t.Logf("n1 cut: the router's kernel no longer routes %s via %s after %v", ip, via, took.Round(time.Millisecond))
		if took > bfdPowerLossMax {
			t.Errorf("the router routed %s via the cut n1 for %v, want at most %v (BFD 300 ms x 3)", ip, took.Round(time.Millisecond), bfdPowerLossMax)
		}
	}
}
