package netlab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// queueDir holds one ticket per process waiting for the lab lock, so that
// waiters get the lock in the order they asked (flock alone hands it to
// whichever poller comes first: with several test binaries waiting, one
// could wait out its whole LockWait).
const queueDir = "queue"

// ticket is a waiter's place in the queue: a file named
// <nanoseconds>-<pid>, sorted by when it was taken.
type ticket struct{ path string }

// takeTicket puts this process at the end of the queue in dir
// (StateDir/queueDir).
func takeTicket(dir string) (*ticket, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	name := fmt.Sprintf("%020d-%d", time.Now().UnixNano(), os.Getpid())
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	f.Close()
	return &ticket{path: filepath.Join(dir, name)}, nil
}

// first reports whether no live waiter took its ticket before this one.
// It removes the tickets of waiters that died.
func (t *ticket) first() (bool, error) {
	dir := filepath.Dir(t.path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	for _, name := range names {
		if name == filepath.Base(t.path) {
			return true, nil
		}
		if !waiterAlive(name) {
			_ = os.Remove(filepath.Join(dir, name))
			continue
		}
		return false, nil
	}
	return false, fmt.Errorf("lab lock queue: ticket %s is gone", t.path)
}

// done leaves the queue.
func (t *ticket) done() {
	_ = os.Remove(t.path)
}

// waiterAlive reports whether the process named in a ticket still runs.
// A name that is no ticket counts as dead, and is removed.
func waiterAlive(name string) bool {
	_, pidText, ok := strings.Cut(name, "-")
	if !ok {
		return false
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 {
		return false
	}
	err = syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
