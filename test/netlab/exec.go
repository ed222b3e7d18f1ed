package netlab

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Run runs a command and returns its stdout; a failure carries the command
// line and its stderr. stdin, when not empty, is the command's input.
func Run(ctx context.Context, stdin string, name string, args ...string) ([]byte, error) {
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

// IP runs ip commands, one a line (ip -batch), in network namespace netns
// ("" for the caller's own): "link add eth0 type veth peer name eth0 netns
// X", "addr add 198.18.0.11/24 dev eth0".
func IP(ctx context.Context, netns string, lines ...string) error {
	args := []string{"-batch", "-"}
	if netns != "" {
		args = append([]string{"-n", netns}, args...)
	}
	_, err := Run(ctx, strings.Join(lines, "\n")+"\n", "ip", args...)
	return err
}

// InNetnsCmd runs a program inside netns (ip netns exec) and returns its
// stdout, as Run does.
func InNetnsCmd(ctx context.Context, stdin, netns, name string, args ...string) ([]byte, error) {
	return Run(ctx, stdin, "ip", append([]string{"netns", "exec", netns, name}, args...)...)
}

// Sysctl sets kernel parameters ("net.ipv4.ip_forward=1") inside netns
// ("" for the caller's own).
func Sysctl(ctx context.Context, netns string, kv ...string) error {
	args := append([]string{"-qw"}, kv...)
	if netns == "" {
		_, err := Run(ctx, "", "sysctl", args...)
		return err
	}
	_, err := InNetnsCmd(ctx, "", netns, "sysctl", args...)
	return err
}

// NetnsExists reports whether the network namespace ns exists.
func NetnsExists(ns string) bool {
	_, err := os.Stat("/run/netns/" + ns)
	return err == nil
}

// LinkExists reports whether the caller's namespace has the link name.
func LinkExists(name string) bool {
	_, err := os.Stat("/sys/class/net/" + name)
	return err == nil
}
