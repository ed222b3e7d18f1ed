package netlab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/pylonlb/pylon/test/procfs"
)

// familyPattern matches every name a lab makes, in any run: namespaces
// (pyl1a2b3c-n1, pyn1a2b3c-node) and the host's links (pyl1a2b3c-h). "pyl"
// starts the names of labs that hold the machine's lab lock, "pyn" those
// of network-only labs that run beside them (see Options.Lock).
var familyPattern = regexp.MustCompile(`^py[ln][0-9a-f]{6}-`)

// InFamily reports whether name is one a lab makes: a namespace or host
// link whose run, once dead, a starting lab removes.
func InFamily(name string) bool { return familyPattern.MatchString(name) }

// lockedPrefix reports whether a run prefix is a lab that held the lock.
func lockedPrefix(prefix string) bool { return strings.HasPrefix(prefix, "pyl") }

// Leftovers is what a sweep of dead runs found and removed.
type Leftovers struct {
	// Records are the run prefixes whose records were found.
	Records []string
	// Killed are processes killed: recorded ones that still ran, and any
	// found inside a lab namespace.
	Killed []int
	// Namespaces and Links are the deleted network namespaces and host
	// links.
	Namespaces, Links []string
	// Other is what Options.CleanDir removed (test/lab: what node stacks
	// left on the host: container cgroups, shim sockets, mounts).
	Other []string
}

// Empty reports whether nothing was left over.
func (l Leftovers) Empty() bool {
	return len(l.Records)+len(l.Killed)+len(l.Namespaces)+len(l.Links)+len(l.Other) == 0
}

func (l Leftovers) String() string {
	return fmt.Sprintf("records %v, killed pids %v, namespaces %v, links %v, other %v", l.Records, l.Killed, l.Namespaces, l.Links, l.Other)
}

// CleanDir removes what a dead run left on the host besides its processes,
// namespaces and links, given the run's directory; it returns what it
// removed and the processes it killed.
type CleanDir func(dir string) (removed []string, killed []int, err error)

// sweep removes what dead runs left. A run is dead when its record's
// owner process is gone; with the machine's lock held (locked), every
// run of a lab that holds the lock ("pyl") is dead too, since only one
// runs at a time. For each dead run it kills the recorded processes
// (SIGKILL, only when PID and start time both match) and any process whose
// command line names the run's directory (an API server whose starter
// died), calls clean with the run's directory, and removes the record;
// then it kills the processes inside the run's namespaces and deletes them
// and, when locked, the host's links. Namespaces of the family with no
// record are dead runs' too: every lab writes its record before it makes
// a namespace. Without the lock it touches only network-only runs
// ("pyn"): the others are the lock holder's to judge.
func sweep(ctx context.Context, locked bool, clean CleanDir) (Leftovers, error) {
	var found Leftovers
	var errs []error
	seen := map[int]bool{}
	kill := func(pid int) {
		if !seen[pid] && syscall.Kill(pid, syscall.SIGKILL) == nil {
			seen[pid] = true
			found.Killed = append(found.Killed, pid)
		}
	}
	// Namespaces before records: a lab starting meanwhile has written its
	// record before its first namespace, so the record is read below.
	nss, err := familyNamespaces(ctx)
	errs = append(errs, err)
	var links []string
	if locked {
		links, err = familyLinks(ctx)
		errs = append(errs, err)
	}
	live := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(StateDir, "py*.json"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			if !os.IsNotExist(err) { // closed meanwhile
				errs = append(errs, err)
			}
			continue
		}
		var r record
		if err := json.Unmarshal(data, &r); err != nil {
			errs = append(errs, fmt.Errorf("parse %s: %w", f, err))
			continue
		}
		if !InFamily(r.Prefix + "-") {
			continue
		}
		if (!locked && lockedPrefix(r.Prefix)) || (!(locked && lockedPrefix(r.Prefix)) && r.ownerAlive()) {
			live[r.Prefix] = true
			continue
		}
		found.Records = append(found.Records, r.Prefix)
		procs := r.Procs
		ownDir := strings.Contains(r.Dir, r.Prefix)
		// A run killed while its API server was starting had no chance
		// to record it: its flags name the run's own directory.
		if ownDir {
			procs = append(procs, ProcsNaming(r.Dir+"/", 0)...)
		}
		for _, p := range procs {
			if p.Alive() {
				kill(p.PID)
			}
		}
		if ownDir && clean != nil {
			removed, killed, err := clean(r.Dir)
			found.Other = append(found.Other, removed...)
			found.Killed = append(found.Killed, killed...)
			errs = append(errs, err)
		}
		if err := os.Remove(f); err != nil {
			errs = append(errs, err)
		}
	}
	ours := func(name string) bool {
		prefix, _, _ := strings.Cut(name, "-")
		return !live[prefix] && (locked || !lockedPrefix(prefix))
	}
	for _, ns := range nss {
		if !ours(ns) {
			continue
		}
		pids, err := netnsPIDs(ctx, ns)
		errs = append(errs, err)
		for _, pid := range pids {
			kill(pid)
		}
		if _, err := Run(ctx, "", "ip", "netns", "del", ns); err != nil && NetnsExists(ns) {
			errs = append(errs, err)
			continue
		}
		found.Namespaces = append(found.Namespaces, ns)
	}
	for _, l := range links {
		if !ours(l) {
			continue
		}
		// Deleting one end of a veth deletes the other.
		if _, err := Run(ctx, "", "ip", "link", "del", l); err != nil && LinkExists(l) {
			errs = append(errs, err)
			continue
		}
		found.Links = append(found.Links, l)
	}
	return found, errors.Join(errs...)
}

