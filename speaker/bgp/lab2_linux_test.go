package bgp

import (
	"context"
	"fmt"
	"testing"
)

// Router B: a second FRR (a second BIRD in a BIRD lab) on the lab's segment, for scenarios that need two
// routers. It lives in its own namespace on a macvlan of the router
// namespace's eth0 (bridge mode), so the node reaches both routers over its
// one eth0, as on a shared LAN:
//
//	<p>-rtr2  mv0  198.18.2.252/24  2001:db8:2::fc/64  FRR, AS 64513
//
// FRR B knows the node's 198.18.2.2 as a passive iBGP neighbour. Its
// configuration, pid files and vty socket are in its own directory of the
// lab's (Dir2); it goes with the lab.

const (
	routerB   = "198.18.2.252"
	routerB6  = "2001:db8:2::fc"
	bgpdConfB = `frr defaults traditional
hostname pylon-lab-router-b
log file %[1]s/bgpd.log
!
router bgp 64513
 bgp router-id 198.18.2.252
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 timers bgp 3 9
 neighbor 198.18.2.2 remote-as 64513
 neighbor 198.18.2.2 passive
 !
 address-family ipv4 unicast
  neighbor 198.18.2.2 activate
 exit-address-family
!
`
)

// addRouterB starts router B next to the lab's router.
func addRouterB(t *testing.T, lab *labInfo) {
	t.Helper()
	ns, err := lab.lab.AddNetns(context.Background(), "rtr2")
	if err != nil {
		t.Fatal(err)
	}
	ip(t, lab.Router, "link add mv0 link eth0 type macvlan mode bridge", "link set mv0 netns "+ns)
	ip(t, ns, "addr add "+routerB+"/24 dev mv0", "addr add "+routerB6+"/64 dev mv0 nodad", "link set mv0 up")
	lab.Router2 = ns
	if lab.Kind == routerBIRD {
		lab.Dir2 = startBIRD(t, lab.lab, ns, "bird2", birdLabRouterB())
		return
	}
	lab.rtr2 = startRouter(t, lab.lab, ns, "frr2", func(dir string) string { return fmt.Sprintf(bgpdConfB, dir) })
	lab.Dir2 = lab.rtr2.Dir
}
