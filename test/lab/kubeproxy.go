package lab

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// programmedTimeout bounds WaitProgrammed.
const programmedTimeout = 30 * time.Second

// WaitProgrammed waits until the kube-proxy (nftables mode) of every node
// has programmed ip and TCP port: in its service-ips map, or in
// no-endpoint-services for a Service without endpoints. pylon announces an
// address as soon as the controller assigns it, and kube-proxy programs it
// on its own pace (about a second, longer on a loaded machine): until then
// a node that receives the address's traffic routes it on, back to the
// router, and the client sees a routing loop. Tests that probe a new
// address through every node wait for this first.
func (l *Lab) WaitProgrammed(ctx context.Context, ip netip.Addr, port int32) error {
	fam := "ip"
	if ip.Is6() {
		fam = "ip6"
	}
	element := regexp.MustCompile(`(^|[\s{,])` + regexp.QuoteMeta(ip.String()) + ` \. tcp \. ` + fmt.Sprint(port) + `\s*:`)
	var missing []string
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, programmedTimeout, true, func(ctx context.Context) (bool, error) {
		missing = missing[:0]
		for _, n := range l.Nodes {
			if !l.programmed(ctx, n, fam, element) {
				missing = append(missing, n.Name)
			}
		}
		return len(missing) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("kube-proxy on %v has not programmed %s port %d after %v (nftables mode; see logs/kube-proxy-*.log): %w",
			missing, ip, port, programmedTimeout, err)
	}
	return nil
}

// programmed reports whether node n's kube-proxy table of family fam has
// an element matching element in one of the maps that take a Service's
// address.
func (l *Lab) programmed(ctx context.Context, n *Node, fam string, element *regexp.Regexp) bool {
	for _, m := range []string{"service-ips", "no-endpoint-services"} {
		out, err := n.Run(ctx, "nft", "list", "map", fam, "kube-proxy", m)
		if err == nil && element.MatchString(strings.TrimSpace(string(out))) {
			return true
		}
	}
	return false
}