// familyNamespaces lists the network namespaces whose names match the lab
// family, from any run.
func familyNamespaces(ctx context.Context) ([]string, error) {
	out, err := Run(ctx, "", "ip", "-j", "netns", "list")
	if err != nil {
		return nil, err
	}
	var list []struct {
		Name string `json:"name"`
	}
	if len(bytes.TrimSpace(out)) > 0 {
		if err := json.Unmarshal(out, &list); err != nil {
			return nil, fmt.Errorf("parse ip netns list: %w", err)
		}
	}
	var names []string
	for _, n := range list {
		if InFamily(n.Name) {
			names = append(names, n.Name)
		}
	}
	return names, nil
}

// familyLinks lists the host's links whose names match the lab family.
func familyLinks(ctx context.Context) ([]string, error) {
	out, err := Run(ctx, "", "ip", "-j", "link", "show")
	if err != nil {
		return nil, err
	}
	var list []struct {
		Name string `json:"ifname"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		return nil, fmt.Errorf("parse ip link show: %w", err)
	}
	var names []string
	for _, l := range list {
		if InFamily(l.Name) {
			names = append(names, l.Name)
		}
	}
	return names, nil
}

// netnsPIDs lists the processes inside a namespace.
func netnsPIDs(ctx context.Context, ns string) ([]int, error) {
	out, err := Run(ctx, "", "ip", "netns", "pids", ns)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// ProcsNaming finds processes whose command line contains s and, when
// parent is not 0, whose parent is parent: how a lab finds processes it did
// not start itself (test/lab: the API server and etcd, the containers'
// shims).
func ProcsNaming(s string, parent int) []ProcRecord {
	stats, _ := procfs.Processes(func(st procfs.Stat) bool { return parent == 0 || st.PPID == parent })
	var out []ProcRecord
	for _, st := range stats {
		cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(st.PID), "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), s) {
			continue
		}
		name := filepath.Base(strings.SplitN(string(cmdline), "\x00", 2)[0])
		out = append(out, ProcRecord{Name: name, PID: st.PID, StartTime: st.StartTime})
	}
	return out
}
