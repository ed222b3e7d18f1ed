package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pylonlb/pylon/test/lab"
)

// checkTornDown checks that after Close none of a lab's processes (pids),
// namespaces and links (names), nftables tables in the host's namespace
// beyond those before it, directory or record remains.
func checkTornDown(t *testing.T, pids []int, names []string, dir, prefix string, tablesBefore []string) {
	t.Helper()
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
