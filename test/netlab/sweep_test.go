package netlab

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

// TestCleanLeftovers plants what a crashed run leaves (a namespace with a
// process in it, the host's link, a record naming a host process, and an
// orphaned process whose command line names the run's directory, like an
// API server whose starter died) and checks that sweep removes
// all of it and nothing else: with the lock held, a lab of the locked
// family is dead whether its owner lives or not (the record's owner is
// PID 1).
func TestCleanLeftovers(t *testing.T) {
	ctx := lockedForTest(t)

	prefix, err := newPrefix(true)
	if err != nil {
		t.Fatal(err)
	}
	ns, link := prefix+"-n1", prefix+"-h"
	// Not of the family: must survive.
	bystander := "pylx" + prefix[3:] + "-n1"
	for _, n := range []string{ns, bystander} {
		if _, err := Run(ctx, "", "ip", "netns", "add", n); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_, _ = Run(context.Background(), "", "ip", "netns", "del", bystander)
		_, _ = Run(context.Background(), "", "ip", "netns", "del", ns)
		_, _ = Run(context.Background(), "", "ip", "link", "del", link)
	})
	if _, err := Run(ctx, "", "ip", "link", "add", link, "type", "veth", "peer", "name", "p-h", "netns", ns); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "pylonlab-"+prefix)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "etcd.log"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	start := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(name, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	inNS := start("ip", "netns", "exec", ns, "sleep", "300")
	recorded := start("sleep", "301")
	orphan := start("tail", "-f", filepath.Join(dir, "etcd.log"))
	st, ok := procStartTime(recorded.Process.Pid)
	if !ok {
		t.Fatal("no start time for the recorded process")
	}
	// A recorded PID whose start time does not match is someone else's.
	reused := start("sleep", "302")
	if err := writeRecord(record{Prefix: prefix, Owner: 1, Dir: dir, Procs: []ProcRecord{
		{Name: "speaker-n1", PID: recorded.Process.Pid, StartTime: st},
		{Name: "old", PID: reused.Process.Pid, StartTime: 1},
	}}); err != nil {
		t.Fatal(err)
	}
	// ip netns pids lists the sleeper once it runs in the namespace.
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids, _ := netnsPIDs(ctx, ns)
		if slices.Contains(pids, inNS.Process.Pid) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}

	left, err := sweep(ctx, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("removed %s", left)
	for _, c := range []*exec.Cmd{inNS, recorded, orphan} {
		err := c.Wait()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Errorf("%v: %v, want killed", c.Args, err)
		}
		if !slices.Contains(left.Killed, c.Process.Pid) {
			t.Errorf("%v (pid %d) missing from Killed %v", c.Args, c.Process.Pid, left.Killed)
		}
	}
	if err := reused.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the process with a mismatched start time was killed: %v", err)
	}
	if NetnsExists(ns) || LinkExists(link) {
		t.Errorf("namespace %s exists %v, link %s exists %v; want both gone", ns, NetnsExists(ns), link, LinkExists(link))
	}
	if !NetnsExists(bystander) {
		t.Errorf("namespace %s, not of the lab family, was removed", bystander)
	}
	if _, err := os.Stat(recordPath(prefix)); !os.IsNotExist(err) {
		t.Errorf("record %s still there: %v", recordPath(prefix), err)
	}
	if !slices.Contains(left.Records, prefix) || !slices.Contains(left.Namespaces, ns) {
		t.Errorf("report %s lacks the record or namespace", left)
	}
}

// lockedForTest skips t unless the lab can run here, and holds the lab lock
// until t ends; the context it returns ends with t or after 5 minutes.
func lockedForTest(t *testing.T) context.Context {
	t.Helper()
	if err := Preflight(); err != nil {
		t.Skipf("SKIPPED: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	t.Cleanup(cancel)
	lock, err := acquireLock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lock.release() })
	return ctx
}
