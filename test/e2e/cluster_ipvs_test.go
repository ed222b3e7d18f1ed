//go:build ipvs

package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/pylonlb/pylon/test/lab"
	"github.com/pylonlb/pylon/test/poll"
)

// TestClusterIPVS checks what docs/install.md says of kube-proxy in ipvs
// mode, on two labs: with strictARP, TestCluster's first scenario passes
// (one node answers ARP, pods answer through IPVS); without it, every node
// answers ARP for a layer-2 address (kube-proxy puts it on kube-ipvs0 of
// every node) and the owner's speaker reports Layer2Conflict.
//
// It needs IPVS in the kernel (lab.IPVSAvailable), which the machines
// `make test` runs on lack, so it is built only with `-tags ipvs`:
//
//	go test -tags ipvs -count=1 -v -run TestClusterIPVS ./test/e2e/
//
// Without IPVS it fails at once, saying why (BLOCKED: …): it never skips.
func TestClusterIPVS(t *testing.T) {
	if err := lab.IPVSAvailable(); err != nil {
		t.Fatalf("BLOCKED: %v", err)
	}
	t.Run("StrictARP", func(t *testing.T) {
		c := startCluster(t, lab.NodeStack{ProxyMode: lab.ProxyIPVS, StrictARP: true})
		clusterHelmInstall(t, c)
	})
	t.Run("WithoutStrictARP", func(t *testing.T) {
		c := startCluster(t, lab.NodeStack{ProxyMode: lab.ProxyIPVS})
		ip := c.backendService(t, "backend-lab", "lab", nil)
		c.checkProxyRules(t, ip)
		poll.Eventually(t, 50*time.Millisecond, 30*time.Second, "every node to answer ARP for "+ip.String(), func() (bool, string) {
			who := answering(t, c.lab, ip)
			return len(who) == len(c.lab.Nodes), fmt.Sprint(who)
		})
		poll.Eventually(t, 50*time.Millisecond, 30*time.Second, "a Layer2Conflict event", func() (bool, string) {
			n := countEvents(t, c.lab, "Layer2Conflict")
			return n > 0, fmt.Sprintf("%d events", n)
		})
	})
}
