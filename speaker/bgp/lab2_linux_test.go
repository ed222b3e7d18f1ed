package bgp

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Router B: a second FRR on the lab's segment, for scenarios that need two
// routers. It lives in its own namespace on a macvlan of the router
// namespace's eth0 (bridge mode), so the node reaches both routers over its
// one eth0, as on a shared LAN:
//
//	<p>-rtr2  mv0  198.18.2.252/24  2001:db8:2::fc/64  FRR, AS 64513
//
// FRR B knows the node's 198.18.2.2 as a passive iBGP neighbour. Its
// configuration, pid files and vty socket are in <lab dir>/rtr2; it is
// stopped and its namespace deleted in t.Cleanup (before the lab's own
// teardown, which runs later).

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
	lab.Router2 = strings.TrimSuffix(lab.Router, "-rtr") + "-rtr2"
	lab.Dir2 = filepath.Join(lab.Dir, "rtr2")
	if err := os.Mkdir(lab.Dir2, 0o755); err != nil {
		t.Fatal(err)
	}
	uid, gid := frrUser(t)
	if err := os.Chown(lab.Dir2, uid, gid); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(lab.Dir2, "bgpd.log")); err == nil {
				t.Logf("router B bgpd.log (last 3000 bytes):\n%s", tail(b, 3000))
			}
		}
		stopFRR(lab.Dir2)
		if out, err := exec.Command("ip", "netns", "del", lab.Router2).CombinedOutput(); err != nil && !strings.Contains(string(out), "No such file") {
			t.Errorf("delete namespace %s: %v: %s", lab.Router2, err, out)
		}
	})
	ns := lab.Router2
	run(t, "ip", "netns", "add", ns)
	run(t, "ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
	run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	run(t, "ip", "-n", lab.Router, "link", "add", "mv0", "link", "eth0", "type", "macvlan", "mode", "bridge")
	run(t, "ip", "-n", lab.Router, "link", "set", "mv0", "netns", ns)
	run(t, "ip", "-n", ns, "addr", "add", routerB+"/24", "dev", "mv0")
	run(t, "ip", "-n", ns, "addr", "add", routerB6+"/64", "dev", "mv0", "nodad")
	run(t, "ip", "-n", ns, "link", "set", "mv0", "up")
	startFRR(t, &labInfo{Router: ns, Dir: lab.Dir2, bgpd: fmt.Sprintf(bgpdConfB, lab.Dir2)})
}
