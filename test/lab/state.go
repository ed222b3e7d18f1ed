package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
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
// with the other waiters (lockqueue.go).
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

// procRecord identifies a process a lab started: the PID and the kernel's
// start time for it, so that a reused PID is never mistaken for it.
type procRecord struct {
	Name      string `json:"name"`
	PID       int    `json:"pid"`
	StartTime uint64 `json:"startTime"`
}

// record is what a running lab writes to StateDir/<prefix>.json: enough
// for a later run to remove it if this one dies without tearing down.
type record struct {
	Prefix string       `json:"prefix"`
	Owner  int          `json:"owner"`
	Dir    string       `json:"dir"`
	Procs  []procRecord `json:"procs"`
}

func recordPath(prefix string) string { return filepath.Join(StateDir, prefix+".json") }

func writeRecord(r record) error {
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

// procStartTime reads a process's start time (clock ticks since boot) from
// /proc/<pid>/stat; ok is false when no such process exists.
func procStartTime(pid int) (uint64, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	// Fields after the name start at field 3 (state); starttime is 22.
	if len(f) < 20 {
		return 0, false
	}
	st, err := strconv.ParseUint(f[19], 10, 64)
	return st, err == nil
}

// alive reports whether the recorded process still runs (and is not a
// zombie waiting to be reaped).
func (p procRecord) alive() bool {
	st, ok := procStartTime(p.PID)
	if !ok || st != p.StartTime {
		return false
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(p.PID) + "/stat")
	if err != nil {
		return false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || !strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z")
}

// Leftovers is what CleanLeftovers found and removed.
type Leftovers struct {
	// Records are the run prefixes whose records were found.
	Records []string
	// Killed are processes killed: recorded ones that still ran, and any
	// found inside a lab namespace.
	Killed []int
	// Namespaces and Links are the deleted network namespaces and host
	// links.
	Namespaces, Links []string
	// NodeStack is what node stacks left on the host and was removed:
	// container cgroups, shim sockets, mounts under the run's directory.
	NodeStack []string
}

// Empty reports whether nothing was left over.
func (l Leftovers) Empty() bool {
	return len(l.Records)+len(l.Killed)+len(l.Namespaces)+len(l.Links)+len(l.NodeStack) == 0
}

func (l Leftovers) String() string {
	return fmt.Sprintf("records %v, killed pids %v, namespaces %v, links %v, node stack %v", l.Records, l.Killed, l.Namespaces, l.Links, l.NodeStack)
}

// cleanLeftovers removes what earlier runs left: the processes in their
// records (SIGKILL, only when PID and start time both match) and any process whose
// command line names the run's directory (its API server and etcd), the
// processes inside namespaces of the lab family, those namespaces and the
// host's links of the family, and what the run's node stack left on the
// host (cleanNodeStack). The caller holds the machine lock, so no other
// lab is running.
func cleanLeftovers(ctx context.Context) (Leftovers, error) {
	var found Leftovers
	var errs []error
	files, _ := filepath.Glob(filepath.Join(StateDir, "pyl*.json"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var r record
		if err := json.Unmarshal(data, &r); err != nil {
			errs = append(errs, fmt.Errorf("parse %s: %w", f, err))
			continue
		}
		found.Records = append(found.Records, r.Prefix)
		procs := r.Procs
		// A run killed while its API server was starting had no chance
		// to record it: its flags name the run's own directory.
		if familyPattern.MatchString(r.Prefix+"-") && strings.Contains(r.Dir, r.Prefix) {
			procs = append(procs, procsNaming(r.Dir+"/", 0)...)
		}
		for _, p := range procs {
			if p.alive() {
				if err := syscall.Kill(p.PID, syscall.SIGKILL); err == nil {
					found.Killed = append(found.Killed, p.PID)
				}
			}
		}
		// Containers and shims outlive the run's containerd; the run's
		// directory says which are its own.
		if familyPattern.MatchString(r.Prefix+"-") && strings.Contains(r.Dir, r.Prefix) {
			removed, killed, err := cleanNodeStack(r.Dir)
			found.NodeStack = append(found.NodeStack, removed...)
			found.Killed = append(found.Killed, killed...)
			errs = append(errs, err)
		}
		if err := os.Remove(f); err != nil {
			errs = append(errs, err)
		}
	}
	nss, err := familyNamespaces(ctx)
	errs = append(errs, err)
	for _, ns := range nss {
		pids, err := netnsPIDs(ctx, ns)
		errs = append(errs, err)
		for _, pid := range pids {
			if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
				found.Killed = append(found.Killed, pid)
			}
		}
		if _, err := run(ctx, "", "ip", "netns", "del", ns); err != nil && nsExists(ns) {
			errs = append(errs, err)
			continue
		}
		found.Namespaces = append(found.Namespaces, ns)
	}
	links, err := familyLinks(ctx)
	errs = append(errs, err)
	for _, l := range links {
		// Deleting one end of a veth deletes the other.
		if _, err := run(ctx, "", "ip", "link", "del", l); err != nil && linkExists(l) {
			errs = append(errs, err)
			continue
		}
		found.Links = append(found.Links, l)
	}
	return found, errors.Join(errs...)
}
