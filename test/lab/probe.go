package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pylonlb/pylon/test/netlab"
)

// Neighbour-probe output: arping's "42 bytes from 02:00:c6:12:00:0b
// (198.51.100.1): index=0 …" and ndisc6's "Target link-layer address:
// 02:00:C6:12:00:0B".
var (
	arpingReply = regexp.MustCompile(`bytes from ([0-9a-fA-F:]{17}) \(`)
	ndiscReply  = regexp.MustCompile(`Target link-layer address: ([0-9a-fA-F:]{17})`)
)

// WhoHas asks, from h's link, which hardware addresses answer for ip: ARP
// (arping) for IPv4, neighbour solicitation (ndisc6) for IPv6. It sends
// one request and collects every distinct answer within wait, in order of
// arrival: none when nobody answers, two or more when several nodes claim
// the address.
func (h *Host) WhoHas(ctx context.Context, ip netip.Addr, wait time.Duration) ([]net.HardwareAddr, error) {
	var args []string
	var re *regexp.Regexp
	if ip.Is4() {
		secs := strconv.FormatFloat(wait.Seconds(), 'f', 3, 64)
		args = []string{"arping", "-c", "1", "-w", secs, "-i", HostIf, "-S", h.IPv4.String(), ip.String()}
		re = arpingReply
	} else {
		args = []string{"ndisc6", "-m", "-n", "-r", "1", "-w", strconv.FormatInt(wait.Milliseconds(), 10), ip.String(), HostIf}
		re = ndiscReply
	}
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.Netns}, args...)...)
	out, err := cmd.CombinedOutput()
	// Both exit non-zero when nobody answers; that is an answer too. Only
	// output without their normal summary is a failure to probe.
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && noAnswer(string(out))) {
		return nil, fmt.Errorf("%s from %s: %w: %s", args[0], h.Name, err, strings.TrimSpace(string(out)))
	}
	var macs []net.HardwareAddr
	seen := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		mac, err := net.ParseMAC(m[1])
		if err != nil {
			return nil, err
		}
		if !seen[mac.String()] {
			seen[mac.String()] = true
			macs = append(macs, mac)
		}
	}
	return macs, nil
}

func noAnswer(out string) bool {
	return strings.Contains(out, "packets transmitted") || strings.Contains(out, "No response")
}

// NodeByMAC returns the lab node whose link has mac, or nil.
func (l *Lab) NodeByMAC(mac net.HardwareAddr) *Node {
	for _, n := range l.Nodes {
		if n.MAC.String() == mac.String() {
			return n
		}
	}
	return nil
}

// Get sends an HTTP GET to ip:port from h's namespace, on a new connection,
// and returns the body without surrounding space: from the lab's backends,
// the name of the node that took the traffic (test/lab/backend).
// timeout bounds the whole exchange.
func (h *Host) Get(ctx context.Context, ip netip.Addr, port int, timeout time.Duration) (string, error) {
	return h.GetFrom(ctx, netip.Addr{}, ip, port, timeout)
}

// GetFrom is Get from the source address src, one of h's (the zero Addr:
// the kernel's choice, as Get).
func (h *Host) GetFrom(ctx context.Context, src, ip netip.Addr, port int, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dial := h.DialContext
	if src.IsValid() {
		dial = netlab.DialFrom(h.Netns, src)
	}
	c := http.Client{Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true}}
	url := "http://" + net.JoinHostPort(ip.String(), strconv.Itoa(port)) + "/"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return strings.TrimSpace(string(body)), nil
}
