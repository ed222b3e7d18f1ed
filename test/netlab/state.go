package netlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/pylonlb/pylon/test/procfs"
)

// StateDir holds the machine-wide lab lock and one record per running
// lab. It is fixed (not under $TMPDIR) so that every run finds the
// records of earlier ones.
const StateDir = "/run/pylonlab"

// lockFile serialises labs: the host's link and the segment's addresses
// exist once per machine, so one lab runs at a time. The kernel drops the
// lock when its holder dies, so a crashed run never blocks the next.
const lockFile = "lock"

// machineLock is the held lab lock.
type machineLock struct{ f *os.File }

// acquireLock waits for the machine's lab lock until ctx ends, in turn
// with the other waiters (ticket).
func acquireLock(ctx context.Context) (*machineLock, error) {
	if err := os.MkdirAll(StateDir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(StateDir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	t, err := takeTicket(filepath.Join(StateDir, queueDir))
	if err != nil {
		f.Close()
		return nil, err
	}
	defer t.done()
	for {
		// The first waiter polls the lock often, so that it, and not a
		// run from before the queue polling every 100 ms, takes it when
		// it is released.
		every := 100 * time.Millisecond
		// In turn: only the first live waiter tries the lock.
		first, err := t.first()
		if err != nil {
			f.Close()
			return nil, err
		}
		if first {
			every = 10 * time.Millisecond
			err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
			if err == nil {
				break
			}
			if !errors.Is(err, syscall.EWOULDBLOCK) {
				f.Close()
				return nil, fmt.Errorf("lock %s: %w", path, err)
			}
		}
		select {
		case <-ctx.Done():
			owner, _ := os.ReadFile(path)
			f.Close()
			return nil, fmt.Errorf("another lab holds %s (%s): %w", path, strings.TrimSpace(string(owner)), ctx.Err())
		case <-time.After(every):
		}
	}
	// Say who holds it, for the message above.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(fmt.Sprintf("pid %d, %s\n", os.Getpid(), strings.Join(os.Args, " "))), 0)
	}
	return &machineLock{f: f}, nil
}

func (l *machineLock) release() error {
	_ = l.f.Truncate(0)
	return l.f.Close() // closing drops the flock
}

// ProcRecord identifies a process a lab started: the PID and the kernel's
// start time for it, so that a reused PID is never mistaken for it.
type ProcRecord struct {
	Name      string `json:"name"`
	PID       int    `json:"pid"`
	StartTime uint64 `json:"startTime"`
}

// record is what a running lab writes to StateDir/<prefix>.json: enough
// for a later run to remove it if this one dies without tearing down.
type record struct {
	Prefix string `json:"prefix"`
	// Owner is the lab's process, OwnerStart its start time (0 in records
	// of older labs: then the PID alone says whether the owner lives).
	Owner      int          `json:"owner"`
	OwnerStart uint64       `json:"ownerStart,omitempty"`
	Dir        string       `json:"dir"`
	Procs      []ProcRecord `json:"procs"`
}

// ownerAlive reports whether the process that wrote r still runs.
func (r record) ownerAlive() bool {
	if r.OwnerStart == 0 {
		return r.Owner > 0 && syscall.Kill(r.Owner, 0) == nil
	}
	return ProcRecord{PID: r.Owner, StartTime: r.OwnerStart}.Alive()
}

func recordPath(prefix string) string { return filepath.Join(StateDir, prefix+".json") }

func writeRecord(r record) error {
	if err := os.MkdirAll(StateDir, 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp := recordPath(r.Prefix) + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, recordPath(r.Prefix))
}

// procStartTime reads a process's start time (clock ticks since boot);
// ok is false when no such process exists.
func procStartTime(pid int) (uint64, bool) {
	st, err := procfs.ReadStat(pid)
	return st.StartTime, err == nil
}

// Alive reports whether the recorded process still runs (and is not a
// zombie waiting to be reaped).
func (p ProcRecord) Alive() bool {
	st, err := procfs.ReadStat(p.PID)
	return err == nil && st.StartTime == p.StartTime && st.State != "Z"
}
