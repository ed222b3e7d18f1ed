package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pylonlb/pylon/test/lab"
)

// TestTeardownLeavesNothing brings a lab up with a process of its own on
// every node, closes it, and checks that no namespace, link, nftables
// table, process, record or directory of it remains.
func TestTeardownLeavesNothing(t *testing.T) {
	if err := lab.Preflight(); errors.Is(err, lab.ErrNotRoot) {
		t.Skipf("SKIPPED: %v", err)
	}
	tablesBefore := rootTables(t)
	l := lab.Start(t, lab.Options{Nodes: 2})
	ctx := t.Context()
	if _, err := l.StartOnNodes("sleeper", "sleep", "300"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.StartProcess(lab.ProcessSpec{Name: "host-sleeper", Path: "sleep", Args: []string{"301"}}); err != nil {
		t.Fatal(err)
	}
	// Something in every kind of nft table the lab makes.
	if err := l.Cut(ctx, l.Nodes[0]); err != nil {
		t.Fatal(err)
	}
	pids := l.PIDs()
	// zebra, bgpd, 2 backends, 3 sleepers, etcd, kube-apiserver.
	if len(pids) != 9 {
		t.Errorf("the lab reports %d processes %v, want 9", len(pids), pids)
	}
	names := append(l.Namespaces(), l.HostLink())
	dir, prefix := l.Dir, l.Prefix

	if err := l.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	for _, pid := range pids {
		if data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline"); err == nil {
			t.Errorf("pid %d still runs: %s", pid, strings.ReplaceAll(string(data), "\x00", " "))
		}
	}
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	links, err := exec.Command("ip", "-o", "link", "show").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.Contains(string(out), n) {
			t.Errorf("namespace %s remains", n)
		}
		if strings.Contains(string(links), n) {
			t.Errorf("link %s remains", n)
		}
	}
	if strings.Contains(string(out), prefix) || strings.Contains(string(links), prefix) {
		t.Errorf("something named %s* remains:\n%s\n%s", prefix, out, links)
	}
	if after := rootTables(t); !slices.Equal(after, tablesBefore) {
		t.Errorf("the host's nftables tables changed: %v, before %v", after, tablesBefore)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("lab directory %s remains (%v)", dir, err)
	}
	if _, err := os.Stat(filepath.Join(lab.StateDir, prefix+".json")); !os.IsNotExist(err) {
		t.Errorf("the lab's record remains (%v)", err)
	}
}

// rootTables lists the host namespace's nftables tables.
func rootTables(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("nft", "list", "tables").Output()
	if err != nil {
		t.Fatalf("nft list tables: %v", err)
	}
	tables := strings.Split(strings.TrimSpace(string(out)), "\n")
	slices.Sort(tables)
	return tables
}
