package lab

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/pylonlb/pylon/test/netlab"
)

// CutTable is the nftables table (family bridge) in the switch namespace
// that silently drops a cut node's frames.
const CutTable = "pylonlab_cut"

// Cut isolates node n from the segment silently: the bridge drops every
// frame from and to its port, while n's link stays up (so n cannot tell,
// as behind a failed switch port). n loses the router, the other nodes,
// the clients and the API server. Heal undoes it.
func (l *Lab) Cut(ctx context.Context, n *Node) error {
	return l.setCut(ctx, n, true)
}

// Heal reconnects a node cut by Cut.
func (l *Lab) Heal(ctx context.Context, n *Node) error {
	return l.setCut(ctx, n, false)
}

func (l *Lab) setCut(ctx context.Context, n *Node, cut bool) error {
	l.cutMu.Lock()
	defer l.cutMu.Unlock()
	if cut {
		l.cut[n.Name] = n.port
	} else {
		delete(l.cut, n.Name)
	}
	var ports []string
	for _, p := range l.cut {
		ports = append(ports, p)
	}
	slices.Sort(ports)
	_, err := netlab.InNetnsCmd(ctx, cutRuleset(ports), l.topo.sw, "nft", "-f", "-")
	return err
}

// cutRuleset replaces the cut table with one dropping the given bridge
// ports' traffic in both directions.
func cutRuleset(ports []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "table bridge %s\ndelete table bridge %s\ntable bridge %s {\n", CutTable, CutTable, CutTable)
	b.WriteString("\tchain forward {\n\t\ttype filter hook forward priority 0; policy accept;\n")
	for _, p := range ports {
		fmt.Fprintf(&b, "\t\tiifname %q drop\n\t\toifname %q drop\n", p, p)
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

// LinkDown takes node n's port on the bridge down: n sees its link lose
// carrier, unlike Cut. LinkUp brings it back.
func (l *Lab) LinkDown(ctx context.Context, n *Node) error {
	return netlab.IP(ctx, l.topo.sw, "link set "+n.port+" down")
}

// LinkUp undoes LinkDown.
func (l *Lab) LinkUp(ctx context.Context, n *Node) error {
	return netlab.IP(ctx, l.topo.sw, "link set "+n.port+" up")
}

// RestartAPIServer stops kube-apiserver and starts it again (etcd and all
// objects stay; kubeconfigs stay valid).
func (l *Lab) RestartAPIServer() error {
	err := l.API.RestartAPIServer()
	l.RecordProcs()
	return err
}

// StopAPIServer stops kube-apiserver until StartAPIServer: an API outage.
func (l *Lab) StopAPIServer() error {
	err := l.API.StopAPIServer()
	l.RecordProcs()
	return err
}

// StartAPIServer ends an outage begun by StopAPIServer.
func (l *Lab) StartAPIServer() error {
	err := l.API.StartAPIServer()
	l.RecordProcs()
	return err
}

// Run runs a program inside h's namespace and returns its stdout; a
// failure carries stderr.
func (h *Host) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	return netlab.InNetnsCmd(ctx, "", h.Netns, name, args...)
}

// IP runs ip commands in h's namespace, one a line (ip -batch), such as
// "addr add 198.51.100.1/32 dev eth0".
func (h *Host) IP(ctx context.Context, lines ...string) error {
	return netlab.IP(ctx, h.Netns, lines...)
}

// RestartEtcd stops etcd and starts it again on the same data and address
// (envtest.Env.RestartEtcd); the API server stays up and reconnects.
func (l *Lab) RestartEtcd() error {
	err := l.API.RestartEtcd()
	l.RecordProcs()
	return err
}

// DialContext dials from inside h's namespace; its signature fits
// http.Transport.DialContext.
func (h *Host) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return netlab.DialContext(h.Netns)(ctx, network, address)
}
