package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
)

// run runs a command and returns its stdout; a failure carries the command
// line and its stderr.
func run(ctx context.Context, stdin string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// ipBatch runs ip commands, one a line, in netns ("" for the host's).
func ipBatch(ctx context.Context, netns string, lines ...string) error {
	args := []string{"-batch", "-"}
	if netns != "" {
		args = append([]string{"-n", netns}, args...)
	}
	_, err := run(ctx, strings.Join(lines, "\n")+"\n", "ip", args...)
	return err
}

// inNetnsCmd runs a program inside netns.
func inNetnsCmd(ctx context.Context, stdin, netns, name string, args ...string) ([]byte, error) {
	return run(ctx, stdin, "ip", append([]string{"netns", "exec", netns, name}, args...)...)
}

// sysctl sets kernel parameters inside netns.
func sysctl(ctx context.Context, netns string, kv ...string) error {
	_, err := inNetnsCmd(ctx, "", netns, "sysctl", append([]string{"-qw"}, kv...)...)
	return err
}

// buildNetwork creates the namespaces, the bridge, every link and address,
// and the host's link into the segment.
func buildNetwork(ctx context.Context, t *topology) error {
	var add []string
	for _, ns := range t.namespaces() {
		add = append(add, "netns add "+ns)
	}
	if err := ipBatch(ctx, "", add...); err != nil {
		return err
	}
	// Before any link exists, so that every new interface inherits it:
	// no duplicate address detection (else fe80:: stays tentative for ~2s
	// and NDP sockets fail to bind), and nodes that never answer ARP for
	// an address on another interface nor use it as ARP source.
	for _, ns := range t.namespaces() {
		kv := []string{
			"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
			"net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2",
		}
		if ns == t.router.Netns {
			kv = append(kv, "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
		}
		if err := sysctl(ctx, ns, kv...); err != nil {
			return err
		}
	}

	sw := []string{
		"link set lo up",
		fmt.Sprintf("link add %s type bridge stp_state 0 forward_delay 0", bridgeName),
		"link set " + bridgeName + " up",
	}
	for _, h := range t.segmentHosts() {
		sw = append(sw,
			fmt.Sprintf("link add %s type veth peer name %s netns %s", portName(h), HostIf, h.Netns),
			fmt.Sprintf("link set %s master %s up", portName(h), bridgeName))
	}
	if err := ipBatch(ctx, t.sw, sw...); err != nil {
		return err
	}
	// The router's second link, to the remote client.
	if err := ipBatch(ctx, t.router.Netns, fmt.Sprintf("link add %s type veth peer name %s netns %s", routerRemoteIf, HostIf, t.remote.Netns)); err != nil {
		return err
	}

	for _, h := range t.hosts() {
		if err := ipBatch(ctx, h.Netns, hostLines(t, h)...); err != nil {
			return err
		}
	}
	return buildHostLink(ctx, t)
}

// buildHostLink gives the host (the root namespace, where the API server
// runs) a link into the bridge with the segment's .1 addresses.
func buildHostLink(ctx context.Context, t *topology) error {
	if err := ipBatch(ctx, "", fmt.Sprintf("link add %s type veth peer name p-h netns %s", t.hostLink, t.sw)); err != nil {
		return err
	}
	if err := ipBatch(ctx, t.sw, "link set p-h master "+bridgeName+" up"); err != nil {
		return err
	}
	if _, err := run(ctx, "", "sysctl", "-qw", "net.ipv6.conf."+t.hostLink+".accept_dad=0"); err != nil {
		return err
	}
	return ipBatch(ctx, "",
		fmt.Sprintf("addr add %s/%d dev %s", t.hostV4, SegmentV4.Bits(), t.hostLink),
		fmt.Sprintf("addr add %s/%d dev %s nodad", t.hostV6, SegmentV6.Bits(), t.hostLink),
		"link set "+t.hostLink+" up")
}

// segmentHosts are the namespaces with a port on the bridge.
func (t *topology) segmentHosts() []*Host {
	hs := []*Host{&t.router, &t.local}
	for _, n := range t.nodes {
		hs = append(hs, &n.Host)
	}
	return hs
}

// portName is a host's port on the bridge: p-<name>.
func portName(h *Host) string { return "p-" + h.Name }

// hostLines are the ip commands that address one host and route from it.
func hostLines(t *topology, h *Host) []string {
	v4, v6 := SegmentV4.Bits(), SegmentV6.Bits()
	if h.Name == t.remote.Name {
		v4, v6 = RemoteV4.Bits(), RemoteV6.Bits()
	}
	lines := []string{
		"link set lo up",
		fmt.Sprintf("link set %s address %s", HostIf, h.MAC),
		fmt.Sprintf("addr add %s/%d dev %s", h.IPv4, v4, HostIf),
		fmt.Sprintf("addr add %s/%d dev %s nodad", h.IPv6, v6, HostIf),
		"link set " + HostIf + " up",
	}
	switch h.Name {
	case t.router.Name:
		lines = append(lines,
			fmt.Sprintf("link set %s address %s", routerRemoteIf, macFor(t.routerRemoteV4)),
			fmt.Sprintf("addr add %s/%d dev %s", t.routerRemoteV4, RemoteV4.Bits(), routerRemoteIf),
			fmt.Sprintf("addr add %s/%d dev %s nodad", t.routerRemV6, RemoteV6.Bits(), routerRemoteIf),
			"link set "+routerRemoteIf+" up")
	case t.remote.Name:
		lines = append(lines,
			"route add default via "+t.routerRemoteV4.String(),
			"route add default via "+t.routerRemV6.String())
	case t.local.Name:
		// On-link: the local client ARPs (NDPs) for pool addresses on
		// the segment, as a client of a layer-2 load balancer does.
		for _, p := range []string{PoolV4.String(), PoolV4Alt.String(), PoolV6.String()} {
			lines = append(lines, fmt.Sprintf("route add %s dev %s", p, HostIf))
		}
	default: // a node: replies to the remote client go through the router
		lines = append(lines,
			"route add default via "+t.router.IPv4.String(),
			"route add default via "+t.router.IPv6.String())
	}
	return lines
}

// familyNamespaces lists the network namespaces whose names match the lab
// family, from any run.
func familyNamespaces(ctx context.Context) ([]string, error) {
	out, err := run(ctx, "", "ip", "-j", "netns", "list")
	if err != nil {
		return nil, err
	}
	var list []struct {
		Name string `json:"name"`
	}
	if len(bytes.TrimSpace(out)) > 0 {
		if err := json.Unmarshal(out, &list); err != nil {
			return nil, fmt.Errorf("parse ip netns list: %w", err)
		}
	}
	var names []string
	for _, n := range list {
		if familyPattern.MatchString(n.Name) {
			names = append(names, n.Name)
		}
	}
	return names, nil
}

// familyLinks lists the host's links whose names match the lab family.
func familyLinks(ctx context.Context) ([]string, error) {
	out, err := run(ctx, "", "ip", "-j", "link", "show")
	if err != nil {
		return nil, err
	}
	var list []struct {
		Name string `json:"ifname"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return nil, fmt.Errorf("parse ip link show: %w", err)
	}
	var names []string
	for _, l := range list {
		if familyPattern.MatchString(l.Name) {
			names = append(names, l.Name)
		}
	}
	return names, nil
}

// netnsPIDs lists the processes inside a namespace.
func netnsPIDs(ctx context.Context, ns string) ([]int, error) {
	out, err := run(ctx, "", "ip", "netns", "pids", ns)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		var pid int
		if _, err := fmt.Sscan(f, &pid); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}
