package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/pylonlb/pylon/test/poll"
	"github.com/pylonlb/pylon/test/procfs"
)

// buildPause builds this program into the test's directory.
func buildPause(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pause")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	return bin
}

// TestPauseExitsOnSignal: pause keeps running until SIGTERM or SIGINT, then
// exits 0; arguments are refused with status 2.
func TestPauseExitsOnSignal(t *testing.T) {
	bin := buildPause(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		cmd := exec.Command(bin)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			t.Fatalf("pause exited before any signal: %v", err)
		case <-time.After(300 * time.Millisecond):
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("pause after %v: %v, want status 0", sig, err)
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("pause still running 10 s after %v", sig)
		}
	}
	err := exec.Command(bin, "x").Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Errorf("pause x: %v, want status 2", err)
	}
}

// TestPauseReapsZombies runs pause as PID 1 of a new PID namespace, as in a
// pod sharing its PID namespace, orphans a short-lived process into it with
// nsenter, and checks that once the orphan exits pause has reaped it: no
// zombie child of pause is left.
func TestPauseReapsZombies(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: a new PID namespace needs root; run as root (`sudo -E make test`; CI runs as root)")
	}
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		t.Fatalf("nsenter (util-linux) not found: %v", err)
	}
	bin := buildPause(t)
	cmd := exec.Command(bin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	pid := cmd.Process.Pid
	// sh exits at once; its background sleep, orphaned, goes to pause. The
	// sleep's output goes nowhere, so that nsenter's output closes with sh.
	orphan := exec.Command(nsenter, "-t", strconv.Itoa(pid), "-p", "--", "sh", "-c", "sleep 0.5 </dev/null >/dev/null 2>&1 & exit 0")
	if out, err := orphan.CombinedOutput(); err != nil {
		t.Fatalf("nsenter: %v: %s", err, out)
	}
	sawChild := false
	poll.Eventually(t, 20*time.Millisecond, 5*time.Second, fmt.Sprintf("pause (PID %d) to reap the orphan (zombies not reaped)", pid), func() (bool, string) {
		children := childrenOf(t, pid)
		if len(children) > 0 {
			sawChild = true
		}
		return sawChild && len(children) == 0, fmt.Sprintf("children %v (saw one: %v)", children, sawChild)
	})
}

// childrenOf lists the PIDs and states of pid's children, from /proc.
func childrenOf(t *testing.T, pid int) []string {
	t.Helper()
	kids, err := procfs.Processes(func(s procfs.Stat) bool { return s.PPID == pid })
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range kids {
		out = append(out, fmt.Sprintf("%d:%s", k.PID, k.State))
	}
	return out
}
