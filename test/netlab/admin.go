package netlab

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// MachineStatus is what exists of labs on this machine.
type MachineStatus struct {
	// Running is the lab lock's holder ("pid 123, …"), empty when free.
	Running string
	// Records are the labs' records in StateDir, running or left over.
	Records []RecordStatus
	// Namespaces and Links are the network namespaces and host links of
	// the lab family.
	Namespaces, Links []string
}

// RecordStatus is one lab's record.
type RecordStatus struct {
	Prefix, Dir string
	Owner       int
	// Alive are the recorded processes still running.
	Alive []string
	// Other is what Status's describe says of the run's directory
	// (test/lab: what its node stack has on the host); empty without.
	Other string
}

// Status reports the labs on this machine without changing anything;
// describe, when not nil, says what else a run has on the host, given its
// directory.
func Status(ctx context.Context, describe func(dir string) string) (MachineStatus, error) {
	var st MachineStatus
	try, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if l, err := acquireLock(try); err != nil {
		owner, _ := os.ReadFile(filepath.Join(StateDir, lockFile))
		st.Running = string(owner)
		if st.Running == "" {
			st.Running = err.Error()
		}
	} else if err := l.release(); err != nil {
		return st, err
	}
	files, _ := filepath.Glob(filepath.Join(StateDir, "py*.json"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue // a lab that just closed
		}
		if err != nil {
			return st, err
		}
		var r record
		if err := json.Unmarshal(data, &r); err != nil {
			return st, fmt.Errorf("parse %s: %w", f, err)
		}
		if !InFamily(r.Prefix + "-") {
			continue
		}
		rs := RecordStatus{Prefix: r.Prefix, Dir: r.Dir, Owner: r.Owner}
		for _, p := range r.Procs {
			if p.Alive() {
				rs.Alive = append(rs.Alive, fmt.Sprintf("%s (pid %d)", p.Name, p.PID))
			}
		}
		if describe != nil {
			rs.Other = describe(r.Dir)
		}
		st.Records = append(st.Records, rs)
	}
	var err error
	if st.Namespaces, err = familyNamespaces(ctx); err != nil {
		return st, err
	}
	st.Links, err = familyLinks(ctx)
	return st, err
}

// Down removes what labs that are no longer running left on this machine,
// as a starting lab that holds the lock does (see New), clean included. It
// refuses while a lab holds the lock: stop that one instead.
func Down(ctx context.Context, clean CleanDir) (Leftovers, error) {
	if err := Preflight(); err != nil {
		return Leftovers{}, err
	}
	try, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	l, err := acquireLock(try)
	if err != nil {
		return Leftovers{}, fmt.Errorf("a lab is running; stop it (Ctrl-C its pylonlab up) first: %w", err)
	}
	left, err := sweep(ctx, true, clean)
	if relErr := l.release(); err == nil {
		err = relErr
	}
	return left, err
}
