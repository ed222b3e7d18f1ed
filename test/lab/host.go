package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pylonlb/pylon/test/envtest"
)

// ErrNotRoot is returned by Preflight (and New) when not running as root.
var ErrNotRoot = errors.New("the network lab needs root: it creates network namespaces, veths and nftables tables")

// tools are the programs the lab runs, and the Debian packages with them.
var tools = []struct{ path, pkg string }{
	{"ip", "iproute2"},
	{"nft", "nftables"},
	{"sysctl", "procps"},
	{"arping", "arping"},
	{"ndisc6", "ndisc6"},
	{"vtysh", "frr"},
	{filepath.Join(frrDaemons, "zebra"), "frr"},
	{filepath.Join(frrDaemons, "bgpd"), "frr"},
}

// Preflight checks that a lab can be built here: root, and every tool the
// lab runs. The error names what is missing and how to install it.
func Preflight() error {
	if os.Geteuid() != 0 {
		return ErrNotRoot
	}
	var missing, pkgs []string
	seen := map[string]bool{}
	for _, t := range tools {
		if _, err := exec.LookPath(t.path); err != nil {
			missing = append(missing, t.path)
			if !seen[t.pkg] {
				seen[t.pkg] = true
				pkgs = append(pkgs, t.pkg)
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the network lab needs %s: apt-get install -y %s (.ci/run does)", strings.Join(missing, ", "), strings.Join(pkgs, " "))
	}
	return nil
}

// BuildCommand builds the module's package pkg ("./cmd/controller") into
// dir and returns the binary's path. It runs `go build` in the repository
// root; Go's build cache makes a second build quick.
func BuildCommand(ctx context.Context, pkg, dir string) (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root, err := envtest.RepoRoot(wd)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w: %s", pkg, err, msg)
	}
	return out, nil
}

// childrenNaming finds this process's children whose command line
// contains s: how the lab finds the PIDs of the API server and etcd that
// envtest started (their flags name the lab's directory).
func childrenNaming(s string) []procRecord {
	return procsNaming(s, os.Getpid())
}

// procsNaming finds processes whose command line contains s and, when
// parent is not 0, whose parent is parent.
func procsNaming(s string, parent int) []procRecord {
	entries, _ := os.ReadDir("/proc")
	var out []procRecord
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		i := strings.LastIndexByte(string(stat), ')')
		f := strings.Fields(string(stat)[i+1:])
		if len(f) < 2 || (parent != 0 && f[1] != strconv.Itoa(parent)) {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), s) {
			continue
		}
		name := filepath.Base(strings.SplitN(string(cmdline), "\x00", 2)[0])
		if st, ok := procStartTime(pid); ok {
			out = append(out, procRecord{Name: name, PID: pid, StartTime: st})
		}
	}
	return out
}

func nsExists(ns string) bool {
	_, err := os.Stat("/run/netns/" + ns)
	return err == nil
}

func linkExists(name string) bool {
	_, err := os.Stat("/sys/class/net/" + name)
	return err == nil
}
