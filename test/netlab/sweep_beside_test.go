package netlab

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// TestSweepBeside: a network-only lab's sweep (no lock) removes the
// namespaces of network-only runs whose owner died, and of network-only
// runs without a record, and nothing of a live owner's run nor of the
// locked family (with a record naming a dead owner or without a record),
// which is the lock holder's to judge.
func TestSweepBeside(t *testing.T) {
	// The sweep under test runs without the lock; the test holds it so
	// that no lab starting meanwhile sweeps what it planted.
	ctx := lockedForTest(t)
	// An owner that has died: a process of ours, reaped.
	gone := exec.Command("true")
	if err := gone.Start(); err != nil {
		t.Fatal(err)
	}
	goneStart, ok := procStartTime(gone.Process.Pid)
	if !ok {
		t.Fatal("no start time for the owner to be")
	}
	if err := gone.Wait(); err != nil {
		t.Fatal(err)
	}
	self, ok := procStartTime(os.Getpid())
	if !ok {
		t.Fatal("no start time for this process")
	}
	var dead, live, orphan, locked, lockedOrphan string
	for _, p := range []*string{&dead, &live, &orphan, &locked, &lockedOrphan} {
		var err error
		if *p, err = newPrefix(p == &locked || p == &lockedOrphan); err != nil {
			t.Fatal(err)
		}
	}
	records := map[string]record{
		dead: {Prefix: dead, Owner: gone.Process.Pid, OwnerStart: goneStart, Dir: filepath.Join(t.TempDir(), "pylonlab-"+dead)},
		live: {Prefix: live, Owner: os.Getpid(), OwnerStart: self, Dir: filepath.Join(t.TempDir(), "pylonlab-"+live)},
		// A locked lab's record naming a dead owner: still not ours.
		locked: {Prefix: locked, Owner: gone.Process.Pid, OwnerStart: goneStart},
	}
	for _, r := range records {
		if err := writeRecord(r); err != nil {
			t.Fatal(err)
		}
	}
	var nss []string
	for _, p := range []string{dead, live, orphan, locked, lockedOrphan} {
		ns := p + "-n1"
		nss = append(nss, ns)
		if _, err := Run(ctx, "", "ip", "netns", "add", ns); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, ns := range nss {
			_, _ = Run(context.Background(), "", "ip", "netns", "del", ns)
		}
		for p := range records {
			_ = os.Remove(recordPath(p))
		}
	})

	left, err := sweep(ctx, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("removed %s", left)
	for _, p := range []string{dead, orphan} {
		if NetnsExists(p+"-n1") || !slices.Contains(left.Namespaces, p+"-n1") {
			t.Errorf("%s-n1 (a dead network-only run's) exists %v, reported %v", p, NetnsExists(p+"-n1"), left.Namespaces)
		}
	}
	if _, err := os.Stat(recordPath(dead)); !os.IsNotExist(err) || !slices.Contains(left.Records, dead) {
		t.Errorf("the dead run's record: %v, reported %v", err, left.Records)
	}
	for _, p := range []string{live, locked, lockedOrphan} {
		if !NetnsExists(p + "-n1") {
			t.Errorf("%s-n1 was removed: a live run's, or the locked family's", p)
		}
	}
	for _, p := range []string{live, locked} {
		if _, err := os.Stat(recordPath(p)); err != nil {
			t.Errorf("record of %s: %v", p, err)
		}
	}
}

func TestFamilyPatternLeavesOthersAlone(t *testing.T) {
	for _, name := range []string{"pylexp-sw", "pyl2a6bf7f-n1", "pyl12345-n1", "xpyl123456-n1", "pyl12345g-n1", "pyx123456-n1", "pyn12345-n1", "eth0", "pylon"} {
		if InFamily(name) {
			t.Errorf("%s matches the lab family: a starting lab would delete it", name)
		}
	}
	for _, locked := range []bool{true, false} {
		p, err := newPrefix(locked)
		if err != nil {
			t.Fatal(err)
		}
		if !InFamily(p+"-sw") || lockedPrefix(p) != locked {
			t.Errorf("prefix %q (locked %v) is outside the lab family %s or in the wrong half", p, locked, familyPattern)
		}
	}
}
