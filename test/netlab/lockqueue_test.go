package netlab

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLockQueueInTurn: waiters get their turn in the order they took
// tickets; a dead waiter's ticket is skipped and removed.
func TestLockQueueInTurn(t *testing.T) {
	dir := t.TempDir()
	// A waiter that died: PID 0 is never a process of its own.
	dead := filepath.Join(dir, "00000000000000000001-0")
	if err := os.WriteFile(dead, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := takeTicket(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := takeTicket(dir)
	if err != nil {
		t.Fatal(err)
	}
	if first, err := b.first(); err != nil || first {
		t.Fatalf("the second ticket is first: %v, %v", first, err)
	}
	if first, err := a.first(); err != nil || !first {
		t.Fatalf("the first live ticket is not first: %v, %v", first, err)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("the dead waiter's ticket is still there (%v)", err)
	}
	a.done()
	if first, err := b.first(); err != nil || !first {
		t.Fatalf("after the first left, the second is not first: %v, %v", first, err)
	}
	b.done()
	if _, err := b.first(); err == nil {
		t.Error("a ticket that left still has a place")
	}
}
