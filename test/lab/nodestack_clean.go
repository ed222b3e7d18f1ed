package lab

import (
	"bufio"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pylonlb/pylon/test/netlab"
)

// CgroupRoot is where the kernel's cgroup hierarchies are mounted. Every
// node's containerd puts its containers in <CgroupRoot>/<controller>/k8s.io/<id>:
// shared by all nodes (and by any other containerd on the machine).
const CgroupRoot = "/sys/fs/cgroup"

// ShimSocketDir is where containerd's shims listen, whatever containerd's
// own state directory: shared by every containerd on the machine.
const ShimSocketDir = "/run/containerd/s"

// nodeStackLeft is what one lab's node stack has outside its processes
// and its directory's files: container IDs (their cgroups), shim
// sockets and mounts (sandbox network namespaces, container root
// filesystems, pod volumes), all found from the lab's directory.
type nodeStackLeft struct {
	IDs, Sockets, Mounts []string
}

// findNodeStack lists what the node stack of the node directories
// nodeDirs has on the host, with the mounts under mountRoot. The container
// IDs are the task bundles' and runc states' names; the
// shim sockets follow from them (containerd v2 listens on
// ShimSocketDir/sha256(<containerd socket>/<namespace>/<id>), one shim a
// pod, named after its sandbox).
func findNodeStack(nodes []string, mountRoot string) (nodeStackLeft, error) {
	var left nodeStackLeft
	seen := map[string]bool{}
	for _, node := range nodes {
		bundles, _ := filepath.Glob(filepath.Join(node, "containerd", "state", "io.containerd.runtime.v2.task", "*", "*"))
		runcs, _ := filepath.Glob(filepath.Join(node, "runc", "*"))
		for _, b := range append(bundles, runcs...) {
			id := filepath.Base(b)
			if seen[id] {
				continue
			}
			seen[id] = true
			left.IDs = append(left.IDs, id)
			sum := sha256.Sum256([]byte(filepath.Join(node, "containerd.sock", "k8s.io", id)))
			sock := filepath.Join(ShimSocketDir, hex.EncodeToString(sum[:]))
			if _, err := os.Lstat(sock); err == nil {
				left.Sockets = append(left.Sockets, sock)
			}
		}
	}
	slices.Sort(left.IDs)
	var err error
	left.Mounts, err = mountsUnder(mountRoot)
	return left, err
}

// NodeStackOnHost says what the node stack of the lab in labDir has on
// the host outside that directory's files, as counts ("6 container
// cgroups, 2 shim sockets, 4 mounts"), or "" when nothing. Down (or the
// next lab) removes it once the lab no longer runs.
func NodeStackOnHost(labDir string) string {
	nodes, _ := filepath.Glob(filepath.Join(labDir, "nodes", "*"))
	left, err := findNodeStack(nodes, labDir)
	if err != nil {
		return "unknown: " + err.Error()
	}
	cgroups := containerCgroups(left.IDs)
	if len(cgroups)+len(left.Sockets)+len(left.Mounts) == 0 {
		return ""
	}
	return fmt.Sprintf("%d container cgroups, %d shim sockets, %d mounts", len(cgroups), len(left.Sockets), len(left.Mounts))
}

// containerCgroups lists the cgroup directories of the containers, in
// every hierarchy.
func containerCgroups(ids []string) []string {
	var dirs []string
	for _, id := range ids {
		d, _ := filepath.Glob(filepath.Join(CgroupRoot, "*", "k8s.io", id))
		dirs = append(dirs, d...)
	}
	return dirs
}

// mountsUnder lists the mount points under dir, deepest first.
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 5 {
			continue
		}
		// Octal escapes (\040 for a space) never occur in the lab's paths.
		if mp := fields[4]; strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return out, s.Err()
}

// cleanNodeStack removes what a lab's node stack leaves on the host once
// its daemons are stopped (or dead): it kills the containers' processes
// (from their cgroups) and then the shims (their command lines name the
// lab's containerd socket), removes the containers' cgroup directories
// and the shims' sockets, and unmounts everything under labDir. What it
// removed is returned for the report.
func cleanNodeStack(labDir string) (removed []string, killed []int, err error) {
	nodes, _ := filepath.Glob(filepath.Join(labDir, "nodes", "*"))
	return cleanNodes(nodes, labDir, filepath.Join(labDir, "nodes")+"/")
}

// cleanNodes is cleanNodeStack for the node directories nodeDirs: it
// kills the shims whose command lines contain shimsNaming and unmounts
// everything under mountRoot.
func cleanNodes(nodeDirs []string, mountRoot, shimsNaming string) (removed []string, killed []int, err error) {
	left, err := findNodeStack(nodeDirs, mountRoot)
	var errs []error
	errs = append(errs, err)
	cgroups := containerCgroups(left.IDs)
	seen := map[int]bool{}
	for _, d := range cgroups {
		// A process is in one cgroup of every hierarchy.
		for _, pid := range cgroupPIDs(d) {
			if !seen[pid] && syscall.Kill(pid, syscall.SIGKILL) == nil {
				killed = append(killed, pid)
			}
			seen[pid] = true
		}
	}
	shims := netlab.ProcsNaming(shimsNaming, 0)
	for _, p := range shims {
		if p.Alive() && syscall.Kill(p.PID, syscall.SIGKILL) == nil {
			killed = append(killed, p.PID)
		}
	}
	// A cgroup can be removed once its last process is reaped.
	deadline := time.Now().Add(5 * time.Second)
	for _, d := range cgroups {
		for {
			err := syscall.Rmdir(d)
			if err == nil || errors.Is(err, syscall.ENOENT) {
				removed = append(removed, d)
				break
			}
			if time.Now().After(deadline) {
				errs = append(errs, fmt.Errorf("remove cgroup %s (processes %v): %w", d, cgroupPIDs(d), err))
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// The k8s.io parents stay: any containerd on the machine shares them.
	for _, s := range left.Sockets {
		if err := os.Remove(s); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, s)
	}
	for _, m := range left.Mounts {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", m, err))
			continue
		}
		removed = append(removed, m)
	}
	return removed, killed, errors.Join(errs...)
}

// cgroupPIDs reads the processes in a cgroup directory.
func cgroupPIDs(dir string) []int {
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}
