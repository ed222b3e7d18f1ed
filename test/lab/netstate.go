package lab

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// netStateCommands are what RecordNetState writes for each node: the
// netfilter rules (kube-proxy's nftables, anything written through
// iptables), conntrack's counters, neighbours, links and sockets. A test
// that fails on reachability inside the lab leaves them next to the
// processes' logs.
func netStateCommands() [][]string {
	return [][]string{
		{"nft", "list", "ruleset"},
		{"iptables-save"},
		{"conntrack", "-S"},
		{"conntrack", "-L"},
		{"ip", "-s", "link"},
		{"ip", "neigh"},
		{"ip", "route"},
		{"ss", "-tuanp"},
	}
}

// RecordNetState writes each node's network state into
// Dir/netstate-NODE.txt (netStateCommands(), each under a "## command"
// heading, its error in place of its output when it fails) and returns the
// files' paths. Start calls it when the test failed, before teardown.
func (l *Lab) RecordNetState(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	paths := make([]string, len(l.Nodes))
	err := l.onEveryNode(func(n *Node) error {
		var b bytes.Buffer
		for _, c := range netStateCommands() {
			fmt.Fprintf(&b, "## %s\n", strings.Join(c, " "))
			out, err := n.Run(ctx, c[0], c[1:]...)
			b.Write(out)
			if err != nil {
				fmt.Fprintf(&b, "(%v)\n", err)
			}
		}
		p := filepath.Join(l.Dir, "netstate-"+n.Name+".txt")
		paths[n.Index-1] = p
		return os.WriteFile(p, b.Bytes(), 0o644)
	})
	return paths, err
}
