package lab

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCleanNodeStack plants what a node stack leaves on the host after its
// daemons died (a container's process in its cgroup, a shim whose command
// line names the lab's directory, the shim's socket, a mount under the
// directory) and checks that cleanNodeStack removes all of it and leaves
// another container's cgroup alone.
func TestCleanNodeStack(t *testing.T) {
	if err := Preflight(); err != nil {
		t.Skipf("SKIPPED: %v", err)
	}
	pidsRoot := filepath.Join(CgroupRoot, "pids")
	if _, err := os.Stat(filepath.Join(pidsRoot, "cgroup.procs")); err != nil {
		t.Skipf("SKIPPED: no cgroup v1 pids hierarchy at %s: %v", pidsRoot, err)
	}
	// A run prefix of the lab family, unique to this run.
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	prefix := "pyl" + hex.EncodeToString(b)
	dir := filepath.Join(t.TempDir(), "pylonlab-"+prefix)
	node := filepath.Join(dir, "nodes", "n1")
	id := strings.Repeat(prefix[3:], 10) + "abcd" // 64 hex digits, unique to this run
	other := "ffff" + id[4:]
	bundle := filepath.Join(node, "containerd", "state", "io.containerd.runtime.v2.task", "k8s.io", id)
	mnt := filepath.Join(bundle, "rootfs")
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	cg, otherCg := filepath.Join(pidsRoot, "k8s.io", id), filepath.Join(pidsRoot, "k8s.io", other)
	for _, d := range []string{cg, otherCg} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_ = syscall.Unmount(mnt, syscall.MNT_DETACH)
		_ = syscall.Rmdir(cg)
		_ = syscall.Rmdir(otherCg)
	})
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(filepath.Join(node, "containerd.sock", "k8s.io", id)))
	sock := filepath.Join(ShimSocketDir, hex.EncodeToString(sum[:]))
	if err := os.MkdirAll(ShimSocketDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(sock) })
	if err := os.WriteFile(filepath.Join(node, "containerd.sock"), nil, 0o600); err != nil {
		t.Fatal(err)
	}

	start := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(name, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	container := start("sleep", "300")
	if err := os.WriteFile(filepath.Join(cg, "cgroup.procs"), []byte(strconv.Itoa(container.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	shim := start("tail", "-f", filepath.Join(node, "containerd.sock"))

	// What `pylonlab status` shows of it.
	if got, want := NodeStackOnHost(dir), "1 container cgroups, 1 shim sockets, 1 mounts"; got != want {
		t.Errorf("NodeStackOnHost before: %q, want %q", got, want)
	}
	removed, killed, err := cleanNodeStack(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("removed %v, killed %v", removed, killed)
	for _, c := range []*exec.Cmd{container, shim} {
		waited := make(chan error, 1)
		go func() { waited <- c.Wait() }()
		var err error
		select {
		case err = <-waited:
		case <-time.After(5 * time.Second):
			_ = c.Process.Kill()
			err = <-waited
			t.Errorf("%v still ran 5 s after cleanNodeStack", c.Args)
		}
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Errorf("%v: %v, want killed", c.Args, err)
		}
		if !slices.Contains(killed, c.Process.Pid) {
			t.Errorf("%v (pid %d) missing from killed %v", c.Args, c.Process.Pid, killed)
		}
	}
	for _, gone := range []string{cg, sock} {
		if _, err := os.Lstat(gone); !os.IsNotExist(err) {
			t.Errorf("%s remains (%v)", gone, err)
		}
	}
	if m, _ := mountsUnder(dir); len(m) > 0 {
		t.Errorf("mounts remain under %s: %v", dir, m)
	}
	if _, err := os.Stat(otherCg); err != nil {
		t.Errorf("another container's cgroup %s was removed: %v", otherCg, err)
	}
	if got := NodeStackOnHost(dir); got != "" {
		t.Errorf("NodeStackOnHost after: %q, want nothing", got)
	}
}
